"""Sending Celery tasks: always after commit, never failing the request.

`enqueue(task, *args)` registers the send with `transaction.on_commit`. If the broker is unreachable the
failure is logged and nothing else happens: work that must not be lost is kept in rows (outbox, jobs)
that the periodic jobs pick up.

Tests run sent tasks in-process (`tests/conftest.py` points `dispatch` at `task.apply`), so the code
path is the same as production up to the broker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger("ipam.tasks")


def _send_to_broker(task: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    task.apply_async(args=args, kwargs=kwargs, retry=False)


dispatch: Callable[[Any, tuple[Any, ...], dict[str, Any]], None] = _send_to_broker


def send_now(task: Any, *args: Any, **kwargs: Any) -> bool:
    """Send immediately (outside any transaction); False if the broker refused."""
    try:
        dispatch(task, args, kwargs)
        return True
    except Exception as exc:  # broker down: the periodic jobs will catch up
        logger.warning("Could not enqueue %s: %s", getattr(task, "name", task), exc.__class__.__name__)
        return False


def enqueue(task: Any, *args: Any, **kwargs: Any) -> None:
    """Send `task(*args, **kwargs)` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send_now(task, *args, **kwargs))
