"""Page-number pages of a list newest first, read together with the list's counts in one statement (issue 19).

A page of an unfiltered list in `(created_at DESC, id DESC)` order (the notification inbox, a webhook's
deliveries) used to cost a `COUNT(*)` for the total, with the inbox's unread count in the same aggregate, and
then the page itself (`ORDER BY … LIMIT n OFFSET k`). That is two statements and two snapshots. Here they are
one statement:

    SELECT newest_counts.*, newest_page.*
    FROM (SELECT COUNT(…) AS total, COUNT(…) FILTER (…) AS unread FROM t WHERE <the list's rows>) newest_counts
    LEFT JOIN (SELECT <the page's columns> FROM t WHERE <the list's rows>
               AND (created_at, id) <= (SELECT U0.created_at, U0.id FROM t U0 WHERE <the list's rows>
                                        ORDER BY 1 DESC, 2 DESC LIMIT 1 OFFSET k)
               ORDER BY created_at DESC, id DESC LIMIT n) newest_page ON 1 = 1
    ORDER BY <created_at's position> DESC, <id's position> DESC

The ORM compiles every part from the view's own `.values()` queryset, so the WHERE clause, the selected
columns and the conversion of their values (UUIDs, datetimes and booleans on SQLite, …) are exactly those of
the previous path. An aggregate without GROUP BY answers one row even over no rows, and the LEFT JOIN keeps
that row when the page is empty, so an empty list and a page past the end (the paginator's 404) also cost
this one statement. The outer ORDER BY sorts the page's at most n rows again, because a join does not
promise to keep its input's order. The SQL is portable: PostgreSQL and SQLite run the same statement.

The k-th key is found by OFFSET over the `(owner, created_at DESC, id DESC)` index alone (index-only), and
the page's n rows are read from that key on, instead of reading and skipping k whole rows. The ordering is
total (it ends with the primary key), so in the statement's one snapshot the rows from the k-th key on are
exactly the rows `OFFSET k` gives, and a run of equal `created_at` values is always in the same order. The
first page (k = 0) needs no key. A key past the end is NULL, so the comparison selects no row.

Page numbers work as with `StandardPagination`'s other seeks (`foundation.pagination.with_page_seek`):
`page=last` reads the total first, and a page number beyond any real list takes the counted 404 path.
"""

# ruff: noqa: S608 — the SQL around the two ORM-compiled subqueries is constant; every value is a parameter.

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import connections
from django.db.models import Aggregate, BooleanField, Count, Expression, F, Subquery, Value

from foundation.compiled import Guard, value_names
from foundation.day_counts import DayCounts
from foundation.pagination import with_page_seek

NEWEST_FIRST = ("-created_at", "-id")
TOTAL = "total"


