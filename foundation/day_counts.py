"""Rows per (owner, UTC day) of a history table, kept by PostgreSQL triggers, for page numbers without
COUNT(*) or OFFSET over the owner's rows (issue 19; docs/decisions/0019-day-counts-for-page-numbers.md).

A page-numbered list newest first (a user's notifications, a webhook's deliveries, a user's audit trail)
must answer the total and the rows number k … k + n - 1. Counting and skipping costs time in proportion to
the owner's rows — 20,000 notifications cost ~5 ms per page, a million audit rows ~50 ms. A `DayCounts`
table holds, per (owner, day), how many rows the owner has that day (and optional further sums, such as
the unread ones). Three statement-level triggers on the counted table append one delta row per (owner,
day) a statement touched, in the writer's own transaction, from the statement's transition tables — every
writer (ORM, bulk_create, COPY) is covered, and since the deltas are only ever inserted, no writer waits on
another here. `compact` folds the deltas into one row per (owner, day) (a scheduled job).

A page is then one statement (`page`): the owner's day sums, newest day first, give the exact total and the
day that holds the k-th newest row with the number of rows newer than that day; the page's keys are read
from the end of that day on, skipping at most one day's index entries, and the rows by those keys:

    WITH days AS (SELECT day, SUM(n) AS n, … FROM <counts> WHERE owner = %s GROUP BY day HAVING SUM(n) > 0),
         running AS (SELECT day, n, SUM(n) OVER (ORDER BY day DESC) - n AS newer FROM days),
         seek AS (SELECT day + '1 day' AS day_end, k - newer AS skip FROM running
                  WHERE newer + n > k ORDER BY day DESC LIMIT 1),
         page_keys AS (SELECT time, id FROM <the list's rows> WHERE time < (SELECT day_end FROM seek)
                       ORDER BY time DESC, id DESC LIMIT n OFFSET (SELECT skip FROM seek))
    SELECT totals.*, page.* FROM (SELECT SUM(n) AS total, … FROM days) totals
    LEFT JOIN (<the list's rows> AND (time, id) IN (SELECT * FROM page_keys) AND time BETWEEN <their bounds>) page ON TRUE

A list whose rows differ only by owner has its statement compiled by the ORM once per thread, from a
placeholder owner, binds each page's owner and offset in their places and is prepared on the server, where
PostgreSQL keeps its generic plan (`compiled_page`; `newest_first_page(rows_of=…)`; foundation/compiled.py,
docs/decisions/0021).

The counts and the rows come from one snapshot, and the triggers write the counts in the transactions that
write the rows, so the page is exactly what `COUNT(*)` and `OFFSET k` give in that snapshot. A dropped
partition fires no trigger: `forget_partition` subtracts its rows first (in the dropping transaction).
`drift` compares the counts with the rows (`manage.py verify_counters`) and `recount` repairs one owner.
SQLite keeps COUNT/OFFSET (the tables exist there but stay empty).
"""

# ruff: noqa: S608, S611 — every identifier below is a constant of the code (quoted table and column names); values are parameters.

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.http import Http404

from foundation.compiled import (
    OFFSET,
    Guard,
    Statement,
    bindings,
    compiled,
    placeholder,
)

_SHOW = 5  # days listed per owner in a drift report


