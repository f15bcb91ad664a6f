"""The list pages' plain row functions render byte for byte what the DRF serializers render (issue 19)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from ipam.api.audit import _CHANGES, AuditEntrySerializer
from ipam.api.list_rows import AUDIT_VALUES, HOST_VALUES, REGION_VALUES, audit_row, host_row, region_row
from ipam.api.serializers import HostSerializer, RegionSerializer
from ipam.models import AuditLog, Host, Region
from ipam.services.hosts import host_update
from ipam.services.regions import region_update
from tests.factories import make_host, make_region

pytestmark = pytest.mark.django_db
render = JSONRenderer().render


def test_host_rows_render_exactly_as_the_host_serializer(api: Any, alice: Any) -> None:
    region = make_region(alice, name='Ümlaut "quoted" région')
    plain = make_host(alice, region, "plain")
    full = make_host(alice, region, "full", device_type="VM", os_type="Linux", notes="a\nb", tags={"env": "prod", "k": ""})
    host_update(actor=alice, host_id=full.pk, data={"status": "reserved", "purpose": "π"})
    Host.objects.filter(pk=plain.pk).update(legacy_id="5f1d7c0a9b8e7d6c5b4a3f2e")
    hosts = list(Host.objects.filter(user=alice).select_related("region__country").order_by("ip_int"))
    rows = list(Host.objects.filter(user=alice).order_by("ip_int").values(*HOST_VALUES))
    assert len(hosts) == len(rows) == 2
    for host, row in zip(hosts, rows, strict=True):
        assert render(host_row(row)) == render(HostSerializer(host).data)
    # and through the API, where the list uses the plain rows
    body = api.get("/ipam/hosts").json()["results"]
    assert body == [HostSerializer(host).data for host in hosts]


def test_audit_rows_render_exactly_as_the_audit_serializer(alice: Any) -> None:
    region = make_region(alice)
    host = make_host(alice, region, "h", tags={"a": "b"})
    host_update(actor=alice, host_id=host.pk, data={"notes": "changed", "tags": {"a": "c"}})
    AuditLog.objects.create(
        user=alice,
        action_type="import",
        resource_type="host",
        changes=[{"field": "x", "old_value": {"nested": [1, 2.5, None]}, "new_value": True, "extra": "dropped"}],
        snapshot={"k": [1, "two"], "n": None},
        timestamp=timezone.now() - dt.timedelta(days=40, microseconds=7),
    )
    AuditLog.objects.create(user=alice, action_type="odd", resource_type="host", changes=[], snapshot={}, timestamp=timezone.now())
    entries = list(AuditLog.objects.filter(user=alice).order_by("-timestamp", "-id"))
    rows = list(AuditLog.objects.filter(user=alice).order_by("-timestamp", "-id").values(*AUDIT_VALUES))
    assert len(entries) == len(rows) >= 5
    for entry, row in zip(entries, rows, strict=True):
        assert render(audit_row(row, _CHANGES.to_representation)) == render(AuditEntrySerializer(entry).data)


def test_unusual_changes_fall_back_to_the_serializer(alice: Any) -> None:
    AuditLog.objects.create(user=alice, action_type="x", resource_type="y", changes=[{"field": 5}], timestamp=timezone.now())
    row = AuditLog.objects.filter(user=alice).values(*AUDIT_VALUES).get()
    calls: list[Any] = []

    def fallback(value: Any) -> Any:
        calls.append(value)
        return ["fallback"]

    assert audit_row(row, fallback)["changes"] == ["fallback"] and calls == [[{"field": 5}]]


def test_region_rows_render_exactly_as_the_region_serializer(api: Any, alice: Any) -> None:
    first = make_region(alice, name="first", description="d\u00e9", tags={"t": "1"}, owner="team")
    second = make_region(alice, country="Japan", name="second")
    for _ in range(3):
        make_host(alice, second)  # utilization 1.18 (rounded)
    region_update(actor=alice, region_id=first.pk, data={"status": "reserved"})
    Region.objects.filter(pk=second.pk).update(legacy_id="5f1d7c0a9b8e7d6c5b4a3f2f")
    regions = list(Region.objects.filter(user=alice).select_related("country").order_by("x_octet", "y_octet"))
    rows = list(Region.objects.filter(user=alice).order_by("x_octet", "y_octet").values(*REGION_VALUES))
    assert len(regions) == len(rows) == 2
    for region, row in zip(regions, rows, strict=True):
        assert render(region_row(row)) == render(RegionSerializer(region).data)
    assert api.get("/ipam/regions").json()["results"] == [RegionSerializer(region).data for region in regions]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/St_Johns"])
def test_datetimes_are_formatted_as_drf_formats_them(zone: str) -> None:
    from rest_framework import serializers

    from foundation.rows import drf_datetime as _datetime

    drf = serializers.DateTimeField()
    values = [
        dt.datetime(2026, 12, 2, 17, 3, 4, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 7, 1, 0, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    ]
    with timezone.override(zone):
        tz = timezone.get_current_timezone()
        for value in values:
            assert _datetime(value) == _datetime(value, tz) == drf.to_representation(value)


def test_a_page_looks_the_time_zone_up_once_not_per_row(api: Any, alice: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    region = make_region(alice)
    for _ in range(12):
        make_host(alice, region)
    expected = {path: api.get(path).content for path in ("/ipam/hosts", "/ipam/regions", "/ipam/audit")}
    calls: list[int] = []
    lookup = timezone.get_current_timezone

    def counted() -> Any:
        calls.append(1)
        return lookup()

    monkeypatch.setattr(timezone, "get_current_timezone", counted)
    for path, body in expected.items():
        calls.clear()
        assert api.get(path).content == body
        assert len(calls) <= 2, (path, len(calls))  # was two per host or region row, one per audit row


def test_a_list_without_filters_equals_the_filtered_path(api: Any, alice: Any) -> None:
    region = make_region(alice)
    for _ in range(3):
        make_host(alice, region)
    for path in ("/ipam/hosts", "/ipam/regions"):
        plain = api.get(f"{path}?page_size=2&ordering=-created_at").json()
        filtered = api.get(f"{path}?page_size=2&ordering=-created_at&status=active").json()
        assert plain["results"] == filtered["results"] and plain["count"] == filtered["count"]
