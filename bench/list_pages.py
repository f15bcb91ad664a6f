"""In-process cost of list pages at random page numbers (issue 19, the list half).

Sends `GET <list>?page=<random>` through the whole Django stack (Django's test client, a real JWT) against
the database of the environment and prints per list: p50/p95 in ms, statements per request and SQL ms per
request, next to the floor (`GET /ipam/quotas/me`) measured in the same run:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ipam_perf REDIS_URL=redis://127.0.0.1:6379/8 DEBUG=false \\
        SECRET_KEY=x FERNET_KEY=... .venv/bin/python bench/list_pages.py --requests 100 [--only hosts,audit]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import bootstrap_django, latency_stats

bootstrap_django()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client as DjangoClient  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from bench.breakdown import StatementTimer  # noqa: E402
from foundation import credentials  # noqa: E402
from webhooks.models import Webhook  # noqa: E402

LISTS = {
    "floor": "/ipam/quotas/me",
    "regions": "/ipam/regions",
    "hosts": "/ipam/hosts",
    "audit": "/ipam/audit",
    "notifications": "/ipam/notifications",
    "reservations": "/ipam/reservations",
}


def measure(client: DjangoClient, path: str, requests_n: int, rng: random.Random) -> dict[str, Any]:
    first = client.get(path)
    if first.status_code != 200:
        return {"path": path, "error": first.status_code}
    count = first.json().get("count") if path != LISTS["floor"] else None
    pages = max(1, -(-(count or 0) // 50))
    timer = StatementTimer()
    samples: list[float] = []
    with connection.execute_wrapper(timer):
        for _ in range(requests_n):
            url = f"{path}?page={rng.randint(1, pages)}" if count is not None else path
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code, response.content[:200])
    return {
        "path": path,
        "rows": count,
        **latency_stats(samples),
        "statements": round(timer.count / requests_n, 2),
        "sql_ms": round(timer.seconds / requests_n * 1000, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--username", default="bench")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--only", default="")
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args(argv)
    user = get_user_model().objects.get(username=args.username)
    token = RefreshToken.for_user(user)
    token[credentials.VERSION_CLAIM] = credentials.current_version(user.pk)  # as the login view issues it
    client = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {token.access_token}", REMOTE_ADDR="127.0.0.1")
    rng = random.Random(args.seed)
    wanted = {w.strip() for w in args.only.split(",") if w.strip()} | {"floor"}
    lists = dict(LISTS)
    webhook = Webhook.objects.filter(user=user).order_by("created_at").first()  # bench/generate.py makes one
    if webhook is not None:
        lists["deliveries"] = f"/ipam/webhooks/{webhook.pk}/deliveries"
    for name, path in lists.items():
        if args.only and name not in wanted:
            continue
        for _ in range(5):
            client.get(path)
        print(name, measure(client, path, args.requests, rng), flush=True)
    print("load average", Path("/proc/loadavg").read_text().split()[:3])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
