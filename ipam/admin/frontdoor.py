"""`/`: a small page saying what this service is, with links to the console, the API docs and /health."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


def front_door(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "ipam/front_door.html", {"version": settings.IPAM_VERSION})
