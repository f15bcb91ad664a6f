"""Timestamps read from PostgreSQL at the speed of psycopg's C loader (issue 19).

Django (5.2, psycopg 3) loads every `timestamptz` value through its own loader, a Python subclass of
psycopg's pure-Python `TimestamptzLoader` that parses the text and then replaces the result's `tzinfo` with
the connection's time zone. Being a subclass, it never uses the C implementation that `psycopg[binary]`
brings: about 6 µs per value on the bench machine against under 1 µs. A list page of 50 hosts reads 100
timestamps, a page of webhook deliveries about 350.

When the two agree on UTC — Django's connection time zone is `datetime.timezone.utc` (`USE_TZ = True`, no
per-database `TIME_ZONE`) and the session's `TimeZone` is `UTC` — the C loader returns exactly what Django's
does: the same instant with `tzinfo=datetime.timezone.utc` (tests/foundation/test_pgtime.py compares them
value for value). On each new connection where that holds, `UtcTimestamptzLoader` replaces Django's loader
for the connection: a subclass of Django's (so Django's per-cursor time zone check keeps working) whose
`load` is the C loader's. Anywhere else (another time zone, SQLite, psycopg without its C extension)
nothing changes.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.backends.signals import connection_created
from django.dispatch import receiver


def _loader_class() -> Any:
    """`UtcTimestamptzLoader`, or None when there is nothing faster to use (no psycopg 3, or no C loader)."""
    try:
        from django.db.backends.postgresql.psycopg_any import BaseTzLoader
        from psycopg import adapters, postgres, pq
        from psycopg.types.datetime import TimestamptzLoader
    except ImportError:  # pragma: no cover - psycopg 3 is a requirement
        return None
    optimised = adapters.get_loader(postgres.types["timestamptz"].oid, pq.Format.TEXT)
    if optimised is None or optimised is TimestamptzLoader:  # pure-Python psycopg: the same code as Django's
        return None
    c_loader: Any = optimised

    class UtcTimestamptzLoader(BaseTzLoader):  # type: ignore[misc, valid-type]
        timezone = datetime.UTC

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._load = c_loader(oid, context).load

        def load(self, data: Any) -> Any:
            return self._load(data)

    return UtcTimestamptzLoader


UtcTimestamptzLoader = _loader_class()


def applies(wrapper: Any) -> bool:
    """Whether the C loader answers what Django's does on this (connected) Django connection."""
    if UtcTimestamptzLoader is None or wrapper.vendor != "postgresql" or wrapper.timezone is not datetime.UTC:
        return False
    return bool(wrapper.connection.info.parameter_status("TimeZone") == "UTC")


@receiver(connection_created, dispatch_uid="foundation.pgtime")
def use_c_timestamp_loader(sender: Any, connection: Any, **kwargs: Any) -> None:
    if not applies(connection):
        return
    from psycopg import postgres, pq

    adapters = connection.connection.adapters  # a pooled connection comes back with the loader in place
    if adapters.get_loader(postgres.types["timestamptz"].oid, pq.Format.TEXT) is not UtcTimestamptzLoader:
        adapters.register_loader("timestamptz", UtcTimestamptzLoader)
