"""Page-number pages of a user's regions in the list's default order, in one statement (issue 19).

The region list is ordered by `(x_octet, y_octet)`, unique per user (`region_unique_user_xy`). Counting the
user's regions and then reading `ORDER BY x_octet, y_octet OFFSET k LIMIT n` took two statements, and the
planner answered the second by reading and sorting all of the user's region rows (≈ 9 ms for 4,000 regions
on the 1 M-host dataset). Here one statement does both:

    ... WHERE user_id = :u AND (x_octet, y_octet) >= (<the k-th key: an index-only scan of the unique index>)
    ORDER BY x_octet, y_octet LIMIT n

with the count (the quota row's `regions_used`) as a scalar subquery of the same statement: the page is read
from the unique index from its first key on, and in one snapshot the rows are exactly those `OFFSET k LIMIT n`
returns, next to the total of that snapshot. The k-th key is read from the nearer end of the index. A page
past the end has no row to carry the total; it is then read on its own (the 404 path). Row-value comparison works on
PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, router
from django.db.models import BooleanField, IntegerField
from django.db.models.expressions import RawSQL

from foundation.pagination import with_page_seek
from ipam.models import Region
from ipam.selectors.usage import used, used_sql

DEFAULT_ORDER = ("x_octet", "y_octet")
TOTAL_KEY = "_region_total"


# The k-th key, read from the nearer end of the unique index: forwards (`OFFSET k`) for the first half of the
# list, backwards (`OFFSET total - 1 - k`) for the second, so at most half of the user's index entries are
# skipped. Each half is gated by a condition on constants and the total only (PostgreSQL runs one of them);
# past the end neither matches and the page is empty.
_AFTER_KTH_SQL = """({region}.x_octet, {region}.y_octet) >= (
    WITH total AS (SELECT ({regions_used}) AS t)
    SELECT x_octet, y_octet FROM (
        SELECT k.x_octet, k.y_octet FROM {region} k WHERE k.user_id = %s AND 2 * %s < (SELECT t FROM total)
        ORDER BY k.x_octet, k.y_octet LIMIT 1 OFFSET %s
    ) AS first_half
    UNION ALL
    SELECT x_octet, y_octet FROM (
        SELECT k.x_octet, k.y_octet FROM {region} k
        WHERE k.user_id = %s AND 2 * %s >= (SELECT t FROM total) AND %s < (SELECT t FROM total)
        ORDER BY k.x_octet DESC, k.y_octet DESC LIMIT 1
        OFFSET (SELECT CASE WHEN t - 1 - %s > 0 THEN t - 1 - %s ELSE 0 END FROM total)
    ) AS second_half
)"""


def page_queryset(queryset: Any, user_id: int, offset: int) -> Any:
    """`queryset` (all of the user's regions, in the default order) from its row number `offset` on, each row
    carrying the user's region count as `TOTAL_KEY`: slice it for a page."""
    quote = connections[router.db_for_read(Region)].ops.quote_name
    regions_used = used_sql("regions_used")  # the total: the quota row's counter (ipam/selectors/usage.py)
    after_kth = _AFTER_KTH_SQL.format(region=quote(Region._meta.db_table), regions_used=regions_used)
    k = offset
    # constant SQL around the models' quoted table names; every value is a parameter
    page = queryset.filter(RawSQL(after_kth, [user_id, user_id, k, k, user_id, k, k, k, k], output_field=BooleanField()))  # noqa: S611
    return page.annotate(**{TOTAL_KEY: RawSQL(regions_used, [user_id], output_field=IntegerField())})  # noqa: S611


def region_list_unfiltered(queryset: Any, user: Any) -> Any:
    """The list of all of `user`'s regions (`queryset`: unfiltered, their own only), paged in one statement
    when it is in the default order; any other order keeps COUNT and OFFSET."""
    if tuple(queryset.query.order_by) != DEFAULT_ORDER:
        return queryset

    def seek(offset: int, limit: int) -> tuple[int, list[Any]]:
        rows = list(page_queryset(queryset, user.pk, offset)[:limit])
        if not rows:
            return used(user, "regions_used"), []  # past the end (or no region at all): the total for the paginator
        first = rows[0]
        return int(first[TOTAL_KEY] if isinstance(first, dict) else getattr(first, TOTAL_KEY)), rows

    return with_page_seek(queryset, seek)
