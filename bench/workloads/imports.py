"""`POST /ipam/import` of `--import-rows` CSV rows (auto mode) as user `bench-import`, whose namespace
`bench.dataset.setup` resets before each run. Target: 100,000 rows within 60 s (scaled for other sizes).

Files above IPAM_IMPORT_SYNC_MAX_ROWS / _BYTES are a background job (202): the time is then until the job's
status URL says it is done, and the server needs a Celery worker (bench/serve.sh starts one). The job's peak
memory is measured in-process by bench/import_memory.py."""

from __future__ import annotations

import time
from typing import Any

from bench.measure import Client, Run
from bench.report import summarise

GROUP = "import"
HOSTS_PER_REGION = 250


def run(ctx: Run) -> list[dict[str, Any]]:
    if not ctx.args.import_rows:
        return []
    return [import_rows(ctx.args.base_url, ctx.args.import_rows, ctx.args.country)]


def csv_content(rows: int, country: str) -> str:
    """A header and `rows` data rows: one region row, then its hosts, region after region."""
    lines = ["country,region_name,hostname"]
    index = 0
    while len(lines) <= rows:
        if index % HOSTS_PER_REGION == 0:
            lines.append(f"{country},imp-{index // HOSTS_PER_REGION:05d},")
        lines.append(f"{country},imp-{index // HOSTS_PER_REGION:05d},h-{index % HOSTS_PER_REGION:03d}")
        index += 1
    return "\n".join(lines[: rows + 1]) + "\n"


def import_rows(base_url: str, rows: int, country: str) -> dict[str, Any]:
    client = Client(base_url, "bench-import")
    content = csv_content(rows, country)
    started = time.perf_counter()
    elapsed, response = client.timed("POST", "/ipam/import", timeout=900, files={"file": ("bench.csv", content.encode(), "text/csv")})
    body = response.json()
    if response.status_code == 202:  # a background job: poll its status until it is done
        path = "/" + body["status_url"].split("/", 3)[3]
        while body["status"] in ("pending", "processing") and time.perf_counter() - started < 900:
            time.sleep(0.5)
            body = client.timed("GET", path)[1].json()
        elapsed = (time.perf_counter() - started) * 1000
        body = body.get("result") or {}
    return summarise(
        "import",
        [elapsed],
        rows=rows,
        seconds=round(elapsed / 1000, 1),
        created=body.get("created"),
        bytes=len(content),
    )
