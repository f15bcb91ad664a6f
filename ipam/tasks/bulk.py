"""Celery tasks for bulk (load by id, call one service)."""
