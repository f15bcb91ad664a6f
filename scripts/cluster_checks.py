"""Users of the multi-node test and its checks afterwards (scripts/cluster_test.py); run after django.setup()."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections import Counter
from typing import Any

from cluster_support import BASE_DIR, Receiver, Stats

EVENTS = ["region.created", "host.allocated", "host.released", "reservation.created"]


def make_users(run: str, count: int, webhook_url: str) -> list[tuple[Any, str]]:
    from django.contrib.auth.models import Group, User
    from rest_framework_simplejwt.tokens import RefreshToken

    from webhooks.services import webhook_create

    users = []
    for n in range(count):
        user = User.objects.create_user(f"cluster-{run}-{n}", password=uuid.uuid4().hex)
        user.groups.add(Group.objects.get(name="IPAM Operators"))
        webhook_create(actor=user, webhook_url=webhook_url, events=EVENTS, description="cluster test")
        users.append((user, str(RefreshToken.for_user(user).access_token)))
    return users


def _drain(ids: list[int], timeout: float) -> float:
    """Wait until no delivery of these users is pending or in flight; seconds it took."""
    from webhooks.models import WebhookDelivery

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not WebhookDelivery.objects.filter(webhook__user_id__in=ids, status__in=["pending", "sending"]).exists():
            break
        time.sleep(1)
    return time.monotonic() - started


def _duplicates(model: Any, ids: list[int], fields: list[str]) -> int:
    from django.db.models import Count

    rows = model.objects.filter(user_id__in=ids).exclude(status__in=["retired", "released"]).values(*fields).annotate(n=Count("id"))
    return int(rows.filter(n__gt=1).count())


def _audit(ids: list[int], stats: Stats) -> dict[str, Any]:
    """One audit row per applied write, and every acknowledged write applied. Applied writes are read from the
    rows, and for retired hosts (their rows are deleted) from the `host.released` outbox events, which are
    written in the same transaction as the retire."""
    import json

    from ipam.models import AuditLog, Host, Region, Reservation
    from webhooks.models import WebhookEvent

    audit = Counter(
        AuditLog.objects.filter(user_id__in=ids).exclude(resource_type="webhook").values_list("action_type", "resource_type", "resource_id")
    )
    released = {
        json.loads(body)["data"]["host_id"]
        for body in WebhookEvent.objects.filter(user_id__in=ids, event_type="host.released").values_list("body", flat=True)
    }
    live_hosts = {str(pk) for pk in Host.objects.filter(user_id__in=ids).values_list("id", flat=True)}
    applied = {
        ("create", "region"): {str(pk) for pk in Region.objects.filter(user_id__in=ids).values_list("id", flat=True)},
        ("create", "host"): live_hosts | released,
        ("retire", "host"): released,
        ("create", "reservation"): {str(pk) for pk in Reservation.objects.filter(user_id__in=ids).values_list("id", flat=True)},
    }
    expected = Counter({(action, kind, pk): 1 for (action, kind), pks in applied.items() for pk in pks})
    acknowledged = {
        "region": ("create", "region"),
        "host": ("create", "host"),
        "retire": ("retire", "host"),
        "reserve": ("create", "reservation"),
    }
    missing = Counter(op for op, key in acknowledged.items() for pk in stats.acknowledged[op] if pk not in applied[key])
    missing_ack = sum(missing.values())
    applied_n = sum(len(v) for v in applied.values())
    acked_n = sum(len(v) for v in stats.acknowledged.values())
    return {
        "applied_writes": applied_n,
        "acknowledged_writes": acked_n,
        "uncertain_writes": dict(stats.uncertain),
        "audit_rows": sum(audit.values()),
        "released_hosts_still_present": len(released & live_hosts),
        "audit_one_per_applied_write": audit == expected,
        "acknowledged_without_row": missing_ack,
        "acknowledged_without_row_by_op": dict(missing),
        # a write applied that no client saw succeed must be one whose outcome the client never learned
        "applied_unacknowledged_within_uncertain": applied_n - acked_n <= sum(stats.uncertain.values()),
    }


def _deliveries(ids: list[int], receiver: Receiver) -> dict[str, Any]:
    from webhooks.models import WebhookDelivery, WebhookEvent

    events = {str(pk) for pk in WebhookEvent.objects.filter(user_id__in=ids).values_list("id", flat=True)}
    statuses = Counter(WebhookDelivery.objects.filter(webhook__user_id__in=ids).values_list("status", flat=True))
    interrupted = WebhookDelivery.objects.filter(webhook__user_id__in=ids, attempt_log__error_message__contains="interrupted").count()
    with receiver.lock:
        seen = Counter(receiver.seen)
        bodies = {k: len(v) for k, v in receiver.bodies.items()}
    return {
        "events": len(events),
        "delivery_statuses": dict(statuses),
        "received_distinct": len(set(seen) & events),
        "lost": len(events - set(seen)),
        "unknown_ids_received": len(set(seen) - events),
        "repeats": sum(n - 1 for n in seen.values() if n > 1),
        "repeats_with_another_body": sum(1 for k, n in bodies.items() if n > 1),
        "interrupted_attempts_recovered": interrupted,
    }


def checks(
    run: str, stats: Stats, users: list[Any], receiver: Receiver, faults: dict[str, Any], elapsed: float, args: Any, grace: float
) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connections

    from ipam.models import Host, Region

    connections.close_all()  # this process's connection did not survive the PostgreSQL restart
    ids = [u.pk for u, _ in users]
    drained_in = _drain(ids, timeout=150)
    verify = subprocess.run([sys.executable, "manage.py", "verify_counters"], cwd=BASE_DIR, capture_output=True, text=True, check=False)
    db_stop, db_back = faults.pop("db_stop_at", None), faults.pop("db_back_at", None)
    allowed = [
        (t, code, op)
        for t, code, op in stats.responses
        if code == 503 and db_stop is not None and db_back is not None and db_stop - 1 <= t <= db_back + grace
    ]
    unexpected = [f"{op} {code}" for t, code, op in stats.responses if (t, code, op) not in allowed]
    latencies = sorted(stats.latencies)
    requests_total = sum(stats.status.values())
    result: dict[str, Any] = {
        "run": run,
        "broker": settings.CELERY_BROKER_URL.split("@")[-1],
        "seconds": round(elapsed, 1),
        "clients": args.clients,
        "users": args.users,
        "web_nodes": 2,
        "gunicorn_workers_per_node": args.web_workers,
        "requests": requests_total,
        "requests_per_second": round(requests_total / elapsed, 1),
        "latency_p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
        "latency_p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1) if latencies else None,
        "failovers": stats.failovers,
        "faults": faults,
        "db_down_seconds": round(db_back - db_stop, 1) if db_stop and db_back else None,
        "status_counts": dict(sorted(stats.status.items())),
        "503_during_db_restart": len(allowed),
        "unexpected_5xx": len(unexpected),
        "first_unexpected_5xx": unexpected[:5],
        "duplicate_regions": _duplicates(Region, ids, ["user_id", "x_octet", "y_octet"]),
        "duplicate_hosts": _duplicates(Host, ids, ["user_id", "ip_int"]),
        "verify_counters_ok": verify.returncode == 0,
        "verify_counters": (verify.stdout.strip().splitlines() or [verify.stderr.strip()[-300:]])[-1],
        "webhook_backlog_drained_in_s": round(drained_in, 1),
        **_audit(ids, stats),
        **_deliveries(ids, receiver),
    }
    result["passed"] = bool(
        result["unexpected_5xx"] == 0
        and result["duplicate_regions"] == 0
        and result["duplicate_hosts"] == 0
        and result["verify_counters_ok"]
        and result["audit_one_per_applied_write"]
        and result["acknowledged_without_row"] == 0
        and result["released_hosts_still_present"] == 0
        and result["applied_unacknowledged_within_uncertain"]
        and result["lost"] == 0
        and result["unknown_ids_received"] == 0
        and result["repeats_with_another_body"] == 0
        and set(result["delivery_statuses"]) <= {"delivered"}
        and faults.get("webhook_posts_in_flight_at_worker_kill", 0) > 0
    )
    return result
