"""Every route of the address space under /ipam/, by topic. Paths work with and without a trailing slash.

Order matters where a fixed path and a detail route share a prefix (`hosts/bulk-lookup` vs `hosts/<id>`):
detail routes only match UUIDs, so the fixed paths below never reach them.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, re_path

from foundation.routers import UUID_PATTERN as UUID
from foundation.routers import Router
from ipam.api import (
    audit,
    bulk,
    bulk_hosts,
    comments,
    dashboard,
    exports,
    forecast,
    imports,
    preferences,
    quotas_admin,
    reservations,
    search,
    shares,
    statistics,
    trends,
    views,
)

router = Router()
router.register("countries", views.CountryViewSet, basename="country")
router.register("regions", views.RegionViewSet, basename="region")
router.register("hosts", views.HostViewSet, basename="host")

enhancement_router = Router()
enhancement_router.register("reservations", reservations.ReservationViewSet, basename="reservation")
enhancement_router.register("shares", shares.ShareViewSet, basename="share")
enhancement_router.register("preferences/filters", preferences.SavedFilterViewSet, basename="saved-filter")

urlpatterns: list[URLPattern | URLResolver] = [
    # the address space: countries, regions, hosts, interpretation of an address, own quotas
    re_path(r"^interpret/?$", views.InterpretView.as_view(), name="interpret"),
    re_path(r"^quotas/me/?$", views.QuotaMeView.as_view(), name="quota-me"),
    *router.urls,
    # comments
    re_path(rf"^regions/(?P<region_id>{UUID})/comments/?$", comments.RegionCommentsView.as_view(), name="region-comments"),
    re_path(rf"^hosts/(?P<host_id>{UUID})/comments/?$", comments.HostCommentsView.as_view(), name="host-comments"),
    # bulk host operations
    re_path(r"^hosts/bulk-lookup/?$", bulk_hosts.HostBulkLookupView.as_view(), name="host-bulk-lookup"),
    re_path(r"^hosts/bulk-release/?$", bulk_hosts.HostBulkReleaseView.as_view(), name="host-bulk-release"),
    # search
    re_path(r"^search/?$", search.SearchView.as_view(), name="search"),
    # statistics and dashboard widgets
    re_path(r"^statistics/continent/(?P<continent>[^/]+)/?$", statistics.ContinentStatisticsView.as_view(), name="statistics-continent"),
    re_path(r"^statistics/top-utilized/?$", statistics.TopUtilizedView.as_view(), name="statistics-top-utilized"),
    re_path(r"^statistics/allocation-velocity/?$", statistics.AllocationVelocityView.as_view(), name="statistics-allocation-velocity"),
    re_path(r"^dashboard/top-countries/?$", statistics.DashboardTopCountriesView.as_view(), name="dashboard-top-countries"),
    re_path(r"^dashboard/recent-activity/?$", statistics.DashboardRecentActivityView.as_view(), name="dashboard-recent-activity"),
    # audit
    re_path(r"^audit/?$", audit.AuditHistoryView.as_view(), name="audit"),
    re_path(r"^audit/history/?$", audit.AuditHistoryView.as_view(), name="audit-history"),
    re_path(r"^audit/history/(?P<ip_address>[^/]+)/?$", audit.AuditAddressHistoryView.as_view(), name="audit-address-history"),
    re_path(r"^audit/export/?$", audit.AuditExportView.as_view(), name="audit-export"),
    # quota administration
    re_path(r"^admin/quotas/?$", quotas_admin.QuotaAdminListView.as_view(), name="quota-admin-list"),
    re_path(r"^admin/quotas/(?P<user_id>[0-9]+)/?$", quotas_admin.QuotaAdminDetailView.as_view(), name="quota-admin-detail"),
    # export and import
    re_path(r"^export/?$", exports.ExportView.as_view(), name="export"),
    re_path(rf"^export/(?P<job_id>{UUID})/?$", exports.ExportJobView.as_view(), name="export-job"),
    re_path(rf"^export/(?P<job_id>{UUID})/download/?$", exports.ExportDownloadView.as_view(), name="export-download"),
    re_path(r"^import/?$", imports.ImportView.as_view(), name="import"),
    re_path(r"^import/preview/?$", imports.ImportPreviewView.as_view(), name="import-preview"),
    re_path(rf"^import/jobs/(?P<job_id>{UUID})/?$", imports.ImportJobView.as_view(), name="import-job"),
    # reservations, shares, preferences and saved filters
    re_path(r"^preferences/?$", preferences.PreferencesView.as_view(), name="preferences"),
    # GET is the public view (share token), DELETE revokes (share_id): one view picks auth by method.
    re_path(r"^shares/(?P<share_key>[^/]+)/?$", shares.ShareDetailView.as_view(), name="share-detail"),
    *enhancement_router.urls,
    # dashboard, forecast, trends
    re_path(r"^statistics/dashboard/?$", dashboard.DashboardStatsView.as_view(), name="statistics-dashboard"),
    re_path(r"^dashboard/stats/?$", dashboard.DashboardStatsView.as_view(), name="dashboard-stats"),
    re_path(
        r"^statistics/forecast/(?P<resource_type>[^/]+)/(?P<resource_id>[^/]+)/?$",
        forecast.ForecastView.as_view(),
        name="statistics-forecast",
    ),
    re_path(r"^statistics/trends/?$", trends.TrendsView.as_view(), name="statistics-trends"),
    # bulk tag jobs
    re_path(r"^bulk/tags/?$", bulk.BulkTagsView.as_view(), name="bulk-tags"),
    re_path(r"^bulk/jobs/(?P<job_id>[^/]+)/?$", bulk.BulkJobView.as_view(), name="bulk-job"),
]
