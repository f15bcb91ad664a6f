"""Page-number pages of a user's regions in the list's default order, in one statement (issue 19).

The region list is ordered by `(x_octet, y_octet)`, unique per user (`region_unique_user_xy`). Counting the
user's regions and then reading `ORDER BY x_octet, y_octet OFFSET k LIMIT n` took two statements, and the
planner answered the second by reading and sorting all of the user's region rows (≈ 9 ms for 4,000 regions
on the 1 M-host dataset). Here one statement does both:

    ... WHERE user_id = :u AND (x_octet, y_octet) >= (<the k-th key: an index-only scan of the unique index>)
    ORDER BY x_octet, y_octet LIMIT n

with the count as a scalar subquery of the same statement: the page is read from the unique index from its
first key on, and in one snapshot the rows are exactly those `OFFSET k LIMIT n` returns, next to the total
of that snapshot. A page past the end has no row to carry the total; it is then counted (the 404 path).
Row-value comparison works on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, router
from django.db.models import BooleanField, IntegerField
from django.db.models.expressions import RawSQL

from foundation.pagination import with_page_seek
from ipam.models import Region

DEFAULT_ORDER = ("x_octet", "y_octet")
TOTAL_KEY = "_region_total"


_AFTER_KTH_SQL = (
    "({region}.x_octet, {region}.y_octet) >= (SELECT k.x_octet, k.y_octet FROM {region} k WHERE k.user_id = %s "
    "ORDER BY k.x_octet, k.y_octet LIMIT 1 OFFSET %s)"
)
_TOTAL_SQL = "SELECT COUNT(*) FROM {region} k WHERE k.user_id = %s"


def region_list_unfiltered(queryset: Any, user: Any) -> Any:
    """The list of all of `user`'s regions (`queryset`: unfiltered, their own only), paged in one statement
    when it is in the default order; any other order keeps COUNT and OFFSET."""
    if tuple(queryset.query.order_by) != DEFAULT_ORDER:
        return queryset
    region = connections[router.db_for_read(Region)].ops.quote_name(Region._meta.db_table)
    after_kth, total = _AFTER_KTH_SQL.format(region=region), _TOTAL_SQL.format(region=region)

    def seek(offset: int, limit: int) -> tuple[int, list[Any]]:
        # constant SQL around the model's quoted table name; every value is a parameter
        page = queryset.filter(RawSQL(after_kth, [user.pk, offset], output_field=BooleanField()))  # noqa: S611
        page = page.annotate(**{TOTAL_KEY: RawSQL(total, [user.pk], output_field=IntegerField())})  # noqa: S611
        rows = list(page[:limit])
        if not rows:
            return queryset.count(), []  # past the end (or no region at all): the total for the paginator
        first = rows[0]
        return int(first[TOTAL_KEY] if isinstance(first, dict) else getattr(first, TOTAL_KEY)), rows

    return with_page_seek(queryset, seek)
