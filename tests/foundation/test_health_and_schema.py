"""Public endpoints: health with real checks; the OpenAPI schema is valid and lists the core paths."""

from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_health_is_healthy_on_a_migrated_database(anon):
    for path in ("/health", "/ipam/health", "/health/"):
        response = anon.get(path)
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "healthy", body
        assert {"database", "cache", "broker", "migrations", "countries"} <= set(body["checks"])
        assert body["checks"]["countries"]["count"] == 18


def test_health_is_unhealthy_503_without_countries(anon):
    from ipam.models import Country

    Country.objects.all().delete()
    response = anon.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"


def test_openapi_schema_validates_and_lists_core_paths(anon, tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    response = anon.get("/openapi.json")
    assert response.status_code == 200
    paths = set(response.json()["paths"])
    for expected in [
        "/ipam/countries",
        "/ipam/countries/{country}",
        "/ipam/countries/{country}/utilization",
        "/ipam/interpret",
        "/ipam/regions",
        "/ipam/regions/{region_id}",
        "/ipam/regions/preview-next",
        "/ipam/regions/{region_id}/utilization",
        "/ipam/hosts",
        "/ipam/hosts/batch",
        "/ipam/hosts/{host_id}",
        "/ipam/hosts/by-ip/{ip_address}",
        "/ipam/hosts/preview-next",
        "/ipam/quotas/me",
        "/auth/token",
        "/auth/token/refresh",
        "/health",
    ]:
        assert expected in paths, expected


def test_swagger_ui_is_served(anon):
    assert anon.get("/docs").status_code == 200
