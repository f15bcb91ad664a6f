"""Every pair of writes that touch the same thing, raced through the real API (issue 14, item 4).

Each row of `RACES` sets something up, then runs its writes — several copies of each — in threads released
together by a `threading.Barrier`, each thread with its own API client and database connection. Whatever the
interleaving: no 5xx, every answer is one the row allows, the row's own check holds (e.g. "exactly one of the
same-name creates won"), and afterwards `verify_counters`' checks (`counters_check`: bitmaps and counters =
rows, quotas = rows, cursors consistent, no active reservation on an allocated address) report no drift.

A new write joins by adding a row (or a `Write` to a row). PostgreSQL only (marked `postgres`): the row locks
are what is being proven; SQLite serialises every writer, so it would prove nothing.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from ipam.models import Host, Region, Reservation
from ipam.services.integrity import counters_check
from ipam.services.reservations import reservation_create, reservations_expire_due
from tests.factories import make_host, make_region

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

JOB_DONE = 200  # what a background job (not an HTTP call) "answers" when it returns without raising
Ctx = SimpleNamespace


@dataclass(frozen=True)
class Write:
    """One kind of write: `call(client, ctx, i)` for copy i returns a response (or runs a job); `allowed` statuses."""

    name: str
    call: Callable[[APIClient, Ctx, int], Any]
    allowed: frozenset[int]
    copies: int = 4
    as_admin: bool = False
    errors: frozenset[str] | None = None  # when given: the `error` code of every 4xx answer must be one of these


@dataclass(frozen=True)
class Race:
    id: str
    setup: Callable[[Ctx], None]
    writes: tuple[Write, ...]
    check: Callable[[Ctx, dict[str, list[int]]], None] = field(default=lambda ctx, statuses: None)


# --- Writes -----------------------------------------------------------------------------------------------------
def _allocate_host(name: str | None = None, *, copies: int = 4) -> Write:
    def call(client: APIClient, ctx: Ctx, i: int) -> Any:
        body = {"region_id": str(ctx.region.pk), "hostname": name or f"auto-{i}"}
        return client.post("/ipam/hosts", body, format="json")

    # 409: name taken / region full; 404: the region was retired first; 429: over the quota.
    return Write("allocate host", call, frozenset({201, 404, 409, 429}), copies)


def _allocate_region(copies: int = 4) -> Write:
    def call(client: APIClient, ctx: Ctx, i: int) -> Any:
        return client.post("/ipam/regions", {"country": "Chile", "region_name": f"race-{i}"}, format="json")

    return Write("allocate region", call, frozenset({201}), copies)


def _reserve_host(z: Callable[[int], int], copies: int = 4) -> Write:
    def call(client: APIClient, ctx: Ctx, i: int) -> Any:
        body = {"resource_type": "host", "x_octet": ctx.region.x_octet, "y_octet": ctx.region.y_octet, "z_octet": z(i), "reason": "race"}
        return client.post("/ipam/reservations", body, format="json")

    return Write("reserve host", call, frozenset({201, 404, 409}), copies)


def _reserve_region(y: Callable[[int], int], copies: int = 4) -> Write:
    def call(client: APIClient, ctx: Ctx, i: int) -> Any:
        return client.post(
            "/ipam/reservations", {"resource_type": "region", "x_octet": 178, "y_octet": y(i), "reason": "race"}, format="json"
        )

    return Write("reserve region", call, frozenset({201, 409}), copies)


def _release_host(copies: int = 4) -> Write:
    # What a second, sequential release gets: 404 host_not_found (also when the region went first, with its hosts).
    return Write(
        "release host",
        lambda c, ctx, i: c.delete(f"/ipam/hosts/{ctx.host.pk}?reason=race"),
        frozenset({200, 404}),
        copies,
        errors=frozenset({"host_not_found"}),
    )


def _bulk_release_host(copies: int = 2) -> Write:
    def call(client: APIClient, ctx: Ctx, i: int) -> Any:
        return client.post("/ipam/hosts/bulk-release", {"host_ids": [str(ctx.host.pk)], "reason": "race"}, format="json")

    return Write("bulk-release host", call, frozenset({200}), copies)


def _rename_host(name: str, copies: int = 2) -> Write:
    return Write(
        "rename host",
        lambda c, ctx, i: c.patch(f"/ipam/hosts/{ctx.host.pk}", {"hostname": name}, format="json"),
        frozenset({200, 404, 409}),
        copies,
    )


def _rename_host_each(copies: int = 2) -> Write:
    return Write(
        "rename host",
        lambda c, ctx, i: c.patch(f"/ipam/hosts/{ctx.host.pk}", {"hostname": f"renamed-{i}"}, format="json"),
        frozenset({200}),
        copies,
    )


def _bulk_tag_host(copies: int = 2) -> Write:
    def call(client: APIClient, ctx: Ctx, i: int) -> Any:
        body = {"resource_type": "host", "resource_ids": [str(ctx.host.pk)], "operation": "add", "tags": {f"bulk-{i}": "yes"}}
        return client.post("/ipam/bulk/tags", body, format="json")

    return Write("bulk tag host", call, frozenset({200}), copies)


def _retire_region(copies: int = 1) -> Write:
    return Write(
        "retire region",
        lambda c, ctx, i: c.delete(f"/ipam/regions/{ctx.region.pk}?reason=race&cascade=true"),
        frozenset({200, 404}),
        copies,
    )


def _convert(copies: int = 2) -> Write:
    def call(client: APIClient, ctx: Ctx, i: int) -> Any:
        return client.post(f"/ipam/reservations/{ctx.reservation.pk}/convert", {"hostname": f"converted-{i}"}, format="json")

    # 409: already converted or expired; 404: deleted first.
    return Write("convert", call, frozenset({201, 404, 409}), copies)


def _delete_reservation(copies: int = 2) -> Write:
    return Write(
        "delete reservation", lambda c, ctx, i: c.delete(f"/ipam/reservations/{ctx.reservation.pk}"), frozenset({204, 404}), copies
    )


def _expire_job(copies: int = 2) -> Write:
    def call(client: APIClient, ctx: Ctx, i: int) -> Any:
        reservations_expire_due(now=timezone.now() + timedelta(minutes=5))  # the reservation is due by then
        return JOB_DONE

    return Write("expiration job", call, frozenset({JOB_DONE}), copies)


def _edit_quota(host_limit: int, copies: int = 2) -> Write:
    def call(client: APIClient, ctx: Ctx, i: int) -> Any:
        return client.patch(f"/ipam/admin/quotas/{ctx.alice.pk}", {"host_limit": host_limit + i}, format="json")

    return Write("edit quota", call, frozenset({200}), copies, as_admin=True)


# --- Setups and checks ------------------------------------------------------------------------------------------
def _region(ctx: Ctx) -> None:
    ctx.region = make_region(ctx.alice, "India")


def _region_with_host(ctx: Ctx) -> None:
    _region(ctx)
    ctx.host = make_host(ctx.alice, ctx.region, "victim")


def _host_reservation(expires_in_days: int | None = None) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        _region(ctx)
        ctx.reservation = reservation_create(
            actor=ctx.alice,
            resource_type="host",
            x_octet=ctx.region.x_octet,
            y_octet=ctx.region.y_octet,
            z_octet=1,
            reason="held",
            expires_in_days=expires_in_days,
        )
        if expires_in_days:  # due two minutes from now: active for the API, due for the job's clock
            Reservation.objects.filter(pk=ctx.reservation.pk).update(expires_at=timezone.now() + timedelta(minutes=2))

    return setup


def _inbox(ctx: Ctx) -> None:
    """Six notifications of alice, half unread (the inbox's day counts are kept by triggers: ADR 0019)."""
    from notifications.models import Notification

    made = Notification.objects.bulk_create(
        [Notification(user=ctx.alice, notification_type="t", message=f"m{i}", is_read=i % 2 == 0) for i in range(6)]
    )
    ctx.notifications = [str(n.pk) for n in made]


def _mark_notification(copies: int = 4) -> Write:
    def call(client: APIClient, ctx: Ctx, i: int) -> Any:
        return client.patch(f"/ipam/notifications/{ctx.notifications[i % 3]}", {"is_read": i % 2 == 1}, format="json")

    # 404: deleted first (a PATCH racing with the delete used to find the row and then fail to write it: 500).
    return Write("mark notification", call, frozenset({200, 404}), copies, errors=frozenset({"not_found"}))


def _mark_all_read(copies: int = 2) -> Write:
    return Write("mark all read", lambda c, ctx, i: c.post("/ipam/notifications/mark-all-read"), frozenset({200}), copies)


def _delete_notification(copies: int = 3) -> Write:
    return Write("delete notification", lambda c, ctx, i: c.delete(f"/ipam/notifications/{ctx.notifications[i]}"), frozenset({204}), copies)


def _inbox_counted(ctx: Ctx, statuses: dict[str, list[int]]) -> None:
    from notifications.models import NOTIFICATION_DAYS, NotificationDayCount

    assert NOTIFICATION_DAYS.drift() == {}
    assert sum(NotificationDayCount.objects.filter(user_id=ctx.alice.pk).values_list("n", flat=True)) == 3, statuses


def _shared_host(ctx: Ctx) -> None:
    """A public link to alice's host (the view counts itself in one statement on PostgreSQL: issue 19)."""
    from ipam.services.shares import share_create

    _region_with_host(ctx)
    ctx.share, ctx.share_token = share_create(actor=ctx.alice, resource_type="host", resource_id=str(ctx.host.pk))


def _view_share(copies: int = 6) -> Write:
    # 404: revoked, or the host retired, first. The public view authenticates nobody (the client's user is ignored).
    return Write(
        "view share",
        lambda c, ctx, i: c.get(f"/ipam/shares/{ctx.share_token}"),
        frozenset({200, 404}),
        copies,
        errors=frozenset({"share_not_found"}),
    )


def _revoke_share(copies: int = 2) -> Write:
    return Write("revoke share", lambda c, ctx, i: c.delete(f"/ipam/shares/{ctx.share.pk}"), frozenset({204, 404}), copies)


def _views_counted(ctx: Ctx, statuses: dict[str, list[int]]) -> None:
    from ipam.models import Share

    share = Share.objects.get(pk=ctx.share.pk)
    assert not share.is_active and statuses["revoke share"].count(204) == 1, statuses
    assert share.view_count == statuses["view share"].count(200), (share.view_count, statuses)  # no view lost, none for a 404


def _exactly(write: str, status: int, n: int = 1) -> Callable[[Ctx, dict[str, list[int]]], None]:
    def check(ctx: Ctx, statuses: dict[str, list[int]]) -> None:
        assert statuses[write].count(status) == n, statuses

    return check


def _one_host_named(name: str) -> Callable[[Ctx, dict[str, list[int]]], None]:
    def check(ctx: Ctx, statuses: dict[str, list[int]]) -> None:
        assert Host.objects.filter(region=ctx.region, hostname=name).count() == 1, statuses

    return check


def _host_gone_once(ctx: Ctx, statuses: dict[str, list[int]]) -> None:
    assert not Host.objects.filter(pk=ctx.host.pk).exists()
    released = statuses.get("release host", []).count(200)
    assert released <= 1, statuses  # exactly one caller retired it (bulk-release reports per item)


def _converted_or_expired(ctx: Ctx, statuses: dict[str, list[int]]) -> None:
    reservation = Reservation.objects.get(pk=ctx.reservation.pk)
    converted = statuses["convert"].count(201)
    assert converted <= 1, statuses
    assert reservation.status == ("converted" if converted else "expired"), (reservation.status, statuses)
    assert Host.objects.filter(region=ctx.region, z_octet=1).count() == converted


def _convert_or_delete(ctx: Ctx, statuses: dict[str, list[int]]) -> None:
    assert statuses["convert"].count(201) <= 1 and statuses["delete reservation"].count(204) == 1, statuses
    assert Host.objects.filter(region=ctx.region, z_octet=1).count() == statuses["convert"].count(201)


def _every_bulk_tag_kept(ctx: Ctx, statuses: dict[str, list[int]]) -> None:
    tags = Host.objects.get(pk=ctx.host.pk).tags
    assert {f"bulk-{i}" for i in range(len(statuses["bulk tag host"]))} <= set(tags), tags  # no PATCH wrote back stale tags


def _region_gone(ctx: Ctx, statuses: dict[str, list[int]]) -> None:
    assert not Region.objects.filter(pk=ctx.region.pk).exists() and not Host.objects.filter(user=ctx.alice).exists()


RACES = [
    Race("allocate host x reserve host", _region, (_allocate_host(), _reserve_host(lambda i: i + 1))),
    Race("allocate region x reserve region", lambda ctx: None, (_allocate_region(), _reserve_region(lambda i: i))),
    Race("allocate x allocate, same hostname", _region, (_allocate_host("same", copies=8),), _exactly("allocate host", 201)),
    Race("reserve x reserve, same address", _region, (_reserve_host(lambda i: 7, copies=8),), _exactly("reserve host", 201)),
    Race("release x release", _region_with_host, (_release_host(copies=8),), _exactly("release host", 200)),
    Race("release x bulk-release", _region_with_host, (_release_host(), _bulk_release_host()), _host_gone_once),
    Race("rename x retire host", _region_with_host, (_rename_host("renamed"), _release_host(copies=2))),
    Race(
        "rename x allocate, same hostname",
        _region_with_host,
        (_rename_host("wanted", copies=1), _allocate_host("wanted", copies=4)),
        _one_host_named("wanted"),
    ),
    Race("rename x bulk tag", _region_with_host, (_rename_host_each(), _bulk_tag_host()), _every_bulk_tag_kept),
    Race("retire region x allocate host", _region_with_host, (_retire_region(), _allocate_host()), _region_gone),
    Race("retire region x release host", _region_with_host, (_retire_region(), _release_host(copies=3)), _region_gone),
    Race("retire region x reserve host", _region_with_host, (_retire_region(), _reserve_host(lambda i: i + 10)), _region_gone),
    Race("convert x expire", _host_reservation(expires_in_days=1), (_convert(), _expire_job()), _converted_or_expired),
    Race("convert x allocate", _host_reservation(), (_convert(), _allocate_host()), _exactly("convert", 201)),
    Race("convert x delete reservation", _host_reservation(), (_convert(), _delete_reservation(copies=1)), _convert_or_delete),
    Race("edit quota x allocate", _region, (_edit_quota(3), _allocate_host(copies=6))),
    Race(
        "mark read x mark all read x delete notification",
        _inbox,
        (_mark_notification(), _mark_all_read(), _delete_notification()),
        _inbox_counted,
    ),
    Race(
        "view share x revoke share x retire host", _shared_host, (_view_share(), _revoke_share(), _release_host(copies=1)), _views_counted
    ),
]


def _run(race: Race, ctx: Ctx) -> dict[str, list[int]]:
    calls = [(write, i) for write in race.writes for i in range(write.copies)]
    barrier = threading.Barrier(len(calls), timeout=60)

    def worker(job: tuple[Write, int]) -> tuple[str, int, str]:
        write, i = job
        client = APIClient()
        client.raise_request_exception = False  # a crash must come back as the 500 a caller would get
        client.force_authenticate(user=ctx.admin if write.as_admin else ctx.alice)
        try:
            barrier.wait()
            try:
                response = write.call(client, ctx, i)
            except Exception as exc:  # a job that raised: counted as a 5xx
                return write.name, 500, repr(exc)
            if isinstance(response, int):
                return write.name, response, ""
            return write.name, response.status_code, response.content.decode()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        results = list(pool.map(worker, calls))
    crashes = [r for r in results if r[1] >= 500]
    assert not crashes, crashes
    statuses: dict[str, list[int]] = {}
    for name, status, _ in results:
        statuses.setdefault(name, []).append(status)
    for write in race.writes:
        unexpected = Counter(s for s in statuses[write.name] if s not in write.allowed)
        assert not unexpected, (write.name, unexpected, [r for r in results if r[0] == write.name and r[1] not in write.allowed])
        if write.errors is not None:
            codes = {json.loads(body)["error"] for name, status, body in results if name == write.name and 400 <= status < 500}
            assert codes <= write.errors, (write.name, codes)
    return statuses


@pytest.mark.parametrize("race", RACES, ids=[race.id.replace(",", "").replace(" ", "-") for race in RACES])
def test_race(race: Race, alice: Any, admin_user: Any) -> None:
    ctx = Ctx(alice=alice, admin=admin_user)
    race.setup(ctx)
    statuses = _run(race, ctx)
    race.check(ctx, statuses)
    drifts = counters_check().drifts
    assert drifts == [], [str(d) for d in drifts]