class _FromKey(Expression):
    """`(a, b) <= (SELECT a, b … LIMIT 1 OFFSET k)` (`>=` ascending): the rows from the k-th key on. The key is
    a `Subquery`, so the ORM gives its table an alias of its own (`U0`) inside the outer query."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, columns: Sequence[Any], key: Any, operator: str) -> None:
        super().__init__()
        self.columns, self.key, self.operator = list(columns), Subquery(key, output_field=BooleanField()), operator

    def get_source_expressions(self) -> list[Any]:
        return [*self.columns, self.key]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        *self.columns, self.key = exprs

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple[Any, ...]]:
        parts, params = [], []
        for column in self.columns:
            sql, column_params = compiler.compile(column)
            parts.append(sql)
            params.extend(column_params)
        key_sql, key_params = compiler.compile(self.key)
        return f"({', '.join(parts)}) {self.operator} {key_sql}", (*params, *key_params)


def newest_first_page(
    rows: Any,
    *,
    total: Aggregate | None = None,
    counts: Mapping[str, Aggregate] | None = None,
    counted: dict[str, int] | None = None,
    order: Sequence[str] = NEWEST_FIRST,
    day_counts: tuple[DayCounts, Any] | None = None,
    keys_from: Any = None,
    rows_of: Callable[[Any], Any] | None = None,
    guard: Guard | None = None,
) -> Any:
    """`rows` (a `.values()` queryset of all of the list's rows, the ordering fields and the primary key
    among its values) in `order`, paged by `StandardPagination` in one statement per page.

    `total` counts the rows for the page's `count` (default `COUNT(*)`); `counts` are further aggregates
    over the same rows, read in the same statement. When `counted` is given, the page's counts are put
    into it (`"total"` and the names of `counts`), all from the snapshot the page's rows come from.

    `day_counts`: `(spec, owner)` when `rows` are all of `owner`'s rows counted by `spec` (whose sums are
    named as `counts`). On PostgreSQL the page then reads the counts from the per-day counts and skips at
    most one day's rows, instead of `COUNT` and `OFFSET` over all of them (foundation/day_counts.py).
    `keys_from`: the same rows as a queryset without the joins `rows` adds for its columns (e.g. a country's
    name through a non-null foreign key, which never drops a row); the count and the k-th key are read from
    it, so those parts of the statement join nothing they do not filter on.
    `rows_of`: with `day_counts`, a module-level function giving `rows` for any owner (`rows_of(owner)` compiles
    to `rows`' statement for `day_counts`' owner). The day-count statement is then compiled by the ORM once per
    thread, from `rows_of(<a placeholder owner>)`, bound to each page's owner and prepared on the server
    (`DayCounts.compiled_page`, foundation/compiled.py): no ORM work and no planning per page.
    `guard`: a condition the page is read under (the caller owns the list's owner, foundation/compiled.py). It is
    checked before the page is read, or, in the compiled day-count page, folded into the page's statement (no
    round trip of its own). A caller that pages by anything else than a page number checks it first itself.
    """
    names = value_names(rows.query)
    if not names or not rows.query.values_select:
        raise ValueError("newest_first_page needs a .values() queryset")
    fields = [name.removeprefix("-") for name in order]
    missing = [field for field in fields if field not in names]
    if missing:
        raise ValueError(f"the ordering fields {missing} must be among the values")
    pk = rows.model._meta.pk
    if fields[-1] not in (pk.name, pk.attname):
        raise ValueError("the ordering must end with the primary key (a total order)")
    descending = {spec.startswith("-") for spec in order}
    if len(descending) != 1:
        raise ValueError("the ordering fields must all be descending or all ascending")
    operator = "<=" if descending.pop() else ">="
    aggregates: dict[str, Aggregate] = {TOTAL: total if total is not None else Count("*"), **(counts or {})}
    ordered = rows.order_by(*order)
    source = rows if keys_from is None else keys_from.order_by(*order)
    width = len(aggregates)
    pk_at = width + names.index(fields[-1])  # the primary key's position in a fetched row
    outer_order = ", ".join(
        f"{width + names.index(field) + 1} {'DESC' if spec.startswith('-') else 'ASC'}" for field, spec in zip(fields, order, strict=True)
    )

    def page_of(fetched: list[Any], compiler: Any) -> list[dict[str, Any]]:
        """The fetched page's rows (the counts cut off) as `.values()` gives them; none past the end."""
        raw = [row[width : width + compiler.col_count] for row in fetched if row[pk_at] is not None]
        converted = compiler.results_iter(results=[raw])  # the field and backend converters `.values()` applies
        return [dict(zip(names, row, strict=True)) for row in converted]

    def counted_seek(offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
        assert day_counts is not None
        spec, owner = day_counts
        if rows_of is not None:
            found, fetched, compiler = spec.compiled_page(rows_of, order, owner, offset, limit, fields, outer_order, ordered.db, guard)
        else:
            if guard is not None:
                guard.check()
            found, fetched, compiler = spec.page(ordered, owner, offset, limit, fields, outer_order)
        page = page_of(fetched, compiler)
        if counted is not None:
            counted.update(found)
        return found[TOTAL], page

    def seek(offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
        if guard is not None:
            guard.check()
        page = ordered
        if offset:
            key = source.values_list(*fields)[offset : offset + 1]
            page = page.filter(_FromKey([F(field) for field in fields], key, operator))
        page = page[:limit]
        using = page.db
        compiler = page.query.get_compiler(using=using)
        page_sql, page_params = compiler.as_sql()
        # One row of aggregates over the same rows: grouped by a constant only, which adds no GROUP BY clause.
        # (Built here, not once above: the day-count path never needs it.)
        summary = source.order_by().values(_newest_one=Value(1)).annotate(**aggregates).values(*aggregates)
        counts_sql, counts_params = summary.query.get_compiler(using=using).as_sql()
        sql = (
            f"SELECT newest_counts.*, newest_page.* FROM ({counts_sql}) newest_counts "
            f"LEFT JOIN ({page_sql}) newest_page ON 1 = 1 ORDER BY {outer_order}"
        )
        with connections[using].cursor() as cursor:
            cursor.execute(sql, (*counts_params, *page_params))
            fetched = cursor.fetchall()
        values = [int(value) for value in fetched[0][:width]] if fetched else [0] * width
        found = dict(zip(aggregates, values, strict=True))
        if counted is not None:
            counted.update(found)
        return found[TOTAL], page_of(fetched, compiler)

    if day_counts is not None and operator == "<=" and connections[ordered.db].vendor == "postgresql":
        if [name for name, _ in day_counts[0].sums] != list(counts or {}):  # (so the counts are `width` wide too)
            raise ValueError("the day counts' sums must be the counts, by name and in order")
        return with_page_seek(ordered, counted_seek)
    return with_page_seek(ordered, seek)
