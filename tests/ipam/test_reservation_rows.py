"""The reservation list page's plain rows render byte for byte what `ReservationSerializer` renders, on every
path of the list (filters, ordering, pages), with a statement count that does not grow with the rows (issue 19)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import mixins, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from ipam.api.reservation_rows import RESERVATION_VALUES, reservation_row
from ipam.api.reservations import ReservationFilter, ReservationSerializer, ReservationViewSet
from ipam.models import Reservation, ReservationStatus
from ipam.services.reservation_conversion import reservation_convert
from ipam.services.reservations import reservation_create
from tests.factories import make_region

pytestmark = pytest.mark.django_db
render = JSONRenderer().render
ZONES = ["UTC", "Europe/Berlin", "America/St_Johns"]
FINLAND_X = 98  # India is X 0-29 (Asia), Finland 98-107 (Europe)


def _make(user: Any, *, base_y: int = 0) -> list[Reservation]:
    """Reservations of every kind and status the model allows, with and without expiry, nulls and non-ASCII text:
    region (in two countries) and host; active without expiry, active expiring later, active past its expiry (shown `expired` before
    the hourly job runs), expired (written by the job), converted (with the resource it became), cancelled."""
    region = make_region(user, country="India")
    x, y = region.x_octet, region.y_octet

    def reserve(**kwargs: Any) -> Reservation:
        return reservation_create(actor=user, **kwargs)

    made = [
        reserve(resource_type="region", x_octet=0, y_octet=base_y + 1, reason='Ümlaut "quoted" région\nπ'),
        reserve(resource_type="region", x_octet=0, y_octet=base_y + 2, reason="expires later", expires_in_days=90),
        reserve(resource_type="region", x_octet=0, y_octet=base_y + 3, reason="lapsed", expires_in_days=1),
        reserve(resource_type="region", x_octet=FINLAND_X, y_octet=base_y + 4, reason="expired by the job", expires_in_days=2),
        reserve(resource_type="region", x_octet=FINLAND_X, y_octet=base_y + 5, reason="to convert"),
        reserve(resource_type="region", x_octet=FINLAND_X, y_octet=base_y + 6, reason="cancelled"),
        reserve(resource_type="host", x_octet=x, y_octet=y, z_octet=1, reason="host, no expiry"),
        reserve(resource_type="host", x_octet=x, y_octet=y, z_octet=254, reason="host, expiring", expires_in_days=7),
        reserve(resource_type="host", x_octet=x, y_octet=y, z_octet=17, reason="host lapsed", expires_in_days=3),
        reserve(resource_type="host", x_octet=x, y_octet=y, z_octet=18, reason="host to convert"),
        reserve(resource_type="host", x_octet=x, y_octet=y, z_octet=19, reason="host cancelled", expires_in_days=30),
    ]
    reservation_convert(actor=user, reservation_id=made[4].pk, data={"region_name": f"converted-{base_y}"})
    reservation_convert(actor=user, reservation_id=made[9].pk, data={"hostname": f"converted-{base_y}"})
    now = timezone.now()
    past = now - dt.timedelta(hours=5, microseconds=7)
    Reservation.objects.filter(pk__in=[made[2].pk, made[8].pk]).update(expires_at=past)  # active, past expiry
    Reservation.objects.filter(pk=made[3].pk).update(status=ReservationStatus.EXPIRED, expires_at=past)
    Reservation.objects.filter(pk__in=[made[5].pk, made[10].pk]).update(status=ReservationStatus.CANCELLED)
    Reservation.objects.filter(pk=made[0].pk).update(legacy_id=f"5f1d7c0a9b8e7d6c5b4a{base_y:04d}", created_by="")
    Reservation.objects.filter(pk=made[6].pk).update(converted_resource_id=uuid.UUID(int=base_y))  # odd but allowed
    # Distinct creation times (ties would make the newest-first order arbitrary), one with microsecond 0.
    for i, reservation in enumerate(made):
        created = now.replace(microsecond=0) - dt.timedelta(days=i * 17, seconds=base_y)
        Reservation.objects.filter(pk=reservation.pk).update(created_at=created, updated_at=created + dt.timedelta(microseconds=i))
    return list(Reservation.objects.filter(user=user).select_related("country").order_by("-created_at"))


class _SerializerList(ReservationViewSet):
    """The list as DRF's `ListModelMixin` renders it: 50 instances through `ReservationSerializer(many=True)`."""

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return mixins.ListModelMixin.list(self, request, *args, **kwargs)


def _both(user: Any, query: dict[str, Any]) -> tuple[Any, Any]:
    """The list page for `query` through the view (plain rows) and through the serializer path, rendered."""
    factory = APIRequestFactory()
    answers = []
    for view_class in (ReservationViewSet, _SerializerList):
        request = factory.get("/ipam/reservations", query)
        force_authenticate(request, user=user)
        response = view_class.as_view({"get": "list"})(request)
        response.render()
        answers.append(response)
    return answers[0], answers[1]


