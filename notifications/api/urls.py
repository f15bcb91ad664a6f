"""Routes under /ipam/ for notifications and notification rules."""

from django.urls import URLPattern, URLResolver

from foundation.routers import Router
from notifications.api import views

router = Router()
router.register("notifications/rules", views.NotificationRuleViewSet, basename="notification-rule")
router.register("notifications", views.NotificationViewSet, basename="notification")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
