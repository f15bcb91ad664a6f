"""Collect work during a transaction and hand it over once, after commit.

`collect_on_commit("name", items, flush)` appends `items` to a list tied to the current transaction;
after commit `flush(list)` runs once with everything collected. A batch allocation that publishes 100
events therefore sends one message per webhook after commit, not 100.

A batch belongs to one `connection.run_on_commit` list: Django replaces that list on commit and on
(savepoint) rollback, so a batch whose transaction ended, or whose hook was discarded, is never reused.
Outside a transaction the flush runs at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction


class _Batch:
    def __init__(self, hooks: list[Any], flush: Callable[[list[Any]], None]) -> None:
        self.hooks = hooks
        self.flush = flush
        self.items: list[Any] = []
        self.done = False

    def run(self) -> None:
        self.done = True
        items, self.items = self.items, []
        if items:
            self.flush(items)


def collect_on_commit(name: str, items: Iterable[Any], flush: Callable[[list[Any]], None], *, unique: bool = False) -> None:
    items = list(items)
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        flush(items)
        return
    batches: dict[str, _Batch] = connection.__dict__.setdefault("_ipam_commit_batches", {})
    batch = batches.get(name)
    if batch is None or batch.done or batch.hooks is not connection.run_on_commit:
        batch = batches[name] = _Batch(connection.run_on_commit, flush)
    for item in items:
        if not unique or item not in batch.items:
            batch.items.append(item)
    # Registered on every call (cheap): the first hook to run flushes everything, the others find nothing.
    # Registering once would tie the batch to the savepoint (or test capture) of the first call only.
    transaction.on_commit(batch.run, robust=True)
