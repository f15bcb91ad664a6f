"""Read replicas: which database alias a query goes to.

`DATABASE_REPLICA_URLS` (comma-separated) adds the aliases `replica_0`, `replica_1`, … next to `default`
(the primary). The rule is *primary unless proven safe*: a read goes to a replica only when all of these
hold, otherwise it goes to the primary:

1. the code running declared its reads lag-tolerant (`lag_tolerant()` — views do it through
   `ReplicaReadsMixin`, for GET/HEAD lists, statistics, search; the export task for its data),
2. no transaction is open on the primary (a read inside `transaction.atomic`, hence every
   `select_for_update`, sees the rows the write is about to change),
3. the user has not written in the last `IPAM_DB_READ_YOUR_WRITES_SECONDS` (read-your-writes: the
   `ReadYourWritesMiddleware` stamps `ipam:wrote:<user id>` in the shared cache after every unsafe request
   of an authenticated user; a lag-tolerant request of that user is served by the primary while the
   stamp lives).

Every write goes to the primary, and migrations run only there. Without replicas the router answers
`default` to everything (no behaviour change).
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

REPLICA_PREFIX = "replica_"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The replica the current lag-tolerant block reads from ("" = none: read the primary). One replica per
# block, so the queries of one request (a count and its page) see the same snapshot of the data.
_replica: contextvars.ContextVar[str] = contextvars.ContextVar("ipam_replica", default="")
_round_robin = itertools.count()


def replica_aliases() -> list[str]:
    return sorted(alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX))


def _wrote_key(user_id: Any) -> str:
    return f"ipam:wrote:{user_id}"


def mark_write(user_id: Any) -> None:
    """Pin this user's lag-tolerant reads to the primary for IPAM_DB_READ_YOUR_WRITES_SECONDS."""
    seconds = int(settings.IPAM_DB_READ_YOUR_WRITES_SECONDS)
    if user_id is not None and seconds > 0 and replica_aliases():
        cache.set(_wrote_key(user_id), time.time(), timeout=seconds)


def recently_wrote(user_id: Any) -> bool:
    if user_id is None:
        return False
    return cache.get(_wrote_key(user_id)) is not None


def is_lag_tolerant() -> bool:
    return bool(_replica.get())


def _pick(user_id: Any) -> str:
    """A replica for a new lag-tolerant block (round robin), or "" if there is none or the user just wrote."""
    replicas = replica_aliases()
    if not replicas or recently_wrote(user_id):
        return ""
    return replicas[next(_round_robin) % len(replicas)]


@contextlib.contextmanager
def lag_tolerant(*, user_id: Any = None) -> Iterator[bool]:
    """Reads inside may go to a replica; yields whether they may (False when `user_id` wrote recently
    or there are no replicas)."""
    token = _replica.set(_pick(user_id))
    try:
        yield is_lag_tolerant()
    finally:
        _replica.reset(token)


@contextlib.contextmanager
def primary_only() -> Iterator[None]:
    """Reads inside go to the primary even if an outer block declared them lag-tolerant."""
    token = _replica.set("")
    try:
        yield
    finally:
        _replica.reset(token)


def choose_read_alias() -> str:
    """The alias the next read goes to (the rules in the module docstring)."""
    replica = _replica.get()
    if not replica or replica not in settings.DATABASES or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    return replica


def check_replicas() -> dict[str, Any]:
    """/health: every replica answers, is in recovery (a standby), and how far behind it is (seconds)."""
    replicas: dict[str, Any] = {}
    for alias in replica_aliases():
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute(
                    "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
                    "ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"
                )
                standby, lag = cursor.fetchone()
            replicas[alias] = {"status": "ok" if standby else "error", "standby": standby, "lag_seconds": float(lag or 0)}
        except Exception as exc:  # reported, never raised
            replicas[alias] = {"status": "error", "error": exc.__class__.__name__}
    ok = all(r["status"] == "ok" for r in replicas.values())
    return {"status": "ok" if ok else "error", "replicas": replicas}


class PrimaryReplicaRouter:
    """`DATABASE_ROUTERS` entry: lag-tolerant reads to a replica, everything else to the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return choose_read_alias()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # every alias holds the same data (a replica is a copy of the primary)

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


class ReplicaReadsMixin:
    """For DRF views whose GET answers tolerate replication lag (lists, statistics, search).

    `replica_actions`: for viewsets, the actions that qualify (default: `list` only — a `retrieve` right
    after a create by another client is still served fresh); plain API views qualify for GET/HEAD.
    """

    replica_actions: frozenset[str] = frozenset({"list"})
    _replica_token: contextvars.Token[str] | None = None

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]  # authenticates: request.user is known
        action = getattr(self, "action", None)
        if request.method in {"GET", "HEAD"} and (action is None or action in self.replica_actions) and replica_aliases():
            self._replica_token = _replica.set(_pick(getattr(request.user, "pk", None)))

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        if self._replica_token is not None:
            _replica.reset(self._replica_token)
            self._replica_token = None
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]


class ReadYourWritesMiddleware:
    """After an unsafe request of an authenticated user, stamp the user as a recent writer (see above).

    Placed after the authentication middleware; DRF's token authentication sets `request.user` on the
    underlying request too, so API writes are seen here as well as admin (session) writes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method not in SAFE_METHODS and response.status_code < 400:
            user = getattr(request, "user", None)
            if user is not None and getattr(user, "is_authenticated", False):
                with contextlib.suppress(Exception):  # a cache outage must not fail a write that committed
                    mark_write(user.pk)
        return response
