"""Celery tasks for reservations (load by id, call one service)."""
