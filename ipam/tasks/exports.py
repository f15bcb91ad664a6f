"""Celery tasks for exports (load by id, call one service)."""
