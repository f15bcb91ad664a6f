"""Routes under /ipam/ for webhooks."""

from django.urls import URLPattern, URLResolver

from foundation.routers import Router
from webhooks.api import views

router = Router()
router.register("webhooks", views.WebhookViewSet, basename="webhook")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
