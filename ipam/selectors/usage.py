"""A user's region and host counts from their quota row (issue 19).

`UserQuota.regions_used` and `hosts_used` equal the numbers of the user's region and host rows: they are
kept in the transactions that add or remove those rows and checked by `verify_counters`. A list's total read
from them is one row by key instead of counting or summing every region. No row yet: 0.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, router

from ipam.models import UserQuota

_USED_SQL = "SELECT COALESCE(MAX(q.{column}), 0) FROM {quota} q WHERE q.user_id = %s"


def used_sql(counter: str) -> str:
    """A scalar subquery's SQL for the user's `counter` (`regions_used` or `hosts_used`); one parameter, the user."""
    quote = connections[router.db_for_read(UserQuota)].ops.quote_name
    column = quote(str(UserQuota._meta.get_field(counter).column))  # type: ignore[union-attr]  # a concrete field
    return _USED_SQL.format(column=column, quota=quote(UserQuota._meta.db_table))


def used(user: Any, counter: str) -> int:
    """The user's `counter` (`regions_used` or `hosts_used`), 0 without a quota row."""
    return int(UserQuota.objects.filter(user=user).values_list(counter, flat=True).first() or 0)
