"""Routes under /ipam/ for the records area (see ipam_project/urls.py): comments, bulk host operations,
search, statistics, audit, quota administration, import and export. Every path works with and without
a trailing slash."""

from django.urls import URLPattern, URLResolver, re_path

from ipam.api import audit, bulk_hosts, comments, quotas_admin, search, statistics, transfer

UUID = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

urlpatterns: list[URLPattern | URLResolver] = [
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
    re_path(r"^export/?$", transfer.ExportView.as_view(), name="export"),
    re_path(rf"^export/(?P<job_id>{UUID})/?$", transfer.ExportJobView.as_view(), name="export-job"),
    re_path(rf"^export/(?P<job_id>{UUID})/download/?$", transfer.ExportDownloadView.as_view(), name="export-download"),
    re_path(r"^import/?$", transfer.ImportView.as_view(), name="import"),
    re_path(r"^import/preview/?$", transfer.ImportPreviewView.as_view(), name="import-preview"),
]
