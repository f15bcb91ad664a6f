"""Audit-log retention: dropping monthly partitions vs the row-wise DELETE (issue 18, docs/performance.md).

Fills `ipam_audit_log` with `--rows` rows spread evenly over the last `--months` months, then runs the real
retention (`ipam.services.audit.audit_prune`, as the housekeeping job does) with `--retention-days`, twice:

- `partitioned`: the table as the migration leaves it on PostgreSQL, with a partition per month (as the
  `partitions_maintain` job would have created them): whole months are dropped, the boundary month's
  older rows deleted;
- `plain`: the same table converted back to a plain table (the schema before issue 18): every expired
  row is deleted in batches of 5 000 (the code path SQLite keeps).

For each: wall time of the retention, rows removed, WAL written (pg_current_wal_lsn difference) and the
table's size on disk before/after (all partitions and indexes). The rows are generated in SQL
(generate_series), not through the ORM. Needs its own PostgreSQL database (it empties the audit log):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ipam_retention_bench \\
        .venv/bin/python bench/retention.py --rows 2000000 --months 24 --retention-days 365 \\
        --output bench/results/retention.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import bootstrap_django

TABLE = "ipam_auditlog"
CHUNK = 500_000


def _scalar(sql: str, params: list[Any] | None = None) -> Any:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        row = cursor.fetchone()
    return row[0] if row else None


def _size() -> int:
    """Bytes on disk of the table, its partitions and their indexes."""
    return int(
        _scalar(
            f"SELECT pg_total_relation_size('{TABLE}') + coalesce((SELECT sum(pg_total_relation_size(relid)) "
            f"FROM pg_partition_tree('{TABLE}') WHERE relid <> '{TABLE}'::regclass), 0)"
        )
    )


def _prepare(variant: str, rows: int, months: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from foundation import partitions

    user = get_user_model().objects.get_or_create(username="bench-retention")[0]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLE}")
        if variant == "plain" and partitions.is_partitioned(connection, TABLE):
            partitions.convert_to_plain(connection, TABLE)
        if variant == "partitioned" and not partitions.is_partitioned(connection, TABLE):
            partitions.convert_to_partitioned(connection, TABLE, "timestamp")
    now = dt.datetime.now(dt.UTC)
    start = partitions.add_months(partitions.month_start(now), -months)
    if variant == "partitioned":
        spec = partitions.PartitionedTable(TABLE, "timestamp")
        for index in range(months + 1):
            partitions.create_month(connection, spec, partitions.add_months(start, index))
    span = (now - start).total_seconds()
    done = 0
    while done < rows:
        count = min(CHUNK, rows - done)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} (id, user_id, action_type, resource_type, resource_id, ip_address, cidr, country_code, "
                "region_id, actor, actor_type, request_id, source_ip, auth_method, reason, changes, snapshot, timestamp) "
                "SELECT gen_random_uuid(), %s, 'host.allocate', 'host', i::text, '10.' || (i %% 250) || '.' || (i %% 200) || '.7', "
                "'', 'IN', NULL, 'bench-retention', 'user', md5(i::text), '127.0.0.1', 'jwt', '', '[]'::jsonb, '{}'::jsonb, "
                "%s::timestamptz + make_interval(secs => (i::float8 / %s) * %s) FROM generate_series(%s, %s) AS i",
                [user.pk, start, rows, span, done, done + count - 1],
            )
        done += count
        print(f"  {variant}: {done:,} rows", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {TABLE}")


def _measure(variant: str, retention_days: int) -> dict[str, Any]:
    from ipam.services.audit import audit_prune

    rows_before = int(_scalar(f"SELECT count(*) FROM {TABLE}"))
    size_before = _size()
    lsn = _scalar("SELECT pg_current_wal_lsn()")
    started = time.perf_counter()
    removed = audit_prune(older_than_days=retention_days)
    seconds = time.perf_counter() - started
    wal = int(_scalar("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [lsn]))
    size_after = _size()
    return {
        "variant": variant,
        "rows_before": rows_before,
        "rows_removed": removed,
        "rows_after": int(_scalar(f"SELECT count(*) FROM {TABLE}")),
        "seconds": round(seconds, 2),
        "wal_mb": round(wal / 2**20, 1),
        "size_before_mb": round(size_before / 2**20, 1),
        "size_after_mb": round(size_after / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--retention-days", type=int, default=365)
    parser.add_argument("--variants", default="partitioned,plain")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    bootstrap_django()
    from django.core.management import call_command
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        parser.error("needs PostgreSQL (DATABASE_URL=postgres://…)")
    call_command("migrate", verbosity=0)
    results = []
    for variant in args.variants.split(","):
        started = time.perf_counter()
        _prepare(variant, args.rows, args.months)
        print(f"  {variant}: generated in {time.perf_counter() - started:.0f} s", flush=True)
        results.append(_measure(variant, args.retention_days))
        print(json.dumps(results[-1]), flush=True)
    # Leave the table as the migrations made it.
    from foundation import partitions

    report: dict[str, Any] = {"rows": args.rows, "months": args.months, "retention_days": args.retention_days, "results": results}
    if not partitions.is_partitioned(connection, TABLE):
        # What the migration does to an existing table of this size (copy into monthly partitions).
        rows_left = int(_scalar(f"SELECT count(*) FROM {TABLE}"))
        started = time.perf_counter()
        with transaction.atomic():
            partitions.convert_to_partitioned(connection, TABLE, "timestamp")
        report["migration"] = {"rows": rows_left, "seconds": round(time.perf_counter() - started, 1)}
        print(f"  migration of {rows_left:,} rows into monthly partitions: {report['migration']['seconds']} s", flush=True)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2) + "\n")
    print("| variant | rows before | removed | seconds | WAL (MB) | size before → after (MB) |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['variant']} | {r['rows_before']:,} | {r['rows_removed']:,} | {r['seconds']} | {r['wal_mb']} | "
            f"{r['size_before_mb']} → {r['size_after_mb']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