@dataclass(frozen=True)
class DayCounts:
    """`table` (columns `owner`, `day`, `n` and the names of `sums`) counts the rows of `source` per
    (`owner`, UTC day of `time`). `sums`: further per-day counts, `(column, SQL condition on a source row)`."""

    table: str
    source: str
    owner: str
    time: str
    sums: tuple[tuple[str, str], ...] = field(default=())

    # --- names ----------------------------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """The counted columns: `n`, then the sums."""
        return ["n", *(name for name, _ in self.sums)]

    def _day(self) -> str:
        return f"date_trunc('day', \"{self.time}\", 'UTC')"

    def _signed(self, rows: str, sign: str) -> str:
        """One row per source row of the transition table `rows`: owner, day, ±1 and ±each sum."""
        sums = "".join(f', {sign}(CASE WHEN {condition} THEN 1 ELSE 0 END) AS "{name}"' for name, condition in self.sums)
        return f'SELECT "{self.owner}" AS owner, {self._day()} AS day, {sign}1 AS n{sums} FROM {rows} WHERE "{self.owner}" IS NOT NULL'

    def _insert(self, select: str) -> str:
        targets = ", ".join(f'"{column}"' for column in [self.owner, "day", *self.columns])
        return f'INSERT INTO "{self.table}" ({targets}) {select}'

    def _fold(self, select: str, *, drop_zero: bool) -> str:
        """Group `select` (owner, day, n, sums…) by owner and day."""
        sums = ", ".join(f'sum("{column}")' for column in self.columns)
        having = " OR ".join(f'sum("{column}") <> 0' for column in self.columns)
        return f"SELECT owner, day, {sums} FROM ({select}) moved GROUP BY 1, 2" + (f" HAVING {having}" if drop_zero else "")

    # --- schema (migrations) --------------------------------------------------------------------------------
    def install_sql(self) -> str:
        """The trigger functions and the three statement-level triggers on `source`."""
        name = self.table
        added = self._insert(self._fold(self._signed("rows_added", ""), drop_zero=False))
        removed = self._insert(self._fold(self._signed("rows_removed", "-"), drop_zero=False))
        moved = self._insert(self._fold(f"{self._signed('rows_removed', '-')} UNION ALL {self._signed('rows_added', '')}", drop_zero=True))
        functions = "".join(
            f"CREATE OR REPLACE FUNCTION {name}_{kind}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n    {body};\n    RETURN NULL;\nEND $$;\n"
            for kind, body in (("added", added), ("removed", removed), ("changed", moved))
        )
        triggers = (
            f'CREATE TRIGGER {name}_insert AFTER INSERT ON "{self.source}" REFERENCING NEW TABLE AS rows_added '
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}_added();\n"
            f'CREATE TRIGGER {name}_delete AFTER DELETE ON "{self.source}" REFERENCING OLD TABLE AS rows_removed '
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}_removed();\n"
            f'CREATE TRIGGER {name}_update AFTER UPDATE ON "{self.source}" REFERENCING OLD TABLE AS rows_removed '
            f"NEW TABLE AS rows_added FOR EACH STATEMENT EXECUTE FUNCTION {name}_changed();\n"
        )
        return functions + triggers

    def uninstall_sql(self) -> str:
        name = self.table
        return "".join(f'DROP TRIGGER IF EXISTS {name}_{kind} ON "{self.source}";\n' for kind in ("insert", "delete", "update")) + "".join(
            f"DROP FUNCTION IF EXISTS {name}_{kind}();\n" for kind in ("added", "removed", "changed")
        )

    def _actual_sql(self, where: str = "") -> str:
        """The true counts from the rows: owner, day, n, sums…"""
        return self._fold(self._signed(f'"{self.source}"', "") + where, drop_zero=False)

    def install(self, schema_editor: Any) -> None:
        """A migration's forward step: triggers, then the existing rows counted once, with the source locked
        against writes in between (no row can land between the count and the triggers)."""
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{self.source}" IN SHARE ROW EXCLUSIVE MODE')
            cursor.execute(self.install_sql())
            cursor.execute(self._insert(self._actual_sql()))

    def uninstall(self, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(self.uninstall_sql())

    # --- upkeep ---------------------------------------------------------------------------------------------
    def compact(self, using: str = DEFAULT_DB_ALIAS) -> int:
        """Fold the delta rows into one row per (owner, day), dropping days at zero; returns the rows written.
        Only the groups holding more than one row (or summing to zero) are rewritten, so a run costs one index
        scan plus the days written since the last run. One statement: readers see the deltas or their sum,
        never both or neither; deltas inserted meanwhile are not in its snapshot and stay for the next run."""
        connection = connections[using]
        if connection.vendor != "postgresql":
            return 0
        zero = " AND ".join(f'SUM("{column}") = 0' for column in self.columns)
        returned = ", ".join(f't."{column}"' for column in self.columns)
        loose = f'SELECT "{self.owner}" AS owner, day FROM "{self.table}" GROUP BY 1, 2 HAVING COUNT(*) > 1 OR ({zero})'
        gone = (
            f'DELETE FROM "{self.table}" t USING loose WHERE t."{self.owner}" = loose.owner AND t.day = loose.day '
            f'RETURNING t."{self.owner}" AS owner, t.day, {returned}'
        )
        with connection.cursor() as cursor:
            cursor.execute(f"WITH loose AS ({loose}), gone AS ({gone}) " + self._insert(self._fold("SELECT * FROM gone", drop_zero=True)))
            return int(cursor.rowcount)

    def forget_partition(self, partition: str, using: str = DEFAULT_DB_ALIAS) -> None:
        """Before `partition` of `source` is dropped (no trigger fires): subtract its rows from the counts. Called
        in the dropping transaction (`partitions.drop_expired(before_drop=…)`); nothing writes into a partition
        past the retention."""
        with connections[using].cursor() as cursor:
            cursor.execute(self._insert(self._fold(self._signed(f'"{partition}"', "-"), drop_zero=True)))

    def drift(self, using: str = DEFAULT_DB_ALIAS) -> dict[Any, str]:
        """Owners whose counts differ from their rows, each with the differing days (PostgreSQL; {} on SQLite)."""
        connection = connections[using]
        if connection.vendor != "postgresql":
            return {}
        width = len(self.columns)
        sums = ", ".join(f'SUM("{column}")' for column in self.columns)
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT "{self.owner}", day, {sums} FROM "{self.table}" GROUP BY 1, 2')
            counted = {(owner, day): tuple(int(v) for v in values) for owner, day, *values in cursor.fetchall()}
            cursor.execute(self._actual_sql())
            actual = {(owner, day): tuple(int(v) for v in values) for owner, day, *values in cursor.fetchall()}
        zero = (0,) * width
        wrong: dict[Any, list[str]] = defaultdict(list)
        for owner, day in sorted(set(counted) | set(actual), key=lambda key: (str(key[0]), key[1])):
            stored, rows = counted.get((owner, day), zero), actual.get((owner, day), zero)
            if stored != rows:
                wrong[owner].append(
                    f"{day:%Y-%m-%d}: {_describe(self.columns, stored)} counted, {_describe(self.columns, rows)} in the rows"
                )
        return {
            owner: "; ".join(days[:_SHOW]) + (f" (+{len(days) - _SHOW} more days)" if len(days) > _SHOW else "")
            for owner, days in wrong.items()
        }

    def recount(self, owner: Any, using: str = DEFAULT_DB_ALIAS) -> None:
        """Replace one owner's counts by their rows counted again, with `source` locked against writes meanwhile
        (one owner's GROUP BY), so no row lands between the count and the triggers."""
        connection = connections[using]
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{self.source}" IN SHARE ROW EXCLUSIVE MODE')
            cursor.execute(f'DELETE FROM "{self.table}" WHERE "{self.owner}" = %s', [owner])
            cursor.execute(self._insert(self._actual_sql(f' AND "{self.owner}" = %s')), [owner])

    # --- pages ----------------------------------------------------------------------------------------------
    def page(
        self, ordered: Any, owner: Any, offset: int, limit: int, fields: Sequence[str], order_by: str
    ) -> tuple[dict[str, int], list[tuple[Any, ...]], Any]:
        """The counts (`total` and the sums) and the rows number `offset` … `offset + limit - 1` of `ordered` —
        all of `owner`'s rows newest first, by `fields` (`time`, then the primary key) descending — from one
        statement, sorted by `order_by` (positions in the fetched rows, the counts first). Returns the counts,
        the fetched rows (the counts, then the page's columns; one row of NULL columns when the page is empty)
        and the page's compiler, which converts the columns as `.values()` does."""
        statement = self._page_statement(ordered, owner, limit, fields, order_by)
        return (*self._run_page(ordered.db, statement, owner, offset, owner), statement.compiler)

    def compiled_page(
        self,
        rows_of: Callable[[Any], Any],
        order: Sequence[str],
        owner: Any,
        offset: int,
        limit: int,
        fields: Sequence[str],
        order_by: str,
        using: str,
        guard: Guard | None = None,
    ) -> tuple[dict[str, int], list[tuple[Any, ...]], Any]:
        """`page` of `rows_of(owner).order_by(*order)`, from a statement the ORM compiles once per thread (and
        database, `rows_of`, order and page size) from `rows_of(<a placeholder owner>)`; each call binds its owner
        where the placeholder was. `rows_of` must give, for every owner, the same query with the owner as its only
        varying value (a filter on the owner column), which is what `page` would compile for it; a module-level
        function, since it is part of the cache's key.

        `guard` (compiled once, foundation/compiled.py): the page is read only if it holds (`WHERE EXISTS`), in the
        same statement; 404 when it does not."""
        held = placeholder(owner)
        if guard is not None and guard.shape is None:  # not compiled: checked on its own
            guard.check()
            guard = None

        def build() -> Statement:
            template = rows_of(held).using(using).order_by(*order)
            statement = self._page_statement(template, held, limit, fields, order_by, guard.statement if guard else None)
            return dataclasses.replace(statement, prepared=True)  # planned once per connection

        shape = ("day page", self.table, rows_of, using, tuple(order), limit, tuple(fields), order_by, type(held), guard and guard.shape)
        statement = compiled(shape, build)
        return (*self._run_page(using, statement, owner, offset, held, guard), statement.compiler)

    def _page_statement(
        self, ordered: Any, owner: Any, limit: int, fields: Sequence[str], order_by: str, guard: Statement | None = None
    ) -> Statement:
        """`page`'s statement: its parameters (the owner's day counts: `owner`, then the offset twice as
        `OFFSET`, then the page's, then `guard`'s) and the page's compiler. With `guard`, no row at all unless the
        guard's statement answers one."""
        using = ordered.db
        connection = connections[using]
        quote = connection.ops.quote_name
        table = quote(ordered.model._meta.db_table)
        columns = ", ".join(f"{table}.{quote(ordered.model._meta.get_field(name).column)}" for name in fields)
        before = RawSQL(f"{table}.{quote(self.time)} < (SELECT day_end FROM seek)", [], output_field=BooleanField())
        key_sql, key_params = ordered.filter(before).values_list(*fields).query.get_compiler(using=using).as_sql()
        time_column = f"{table}.{quote(self.time)}"
        in_keys = RawSQL(
            f"({columns}) IN (SELECT * FROM page_keys) AND {time_column} >= (SELECT MIN(t) FROM page_keys k(t)) "
            f"AND {time_column} <= (SELECT MAX(t) FROM page_keys k(t))",
            [],
            output_field=BooleanField(),
        )
        page = ordered.filter(in_keys)[:limit]
        compiler = page.query.get_compiler(using=using)
        page_sql, page_params = compiler.as_sql()
        sql = (
            # The page size is written into the statement (as the ORM writes the page's LIMIT): a prepared statement's
            # generic plan is then costed for a page, not for an unknown LIMIT (PostgreSQL would keep re-planning).
            f"{self._seek_ctes()}, page_keys AS ({key_sql} LIMIT {int(limit)} OFFSET COALESCE((SELECT skip FROM seek), 0)) "
            f"SELECT totals.*, page.* FROM ({self._totals_sql()}) totals LEFT JOIN ({page_sql}) page ON TRUE "
            + (f"WHERE EXISTS ({guard.sql}) " if guard else "")
            + f"ORDER BY {order_by}"  # a join does not promise to keep its input's order
        )
        guarded = guard.params if guard else ()
        return Statement(sql, (owner, OFFSET, OFFSET, *key_params, *page_params, *guarded), compiler)

    def _run_page(
        self, using: str, statement: Statement, owner: Any, offset: int, held: Any, guard: Guard | None = None
    ) -> tuple[dict[str, int], list[Any]]:
        """Run a `_page_statement` with `owner` where it holds `held`, `offset` in `OFFSET`'s places and `guard`'s
        values in its placeholders' (404 when the guard does not hold: no row)."""
        fetched = statement.fetch(using, bindings([(OFFSET, offset), (held, owner)], guard.values if guard else ()))
        if not fetched:
            raise Http404
        return self._counts(fetched[0]), fetched

    def _seek_ctes(self) -> str:
        """`WITH days, running, seek`: the owner's day sums, and the end of the day holding row k with the rows
        of that day to skip (three parameters: owner, k, k)."""
        # A day's sums fit an integer: the running sum over them is then a bigint, not a numeric (cheaper to add).
        sums = "".join(f', SUM("{column}")::integer AS "{column}"' for column, _ in self.sums)
        return (
            f'WITH days AS (SELECT day, SUM(n)::integer AS n{sums} FROM "{self.table}" WHERE "{self.owner}" = %s '
            "GROUP BY day HAVING SUM(n) > 0), "
            "running AS (SELECT day, n, SUM(n) OVER (ORDER BY day DESC) - n AS newer FROM days), "
            "seek AS (SELECT day + INTERVAL '1 day' AS day_end, %s - newer AS skip FROM running "
            "WHERE newer + n > %s ORDER BY day DESC LIMIT 1)"
        )

    def _counts(self, row: Sequence[Any]) -> dict[str, int]:
        """`{"total": …, <sum>: …}` from the first columns of a fetched row (`_totals_sql`'s)."""
        names = ["total", *(column for column, _ in self.sums)]
        return {name: int(value) for name, value in zip(names, row[: len(names)], strict=True)}

    def _totals_sql(self) -> str:
        totals = "".join(f', COALESCE(SUM("{column}"), 0)' for column, _ in self.sums)
        return f"SELECT COALESCE(SUM(n), 0){totals} FROM days"


def _describe(columns: list[str], values: tuple[int, ...]) -> str:
    return ", ".join(f"{column}={value}" for column, value in zip(columns, values, strict=True))
