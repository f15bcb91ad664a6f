"""The benchmark suite: every workload of issue 8, over HTTP against a running server, one JSON + Markdown report.

Needs the dataset of `bench/generate.py` (user `bench`, 1 M hosts) in the server's database, and the same
DATABASE_URL / REDIS_URL as the server: the driver prepares its users through the ORM (quotas raised, the
99 %-full and import users, 20 small users), bumps the dashboard cache version as a write would, and counts
the SQL queries of the read endpoints in-process (Django test client, same database).

    make bench                    # bench/serve.sh in the background + this driver + stop the server
    .venv/bin/python bench/run.py --base-url http://127.0.0.1:8108 --output bench/results/run.json

Workloads (each reports n, p50/p95/p99/max in ms and its target), in `--only` groups:
- alloc: host allocation, sequential (`POST /ipam/hosts` into a fresh region of the 1 M-host user), and
  8 concurrent clients on 8 different regions and on one region: throughput, duplicates (addresses handed
  out twice) and 5xx responses — both must be zero;
- region: region allocation in an empty country vs a 99 % full one (user `bench-full`; each allocated region
  is deleted again so the fill level stays put);
- reads: `GET /ipam/hosts/by-ip/{ip}`, `GET /ipam/search?cidr=…/24`, `GET /ipam/regions?page=…`,
  `GET /ipam/hosts?page=…` (random pages and addresses of the 1 M-host user), plus their query counts at
  two sizes (must be equal);
- cursor: the host list's first and 20,000th keyset page (`?cursor=`, p50 within 2× of each other) and the
  20,000th numbered page (OFFSET) for contrast;
- dash: dashboard uncached / cached, forecast (country) uncached;
- batch: `POST /ipam/hosts/batch` with count 100;
- import: `POST /ipam/import` of `--import-rows` rows (CSV, auto mode, user `bench-import`, reset each run);
- console: every operator-console page (admin session of `bench-staff`), p95 ≤ 200 ms, query counts at two sizes.
Every latency workload takes a floor request (`GET /ipam/quotas/me`, issue 19) next to each of its requests
(or rounds), in its own loop: its rows carry that floor (`floor_p50_ms`, `floor_p95_ms`) and their `× floor`
ratios are taken against it. The `floor` group's row (the start and the end of the run) stays for reference and
is the reference of the rows without a floor of their own (concurrent throughput, import).
Everything the driver creates in the `bench` namespace is deleted at the end (regions with cascade).
The workloads live in `bench/workloads/`, the shared client and timing in `bench/measure.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import bootstrap_django

bootstrap_django()

from django.contrib.auth import get_user_model  # noqa: E402

from bench import dataset  # noqa: E402
from bench.measure import Client, Run, delete_regions  # noqa: E402
from bench.report import verdict, with_floor_ratios  # noqa: E402
from bench.workloads import allocation, batch, console, cursor, floor, imports, objects, reads, region_allocation, statistics  # noqa: E402

# Run (and reported) in this order; the run's floor row is measured first and again last (issue 19).
WORKLOADS = (floor, objects, allocation, region_allocation, reads, cursor, statistics, batch, imports, console)
TABLE_COLUMNS = {
    "scenario",
    "n",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "mean_ms",
    "max_ms",
    "target",
    "meets_target",
    "x_floor_p50",
    "x_floor_p95",
    "floor_n",
    "floor_p50_ms",
    "floor_p95_ms",
    "floor_target",
    "meets_floor_target",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
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
    parser.add_argument("--only", default="", help="comma-separated workload groups: " + ",".join(workload.GROUP for workload in WORKLOADS))
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--output", default="")
    return parser.parse_args(argv)


def print_table(results: list[dict[str, Any]]) -> None:
    print("| scenario | n | p50 ms | p95 ms | floor p50 ms | × floor p50 | × floor p95 | extra | target | met | floor target | met |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in results:
        extra_text = ", ".join(f"{k}={v}" for k, v in row.items() if k not in TABLE_COLUMNS and k != "statuses")
        print(
            f"| {row['scenario']} | {row['n']} | {row.get('p50_ms', '')} | {row.get('p95_ms', '')} | {floor_cell(row)} | "
            f"{row.get('x_floor_p50', '')} | "
            f"{row.get('x_floor_p95', '')} | {extra_text} | {row['target']} | {row['meets_target']} | "
            f"{row.get('floor_target', '')} | {row.get('meets_floor_target', '')} |"
        )


def floor_cell(row: dict[str, Any]) -> str:
    """The floor a row's ratios are taken against: its own (interleaved), or `run` (the run's floor row)."""
    if row.get("floor_p50_ms"):
        return str(row["floor_p50_ms"])
    return "run" if "x_floor_p50" in row and row["scenario"] != floor.FLOOR else ""


def main() -> None:
    args = parse_args()
    only = {part.strip() for part in args.only.split(",") if part.strip()}

    load_before = os.getloadavg()
    started = time.perf_counter()
    info = dataset.setup(args, lambda message: print(message, file=sys.stderr))
    info["vacuum"] = dataset.vacuum_if_autovacuum_is_off()
    ctx = Run(
        args=args,
        client=Client(args.base_url, args.username),
        user_id=get_user_model().objects.get(username=args.username).pk,
        rng=random.Random(args.seed),
    )
    results: list[dict[str, Any]] = []
    try:
        for workload in WORKLOADS:
            if not only or workload.GROUP in only:
                results += workload.run(ctx)
        if ctx.floor_samples:
            results.insert(0, floor.final_row(ctx))
    finally:
        delete_regions(ctx.client, ctx.created)
    # each row against the floor measured with it; the run's floor row for the rows without one
    with_floor_ratios(results, results[0] if results and results[0]["scenario"] == floor.FLOOR else None)
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
    print_table(results)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
