"""Host allocation's hot path: the region lock, then one statement answers every question the common case asks.

What the lock probes (name taken, host reservation in the region, active webhooks, active rules) must still
be honoured when the answer is yes: each case below allocates through the API and checks the outcome.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ipam.models import AuditLog, Host, Region, Reservation, UserQuota
from ipam.services.hosts import host_allocate
from notifications.models import AlertState
from notifications.services import notification_rule_create
from tests.factories import make_host, make_region
from webhooks.models import WebhookEvent
from webhooks.services import webhook_create


def _statements(action: Any) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        action()
    # Transaction control (BEGIN/COMMIT, or the savepoints of the test's own transaction) is not counted.
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(control)]


def test_a_host_allocation_is_three_statements_on_postgresql_and_six_on_sqlite(alice: Any) -> None:
    region = make_region(alice)
    make_host(alice, region)  # the quota row exists from now on
    sql = _statements(lambda: host_allocate(actor=alice, region_id=region.pk, hostname="web-2"))
    assert sql[0].startswith("SELECT") and "ipam_region" in sql[0]
    if connection.features.has_select_for_update:  # PostgreSQL: the region row is locked (SQLite serialises writers)
        assert "FOR UPDATE" in sql[0]
    # The probes are a statement of their own, after the lock: under READ COMMITTED a statement reads the snapshot
    # taken when it started, so probes inside the lock statement would miss what the previous lock holder committed.
    for table in ("ipam_host", "webhooks_webhook", "notifications_notificationrule", "enhancements_reservation"):
        assert table not in sql[0], table
        assert table in sql[1], table
        assert sum(table in statement for statement in sql[2:] if statement.startswith("SELECT")) == 0, table
    if connection.vendor == "postgresql":
        # lock, probes, then one statement writes the host, the region, the audit row and the quota counter
        assert len(sql) == 3, sql
        assert sql[2].startswith("WITH h AS (INSERT INTO") and "ipam_host" in sql[2], sql[2]
        for write in ('UPDATE "ipam_region"', 'INSERT INTO "ipam_auditlog"', 'UPDATE "ipam_userquota"'):
            assert write in sql[2], write
    else:
        assert len(sql) == 6, sql  # lock, probes, insert host, update region, insert audit row, quota
        assert [statement.split()[0] for statement in sql] == ["SELECT", "SELECT", "INSERT", "UPDATE", "INSERT", "UPDATE"]
    assert Host.objects.filter(region=region).count() == 2
    assert AuditLog.objects.filter(resource_type="host", action_type="create").count() == 2
    assert UserQuota.objects.get(user=alice).hosts_used == 2


def test_a_taken_hostname_is_still_refused(api: Any, alice: Any) -> None:
    region = make_region(alice)
    make_host(alice, region, "db-1")
    response = api.post("/ipam/hosts", {"region_id": str(region.pk), "hostname": "db-1"}, format="json")
    assert response.status_code == 409
    assert response.json()["details"]["hostnames"] == ["db-1"]


def test_a_reserved_address_is_still_skipped(api: Any, alice: Any) -> None:
    region = make_region(alice)
    created = api.post(
        "/ipam/reservations",
        {"resource_type": "host", "x_octet": region.x_octet, "y_octet": region.y_octet, "z_octet": 1, "reason": "hold"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert Reservation.objects.filter(user=alice).count() == 1
    response = api.post("/ipam/hosts", {"region_id": str(region.pk), "hostname": "web-1"}, format="json")
    assert response.status_code == 201
    assert response.json()["z_octet"] == 2


def test_a_webhook_still_receives_the_allocation_and_a_rule_still_fires(
    api: Any, alice: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.IPAM_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    region = make_region(alice)
    webhook_create(actor=alice, webhook_url="http://127.0.0.1:9/hook", events=["host.allocated"])
    notification_rule_create(
        actor=alice, rule_name="any", utilization_threshold=0.1, resource_type="region", notification_channels=["in_app"]
    )
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post("/ipam/hosts", {"region_id": str(region.pk), "hostname": "web-1"}, format="json")
    assert response.status_code == 201
    assert WebhookEvent.objects.filter(user=alice, event_type="host.allocated").count() == 1
    assert AlertState.objects.filter(user=alice, rule__isnull=False).count() == 1


# --- ipam.services.hostlock: its hand-written statement answers exactly what the ORM would ----------------
def _orm_answers(user: Any, region: Any, names: list[str]) -> dict[str, bool]:
    from django.db.models import Q
    from django.utils import timezone

    from notifications.models import NotificationRule
    from webhooks.models import Webhook

    now = timezone.now()
    return {
        "hostname_taken": Host.objects.filter(region=region, hostname__in=names).exists(),
        "has_host_reservations": Reservation.objects.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now),
            user=user,
            resource_type="host",
            status="active",
            x_octet=region.x_octet,
            y_octet=region.y_octet,
        ).exists(),
        "has_webhooks": Webhook.objects.filter(user=user, is_active=True).exists(),
        "has_rules": NotificationRule.objects.filter(user=user, is_active=True).exists(),
    }


def _probe(user: Any, region: Any, names: list[str]) -> dict[str, bool]:
    from django.db import transaction

    from ipam.services.hostlock import PROBES, lock_region_for_hosts

    with transaction.atomic():
        locked = lock_region_for_hosts(user, region.pk, names)
    assert locked.pk == region.pk and locked.country.code == region.country.code
    assert (locked.host_bitmap, locked.allocated_hosts, locked.tags) == (region.host_bitmap, region.allocated_hosts, region.tags)
    # Every column as the ORM loads it (converters applied: the tags decoded, not JSON text), the country too.
    orm = Region.objects.select_related("country").get(pk=region.pk)
    for instance, loaded in ((locked, orm), (locked.country, orm.country)):
        for field in type(instance)._meta.concrete_fields:
            got, want = getattr(instance, field.attname), getattr(loaded, field.attname)
            assert (got, type(got)) == (want, type(want)), field.name
    return {probe: getattr(locked, probe) for probe in PROBES}


def test_the_lock_statement_agrees_with_the_orm_in_every_case(alice: Any, bob: Any, settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    settings.IPAM_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    region = make_region(alice, tags={"env": "prod"})
    make_host(alice, region, "taken")
    region.refresh_from_db()
    nothing = {"hostname_taken": False, "has_host_reservations": False, "has_webhooks": False, "has_rules": False}
    assert _probe(alice, region, ["free"]) == _orm_answers(alice, region, ["free"]) == nothing
    assert _probe(alice, region, ["free", "taken"])["hostname_taken"] is True

    def reserve(user: Any, z: int, expires_in: timedelta) -> None:
        Reservation.objects.create(
            user=user,
            resource_type="host",
            country=region.country,
            x_octet=region.x_octet,
            y_octet=region.y_octet,
            z_octet=z,
            status="active",
            expires_at=timezone.now() + expires_in,
        )

    # Another user's webhook, rule or reservation does not count; an expired reservation neither.
    webhook_create(actor=bob, webhook_url="http://127.0.0.1:9/hook", events=["host.allocated"])
    notification_rule_create(actor=bob, rule_name="r", utilization_threshold=50, notification_channels=["in_app"])
    reserve(bob, 8, timedelta(hours=1))
    reserve(alice, 9, timedelta(minutes=-1))
    assert _probe(alice, region, ["free"]) == _orm_answers(alice, region, ["free"]) == nothing
    # Alice's own active webhook, rule and reservation do.
    webhook_create(actor=alice, webhook_url="http://127.0.0.1:9/hook", events=["host.allocated"])
    notification_rule_create(actor=alice, rule_name="r", utilization_threshold=50, notification_channels=["in_app"])
    reserve(alice, 10, timedelta(hours=1))
    everything = {"hostname_taken": False, "has_host_reservations": True, "has_webhooks": True, "has_rules": True}
    assert _probe(alice, region, ["free"]) == _orm_answers(alice, region, ["free"]) == everything


def test_the_lock_statement_finds_only_the_users_own_region(alice: Any, bob: Any) -> None:
    import pytest
    from django.db import transaction

    from ipam.exceptions import NotFound
    from ipam.services.hostlock import lock_region_for_hosts

    region = make_region(alice)
    for user, region_id in ((bob, region.pk), (alice, "not-a-uuid"), (alice, "00000000-0000-0000-0000-000000000000")):
        with transaction.atomic(), pytest.raises(NotFound):
            lock_region_for_hosts(user, region_id, ["x"])


# --- GET /ipam/hosts: the unfiltered total comes from the regions' counters, not COUNT(*) over the hosts ----
def test_the_unfiltered_host_list_counts_from_the_region_counters(api: Any, alice: Any, bob: Any) -> None:
    assert api.get("/ipam/hosts").json()["count"] == 0  # no region at all
    first, second = make_region(alice), make_region(alice)
    for index in range(3):
        make_host(alice, first, f"a-{index}")
    make_host(alice, second, "b-0")
    make_host(bob, make_region(bob), "bobs")
    with CaptureQueriesContext(connection) as captured:
        body = api.get("/ipam/hosts?page_size=2&ordering=-hostname").json()
    assert body["count"] == 4 and len(body["results"]) == 2 and body["results"][0]["hostname"] == "b-0"
    counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts == []  # the total is SUM(allocated_hosts) over the caller's regions
    assert api.get("/ipam/hosts?page=last&page_size=3").json()["results"][0]["hostname"] == "b-0"
    host = Host.objects.get(hostname="a-0")
    assert api.delete(f"/ipam/hosts/{host.pk}?reason=gone").status_code == 200
    assert api.get("/ipam/hosts").json()["count"] == 3


def test_a_filtered_host_list_still_counts_its_rows(api: Any, alice: Any) -> None:
    first, second = make_region(alice), make_region(alice)
    for index in range(3):
        make_host(alice, first, f"a-{index}")
    make_host(alice, second, "b-0")
    assert api.get(f"/ipam/hosts?region_id={second.pk}").json()["count"] == 1
    assert api.get("/ipam/hosts?hostname=a-").json()["count"] == 3


def test_a_region_allocation_resolves_the_country_from_the_cached_table(alice: Any) -> None:
    """Issue 19: the country (name, alpha-2 or alpha-3, any case) comes from the versioned country cache; the
    first statement is the cursor lock, and an unknown country is still a 404."""
    import pytest

    from ipam import cache as ipam_cache
    from ipam.exceptions import NotFound
    from ipam.models import Country, Region
    from ipam.services.regions import region_allocate

    region_allocate(actor=alice, country="India", region_name="warm")  # quota and cursor rows exist from now on
    ipam_cache.countries()
    for value in ("india", "IN", "ind"):
        sql = _statements(lambda value=value: region_allocate(actor=alice, country=value, region_name=f"r-{value}"))
        assert "ipam_country" not in sql[0] and "ipam_allocationcursor" in sql[0], sql[0]
        assert not any('FROM "ipam_country"' in statement for statement in sql), sql
    assert Region.objects.filter(user=alice, country__name="India").count() == 4
    with pytest.raises(NotFound):
        region_allocate(actor=alice, country="Atlantis", region_name="x")
    # A renamed country is seen at once (the cache version moves with the edit), the old name is unknown.
    Country.objects.filter(name="India").update(name="Bharat")
    ipam_cache.bump_countries_version()
    assert region_allocate(actor=alice, country="bharat", region_name="after-rename").country.name == "Bharat"
    with pytest.raises(NotFound):
        region_allocate(actor=alice, country="India", region_name="old-name")


def test_the_host_lock_reads_the_country_with_the_probes_not_from_the_cache(alice: Any, monkeypatch: Any) -> None:
    """The region's country comes from the probe statement (after the lock; it decides nothing): no cache round
    trip, every column as the table holds it, and an edit of the country is seen at once."""
    from ipam import cache as ipam_cache
    from ipam.models import Country

    region = make_region(alice)
    monkeypatch.setattr(ipam_cache, "countries", lambda: pytest.fail("the country cache was read"))
    sql = _statements(lambda: host_allocate(actor=alice, region_id=region.pk, hostname="web-1"))
    probes = [statement for statement in sql if statement.startswith("SELECT EXISTS")]
    assert len(probes) == 1 and "ipam_country" in probes[0], sql
    Country.objects.filter(pk=region.country_id).update(name="Bharat")
    host = host_allocate(actor=alice, region_id=region.pk, hostname="web-2")
    stored = Country.objects.get(pk=region.country_id)
    shown = host.region.country
    assert [getattr(shown, f.attname) for f in Country._meta.concrete_fields] == [
        getattr(stored, f.attname) for f in Country._meta.concrete_fields
    ]
    assert shown.name == "Bharat"


# --- Region allocation: the cursor lock, then one probe statement (issue 19) --------------------------------
def test_a_region_allocation_is_six_statements_in_the_common_case(alice: Any) -> None:
    from ipam.services.regions import region_allocate

    region_allocate(actor=alice, country="India", region_name="first")  # quota and cursor rows exist from now on
    sql = _statements(lambda: region_allocate(actor=alice, country="India", region_name="second"))
    # PostgreSQL asks the probes and makes the four writes in one WITH statement (tests/perf/test_region_joined_write.py).
    after_lock = ["WITH"] if connection.vendor == "postgresql" else ["SELECT", "INSERT", "UPDATE", "INSERT", "UPDATE"]
    assert [statement.split()[0] for statement in sql] == ["SELECT", *after_lock], sql
    assert "ipam_allocationcursor" in sql[0]
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in sql[0]
    for table in ("ipam_region", "enhancements_reservation", "webhooks_webhook", "notifications_notificationrule"):
        assert table in sql[1], table  # the probes: one statement, after the lock
        assert sum(table in statement for statement in sql[2:] if statement.startswith("SELECT")) == 0, table


def test_a_region_name_taken_in_another_case_is_still_refused(api: Any, alice: Any) -> None:
    assert api.post("/ipam/regions", {"country": "India", "region_name": "Edge-1"}, format="json").status_code == 201
    response = api.post("/ipam/regions", {"country": "India", "region_name": "EDGE-1"}, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["details"]["region_name"] == "EDGE-1"
    # The same name in another country is free (the probe asks about this country only).
    assert api.post("/ipam/regions", {"country": "Japan", "region_name": "edge-1"}, format="json").status_code == 201


def test_a_reserved_region_is_still_skipped_and_an_expired_one_is_not(api: Any, alice: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from ipam.models import Country

    japan = Country.objects.get(name="Japan")
    held = api.post(
        "/ipam/reservations", {"resource_type": "region", "x_octet": japan.x_start, "y_octet": 0, "reason": "hold"}, format="json"
    )
    assert held.status_code == 201, held.content
    first = api.post("/ipam/regions", {"country": "Japan", "region_name": "a"}, format="json").json()
    assert (first["x_octet"], first["y_octet"]) == (japan.x_start, 1)
    # A reservation past its expiry holds nothing: the probe must not count it either.
    Reservation.objects.filter(user=alice).update(expires_at=timezone.now() - timedelta(minutes=1))
    second = api.post("/ipam/regions", {"country": "Japan", "region_name": "b"}, format="json").json()
    assert (second["x_octet"], second["y_octet"]) == (japan.x_start, 0)


def test_a_webhook_still_receives_region_created_and_a_country_rule_still_fires(
    api: Any, alice: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.IPAM_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    webhook_create(actor=alice, webhook_url="http://127.0.0.1:9/hook", events=["region.created"])
    notification_rule_create(
        actor=alice, rule_name="any", utilization_threshold=0.01, resource_type="country", notification_channels=["in_app"]
    )
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post("/ipam/regions", {"country": "India", "region_name": "r1"}, format="json")
    assert response.status_code == 201, response.content
    assert WebhookEvent.objects.filter(user=alice, event_type="region.created").count() == 1
    assert AlertState.objects.filter(user=alice, rule__isnull=False).count() == 1


def test_the_region_probe_agrees_with_the_orm(alice: Any, bob: Any) -> None:
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from ipam.models import Country
    from ipam.selectors.occupancy import reserved_region_slots
    from ipam.services.hostlock import probe_region_allocation
    from ipam.services.regions import region_allocate

    india = Country.objects.get(name="India")
    region_allocate(actor=alice, country=india, region_name="Taken")

    def probe(user: Any, name: str) -> dict[str, bool]:
        with transaction.atomic():
            return probe_region_allocation(user, india, name)

    assert probe(alice, "taken") == {"region_name_taken": True, "has_region_reservations": False, "has_webhooks": False, "has_rules": False}
    assert probe(alice, "other")["region_name_taken"] is False
    assert probe(bob, "taken")["region_name_taken"] is False  # another user's name
    reservation = Reservation.objects.create(
        user=alice, resource_type="region", country=india, x_octet=india.x_start, y_octet=9, reason="r"
    )
    assert probe(alice, "x")["has_region_reservations"] is True and bool(reserved_region_slots(alice, india))
    Reservation.objects.filter(pk=reservation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert probe(alice, "x")["has_region_reservations"] is False and not reserved_region_slots(alice, india)
