"""Page-number pages of a user's hosts without OFFSET deep into the host table (issue 19).

Hosts are listed by `ip_int`, and every host lies in one of its owner's regions (`10.X.Y.0/24`), whose
`allocated_hosts` counts every host row in it, whatever its status (kept in the transactions that add or
remove hosts, checked by `verify_counters`). The running sum of those counters over the user's regions in
address order therefore says which /24 holds the k-th host and how many of the user's hosts come before
it: the page is then `ip_int >= <that /24's first address> ORDER BY ip_int OFFSET <k - before> LIMIT n`,
an index range scan skipping fewer than 254 rows, instead of skipping k rows of a million.

The running sum reads the counters from the index `region_user_network_hosts` — `(user_id, network_int)
INCLUDE (allocated_hosts)` on PostgreSQL — an index-only scan already in address order: no region row and no
sort (`ROWS` frame: `network_int` is unique per user, so it equals the default `RANGE` frame without its peer
handling). The row holding k is the one region with `before <= k < before + n`: the intervals of non-empty
regions are disjoint and an empty one (n = 0) matches no k, so it is found without sorting the candidates.

The page is ONE statement: `ip_int >= <the k-th host's address> ORDER BY ip_int LIMIT n`, where the k-th
address is a scalar subquery (the running sum finds the /24 and the rows to skip in it, an index-only scan of
`host_unique_user_ip` skips them), and the total — the quota row's `hosts_used`, equal to the sum of the
counters — is another scalar subquery of the same statement. The running sum starts from the nearer end of the
list, so a page reads at most half of the user's region counters. One snapshot, so the rows are exactly those
`OFFSET k LIMIT n` returns next to that snapshot's total (the tests compare both); and no second statement
reading the rows by id. A page past the end has no row to carry the total: it is then read on its own (the
404 path). This holds only for the unfiltered list in address order: a filter selects rows the counters do not
describe, and the view keeps OFFSET for it.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, router
from django.db.models import BooleanField, IntegerField
from django.db.models.expressions import RawSQL

from foundation.compiled import OFFSET, Statement, compiled, of_queryset, placeholder
from foundation.pagination import with_count_hint, with_page_seek
from ipam.models import Host, Region
from ipam.selectors.usage import used, used_sql

# `{host}.ip_int >= <the address of the user's host number k in address order>` (NULL past the end). The
# running sum walks the regions from whichever end is nearer to k: forwards for the first half of the list
# (`before`: hosts in earlier regions), backwards for the second (`after`: hosts in later regions; the k-th
# from the start is the (total - 1 - k)-th from the end). Each half is gated by a condition on constants
# and the total only, so PostgreSQL runs one of the two walks (a One-Time Filter) and at most half the
# regions are read.
_FROM_KTH_SQL = """{host}.ip_int >= (
    WITH total AS (SELECT ({hosts_used}) AS t),
    forward AS (
        SELECT network_int, allocated_hosts AS n,
               SUM(allocated_hosts) OVER (ORDER BY network_int ROWS UNBOUNDED PRECEDING) - allocated_hosts AS before
        FROM {region} WHERE user_id = %s
    ),
    backward AS (
        SELECT network_int, allocated_hosts AS n,
               SUM(allocated_hosts) OVER (ORDER BY network_int DESC ROWS UNBOUNDED PRECEDING) - allocated_hosts AS after
        FROM {region} WHERE user_id = %s
    ),
    seek AS (
        SELECT start, skip FROM (
            SELECT network_int AS start, %s - before AS skip FROM forward
            WHERE 2 * %s < (SELECT t FROM total) AND before <= %s AND before + n > %s LIMIT 1
        ) AS first_half
        UNION ALL
        SELECT start, skip FROM (
            SELECT network_int AS start, n - 1 - ((SELECT t FROM total) - 1 - %s - after) AS skip FROM backward
            WHERE 2 * %s >= (SELECT t FROM total)
              AND after <= (SELECT t FROM total) - 1 - %s AND after + n > (SELECT t FROM total) - 1 - %s LIMIT 1
        ) AS second_half
    )
    SELECT k.ip_int FROM {host} k WHERE k.user_id = %s AND k.ip_int >= (SELECT start FROM seek)
    ORDER BY k.ip_int LIMIT 1 OFFSET COALESCE((SELECT skip FROM seek), 0)
)"""
TOTAL_KEY = "_host_total"


def page_queryset(queryset: Any, user_id: int, offset: int) -> Any:
    """`queryset` (all of the user's hosts) from its row number `offset` on, by `ip_int`, each row carrying the
    user's host count as `TOTAL_KEY`: slice it for a page."""
    quote = connections[router.db_for_read(Host)].ops.quote_name
    hosts_used = used_sql("hosts_used")  # the total: the quota row's counter (ipam/selectors/usage.py)
    names = {"host": quote(Host._meta.db_table), "region": quote(Region._meta.db_table), "hosts_used": hosts_used}
    k = offset
    # constant SQL around the models' quoted table names; every value is a parameter
    after = RawSQL(  # noqa: S611
        _FROM_KTH_SQL.format(**names),
        [user_id, user_id, user_id, k, k, k, k, k, k, k, k, user_id],
        output_field=BooleanField(),
    )
    total = RawSQL(hosts_used, [user_id], output_field=IntegerField())  # noqa: S611
    return queryset.filter(after).annotate(**{TOTAL_KEY: total}).order_by("ip_int")


def host_page(queryset: Any, user_id: int, offset: int, limit: int) -> tuple[int | None, list[Any]]:
    """Rows `offset` … `offset + limit - 1` of `queryset` — all of the user's hosts by `ip_int`, as `.values()`
    rows or instances — and the user's host count, in one statement; `(None, [])` past the end."""
    rows = list(page_queryset(queryset, user_id, offset)[:limit])
    if not rows:
        return None, []
    first = rows[0]
    return int(first[TOTAL_KEY] if isinstance(first, dict) else getattr(first, TOTAL_KEY)), rows


def _host_total(user: Any) -> int:
    return used(user, "hosts_used")


def host_page_ids(user_id: int, offset: int, limit: int) -> tuple[int, list[Any]]:
    """The user's host count and the ids of their hosts number `offset` … `offset + limit - 1` by `ip_int`
    (an empty list past the end)."""
    total, rows = host_page(Host.objects.filter(user_id=user_id).values("pk"), user_id, offset, limit)
    return (_host_total(user_id) if total is None else total), [row["pk"] for row in rows]


# --- The list page's statement, compiled once per thread --------------------------------------------------
# The list page is always the same statement but for the user and the offset, yet the ORM built and compiled
# it for every request (about 1 ms). It is compiled once per (database, columns, page size) and thread, with
# placeholders in the user's and the offset's places, and run again with the request's values in those places
# (foundation/compiled.py): the same SQL and parameters the ORM would send, and its compiler converts the rows
# the same way.
def _compiled_page(alias: str, values: tuple[str, ...], limit: int) -> Statement:
    def build() -> Statement:
        user = placeholder(0)
        queryset = Host.objects.using(alias).filter(user_id=user).values(*values)
        return of_queryset(page_queryset(queryset, user, OFFSET)[:limit])

    return compiled(("host page", alias, values, limit), build)


def host_values_page(alias: str, values: tuple[str, ...], user_id: int, offset: int, limit: int) -> tuple[int | None, list[dict[str, Any]]]:
    """`host_page` of `Host.objects.filter(user_id=user_id).values(*values)` on `alias`, from the compiled
    statement: the same rows (`.values()` dicts) and total; `(None, [])` past the end."""
    rows = _compiled_page(alias, values, limit).rows(alias, [(placeholder(0), user_id), (OFFSET, offset)])
    return (int(rows[0][TOTAL_KEY]), rows) if rows else (None, [])


def host_list_unfiltered(queryset: Any, user: Any) -> Any:
    """The list of all of `user`'s hosts (`queryset`, unfiltered) paged by the regions' counters: the total
    always, and in address order (the default) the page itself without OFFSET."""
    queryset = with_count_hint(queryset, lambda: _host_total(user))
    if tuple(queryset.query.order_by) not in {(), ("ip_int",)}:
        return queryset  # another ordering: the rows' positions are not the counters' (OFFSET, counted total)

    values = tuple(queryset.query.values_select)
    compiled = bool(values) and not queryset.query.annotation_select and not queryset.query.extra_select

    def seek(offset: int, limit: int) -> tuple[int, list[Any]]:
        if compiled:  # `.values()` rows of all of the user's hosts: the compiled statement
            total, rows = host_values_page(queryset.db, values, user.pk, offset, limit)
        else:
            total, rows = host_page(queryset, user.pk, offset, limit)
        return (_host_total(user) if total is None else total), rows

    return with_page_seek(queryset, seek)
