"""Statements the ORM compiles once per thread, run with each call's own values (issue 19).

A hot read that is always the same statement but for a few values — the owner of a list, an offset, the keys
of a page — was built and compiled by the ORM on every request: cloning querysets, resolving lookups and
joins, compiling the SQL (0.2–1 ms a statement). Here the ORM builds and compiles it once per thread from a
queryset holding *placeholders* where those values go, and each call puts its own values in their places in
the compiled parameters. The SQL, the parameters and the compiler that converts the fetched rows (the fields'
and the backend's converters, as `.values()` applies them) are then exactly what the ORM would have produced
for that call, minus the work of producing them.

A placeholder is a value no row holds (a negative id, a UUID no one generates, a negative offset), of the same
type as the value it stands for, and a parameter is replaced only when it equals a placeholder *in type and
value* (`True == 1`, so equality alone would not do). The ORM passes such values through to the parameters
unchanged, which the tests check for each statement (compiled once, then bound to several owners, equal to
what the ORM compiles for each).

Compiled statements are kept per thread (a compiler is not shared between threads), keyed by what the caller
names as the statement's shape (model, database, columns, order, page size, …), at most `MAX_STATEMENTS`.

Also here: `Guard`, an ownership check that a page statement can carry (`WHERE EXISTS`) instead of a lookup
of its own, and `prepared_cursor`, which has PostgreSQL prepare a hot statement once per connection and keep
its generic plan (docs/decisions/0021-prepared-statements-for-hot-statements.md).
"""

from __future__ import annotations

import contextlib
import functools
import threading
import uuid
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import connections
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.backends.utils import CursorDebugWrapper
from django.http import Http404

MAX_STATEMENTS = 64  # per thread: a bound, should a caller name a new shape on every call

# Values no table holds, standing for the value of their type in a compiled statement.
_BY_TYPE: dict[type, Any] = {int: -7_700_037, uuid.UUID: uuid.UUID("00000000-0000-4000-8000-000007700037")}
OFFSET = -7_700_023  # an offset (never negative)

_cache = threading.local()
_TIMESTAMPTZ = psycopg.adapters.types["timestamptz"].oid


def placeholder(like: Any) -> Any:
    """The placeholder for a value of `like`'s type (an owner: an int or a UUID)."""
    try:
        return _BY_TYPE[type(like)]
    except KeyError:
        raise TypeError(f"no placeholder for {type(like).__name__}") from None


def same(value: Any, placeholder: Any) -> bool:
    """`value` is `placeholder`: same type and value (`True == 1`, so equality alone would not do)."""
    return type(value) is type(placeholder) and value == placeholder


