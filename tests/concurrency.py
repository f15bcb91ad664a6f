"""Running API calls from several threads, each with its own client and database connection."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connections
from rest_framework.test import APIClient

THREADS = 8


def run_parallel(user: Any, calls: list[Callable[[APIClient], Any]], threads: int = THREADS) -> list[Any]:
    """Run each call with a client authenticated as `user`, `threads` at a time; results in call order."""

    def worker(call: Callable[[APIClient], Any]) -> Any:
        client = APIClient()
        client.force_authenticate(user=user)
        try:
            return call(client)
        finally:
            connections.close_all()  # threads must not leave connections open (PostgreSQL test teardown)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(worker, calls))
