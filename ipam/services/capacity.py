"""Hook called after every write that changes a utilization (notification rules, capacity events).

Allocation calls `utilization_changed` inside its transaction; evaluation must defer side effects to
`transaction.on_commit`. The notification-rules work fills this in.
"""

from __future__ import annotations

from typing import Any


def utilization_changed(*, user: Any, country_id: int | None = None, region_id: Any = None) -> None:
    return None
