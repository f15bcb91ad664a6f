"""Core routes under /ipam/: countries, regions, hosts, interpretation, own quotas."""

from django.urls import re_path

from ipam.api import views
from ipam_project.api import Router

router = Router()
router.register("countries", views.CountryViewSet, basename="country")
router.register("regions", views.RegionViewSet, basename="region")
router.register("hosts", views.HostViewSet, basename="host")

urlpatterns = [
    re_path(r"^interpret/?$", views.InterpretView.as_view(), name="interpret"),
    re_path(r"^quotas/me/?$", views.QuotaMeView.as_view(), name="quota-me"),
    *router.urls,
]
