"""The benchmark suite: every workload of issue 8, over HTTP against a running server, one JSON + Markdown report.

Needs the dataset of `bench/generate.py` (user `bench`, 1 M hosts) in the server's database, and the same
DATABASE_URL / REDIS_URL as the server: the driver prepares its users through the ORM (quotas raised, the
99 %-full and import users, 20 small users), bumps the dashboard cache version as a write would, and counts
the SQL queries of the read endpoints in-process (Django test client, same database).

    make bench                    # bench/serve.sh in the background + this driver + stop the server
    .venv/bin/python bench/run.py --base-url http://127.0.0.1:8108 --output bench/results/run.json

Workloads (each reports n, p50/p95/p99/max in ms and its target):
- host allocation, sequential (`POST /ipam/hosts` into a fresh region of the 1 M-host user);
- host allocation, 8 concurrent clients on 8 different regions and on one region: throughput, duplicates
  (addresses handed out twice) and 5xx responses — both must be zero;
- region allocation in an empty country vs a 99 % full one (user `bench-full`; each allocated region is
  deleted again so the fill level stays put);
- `GET /ipam/hosts/by-ip/{ip}`, `GET /ipam/search?cidr=…/24`, `GET /ipam/regions?page=…`, `GET /ipam/hosts?page=…` (random pages and
  addresses of the 1 M-host user), plus their query counts at two sizes (must be equal);
- dashboard uncached / cached, forecast (country) uncached;
- `POST /ipam/hosts/batch` with count 100;
- `POST /ipam/import` of `--import-rows` rows (CSV, auto mode, user `bench-import`, reset each run).
Everything the driver creates in the `bench` namespace is deleted at the end (regions with cascade).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipam_project.settings")

import django

django.setup()

import requests  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402

from ipam import cache  # noqa: E402
from ipam.models import Country, Region, UserQuota  # noqa: E402

PASSWORD = "bench-password-123"
BIG = 10_000_000
# target: (kind, value) — kind p50/p95 in ms, "rps" minimum, "s" total seconds, "ratio" of p95s
TARGETS: dict[str, tuple[str, float]] = {
    "host allocation sequential": ("p50≤10 p95≤25", 25.0),
    "host allocation 8 clients, 8 regions": ("≥200 alloc/s", 200.0),
    "host allocation 8 clients, 1 region": ("0 dup, 0 5xx", 0.0),
    "region allocation, empty country": ("—", 0.0),
    "region allocation, 99% full country": ("p95 ≤ 1.2× empty", 1.2),
    "by-ip lookup": ("p95≤20", 20.0),
    "search by CIDR": ("p95≤20", 20.0),
    "region list page": ("p95≤20", 20.0),
    "host list page": ("p95≤20", 20.0),
    "dashboard uncached": ("p95≤50", 50.0),
    "dashboard cached": ("p95≤5", 5.0),
    "forecast country uncached": ("p95≤100", 100.0),
    "batch of 100 hosts": ("p95≤300", 300.0),
    "import": ("≤60 s for 100,000 rows", 60.0),
}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summarise(name: str, samples: list[float], **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"scenario": name, "n": len(samples)}
    if samples:
        row.update(
            p50_ms=round(percentile(samples, 50), 2),
            p95_ms=round(percentile(samples, 95), 2),
            p99_ms=round(percentile(samples, 99), 2),
            mean_ms=round(statistics.fmean(samples), 2),
            max_ms=round(max(samples), 2),
        )
    row["target"] = TARGETS.get(name, ("—", 0.0))[0]
    row.update(extra)
    return row


class Client:
    def __init__(self, base_url: str, username: str, password: str = PASSWORD) -> None:
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        token = self.session.post(f"{self.base}/auth/token", json={"username": username, "password": password}, timeout=10)
        token.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {token.json()['access']}"

    def timed(self, method: str, path: str, *, check: bool = True, timeout: float = 30, **kwargs: Any) -> tuple[float, requests.Response]:
        started = time.perf_counter()
        response = self.session.request(method, f"{self.base}{path}", timeout=timeout, **kwargs)
        elapsed = (time.perf_counter() - started) * 1000
        if check and response.status_code >= 400:
            raise SystemExit(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return elapsed, response


# --- setup (ORM) -------------------------------------------------------------------------------------------


def ensure_user(username: str) -> Any:
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name="IPAM Operators"))
    return user


def raise_quota(user: Any) -> None:
    quota, _ = UserQuota.objects.get_or_create(user=user)
    quota.region_limit = BIG
    quota.host_limit = BIG
    quota.save()


def setup(args: argparse.Namespace, out: Any) -> dict[str, Any]:
    from bench.generate import generate, reset_user

    bench = get_user_model().objects.get(username=args.username)
    raise_quota(bench)
    # 99 % full country: `bench-full` holds 99 % of the /24s of the smallest country (one host each).
    full_country = Country.objects.get(code=args.full_country)
    capacity = (full_country.x_end - full_country.x_start + 1) * 256
    wanted = capacity * 99 // 100
    full = ensure_user("bench-full")
    if Region.objects.filter(user=full, country=full_country).count() != wanted:
        generate(
            username="bench-full",
            password=PASSWORD,
            hosts=wanted,
            hosts_per_region=1,
            country_codes=[full_country.code],
            audit="none",
            reset=True,
            out=out,
        )
    raise_quota(full)
    # 20 other users with small spaces (cheap: 4 regions × 50 hosts each), as the dataset asks.
    for index in range(1, args.small_users + 1):
        name = f"bench-small-{index:02d}"
        if not Region.objects.filter(user__username=name).exists():
            generate(
                username=name,
                password=PASSWORD,
                hosts=200,
                hosts_per_region=50,
                history_days=90,
                audit="regions",
                reset=True,
                out=lambda _m: None,
            )
    importer = ensure_user("bench-import")
    reset_user(importer)
    cache.bump_user_version(importer.pk)
    raise_quota(importer)
    return {"full_country": full_country.code, "full_regions": wanted, "full_capacity": capacity, "small_users": args.small_users}


# --- workloads ---------------------------------------------------------------------------------------------


def new_region(client: Client, country: str, tag: str) -> dict[str, Any]:
    _, response = client.timed("POST", "/ipam/regions", json={"country": country, "region_name": f"bench-{tag}-{uuid.uuid4().hex[:10]}"})
    return response.json()


def host_allocation_sequential(client: Client, country: str, n: int, created: list[str]) -> dict[str, Any]:
    region = new_region(client, country, "seq")
    created.append(region["region_id"])
    samples = []
    for index in range(n):
        elapsed, _ = client.timed("POST", "/ipam/hosts", json={"region_id": region["region_id"], "hostname": f"seq-{index:03d}"})
        samples.append(elapsed)
    return summarise("host allocation sequential", samples)


def host_allocation_concurrent(
    base_url: str, username: str, client: Client, country: str, per_client: int, regions: int, created: list[str]
) -> dict[str, Any]:
    region_ids = []
    for _ in range(regions):
        region = new_region(client, country, "conc")
        created.append(region["region_id"])
        region_ids.append(region["region_id"])
    clients = [Client(base_url, username) for _ in range(8)]
    addresses: list[str] = []
    samples: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(8)

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

    threads = [threading.Thread(target=work, args=(number,)) for number in range(8)]
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


def region_allocation(client: Client, country: str, n: int, name: str) -> dict[str, Any]:
    samples = []
    for _ in range(n):
        elapsed, response = client.timed(
            "POST", "/ipam/regions", json={"country": country, "region_name": f"bench-r-{uuid.uuid4().hex[:10]}"}
        )
        samples.append(elapsed)
        client.timed("DELETE", f"/ipam/regions/{response.json()['region_id']}?reason=bench")
    return summarise(name, samples)


def reads(client: Client, n: int, rng: random.Random, user_id: int) -> list[dict[str, Any]]:
    regions = list(Region.objects.filter(user_id=user_id, allocated_hosts__gt=0).values_list("x_octet", "y_octet", "allocated_hosts"))
    pages = max(1, len(regions) // 50)
    scenarios = {
        "by-ip lookup": lambda: "/ipam/hosts/by-ip/10.{}.{}.{}".format(
            *(lambda r: (r[0], r[1], rng.randint(1, r[2])))(rng.choice(regions))
        ),
        "search by CIDR": lambda: "/ipam/search?cidr=10.{}.{}.0/24".format(*rng.choice(regions)[:2]),
        "region list page": lambda: f"/ipam/regions?page={rng.randint(1, pages)}",
        "host list page": lambda: f"/ipam/hosts?page={rng.randint(1, pages)}",
    }
    samples: dict[str, list[float]] = {name: [] for name in scenarios}
    for index in range(n + 10):  # interleaved, 10 warm-up rounds
        for name, make in scenarios.items():
            elapsed, _ = client.timed("GET", make())
            if index >= 10:
                samples[name].append(elapsed)
    return [summarise(name, values) for name, values in samples.items()]


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


def dashboard(client: Client, n: int, user_id: int, country: str) -> list[dict[str, Any]]:
    def bump() -> None:
        cache.bump_user_version(user_id)

    scenarios = [
        ("dashboard uncached", "/ipam/statistics/dashboard", "MISS", bump),
        ("dashboard cached", "/ipam/statistics/dashboard", "HIT", None),
        ("forecast country uncached", f"/ipam/statistics/forecast/country/{country}", "MISS", bump),
    ]
    samples: dict[str, list[float]] = {name: [] for name, *_ in scenarios}
    for index in range(n + 10):
        for name, path, expect, before in scenarios:
            if before:
                before()
            elapsed, response = client.timed("GET", path)
            if response.headers.get("X-Cache") != expect:
                raise SystemExit(f"{name}: expected X-Cache {expect}, got {response.headers.get('X-Cache')}")
            if index >= 10:
                samples[name].append(elapsed)
    return [summarise(name, samples[name]) for name, *_ in scenarios]


def batches(client: Client, country: str, n: int, created: list[str]) -> dict[str, Any]:
    samples = []
    region_id = ""
    for index in range(n):
        if index % 2 == 0:  # 254 addresses: two batches of 100 per region
            region = new_region(client, country, "batch")
            created.append(region["region_id"])
            region_id = region["region_id"]
        elapsed, response = client.timed(
            "POST", "/ipam/hosts/batch", json={"region_id": region_id, "count": 100, "hostname_prefix": f"b{index}"}
        )
        assert response.json()["count"] == 100
        samples.append(elapsed)
    return summarise("batch of 100 hosts", samples)


def import_rows(base_url: str, rows: int, country: str) -> dict[str, Any]:
    client = Client(base_url, "bench-import")
    lines = ["country,region_name,hostname"]
    per_region = 250
    index = 0
    while len(lines) <= rows:  # one region row, then its hosts: `rows` data rows in all
        if index % per_region == 0:
            lines.append(f"{country},imp-{index // per_region:05d},")
        lines.append(f"{country},imp-{index // per_region:05d},h-{index % per_region:03d}")
        index += 1
    lines = lines[: rows + 1]
    content = "\n".join(lines) + "\n"
    elapsed, response = client.timed("POST", "/ipam/import", timeout=900, files={"file": ("bench.csv", content.encode(), "text/csv")})
    body = response.json()
    return summarise(
        "import",
        [elapsed],
        rows=rows,
        seconds=round(elapsed / 1000, 1),
        created=body.get("created"),
        bytes=len(content),
    )


CHURNED_TABLES = ("ipam_host", "ipam_region", "ipam_auditlog", "ipam_allocationcursor", "ipam_userquota")


def vacuum_if_autovacuum_is_off() -> dict[str, Any]:
    """Every run deletes what it created and the import resets its user: hundreds of thousands of dead rows
    (and GIN pending entries) per run. A production PostgreSQL vacuums them (autovacuum, on by default); on a
    server with autovacuum off, later runs would measure the previous runs' garbage instead. So the driver
    vacuums the tables it churns before measuring, when — and only when — autovacuum is off."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return {"autovacuum": None, "vacuumed": False}
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]
        if autovacuum == "on":
            return {"autovacuum": "on", "vacuumed": False}
        for table in CHURNED_TABLES:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")
    return {"autovacuum": autovacuum, "vacuumed": True}


