"""Keyset (cursor) pagination of the large lists; page numbers keep working unchanged without `cursor`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ipam.models import AuditLog
from notifications.models import Notification
from tests.factories import make_host, make_region
from webhooks.models import Webhook, WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db


def _walk(api, url):
    """Every row of a cursor list, following `next` links; returns (rows, pages)."""
    rows, pages = [], []
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.json()
        body = response.json()
        assert set(body) - {"unread_count"} == {"next", "previous", "results"}  # notifications add their unread count
        pages.append(body)
        rows.extend(body["results"])
        url = body["next"]
    return rows, pages


def test_without_cursor_the_list_pages_by_number_as_before(api, alice):
    region = make_region(alice)
    for i in range(3):
        make_host(alice, region, f"h{i}")
    body = api.get("/ipam/hosts?page_size=2").json()
    assert set(body) == {"count", "next", "previous", "results"} and body["count"] == 3
    assert "page=2" in body["next"]


def test_a_cursor_walk_over_hosts_returns_every_host_once_in_address_order(api, alice):
    region = make_region(alice)
    hosts = [make_host(alice, region, f"h{i}") for i in range(7)]
    rows, pages = _walk(api, "/ipam/hosts?cursor=&page_size=3")
    assert [r["host_id"] for r in rows] == [str(h.id) for h in sorted(hosts, key=lambda h: h.ip_int)]
    assert [len(p["results"]) for p in pages] == [3, 3, 1]
    assert pages[0]["previous"] is None and pages[-1]["next"] is None


def test_previous_links_walk_back_to_the_first_page(api, alice):
    region = make_region(alice)
    for i in range(7):
        make_host(alice, region, f"h{i}")
    first = api.get("/ipam/hosts?cursor=&page_size=3").json()
    second = api.get(first["next"]).json()
    third = api.get(second["next"]).json()
    back = api.get(third["previous"]).json()
    assert back["results"] == second["results"]
    again = api.get(back["previous"]).json()
    assert again["results"] == first["results"]
    assert again["previous"] is None


def test_pages_do_not_shift_when_rows_are_inserted_before_the_cursor(api, alice):
    region = make_region(alice)
    for i in range(6):
        make_host(alice, region, f"h{i}")
    first = api.get("/ipam/hosts?cursor=&page_size=3").json()
    api.delete(f"/ipam/hosts/{first['results'][0]['host_id']}")  # a row of the page already read goes …
    late = api.post("/ipam/hosts", {"region_id": str(region.id), "hostname": "late"}, format="json").json()
    assert late["ip_address"] == first["results"][0]["ip_address"]  # … and a new one takes its lower address
    second = api.get(first["next"]).json()
    seen = {r["host_id"] for r in first["results"]}
    assert not seen & {r["host_id"] for r in second["results"]}  # nothing repeated, nothing skipped
    assert [r["hostname"] for r in second["results"]] == ["h3", "h4", "h5"]


def test_regions_audit_and_notifications_walk_by_cursor(api, alice):
    for i in range(5):
        make_region(alice, "India", f"r{i}")
    rows, _ = _walk(api, "/ipam/regions?cursor=&page_size=2")
    assert [(r["x_octet"], r["y_octet"]) for r in rows] == sorted((r["x_octet"], r["y_octet"]) for r in rows)
    assert len(rows) == 5
    now = timezone.now()
    AuditLog.objects.bulk_create(
        AuditLog(user=alice, action_type="update", resource_type="region", timestamp=now - timedelta(seconds=i % 2)) for i in range(5)
    )  # equal timestamps: the id breaks the tie
    expected = list(AuditLog.objects.filter(user=alice).order_by("-timestamp", "-id").values_list("id", flat=True))
    audit, _ = _walk(api, "/ipam/audit?cursor=&page_size=2")
    assert [r["audit_id"] for r in audit] == [str(x) for x in expected]
    ascending, _ = _walk(api, "/ipam/audit?cursor=&page_size=3&ordering=timestamp")
    assert [r["audit_id"] for r in ascending] == [str(x) for x in reversed(expected)]
    Notification.objects.bulk_create(Notification(user=alice, notification_type="test", message=f"n{i}") for i in range(4))
    notes, _ = _walk(api, "/ipam/notifications?cursor=&page_size=3")
    assert len(notes) == 4 and len({n["notification_id"] for n in notes}) == 4


def test_a_deep_page_costs_one_query_without_offset(api, alice):
    region = make_region(alice)
    for i in range(30):
        make_host(alice, region, f"h{i:02}")
    page = api.get("/ipam/hosts?cursor=&page_size=10").json()
    page = api.get(page["next"]).json()
    with CaptureQueriesContext(connection) as queries:
        last = api.get(page["next"]).json()
    assert last["results"][0]["hostname"] == "h20"
    host_queries = [q["sql"] for q in queries.captured_queries if "ipam_host" in q["sql"]]
    assert len(host_queries) == 1
    assert "OFFSET" not in host_queries[0].upper() and "COUNT(" not in host_queries[0].upper()


@pytest.mark.parametrize("cursor", ["garbage!", "eyJwIjogMX0", "eyJwIjpbImEiXSwiYiI6ZmFsc2V9"])
def test_a_tampered_cursor_is_a_400(api, alice, cursor):
    response = api.get(f"/ipam/hosts?cursor={cursor}")
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error" and "cursor" in response.json()["details"]


def test_an_ordering_the_cursor_cannot_follow_is_a_400(api, alice):
    response = api.get("/ipam/hosts?cursor=&ordering=hostname")
    assert response.status_code == 400 and "ordering" in response.json()["details"]
    assert api.get("/ipam/hosts?cursor=&ordering=-ip_int").status_code == 200


def test_webhook_deliveries_page_by_cursor(api, alice):
    now = timezone.now()
    webhook = Webhook.objects.create(user=alice, webhook_url="https://example.com/hook", events=["region.created"], secret_encrypted="x")
    event = WebhookEvent.objects.create(user=alice, event_type="region.created", body="{}", created_at=now)
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(webhook=webhook, event=event, event_type="region.created", created_at=now, next_attempt_at=now) for _ in range(5)
    )
    rows, _ = _walk(api, f"/ipam/webhooks/{webhook.id}/deliveries?cursor=&page_size=2")
    assert len({r["delivery_id"] for r in rows}) == 5
    assert set(api.get("/ipam/webhooks?cursor=").json()) == {"count", "next", "previous", "results"}  # short list: numbers