@pytest.mark.parametrize("zone", ZONES)
def test_reservation_rows_render_exactly_as_the_serializer(settings: Any, alice: Any, zone: str) -> None:
    settings.TIME_ZONE = zone
    _make(alice)
    with timezone.override(zone):
        instances = list(Reservation.objects.filter(user=alice).select_related("country").order_by("-created_at"))
        rows = list(Reservation.objects.filter(user=alice).order_by("-created_at").values(*RESERVATION_VALUES))
        assert len(instances) == len(rows) == 11
        assert {i.current_status for i in instances} == set(ReservationStatus.values)
        assert {i.resource_type for i in instances} == set(Reservation.ResourceType.values)
        now, tz = timezone.now(), timezone.get_current_timezone()
        for instance, row in zip(instances, rows, strict=True):
            expected = render(ReservationSerializer(instance).data)
            assert render(reservation_row(row)) == expected
            assert render(reservation_row(row, now, tz)) == expected


@pytest.mark.parametrize("zone", ZONES)
def test_the_list_answers_the_serializer_bytes(settings: Any, api: Any, alice: Any, bob: Any, zone: str) -> None:
    settings.TIME_ZONE = zone
    instances = _make(alice)
    _make(bob, base_y=100)  # someone else's, interleaved in time
    expected = {"count": 11, "next": None, "previous": None, "results": ReservationSerializer(instances, many=True).data}
    response = api.get("/ipam/reservations")
    assert response.status_code == 200
    assert response.content == render(expected)
    statuses = [row["status"] for row in response.json()["results"]]
    assert statuses.count("expired") == 3 and statuses.count("active") == 4  # two lapsed rows shown expired


QUERIES: list[dict[str, Any]] = [
    {},
    {"page_size": 4},
    {"page_size": 4, "page": 2},
    {"page_size": 4, "page": "last"},
    {"page_size": 1000},
    *({"status": status} for status in ReservationStatus.values),
    {"resource_type": "host"},
    {"resource_type": "region", "status": "active"},
    {"country": "IND"},
    {"country": "Finland", "page_size": 2, "page": 2},
    {"legacy_id": "5f1d7c0a9b8e7d6c5b4a0000"},
    *({"ordering": field} for field in ReservationViewSet.ordering_fields),
    *({"ordering": f"-{field}", "page_size": 5, "page": 2} for field in ReservationViewSet.ordering_fields),
    {"ordering": "status,-z_octet,x_octet,y_octet,created_at"},
    {"ordering": "not_a_field"},
    {"format": "json"},
    {"cursor": ""},  # the reservation list pages by number only: an unknown parameter, ignored on both paths
]


@pytest.mark.parametrize("zone", ["UTC", "America/St_Johns"])
def test_every_filter_ordering_and_page_answers_the_serializer_bytes(settings: Any, alice: Any, bob: Any, zone: str) -> None:
    settings.TIME_ZONE = zone
    _make(alice)
    _make(bob, base_y=100)
    for query in QUERIES:
        rows, serialized = _both(alice, query)
        assert rows.status_code == serialized.status_code == 200, query
        assert rows.content == serialized.content, query
        assert rows.data["count"] > 0 and rows.data["results"], query
    for query in ({"page": 99}, {"page": 0}, {"status": "bogus"}, {"page_size": 0}, {"country": "nowhere"}):
        rows, serialized = _both(alice, query)
        assert (rows.status_code, rows.content) == (serialized.status_code, serialized.content), query


def test_the_row_keys_are_the_serializer_fields_in_order(alice: Any) -> None:
    """A field added to `ReservationSerializer` and not to `reservation_row` (or the other way round) fails here."""
    _make(alice)
    row = Reservation.objects.filter(user=alice).values(*RESERVATION_VALUES).first()
    assert row is not None
    assert list(reservation_row(row)) == list(ReservationSerializer().fields) == list(ReservationSerializer.Meta.fields)

    class Grown(ReservationSerializer):
        region_hint = serializers.CharField(source="reason", read_only=True)

        class Meta(ReservationSerializer.Meta):
            fields = [*ReservationSerializer.Meta.fields, "region_hint"]

    assert list(reservation_row(row)) != list(Grown().fields)  # the comparison above can fail


