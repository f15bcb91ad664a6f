"""Routes under /ipam/ for the enhancements area (see ipam_project/urls.py): reservations, shares,
preferences and saved filters. Every path works with and without a trailing slash."""

from django.urls import URLPattern, URLResolver, re_path

from ipam.api import preferences, reservations, shares
from ipam_project.api import Router

router = Router()
router.register("reservations", reservations.ReservationViewSet, basename="reservation")
router.register("shares", shares.ShareViewSet, basename="share")
router.register("preferences/filters", preferences.SavedFilterViewSet, basename="saved-filter")

urlpatterns: list[URLPattern | URLResolver] = [
    re_path(r"^preferences/?$", preferences.PreferencesView.as_view(), name="preferences"),
    # GET is the public view (share token), DELETE revokes (share_id): one view picks auth by method.
    re_path(r"^shares/(?P<share_key>[^/]+)/?$", shares.ShareDetailView.as_view(), name="share-detail"),
    *router.urls,
]
