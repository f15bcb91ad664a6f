"""The audit log in the console, made to read: the actor and the namespace by name, the object by name
(its snapshot) and address, changes as a field-by-field diff; filters by action, resource, actor type and
namespace; `?region_id=` / `?resource_id=` narrow it to one object's trail (the region page and every
object's History link here); the selected rows download as CSV (the columns of the audit export)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join

from ipam.admin.address import ReadOnlyAdmin
from ipam.admin.lists import CappedPaginator, recent_values_filter
from ipam.models import AuditLog
from ipam.selectors.audit import AUDIT_FIELDS, audit_row
from ipam.selectors.console import object_name

EXPORT_MAX_ROWS = 50_000
AUDIT_PAGE_FIELDS = (
    "timestamp",
    "actor",
    "actor_type",
    "auth_method",
    "namespace",
    "action_type",
    "resource_type",
    "object",
    "resource_id",
    "ip_address",
    "cidr",
    "country_code",
    "region_id",
    "reason",
    "diff",
    "snapshot",
    "request_id",
    "source_ip",
)


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def changes_diff(row: AuditLog) -> str:
    changes = row.changes if isinstance(row.changes, list) else []
    if not changes:
        return "—"
    return format_html(
        "<table class='ipam-diff'>{}</table>",
        format_html_join(
            "",
            "<tr><th>{}</th><td class='diff-old'>{}</td><td class='diff-new'>{}</td></tr>",
            ((c.get("field", "?"), _value(c.get("old_value")), _value(c.get("new_value"))) for c in changes if isinstance(c, dict)),
        ),
    )


@admin.action(description="Download selected audit rows as CSV")
def export_csv(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[AuditLog]) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(AUDIT_FIELDS))
    writer.writeheader()
    for row in queryset.order_by("-timestamp")[:EXPORT_MAX_ROWS].iterator(chunk_size=2000):
        writer.writerow({key: _value(value) if isinstance(value, dict | list) else value for key, value in audit_row(row).items()})
    response = HttpResponse(buffer.getvalue(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="ipam-audit.csv"'
    return response


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ["timestamp", "actor", "action_type", "resource_type", "object", "namespace", "changed"]
    list_filter = [
        recent_values_filter("action_type", "action"),
        recent_values_filter("resource_type", "resource"),
        "actor_type",
        recent_values_filter("user__username", "namespace"),
    ]
    paginator = CappedPaginator
    list_per_page = 50
    search_fields = ["resource_id", "ip_address", "cidr", "actor", "request_id"]
    list_select_related = ["user"]
    show_full_result_count = False
    actions = [export_csv]
    fields = AUDIT_PAGE_FIELDS
    readonly_fields = AUDIT_PAGE_FIELDS

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return lookup in ("region_id", "resource_id") or super().lookup_allowed(lookup, value, request)

    @admin.display(description="object")
    def object(self, obj: AuditLog) -> str:
        return object_name(obj)

    @admin.display(description="namespace", ordering="user__username")
    def namespace(self, obj: AuditLog) -> str:
        return obj.user.get_username() if obj.user else "—"

    @admin.display(description="changes")
    def changed(self, obj: AuditLog) -> str:
        fields = [c.get("field", "?") for c in obj.changes if isinstance(c, dict)] if isinstance(obj.changes, list) else []
        return ", ".join(fields) or "—"

    @admin.display(description="changes")
    def diff(self, obj: AuditLog) -> str:
        return changes_diff(obj)