@dataclass(frozen=True)
class Statement:
    """A compiled statement: its SQL, its parameters (placeholders among them), the compiler whose converters
    turn its fetched rows into what the queryset gives, and the names of a `.values()` row (if it is one)."""

    sql: str
    params: tuple[Any, ...]
    compiler: Any
    names: tuple[str, ...] = ()
    prepared: bool = False  # run by `prepared_cursor`: planned once per connection (see there)

    def bind(self, values: Sequence[tuple[Any, Any]]) -> list[Any]:
        """The parameters with each placeholder of `values` (`(placeholder, value)` pairs) replaced."""
        return [next((value for held, value in values if same(param, held)), param) for param in self.params]

    def fetch(self, using: str, values: Sequence[tuple[Any, Any]]) -> list[tuple[Any, ...]]:
        """The fetched rows as the database answers them (not converted)."""
        with prepared_cursor(using) if self.prepared else connections[using].cursor() as cursor:
            cursor.execute(self.sql, self.bind(values))
            return cursor.fetchall()

    def converted(self, fetched: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        """`fetched` rows (this statement's columns only) as `.values()` gives them."""
        return [dict(zip(self.names, row, strict=True)) for row in self.compiler.results_iter(results=[list(fetched)])]

    def rows(self, using: str, values: Sequence[tuple[Any, Any]]) -> list[dict[str, Any]]:
        """Run with `values` bound; the rows as `.values()` gives them."""
        return self.converted(self.fetch(using, values))


@dataclass(frozen=True)
class Guard:
    """A condition a read is made under — the caller owns the object named in the URL — as a statement that
    answers a row when it holds, with the values to bind (`(placeholder, value)` pairs) and, when compiled once
    per thread, the shape it is cached under (part of the shape of any statement it is folded into).

    `check()` runs it alone and answers 404 when it does not hold. A page statement can instead carry it
    (`DayCounts.compiled_page`): `… WHERE EXISTS (<guard>)` answers no row at all when it does not hold, so the
    page costs no separate round trip, and the check and the rows are read in one snapshot."""

    statement: Statement
    values: tuple[tuple[Any, Any], ...]
    using: str
    shape: Hashable = None

    def check(self) -> None:
        if not self.statement.fetch(self.using, self.values):
            raise Http404


def bindings(*groups: Sequence[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """The `(placeholder, value)` pairs of several statements folded into one; a placeholder bound to two
    different values is an error (the statement could not tell them apart)."""
    merged: list[tuple[Any, Any]] = []
    for held, value in (pair for group in groups for pair in group):
        bound = next((given for placed, given in merged if same(placed, held)), merged)
        if bound is merged:
            merged.append((held, value))
        elif bound != value:
            raise ValueError(f"placeholder {held!r} bound to {bound!r} and to {value!r}")
    return merged


class _Prepared(psycopg.Cursor):  # type: ignore[type-arg]
    """psycopg's cursor with server-side binding, asking it to prepare every statement it runs."""

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None) -> Any:
        return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)


class _Logged(CursorDebugWrapper):
    """Django's debug cursor, logging each statement with its values in place, as for a client-bound cursor
    (Django reads a server-bound cursor's last query from psycopg, which keeps none for a prepared statement)."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(sql if params is None else self.db.ops.compose_sql(sql, params)):
            return self._execute_with_wrappers(sql, params, many=False, executor=self._execute)


@functools.cache
def _prepared_class(alias: str, vendor: str, exported: bool) -> type:
    if not exported:
        return _Prepared
    from django_prometheus.db.common import ExportingCursorWrapper  # counted as the ORM's statements are

    return ExportingCursorWrapper(_Prepared, alias, vendor)  # type: ignore[no-any-return]


@contextlib.contextmanager
def prepared_cursor(using: str) -> Iterator[Any]:
    """A Django cursor on `using` whose statements PostgreSQL plans once per connection (issue 19).

    A page statement that reads a partitioned table twice spends more time being planned (0.6–0.8 ms over
    eight partitions) than being executed, and every page planned it again. psycopg prepares the statements
    of this cursor on the server (`prepare=True`, server-side binding; it keeps at most 100 per connection and
    forgets them on a rollback or DDL), and after five executions PostgreSQL keeps the statement's generic
    plan when that plan is estimated no worse than the custom ones (`plan_cache_mode = auto`): partitions are
    then pruned when the plan starts or runs, from the parameters, and the plan is not made again. Where
    prepared statements cannot be used (`DB_PGBOUNCER_TRANSACTION_MODE`: psycopg's `prepare_threshold` is None)
    psycopg runs them unprepared. Elsewhere than PostgreSQL, the usual cursor."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.close_if_health_check_failed()  # what `connection.cursor()` does first
    connection.ensure_connection()
    with connection.wrap_database_errors:
        exported = any(cls.__module__.startswith("django_prometheus.") for cls in type(connection).__mro__)
        raw = _prepared_class(using, connection.vendor, exported)(connection.connection)
        loader = connection.connection.adapters.get_loader(_TIMESTAMPTZ, psycopg.pq.Format.TEXT)
        if connection.timezone != loader.timezone:  # as Django's `create_cursor`: the connection's zone changed
            register_tzloader(connection.timezone, raw)
    connection.validate_thread_sharing()
    # Django's wrappers, as `connection.cursor()` gives them: the debug capture of queries, execute wrappers.
    with _Logged(raw, connection) if connection.queries_logged else connection.make_cursor(raw) as cursor:
        yield cursor


def of_queryset(queryset: Any) -> Statement:
    """`queryset`'s statement (a `.values()` queryset: the names of its rows too), compiled now."""
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    names = value_names(queryset.query) if queryset.query.values_select else ()
    return Statement(sql, tuple(params), compiler, tuple(names))


def compiled(shape: Hashable, build: Callable[[], Statement]) -> Statement:
    """The statement of `shape` compiled by this thread, `build()` the first time."""
    cache: dict[Hashable, Statement] = _cache.__dict__.setdefault("statements", {})
    found = cache.get(shape)
    if found is None:
        if len(cache) >= MAX_STATEMENTS:
            cache.clear()
        found = cache[shape] = build()
    return found


def value_names(query: Any) -> list[str]:
    """The keys of a `.values()` row, in the order `ValuesIterable` gives them."""
    if query.selected:
        return list(query.selected)
    return [*query.extra_select, *query.values_select, *query.annotation_select]
