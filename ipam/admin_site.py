"""The admin site of the IPAM: branded, its index is the operator's home dashboard (ipam/admin/dashboard.py).

It is `django.contrib.admin`'s default site (`ipam.apps.IpamAdminConfig`), so every `@admin.register` of
every app lands here. It lives outside the `ipam.admin` package because building the default site must
not import the modules that register on it; the dashboard is imported when the index is first served.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.template.response import TemplateResponse


class IpamAdminSite(AdminSite):
    site_header = "IPAM operator console"
    site_title = "IPAM console"
    index_title = "Address space overview"
    site_url = "/"  # "View site": the front door, not a 404
    index_template = "admin/ipam/index.html"

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        from ipam.admin.dashboard import dashboard_context

        return super().index(request, {**dashboard_context(request), **(extra_context or {})})
