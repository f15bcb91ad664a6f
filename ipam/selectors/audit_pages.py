"""Page-number pages of a user's audit trail, newest first, without COUNT(*) or OFFSET over it (issue 19).

`ipam_auditdaycount` holds the user's audit rows per UTC day, kept by triggers in the writers' own
transactions (see the model `AuditDayCount`). Summed newest day first, it gives the exact total and the
day holding the k-th newest row together with how many rows are newer than that day; the page is then
`timestamp < <that day's end> ORDER BY timestamp DESC, id DESC OFFSET <k - newer> LIMIT n` — an
index-only range scan skipping at most one day's rows, instead of a million.

Counts, total and the page's keys come from ONE statement (one snapshot), so the ids are exactly those
`OFFSET k LIMIT n` returns in that snapshot. Only for the unfiltered trail in the default order, and only
on PostgreSQL (the triggers); everything else keeps COUNT/OFFSET.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import connections, router

from foundation.pagination import with_page_seek
from ipam.models import AuditDayCount, AuditLog

_PAGE_KEYS_SQL = """
WITH days AS (
    SELECT day, SUM(n) AS n FROM {counts} WHERE user_id = %s GROUP BY day HAVING SUM(n) > 0
),
running AS (SELECT day, n, SUM(n) OVER (ORDER BY day DESC) - n AS newer FROM days),
totals AS (SELECT COALESCE(SUM(n), 0) AS total FROM days),
seek AS (
    SELECT day + INTERVAL '1 day' AS day_end, %s - newer AS skip FROM running
    WHERE newer + n > %s ORDER BY day DESC LIMIT 1
)
SELECT totals.total, page.id, page.ts FROM totals LEFT JOIN (
    SELECT a.id, a."timestamp" AS ts FROM {audit} a
    WHERE a.user_id = %s AND a."timestamp" < (SELECT day_end FROM seek)
    ORDER BY a."timestamp" DESC, a.id DESC LIMIT %s OFFSET COALESCE((SELECT skip FROM seek), 0)
) page ON TRUE
ORDER BY page.ts DESC, page.id DESC
"""


def audit_seek_available() -> bool:
    """The day counts are kept (PostgreSQL triggers) on the database the audit list reads."""
    return connections[router.db_for_read(AuditLog)].vendor == "postgresql"


def audit_page_keys(user_id: int, offset: int, limit: int) -> tuple[int, list[tuple[Any, datetime.datetime]]]:
    """The user's audit row count and the (id, timestamp) of their rows number `offset` … `offset + limit - 1`,
    newest first (an empty list past the end), from one snapshot."""
    connection = connections[router.db_for_read(AuditLog)]
    quote = connection.ops.quote_name
    sql = _PAGE_KEYS_SQL.format(counts=quote(AuditDayCount._meta.db_table), audit=quote(AuditLog._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, offset, offset, user_id, limit])
        rows = cursor.fetchall()
    total = int(rows[0][0]) if rows else 0
    return total, [(row[1], row[2]) for row in rows if row[1] is not None]


def audit_list_unfiltered(queryset: Any, user: Any) -> Any:
    """The caller's whole audit trail, newest first (`queryset`), paged from the day counts."""

    def seek(offset: int, limit: int) -> tuple[int, list[AuditLog]]:
        total, keys = audit_page_keys(user.pk, offset, limit)
        if not keys:
            return total, []
        stamps = [stamp for _, stamp in keys]
        rows = queryset.filter(pk__in=[pk for pk, _ in keys], timestamp__gte=min(stamps), timestamp__lte=max(stamps))
        return total, list(rows)  # the queryset's own order: -timestamp, -id

    return with_page_seek(queryset, seek)
