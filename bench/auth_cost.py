"""In-process cost of authenticating one request: cached JWT vs cached API token (issue 17).

Creates a throwaway test database (as the test runner does: SQLite in memory, or `test_<name>` on
PostgreSQL), one user with IPAM read permission, a JWT and an API token, warms the caches, then times
`authenticate()` of each class on the same request `--rounds` times (interleaved, so load hits both alike)
and reports the median and p95 in microseconds, plus the database queries and cache calls per request.
Use the cache of production (set REDIS_URL) for numbers that include the Redis round trips:

    IPAM_SKIP_DOTENV=1 DEBUG=true REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python bench/auth_cost.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.measure import bootstrap_django

bootstrap_django()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.test import APIRequestFactory  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3000)
    args = parser.parse_args()
    setup_test_environment()
    name = connection.creation.create_test_db(verbosity=0)
    try:
        run(args.rounds)
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)


def run(rounds: int) -> None:
    from foundation import apitokens
    from foundation.auth import ApiTokenAuthentication, TrackedJWTAuthentication
    from foundation.views import VersionedRefreshToken
    from tests.factories import UserFactory

    cache.clear()
    user = UserFactory(username="bench-auth")
    user.groups.add(Group.objects.get(name="IPAM Readers"))
    jwt = str(VersionedRefreshToken.for_user(user).access_token)
    _, secret = apitokens.create(user=user, name="bench", scope="read", expires_at=None, allowed_networks=["127.0.0.0/8"])
    factory = APIRequestFactory()
    cases = {
        "jwt": (TrackedJWTAuthentication(), factory.get("/ipam/quotas/me", HTTP_AUTHORIZATION=f"Bearer {jwt}")),
        "token": (ApiTokenAuthentication(), factory.get("/ipam/quotas/me", HTTP_AUTHORIZATION=f"Token {secret}")),
    }
    timings: dict[str, list[float]] = {case: [] for case in cases}
    calls = {case: _cache_calls(auth, raw) for case, (auth, raw) in cases.items()}  # also warms the caches
    for _ in range(rounds):
        for case, (auth, raw) in cases.items():
            request = Request(raw)
            start = time.perf_counter()
            result = auth.authenticate(request)
            timings[case].append((time.perf_counter() - start) * 1e6)
            assert result is not None and result[0].pk == user.pk
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 2)[-2]
    print(f"cache backend: {backend}; database: {connection.vendor}; rounds: {rounds}")
    for case, values in timings.items():
        values.sort()
        p95 = values[int(len(values) * 0.95)]
        print(
            f"{case:>6}: median {statistics.median(values):7.1f} µs  p95 {p95:7.1f} µs  "
            f"queries {calls[case][0]}  cache calls {calls[case][1]}"
        )


def _cache_calls(auth: object, raw: object) -> tuple[int, int]:
    """Authenticate twice (the first fills the caches); count queries and cache calls of the second."""
    auth.authenticate(Request(raw))  # type: ignore[attr-defined]
    counted = {"n": 0}
    originals = {}
    for method in ("get", "get_many", "set", "add", "incr"):
        originals[method] = getattr(cache, method)

        def wrapper(*a: object, _m: str = method, **k: object) -> object:
            counted["n"] += 1
            return originals[_m](*a, **k)

        setattr(cache, method, wrapper)
    try:
        with CaptureQueriesContext(connection) as queries:
            auth.authenticate(Request(raw))  # type: ignore[attr-defined]
    finally:
        for method, original in originals.items():
            setattr(cache, method, original)
    return len(queries), counted["n"]


if __name__ == "__main__":
    main()
