"""The operator's home dashboard: the admin index (ipam/admin_site.py) for staff with the IPAM admin
permission, who see every namespace. Other staff get Django's plain index (what their permissions allow).

Every figure comes from a selector (ipam/selectors/console.py and the per-user selectors it reuses),
the job records (`foundation.jobs.last_runs`, as /health shows them) and the webhook outbox
(`webhooks.services.delivery_health`): nothing is computed here but the geometry of the charts.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from foundation.health import background_task_status
from foundation.permissions import has_ipam_permission
from ipam.admin import charts
from ipam.selectors import console
from webhooks.services import delivery_health

COUNTRY_BARS = 20


def can_see_everything(user: Any) -> bool:
    """Staff with the IPAM admin permission (or superusers) see every user's address space."""
    return bool(user.is_active and user.is_staff and has_ipam_permission(user, "admin"))


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    if not can_see_everything(request.user):
        return {"console": None}
    overview = console.space_overview()
    countries = [{**c, "level": charts.level(c["space_utilization"])} for c in overview["countries"][:COUNTRY_BARS]]
    jobs = background_task_status()
    return {
        "console": {
            "overview": overview,
            "countries": countries,
            "country_height": max(20, 20 * len(countries)),
            "activity": charts.day_columns(console.activity_per_day()),
            "activity_days": console.ACTIVITY_DAYS,
            "nearest": console.nearest_exhaustion(),
            "recent": console.recent_activity(),
            "jobs": jobs,
            "jobs_failed": [name for name, job in jobs.items() if job.get("last_status") == "failure"],
            "webhooks": delivery_health(),
            "threshold": settings.IPAM_CAPACITY_WARNING_THRESHOLD,
        }
    }
