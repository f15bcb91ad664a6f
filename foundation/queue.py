"""Sending Celery tasks by name: always after commit, never failing the request.

`enqueue("export_build", job_id)` registers the send with `transaction.on_commit`; `send_now(name, ...)`
sends at once (outside a transaction). Services name the task instead of importing it, so task modules
import services and never the other way round. If the broker is unreachable the failure is logged and
nothing else happens: work that must not be lost is kept in rows (outbox, jobs) that the periodic jobs
pick up.

Tests run sent tasks in-process (`tests/conftest.py` points `dispatch` at the task's `apply`, after a
JSON round trip of the arguments as a real broker would do), so the code path is the same as production
up to the broker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import current_app
from django.db import transaction

logger = logging.getLogger("ipam.tasks")


def task_named(name: str) -> Any:
    """The registered Celery task `name`. The apps' task modules are imported on first use (a worker imports
    them at start; a web process only when it sends), so a name no app registers raises NotRegistered."""
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()  # autodiscovery of every installed app's tasks module
    return current_app.tasks[name]


def _send_to_broker(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    task_named(name).apply_async(args=args, kwargs=kwargs, retry=False)


dispatch: Callable[[str, tuple[Any, ...], dict[str, Any]], None] = _send_to_broker


def send_now(name: str, *args: Any, **kwargs: Any) -> bool:
    """Send the task `name` immediately (outside any transaction); False if the broker refused."""
    try:
        dispatch(name, args, kwargs)
        return True
    except Exception as exc:  # broker down: the periodic jobs will catch up
        logger.warning("Could not enqueue %s: %s", name, exc.__class__.__name__)
        return False


def enqueue(name: str, *args: Any, **kwargs: Any) -> None:
    """Send the task `name(*args, **kwargs)` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send_now(name, *args, **kwargs))