def test_a_list_page_reads_the_same_statements_whatever_its_rows(api: Any, alice: Any) -> None:
    with CaptureQueriesContext(connection) as empty:
        assert api.get("/ipam/reservations").json()["count"] == 0
    _make(alice)
    with CaptureQueriesContext(connection) as few:
        assert len(api.get("/ipam/reservations").json()["results"]) == 11
    for n in range(5):
        _make(alice, base_y=10 * (n + 1))
    with CaptureQueriesContext(connection) as full:
        body = api.get("/ipam/reservations").json()
    assert body["count"] == 66 and len(body["results"]) == 50
    with CaptureQueriesContext(connection) as filtered:
        assert len(api.get("/ipam/reservations", {"status": "active", "ordering": "z_octet"}).json()["results"]) == 24

    def reservation_statements(captured: CaptureQueriesContext) -> list[str]:
        return [q["sql"] for q in captured.captured_queries if Reservation._meta.db_table in q["sql"]]

    # newest first (the default order): the count and the page (its country joined in) in one statement, however
    # many rows, and for an empty list too; another order: the count, then the page. No statement per row.
    assert len(reservation_statements(empty)) == len(reservation_statements(few)) == len(reservation_statements(full)) == 1
    assert len(reservation_statements(filtered)) == 2
    assert len(few.captured_queries) == len(full.captured_queries) == len(filtered.captured_queries) - 1
    page = reservation_statements(full)[-1]
    assert "ipam_country" in page and "expiry_warning_sent_at" not in page  # the body's columns, not every column
    counting = page.split(" LEFT JOIN ")[0]
    assert "COUNT(*)" in counting and "ipam_country" not in counting  # the count joins nothing it does not filter on


def test_a_page_looks_the_time_zone_up_once_not_per_row(api: Any, alice: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(4):
        _make(alice, base_y=10 * n)
    expected = api.get("/ipam/reservations").content
    calls: list[int] = []
    lookup = timezone.get_current_timezone

    def counted() -> Any:
        calls.append(1)
        return lookup()

    monkeypatch.setattr(timezone, "get_current_timezone", counted)
    assert api.get("/ipam/reservations").content == expected
    assert len(calls) <= 2, len(calls)  # was three per row: created_at, updated_at, expires_at


@pytest.mark.parametrize("query", [{}, {"ordering": "-created_at"}])
def test_reservations_of_one_instant_keep_one_order_across_pages(api: Any, alice: Any, query: dict[str, Any]) -> None:
    # Seven reservations written in the same microsecond, read two per page: every one exactly once, newest
    # first and then by id descending, whichever order the database would return equal timestamps in.
    for y in range(7):
        reservation_create(actor=alice, resource_type="region", x_octet=0, y_octet=200 + y, reason="same instant")
    Reservation.objects.filter(user=alice).update(created_at=timezone.now())
    expected = sorted((str(pk) for pk in Reservation.objects.filter(user=alice).values_list("id", flat=True)), reverse=True)
    seen = []
    for page in range(1, 5):
        body = api.get("/ipam/reservations", {**query, "page_size": 2, "page": page}).json()
        seen += [row["reservation_id"] for row in body["results"]]
    assert seen == expected


def test_detail_and_create_still_answer_through_the_serializer(api: Any, alice: Any) -> None:
    instances = _make(alice)
    for instance in instances:
        detail = api.get(f"/ipam/reservations/{instance.pk}")
        assert detail.content == render(ReservationSerializer(instance).data)
        listed = next(r for r in api.get("/ipam/reservations").json()["results"] if r["reservation_id"] == str(instance.pk))
        assert listed == detail.json()
    created = api.post("/ipam/reservations", {"resource_type": "region", "x_octet": 0, "y_octet": 77, "reason": "new"}, format="json")
    assert created.status_code == 201
    assert api.get("/ipam/reservations").json()["results"][0] == created.json()


def test_every_page_newest_first_is_the_offset_page_with_its_count(api: Any, alice: Any, bob: Any) -> None:
    """The default order's pages (count and rows in one statement) against COUNT and `OFFSET k LIMIT n` over
    the same rows, with and without a filter; other users' reservations never count."""
    _make(alice)
    _make(bob, base_y=40)
    _make(alice, base_y=20)
    for query in ({}, {"status": "active"}, {"resource_type": "host"}, {"country": "Finland"}):
        mine = ReservationFilter(query, queryset=Reservation.objects.filter(user=alice)).qs.order_by("-created_at", "-id")
        total = mine.count()
        assert 0 < total < Reservation.objects.count()
        for page_size in (1, 4, 7, 50):
            pages = -(-total // page_size)
            for page in range(1, pages + 1):
                body = api.get("/ipam/reservations", {**query, "page": page, "page_size": page_size}).json()
                expected = [str(pk) for pk in mine.values_list("pk", flat=True)[(page - 1) * page_size : page * page_size]]
                assert body["count"] == total and [r["reservation_id"] for r in body["results"]] == expected, (query, page, page_size)
            assert api.get("/ipam/reservations", {**query, "page": pages + 1, "page_size": page_size}).status_code == 404
            last = api.get("/ipam/reservations", {**query, "page": "last", "page_size": page_size}).json()
            assert len(last["results"]) == total - (pages - 1) * page_size and last["next"] is None
