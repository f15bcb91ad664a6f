"""The platform every app of ours builds on: errors, pagination, permissions, authentication, throttling,
parsers, idempotency, the on-commit task queue, job runs, health, metrics, logging and checks.

It imports none of our other apps (enforced by `.importlinter`). Its app label stays `ops`, the label it
had when this code lived in the project package, so the migration history and tables (`ops_jobrun`)
carry over unchanged."""

from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "foundation"
    label = "ops"
    verbose_name = "Platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing these registers system checks, Celery and auth signal handlers (their import's effect).
        from . import apitokens, checks, credentials, dbrouter, health, jobs, pgtime  # noqa: F401

        if dbrouter.replica_aliases():  # /health reports each replica and its lag (degraded, never unhealthy)
            health.register_check("replicas", dbrouter.check_replicas)
