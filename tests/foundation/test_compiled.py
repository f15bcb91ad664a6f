"""Statements the ORM compiles once per thread and runs with each call's values (foundation/compiled.py): bound
to any value they give what the ORM compiles for that value, placeholders are matched by type and value, and
the per-thread cache is bounded."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from typing import Any

import pytest
from django.db import connection

from foundation import compiled as compiled_statements
from foundation.compiled import OFFSET, Statement, bindings, compiled, of_queryset, placeholder, same
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled_statements, "_cache", threading.local())


def _hooks(user: Any, n: int) -> list[Webhook]:
    url = f"https://example.com/{user.username}/"
    return [Webhook.objects.create(user=user, webhook_url=f"{url}{i}", events=["region.created"], secret_encrypted="x") for i in range(n)]


def test_a_placeholder_is_matched_by_type_and_value() -> None:
    assert same(placeholder(5), placeholder(7)) and same(placeholder(uuid.uuid4()), placeholder(uuid.uuid4()))
    assert not same(float(placeholder(5)), placeholder(5))  # equal in value, another type
    assert not same(True, 1) and not same(1, True)
    assert placeholder(5) != OFFSET and not same(OFFSET, placeholder(5))
    with pytest.raises(TypeError):
        placeholder("alice")
    statement = Statement("SELECT %s, %s, %s, %s", (placeholder(1), float(placeholder(1)), OFFSET, "x"), compiler=None)
    assert statement.bind([(placeholder(1), 42), (OFFSET, 3)]) == [42, float(placeholder(1)), 3, "x"]


def test_folded_statements_bind_each_placeholder_to_one_value() -> None:
    user, key = placeholder(1), placeholder(uuid.uuid4())
    assert bindings([(OFFSET, 5), (user, 7)], [(key, "k"), (user, 7)]) == [(OFFSET, 5), (user, 7), (key, "k")]
    with pytest.raises(ValueError, match="bound to"):
        bindings([(user, 7)], [(user, 8)])  # two values for one placeholder: the statement could not tell them apart


def test_a_statement_compiled_once_gives_for_every_owner_what_the_orm_gives(alice: Any, bob: Any) -> None:
    _hooks(alice, 3)
    _hooks(bob, 2)
    built: list[int] = []
    held = placeholder(alice.pk)

    def build() -> Statement:
        built.append(1)
        return of_queryset(Webhook.objects.filter(user_id=held).order_by("webhook_url").values("id", "webhook_url", "events", "is_active"))

    for user in (alice, bob, alice, bob):
        got = compiled(("test hooks",), build).rows("default", [(held, user.pk)])
        want = list(Webhook.objects.filter(user_id=user.pk).order_by("webhook_url").values("id", "webhook_url", "events", "is_active"))
        assert got == want and len(got) == (3 if user == alice else 2)
        assert all(type(row["events"]) is list and type(row["is_active"]) is bool for row in got)  # converted as .values() does
    assert built == [1]
    assert compiled(("test hooks",), build).rows("default", [(held, -1)]) == []


def test_each_thread_compiles_its_own_and_the_cache_is_bounded() -> None:
    statements: list[Statement] = []

    def build() -> Statement:
        return Statement("SELECT 1", (), compiler=object())

    mine = compiled(("shape",), build)
    assert compiled(("shape",), build) is mine
    thread = threading.Thread(target=lambda: statements.append(compiled(("shape",), build)))
    thread.start()
    thread.join()
    assert statements and statements[0] is not mine and statements[0].compiler is not mine.compiler
    for i in range(compiled_statements.MAX_STATEMENTS):
        compiled(("other", i), build)
    assert len(compiled_statements._cache.statements) <= compiled_statements.MAX_STATEMENTS
    assert compiled(("shape",), build) is not mine  # dropped with the rest when the bound was reached


def _prepared_statements() -> list[tuple[str, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return list(cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_a_prepared_statement_is_prepared_on_the_connection_and_answers_as_unprepared(alice: Any, bob: Any) -> None:
    _hooks(alice, 3)
    _hooks(bob, 2)
    held = placeholder(alice.pk)
    plain = of_queryset(Webhook.objects.filter(user_id=held).order_by("webhook_url").values("id", "webhook_url", "events", "created_at"))
    prepared = dataclasses.replace(plain, prepared=True)
    for user in (alice, bob) * 4:
        assert prepared.rows("default", [(held, user.pk)]) == plain.rows("default", [(held, user.pk)])
    mine = [row for row in _prepared_statements() if '"webhooks_webhook"."webhook_url"' in row[0]]
    assert len(mine) == 1 and "$1" in mine[0][0] and sum(mine[0][1:]) == 8  # prepared once, run eight times
    # Behind PgBouncer in transaction mode (prepare_threshold None) nothing is prepared; the answers are the same.
    raw = connection.connection
    threshold, raw.prepare_threshold = raw.prepare_threshold, None
    try:
        other = dataclasses.replace(of_queryset(Webhook.objects.filter(user_id=held).values("id")), prepared=True)
        assert other.rows("default", [(held, bob.pk)]) == list(Webhook.objects.filter(user_id=bob.pk).values("id"))
        assert not [row for row in _prepared_statements() if row[0].startswith('SELECT "webhooks_webhook"."id" AS "id" FROM')]
    finally:
        raw.prepare_threshold = threshold


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_the_delivery_page_is_prepared_with_its_page_size_written_in(api: Any, alice: Any) -> None:
    """The page's statement is prepared, and its page size is part of its text (a LIMIT parameter would make
    PostgreSQL cost the generic plan for an unknown LIMIT and plan every page again)."""
    webhook = _hooks(alice, 1)[0]
    for _ in range(7):
        assert api.get(f"/ipam/webhooks/{webhook.pk}/deliveries", {"page_size": 7}).json()["count"] == 0
    pages = [row for row in _prepared_statements() if "webhooks_deliverydaycount" in row[0]]
    assert len(pages) == 1 and " LIMIT 7 OFFSET COALESCE((SELECT skip FROM seek), 0)" in pages[0][0]
    assert sum(pages[0][1:]) == 7
