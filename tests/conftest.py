"""Personas and clients shared by every test.

alice and bob are operators (read, allocate, update, release), reader can only read, admin has the
IPAM admin permission. Each has an independent namespace.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import UserFactory


def _user_in(group: str | None, username: str) -> Any:
    user = UserFactory(username=username)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


@pytest.fixture
def alice(db: Any) -> Any:
    return _user_in("IPAM Operators", "alice")


@pytest.fixture
def bob(db: Any) -> Any:
    return _user_in("IPAM Operators", "bob")


@pytest.fixture
def reader(db: Any) -> Any:
    return _user_in("IPAM Readers", "reader")


@pytest.fixture
def admin_user(db: Any) -> Any:
    return _user_in("IPAM Admins", "ipamadmin")


@pytest.fixture
def client_for() -> Callable[[Any], APIClient]:
    def make(user: Any) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return make


@pytest.fixture
def api(alice: Any, client_for: Callable[[Any], APIClient]) -> APIClient:
    """alice's client."""
    return client_for(alice)


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture(autouse=True)
def _tasks_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks sent with `foundation.queue` run in this process (on commit), not through a broker.

    The arguments make a JSON round trip first, as they would through the broker (CELERY_TASK_SERIALIZER is
    json): a task sent something JSON cannot carry fails here as it would in production."""
    from foundation import queue

    def run_in_process(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        args, kwargs = json.loads(json.dumps([list(args), kwargs]))
        queue.task_named(name).apply(args=args, kwargs=kwargs, throw=True)

    monkeypatch.setattr(queue, "dispatch", run_in_process)


# --- Tests that need PostgreSQL (`@pytest.mark.postgres`): skipped, visibly, on other backends ------------------
POSTGRES_SKIP_REASON = "needs PostgreSQL (row locks, query plans); set DATABASE_URL=postgres://... to run it"


def _database_is_postgresql() -> bool:
    from django.conf import settings

    return str(settings.DATABASES["default"]["ENGINE"]).endswith("postgresql")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Locking is only proven on PostgreSQL (SQLite serialises every writer): say so instead of passing."""
    if _database_is_postgresql():
        return
    skip = pytest.mark.skip(reason=POSTGRES_SKIP_REASON)
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and POSTGRES_SKIP_REASON in str(report.longrepr[2])
    ]
    if skipped:
        terminalreporter.write_line(
            f"PostgreSQL not used: {len(skipped)} postgres-only tests skipped; "
            "set DATABASE_URL=postgres://postgres@127.0.0.1:5432/ipam to run them",
            yellow=True,
        )
