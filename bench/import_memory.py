"""Peak memory and time of a background import (issue 14 item 12), measured in-process as the Celery worker
runs it: `import_job_run` of an `ImportJob` holding a `--rows`-row CSV (the layout of bench/workloads/imports.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ipam_bench_import .venv/bin/python bench/import_memory.py --rows 100000

Reports the elapsed time, the peak of Python allocations during the run (tracemalloc; it slows the run, so
the time is measured in a separate untraced run first), the process's peak RSS (ru_maxrss) and the number of
SQL statements (counted by an `execute_wrapper`, in the untraced run). The user `bench-import-mem` is reset
before each run. Run `manage.py migrate` on the database first.

The command bootstraps Django with DEBUG=true (settings demand a SECRET_KEY otherwise), which makes every
connection keep the text of its last 9,000 statements (`connection.queries`) — megabytes of bulk INSERTs that a
worker (DEBUG=false) does not hold. The bench turns that log off after setup; `--query-log` keeps it (the
numbers measured before 2026-12-02 18:00 were taken with it).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import bootstrap_django
from bench.workloads.imports import csv_content


def _reset(user):  # type: ignore[no-untyped-def]
    from ipam.models import AuditLog, Host, ImportJob, Region, UserQuota

    Host.objects.filter(user=user).delete()
    Region.objects.filter(user=user).delete()
    AuditLog.objects.filter(user_id=user.pk).delete()
    ImportJob.objects.filter(user=user).delete()
    UserQuota.objects.filter(user=user).delete()


def _run_once(user, content: bytes, traced: bool) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.utils import timezone

    from ipam.models import ImportJob
    from ipam.services.imports.jobs import import_job_run

    _reset(user)
    job = ImportJob.objects.create(
        user=user, format="csv", mode="auto", content=content, size=len(content), expires_at=timezone.now() + timedelta(hours=1)
    )
    gc.collect()
    if traced:
        tracemalloc.start()
    statements = [0]

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        statements[0] += 1
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(count):
        done = import_job_run(job_id=job.pk)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    if traced:
        tracemalloc.stop()
    assert done is not None and done.status == "completed", done.result if done else None
    traced_peak = round(peak / 2**20, 1)
    return {"seconds": round(elapsed, 1), "statements": statements[0], "traced_peak_mib": traced_peak, "created": done.result["created"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--country", default="India")
    parser.add_argument("--no-trace", action="store_true", help="skip the (slow) tracemalloc run: time and RSS only")
    parser.add_argument("--query-log", action="store_true", help="keep DEBUG's log of executed statements (connection.queries)")
    args = parser.parse_args()
    bootstrap_django()
    from django.conf import settings

    if not args.query_log:
        settings.DEBUG = False  # connections log statements only when DEBUG (or a test asks): a worker does not
    from django.contrib.auth import get_user_model

    settings.IPAM_DEFAULT_HOST_QUOTA = max(settings.IPAM_DEFAULT_HOST_QUOTA, args.rows * 2)
    settings.IPAM_DEFAULT_REGION_QUOTA = max(settings.IPAM_DEFAULT_REGION_QUOTA, args.rows)
    user, _ = get_user_model().objects.get_or_create(username="bench-import-mem")
    content = csv_content(args.rows, args.country).encode()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    timed = _run_once(user, content, traced=False)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    traced = {"traced_peak_mib": None} if args.no_trace else _run_once(user, content, traced=True)
    _reset(user)
    print(
        json.dumps(
            {
                "rows": args.rows,
                "file_mib": round(len(content) / 2**20, 2),
                "seconds": timed["seconds"],
                "statements": timed["statements"],
                "query_log": args.query_log,
                "created": timed["created"],
                "python_peak_mib": traced["traced_peak_mib"],
                "rss_peak_mib": round(rss_after, 1),
                "rss_before_mib": round(rss_before, 1),
                "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            }
        )
    )


if __name__ == "__main__":
    main()
