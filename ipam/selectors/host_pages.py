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

The counters, the total and the page's ids are read in ONE statement, so they come from one snapshot:
the ids are exactly those `OFFSET k LIMIT n` returns in that snapshot (the tests compare both). The
rows themselves are then loaded by id. This holds only for the unfiltered list: a filter selects rows the
counters do not describe, and the view keeps OFFSET for it.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, router
from django.db.models import Sum

from foundation.pagination import with_count_hint, with_page_seek
from ipam.models import Host, Region

_PAGE_IDS_SQL = """
WITH regions AS (
    SELECT network_int, allocated_hosts AS n,
           SUM(allocated_hosts) OVER (ORDER BY network_int ROWS UNBOUNDED PRECEDING) - allocated_hosts AS before
    FROM {region} WHERE user_id = %s
),
totals AS (SELECT COALESCE(SUM(n), 0) AS total FROM regions),
seek AS (
    SELECT network_int AS start, %s - before AS skip FROM regions
    WHERE before <= %s AND before + n > %s LIMIT 1
)
SELECT totals.total, page.id FROM totals LEFT JOIN (
    SELECT h.id, h.ip_int FROM {host} h
    WHERE h.user_id = %s AND h.ip_int >= (SELECT start FROM seek)
    ORDER BY h.ip_int LIMIT %s OFFSET COALESCE((SELECT skip FROM seek), 0)
) page ON 1 = 1
ORDER BY page.ip_int
"""


def host_page_ids(user_id: int, offset: int, limit: int) -> tuple[int, list[Any]]:
    """The user's host count and the ids of their hosts number `offset` … `offset + limit - 1` by `ip_int`
    (an empty list past the end), from one snapshot."""
    alias = router.db_for_read(Host)
    connection = connections[alias]
    quote = connection.ops.quote_name
    sql = _PAGE_IDS_SQL.format(region=quote(Region._meta.db_table), host=quote(Host._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, offset, offset, offset, user_id, limit])
        rows = cursor.fetchall()
    total = int(rows[0][0]) if rows else 0
    converter = Host._meta.pk.to_python  # type: ignore[union-attr]  # SQLite returns UUIDs as hex text
    return total, [converter(row[1]) for row in rows if row[1] is not None]


def host_list_unfiltered(queryset: Any, user: Any) -> Any:
    """The list of all of `user`'s hosts (`queryset`, unfiltered) paged by the regions' counters: the total
    always, and in address order (the default) the page itself without OFFSET."""
    queryset = with_count_hint(queryset, lambda: Region.objects.filter(user=user).aggregate(total=Sum("allocated_hosts"))["total"] or 0)
    if tuple(queryset.query.order_by) not in {(), ("ip_int",)}:
        return queryset  # another ordering: the rows' positions are not the counters' (OFFSET, counted total)

    def seek(offset: int, limit: int) -> tuple[int, list[Host]]:
        total, ids = host_page_ids(user.pk, offset, limit)
        rows = list(queryset.filter(pk__in=ids).order_by("ip_int")) if ids else []
        return total, rows

    return with_page_seek(queryset, seek)