def cleanup(client: Client, created: list[str]) -> None:
    for region_id in created:
        client.timed("DELETE", f"/ipam/regions/{region_id}?reason=bench-cleanup&cascade=true", check=False)


def verdict(row: dict[str, Any], empty_p95: float | None) -> str:
    name = row["scenario"]
    if name == "host allocation sequential":
        ok = row["p50_ms"] <= 10 and row["p95_ms"] <= 25
    elif name == "host allocation 8 clients, 8 regions":
        ok = row["throughput_per_s"] >= 200 and row["duplicates"] == 0 and row["server_errors"] == 0
    elif name == "host allocation 8 clients, 1 region":
        ok = row["duplicates"] == 0 and row["server_errors"] == 0
    elif name == "region allocation, 99% full country":
        ok = empty_p95 is not None and row["p95_ms"] <= 1.2 * empty_p95
    elif name == "import":
        ok = row["seconds"] * 100_000 / max(1, row["rows"]) <= 60
    elif name in TARGETS and TARGETS[name][1]:
        ok = row["p95_ms"] <= TARGETS[name][1]
    else:
        return "—"
    return "✔" if ok else "✘"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8108")
    parser.add_argument("--username", default="bench")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per latency scenario")
    parser.add_argument("--country", default="US", help="country for new regions of the 1 M-host user")
    parser.add_argument("--full-country", default="TW", help="country filled to 99 %% for user bench-full")
    parser.add_argument("--empty-country", default="JP", help="country bench-full has nothing in")
    parser.add_argument("--per-client", type=int, default=60, help="allocations per client in the concurrent runs (≤ 31 on one region)")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--small-users", type=int, default=20)
    parser.add_argument("--only", default="", help="comma-separated workload groups: alloc,region,reads,dash,batch,import")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--output", default="")
    args = parser.parse_args()
    only = {part.strip() for part in args.only.split(",") if part.strip()}

    def wanted(group: str) -> bool:
        return not only or group in only

    load_before = os.getloadavg()
    started = time.perf_counter()
    info = setup(args, lambda message: print(message, file=sys.stderr))
    info["vacuum"] = vacuum_if_autovacuum_is_off()
    client = Client(args.base_url, args.username)
    user_id = get_user_model().objects.get(username=args.username).pk
    rng = random.Random(args.seed)
    results: list[dict[str, Any]] = []
    created: list[str] = []
    try:
        if wanted("alloc"):
            results.append(host_allocation_sequential(client, args.country, args.requests, created))
            results.append(host_allocation_concurrent(args.base_url, args.username, client, args.country, args.per_client, 8, created))
            results.append(
                host_allocation_concurrent(args.base_url, args.username, client, args.country, min(31, args.per_client), 1, created)
            )
        if wanted("region"):
            full = Client(args.base_url, "bench-full")
            region_allocation(full, args.empty_country, 5, "warm-up")
            empty_row = region_allocation(full, args.empty_country, args.requests // 2, "region allocation, empty country")
            full_row = region_allocation(full, args.full_country, args.requests // 2, "region allocation, 99% full country")
            full_row["ratio_to_empty_p95"] = round(full_row["p95_ms"] / empty_row["p95_ms"], 2)
            results += [empty_row, full_row]
        if wanted("reads"):
            counts = query_counts(user_id)
            for row in reads(client, args.requests, rng, user_id):
                row["queries_small_large"] = counts[row["scenario"]]
                results.append(row)
        if wanted("dash"):
            results += dashboard(client, args.requests, user_id, args.country)
        if wanted("batch"):
            results.append(batches(client, args.country, args.batches, created))
        if wanted("import") and args.import_rows:
            results.append(import_rows(args.base_url, args.import_rows, args.country))
    finally:
        cleanup(client, created)
    empty_p95 = next((r["p95_ms"] for r in results if r["scenario"] == "region allocation, empty country"), None)
    for row in results:
        row["meets_target"] = verdict(row, empty_p95)
    report = {
        "base_url": args.base_url,
        "setup": info,
        "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "duration_s": round(time.perf_counter() - started, 1),
        "results": results,
    }
    print(json.dumps(report, indent=2))
    print()
    print("| scenario | n | p50 ms | p95 ms | p99 ms | max ms | extra | target | met |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in results:
        extra = {
            k: v
            for k, v in row.items()
            if k not in {"scenario", "n", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "max_ms", "target", "meets_target"}
        }
        extra_text = ", ".join(f"{k}={v}" for k, v in extra.items() if k != "statuses")
        print(
            f"| {row['scenario']} | {row['n']} | {row.get('p50_ms', '')} | {row.get('p95_ms', '')} | {row.get('p99_ms', '')} | "
            f"{row.get('max_ms', '')} | {extra_text} | {row['target']} | {row['meets_target']} |"
        )
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
