"""The project package is also a small app ("ops"): it holds the background job run records
(`JobRun`, read by /health and /metrics from any process) and the production system checks."""

from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ipam_project"
    label = "ops"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, jobs  # noqa: F401  (registers system checks and Celery signal handlers)
