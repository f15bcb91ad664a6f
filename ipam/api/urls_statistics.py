"""Routes under /ipam/ for the statistics area (see ipam_project/urls.py)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
