"""The read endpoints, on random pages and addresses of the 1 M-host user:
`GET /ipam/hosts/by-ip/{ip}`, `GET /ipam/search?cidr=…/24`, `GET /ipam/regions?page=…`, `GET /ipam/hosts?page=…`.

Each row also carries `queries_small_large`: the endpoint's SQL query count at two result sizes, counted
in-process (Django test client, same database). The two must be equal: no query per row.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model

from bench.measure import Client, Floor, Run
from bench.report import summarise
from ipam.models import Region

GROUP = "reads"
WARM_UP_ROUNDS = 10
PAGE_SIZE = 50  # the API's default page size


def run(ctx: Run) -> list[dict[str, Any]]:
    counts = query_counts(ctx.user_id)
    rows = reads(ctx.client, ctx.args.requests, ctx.rng, ctx.user_id)
    for row in rows:
        if row["scenario"] in counts:
            row["queries_small_large"] = counts[row["scenario"]]
    return rows


def reads(client: Client, n: int, rng: random.Random, user_id: int) -> list[dict[str, Any]]:
    """`n` measured rounds (after the warm-up ones), the endpoints interleaved request by request, each round
    with one floor request."""
    regions = list(Region.objects.filter(user_id=user_id, allocated_hosts__gt=0).values_list("x_octet", "y_octet", "allocated_hosts"))
    pages = max(1, len(regions) // PAGE_SIZE)
    host_pages = max(1, sum(hosts for _, _, hosts in regions) // PAGE_SIZE)

    def by_ip() -> str:
        x, y, hosts = rng.choice(regions)
        return f"/ipam/hosts/by-ip/10.{x}.{y}.{rng.randint(1, hosts)}"

    def search() -> str:
        x, y, _ = rng.choice(regions)
        return f"/ipam/search?cidr=10.{x}.{y}.0/24"

    scenarios: dict[str, Callable[[], str]] = {
        "by-ip lookup": by_ip,
        "search by CIDR": search,
        "region list page": lambda: f"/ipam/regions?page={rng.randint(1, pages)}",
        "host list page": lambda: f"/ipam/hosts?page={rng.randint(1, host_pages)}",
    }

    # The other large lists (issue 19), at random pages of whatever the dataset holds for the user.
    def random_page(path: str, last: int) -> str:
        return f"{path}?page={rng.randint(1, last)}"

    for name, path, count in _other_lists(user_id):
        scenarios[name] = functools.partial(random_page, path, max(1, -(-count // PAGE_SIZE)))
    samples: dict[str, list[float]] = {name: [] for name in scenarios}
    floor = Floor(client)
    for index in range(n + WARM_UP_ROUNDS):
        floor.tick(record=index >= WARM_UP_ROUNDS)  # one floor request per round, in the round
        for name, make in scenarios.items():
            elapsed, _ = client.timed("GET", make())
            if index >= WARM_UP_ROUNDS:
                samples[name].append(elapsed)
    return [summarise(name, values, floor.samples) for name, values in samples.items()]


def _other_lists(user_id: int) -> list[tuple[str, str, int]]:
    from ipam.models import AuditLog, Reservation
    from notifications.models import Notification
    from webhooks.models import Webhook, WebhookDelivery

    found = [
        ("audit list page", "/ipam/audit", AuditLog.objects.filter(user_id=user_id).count()),
        ("notification list page", "/ipam/notifications", Notification.objects.filter(user_id=user_id).count()),
        ("reservation list page", "/ipam/reservations", Reservation.objects.filter(user_id=user_id).count()),
    ]
    webhook = Webhook.objects.filter(user_id=user_id).first()
    if webhook is not None:
        count = WebhookDelivery.objects.filter(webhook=webhook).count()
        found.append(("delivery list page", f"/ipam/webhooks/{webhook.pk}/deliveries", count))
    return found


def query_counts(user_id: int) -> dict[str, list[int]]:
    """SQL queries per read endpoint, in-process, at two sizes: the counts must not grow with the result."""
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    user = get_user_model().objects.get(pk=user_id)
    django_client = DjangoClient()
    django_client.force_login(user)
    region = Region.objects.filter(user=user, allocated_hosts__gt=10).order_by("x_octet", "y_octet").first()
    assert region is not None
    paths = {
        "by-ip lookup": [
            f"/ipam/hosts/by-ip/10.{region.x_octet}.{region.y_octet}.1",
            f"/ipam/hosts/by-ip/10.{region.x_octet}.{region.y_octet}.2",
        ],
        "search by CIDR": [
            f"/ipam/search?cidr=10.{region.x_octet}.{region.y_octet}.0/28&page_size=10",
            f"/ipam/search?cidr=10.{region.x_octet}.0.0/16&page_size=200",
        ],
        "region list page": ["/ipam/regions?page_size=10", "/ipam/regions?page_size=200"],
        "host list page": ["/ipam/hosts?page_size=10", "/ipam/hosts?page_size=200"],
    }
    counts: dict[str, list[int]] = {}
    for name, urls in paths.items():
        counts[name] = []
        for url in urls:
            django_client.get(url)  # warm caches
            with CaptureQueriesContext(connection) as captured:
                response = django_client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            counts[name].append(len(captured))
    return counts
