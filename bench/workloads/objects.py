"""Single-object reads of every resource, and `/health` (issue 19), interleaved request by request.

The objects are the 1 M-host user's (a region and a host picked at random each request) plus one each of
a reservation (on a region's .254, which the generator's reservations never use), a share and a notification
rule (saved filters have no single-object GET), created here and deleted at the end. Each round starts with a
floor request (`bench.measure.Floor`): the rows' ratios are to the floor of the same minutes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from bench.measure import Floor, Run
from bench.report import summarise
from ipam.models import Host, Region

GROUP = "objects"
WARM_UP_ROUNDS = 10


def _create(ctx: Run) -> dict[str, str]:
    client = ctx.client
    made: dict[str, str] = {}
    # a region whose last address is free (the generator fills z = 1…250 of each /24)
    region = Region.objects.filter(user_id=ctx.user_id, allocated_hosts__lt=254).exclude(hosts__z_octet=254).order_by("created_at").first()
    assert region is not None, "the dataset has no region with a free last address"

    _, response = client.timed(
        "POST",
        "/ipam/reservations",
        json={"resource_type": "host", "x_octet": region.x_octet, "y_octet": region.y_octet, "z_octet": 254, "reason": "bench"},
        check=False,
    )
    if response.status_code == 201:
        made["reservation"] = response.json()["reservation_id"]
    _, response = client.timed("POST", "/ipam/shares", json={"resource_type": "region", "resource_id": str(region.pk)})
    made["share"] = response.json()["share_id"]
    made["share_token"] = response.json()["share_token"]
    _, response = client.timed(
        "POST",
        "/ipam/notifications/rules",
        json={
            "rule_name": f"bench-{uuid.uuid4().hex[:8]}",
            "conditions": {"utilization_threshold": 99},
            "notification_channels": ["in_app"],
        },
        check=False,
    )
    if response.status_code == 201:
        made["rule"] = response.json()["rule_id"]
    return made


def _delete(ctx: Run, made: dict[str, str]) -> None:
    paths = {
        "reservation": "/ipam/reservations/{}",
        "share": "/ipam/shares/{}",
        "rule": "/ipam/notifications/rules/{}",
    }
    for kind, pk in made.items():
        if kind in paths:
            ctx.client.timed("DELETE", paths[kind].format(pk), check=False)


def run(ctx: Run) -> list[dict[str, Any]]:
    regions = list(Region.objects.filter(user_id=ctx.user_id).values_list("pk", flat=True)[:2000])
    hosts = list(Host.objects.filter(user_id=ctx.user_id).values_list("pk", flat=True)[:2000])
    made = _create(ctx)
    rng = ctx.rng
    scenarios: dict[str, Callable[[], str]] = {
        "GET region": lambda: f"/ipam/regions/{rng.choice(regions)}",
        "GET host": lambda: f"/ipam/hosts/{rng.choice(hosts)}",
        "GET country": lambda: "/ipam/countries/US",
        "GET preferences": lambda: "/ipam/preferences",
        "GET /health": lambda: "/health",
    }
    single = {
        "reservation": "GET reservation",
        "share_token": "GET share (public link)",
        "rule": "GET notification rule",
    }
    paths = {
        "reservation": "/ipam/reservations/{}",
        "share_token": "/ipam/shares/{}",
        "rule": "/ipam/notifications/rules/{}",
    }
    for kind, name in single.items():
        if kind in made:
            scenarios[name] = (lambda path: lambda: path)(paths[kind].format(made[kind]))
    samples: dict[str, list[float]] = {name: [] for name in scenarios}
    floor = Floor(ctx.client)
    try:
        for index in range(ctx.args.requests + WARM_UP_ROUNDS):
            floor.tick(record=index >= WARM_UP_ROUNDS)  # one floor request per round, in the round
            for name, make in scenarios.items():
                elapsed, _ = ctx.client.timed("GET", make())
                if index >= WARM_UP_ROUNDS:
                    samples[name].append(elapsed)
    finally:
        _delete(ctx, made)
    return [summarise(name, values, floor.samples) for name, values in samples.items()]
