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
        from . import apitokens, checks, credentials, jobs  # noqa: F401  (registers system checks and signal handlers)
