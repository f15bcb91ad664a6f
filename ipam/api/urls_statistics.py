"""Routes under /ipam/ for the statistics area (see ipam_project/urls.py): dashboard, forecast, trends, bulk."""

from django.urls import URLPattern, URLResolver, re_path

from ipam.api.bulk import BulkJobView, BulkTagsView
from ipam.api.dashboard import DashboardStatsView
from ipam.api.forecast import ForecastView
from ipam.api.trends import TrendsView

urlpatterns: list[URLPattern | URLResolver] = [
    re_path(r"^statistics/dashboard/?$", DashboardStatsView.as_view(), name="statistics-dashboard"),
    re_path(r"^dashboard/stats/?$", DashboardStatsView.as_view(), name="dashboard-stats"),
    re_path(
        r"^statistics/forecast/(?P<resource_type>[^/]+)/(?P<resource_id>[^/]+)/?$",
        ForecastView.as_view(),
        name="statistics-forecast",
    ),
    re_path(r"^statistics/trends/?$", TrendsView.as_view(), name="statistics-trends"),
    re_path(r"^bulk/tags/?$", BulkTagsView.as_view(), name="bulk-tags"),
    re_path(r"^bulk/jobs/(?P<job_id>[^/]+)/?$", BulkJobView.as_view(), name="bulk-job"),
]
