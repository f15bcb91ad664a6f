"""Celery application. Broker: Redis when REDIS_URL is set, else kombu's file-system transport under var/."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipam_project.settings")

app = Celery("ipam_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
