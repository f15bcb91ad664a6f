"""Host allocation: `POST /ipam/hosts` sequentially, then from 8 concurrent clients on 8 regions and on one.

The concurrent runs report throughput, duplicates (an address handed out twice) and 5xx responses — the
last two must be zero. All regions are new ones of the 1 M-host user, in `--country`.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.measure import Client, Floor, Run, new_region
from bench.report import summarise

GROUP = "alloc"
CLIENTS = 8


def run(ctx: Run) -> list[dict[str, Any]]:
    args = ctx.args
    return [
        host_allocation_sequential(ctx.client, args.country, args.requests, ctx.created),
        host_allocation_concurrent(args.base_url, args.username, ctx.client, args.country, args.per_client, CLIENTS, ctx.created),
        # one region holds 254 hosts: 8 clients × 31 fit
        host_allocation_concurrent(args.base_url, args.username, ctx.client, args.country, min(31, args.per_client), 1, ctx.created),
    ]


def host_allocation_sequential(client: Client, country: str, n: int, created: list[str]) -> dict[str, Any]:
    region = new_region(client, country, "seq")
    created.append(region["region_id"])
    samples = []
    floor = Floor(client)
    for index in range(n):
        floor.tick()
        elapsed, _ = client.timed("POST", "/ipam/hosts", json={"region_id": region["region_id"], "hostname": f"seq-{index:03d}"})
        samples.append(elapsed)
    return summarise("host allocation sequential", samples, floor.samples)


def host_allocation_concurrent(
    base_url: str, username: str, client: Client, country: str, per_client: int, regions: int, created: list[str]
) -> dict[str, Any]:
    """8 clients, each with its own session, start together (barrier) and allocate `per_client` hosts each,
    client k into region k mod `regions`."""
    region_ids = []
    for _ in range(regions):
        region = new_region(client, country, "conc")
        created.append(region["region_id"])
        region_ids.append(region["region_id"])
    clients = [Client(base_url, username) for _ in range(CLIENTS)]
    addresses: list[str] = []
    samples: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS)

    def work(number: int) -> None:
        region_id = region_ids[number % len(region_ids)]
        barrier.wait()
        for index in range(per_client):
            elapsed, response = clients[number].timed(
                "POST", "/ipam/hosts", check=False, json={"region_id": region_id, "hostname": f"c{number}-{index:03d}"}
            )
            with lock:
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                samples.append(elapsed)
                if response.status_code == 201:
                    addresses.append(response.json()["ip_address"])

    threads = [threading.Thread(target=work, args=(number,)) for number in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    name = "host allocation 8 clients, 8 regions" if regions > 1 else "host allocation 8 clients, 1 region"
    return summarise(
        name,
        samples,
        allocations=len(addresses),
        throughput_per_s=round(len(addresses) / wall, 1),
        duplicates=len(addresses) - len(set(addresses)),
        server_errors=sum(count for code, count in statuses.items() if code >= 500),
        statuses={str(k): v for k, v in sorted(statuses.items())},
    )
