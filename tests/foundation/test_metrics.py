"""/metrics: django-prometheus' series plus ours; counters move with the events they count; samples of
several processes are merged (Prometheus multiprocess mode, as with several gunicorn workers)."""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

from ipam import cache as ipam_cache
from ipam.tasks.housekeeping import housekeeping
from tests.ops_support import BIN, Background, free_port, run_django, subprocess_env, wait_for
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db


_ABSENT = object()


def sample(text: str, name: str, default: object = _ABSENT, **labels: str) -> float:
    """Value of one series in Prometheus text. A missing series fails the test unless the caller says what
    absence means (`default=0.0` for a counter read *before* the event that creates it): a missing series
    must never pass as 0 by accident."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(3) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(4))
    if default is _ABSENT:
        raise AssertionError(f"no series {name}{labels or ''} in the scrape")
    return default  # type: ignore[return-value]


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def test_metrics_text_contains_the_named_series(api, anon, settings, alice, django_capture_on_commit_callbacks):
    failed_before = sample(scrape(anon), "ipam_webhook_deliveries_total", outcome="failed")  # created up front
    # One delivery that fails for good: a target allowed when subscribed, refused at send time (never retried).
    settings.IPAM_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    webhook_create(actor=alice, webhook_url="http://127.0.0.1:9/hook", events=["region.created"])
    settings.IPAM_WEBHOOK_ALLOWED_HOSTS = []
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/ipam/regions", {"country": "IN", "region_name": "m1"}, format="json").status_code == 201
    ipam_cache.cached("dashboard", "ops-metrics-test", 60, lambda: 1)
    housekeeping.apply(throw=True)
    text = scrape(anon)
    for series in [
        # request rate / latency / status per endpoint (django-prometheus)
        "django_http_requests_total_by_view_transport_method_total",
        "django_http_requests_latency_seconds_by_view_method_bucket",
        "django_http_responses_total_by_status_view_method_total",
        # database query count and time
        "django_db_execute_total",
        "django_db_query_duration_seconds_bucket",
        # cache hits/misses per cache
        "ipam_cache_requests_total",
        # allocations by result, allocation latency
        "ipam_allocations_total",
        "ipam_allocation_seconds_bucket",
        # background task duration and last success
        "ipam_background_task_duration_seconds_bucket",
        "ipam_background_task_last_success_timestamp_seconds",
        "ipam_background_task_last_duration_seconds",
        "ipam_background_task_runs_total",
        "ipam_background_task_failures_total",
        # webhook deliveries by outcome, pending count
        "ipam_webhook_deliveries_total",
        "ipam_webhook_deliveries_pending",
        # rate limiting
        "ipam_rate_limited_requests_total",
        "ipam_rate_limit_degraded_total",
        "ipam_build_info",
    ]:
        assert re.search(rf"^{series}[{{ ]", text, re.MULTILINE), series
    assert sample(text, "ipam_allocations_total", resource="region", result="success") >= 1
    assert sample(text, "ipam_background_task_last_success_timestamp_seconds", task="housekeeping") > 0
    assert sample(text, "ipam_background_task_runs_total", task="housekeeping") == 1
    assert sample(text, "ipam_webhook_deliveries_total", outcome="failed") == failed_before + 1


def test_a_cache_hit_moves_the_hit_counter(anon):
    before = scrape(anon)
    assert ipam_cache.cached("dashboard", "ops-hit-test", 60, lambda: {"n": 1}) == {"n": 1}  # miss, computes
    middle = scrape(anon)
    assert ipam_cache.cached("dashboard", "ops-hit-test", 60, lambda: {"n": 2}) == {"n": 1}  # hit
    after = scrape(anon)
    hits = [sample(t, "ipam_cache_requests_total", 0.0, cache="dashboard", result="hit") for t in (before, middle, after)]
    misses = [sample(t, "ipam_cache_requests_total", 0.0, cache="dashboard", result="miss") for t in (before, middle, after)]
    assert hits[1] == hits[0] and hits[2] == hits[1] + 1
    assert misses[1] == misses[0] + 1 and misses[2] == misses[1]


def test_requests_are_counted_per_view_and_status(api, anon):
    before = sample(scrape(anon), "django_http_responses_total_by_status_view_method_total", 0.0, status="200", view="health", method="GET")
    for _ in range(3):
        anon.get("/health")
    after = sample(scrape(anon), "django_http_responses_total_by_status_view_method_total", status="200", view="health", method="GET")
    assert after == before + 3


def test_rate_limited_requests_are_counted(api, anon, settings):
    settings.IPAM_RATE_LIMITS_ENABLED = True
    settings.IPAM_READ_RATE_LIMIT_PER_HOUR = 1
    before = sample(scrape(anon), "ipam_rate_limited_requests_total", scope="read")
    assert [api.get("/ipam/regions").status_code for _ in range(3)] == [200, 429, 429]
    assert sample(scrape(anon), "ipam_rate_limited_requests_total", scope="read") == before + 2


def test_metrics_require_the_token_when_one_is_configured(anon, settings):
    settings.IPAM_METRICS_TOKEN = "s3cret-scrape-token"
    assert anon.get("/metrics").status_code == 401
    assert anon.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = anon.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert response.status_code == 200 and b"ipam_build_info" in response.content


COUNT_HITS = "from foundation import metrics\nfor _ in range({n}):\n    metrics.record_cache_access('mp', True)\n"
RENDER = "from foundation import metrics\nprint(metrics.render().decode())\n"


def test_samples_of_several_processes_are_merged(tmp_path):
    web_dir, worker_dir = tmp_path / "mp-web", tmp_path / "mp-worker"
    web_dir.mkdir()
    worker_dir.mkdir()
    web = subprocess_env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(web_dir))
    worker = subprocess_env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(worker_dir))
    for env, n in [(web, 2), (web, 3), (worker, 4)]:  # two "gunicorn workers" and one "celery worker"
        result = run_django(COUNT_HITS.format(n=n), env)
        assert result.returncode == 0, result.stderr
    only_web = run_django(RENDER, web)
    assert sample(only_web.stdout, "ipam_cache_requests_total", cache="mp", result="hit") == 5
    merged = run_django(RENDER, dict(web, IPAM_METRICS_EXTRA_DIRS=f"{worker_dir},{web_dir}"))
    assert sample(merged.stdout, "ipam_cache_requests_total", cache="mp", result="hit") == 9
    assert "ipam_background_task_runs_total" in merged.stdout  # database-read series still there


@pytest.mark.slow
def test_gunicorn_with_several_workers_reports_every_request_and_reloads_gracefully(tmp_path):
    port = free_port()
    env = subprocess_env(tmp_path, IPAM_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="3", GUNICORN_ACCESS_LOG="")
    args = [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "ipam_project.wsgi"]
    base = f"http://127.0.0.1:{port}"

    def get(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(base + path, timeout=5) as response:
                return response.status, response.read().decode()
        except OSError:
            return 0, ""

    def health_count() -> float:
        return sample(get("/metrics")[1], "django_http_requests_total_by_view_transport_method_total", view="health", method="GET")

    with Background(args, env, tmp_path / "gunicorn.out") as server:
        wait_for(lambda: get("/health")[0] == 200, 120, lambda: f"gunicorn to serve:\n{server.output()}")
        # A probe of the wait that timed out on the client may still be served (and counted) later: start from a
        # count that has stopped moving.
        start = health_count()
        for _ in range(20):
            time.sleep(0.5)
            settled = health_count()
            if settled == start:
                break
            start = settled
        for _ in range(30):
            assert get("/health")[0] == 200
        assert health_count() == start + 30
        pids = {name.rsplit("_", 1)[1] for name in (p.name for p in (tmp_path / "var" / "prometheus-web").glob("counter_*.db"))}
        assert len(pids) >= 2, pids  # several workers wrote samples, and /metrics added them up

        server.proc.send_signal(1)  # HUP: graceful reload, new workers
        wait_for(lambda: "Hang up: Master" in server.output(), 60, lambda: f"the reload:\n{server.output()}")
        wait_for(lambda: get("/health")[0] == 200, 120, lambda: f"serving after the reload:\n{server.output()}")
        assert health_count() >= start + 31  # counts survive the reload
        # TERM: graceful stop (workers still booting after the reload finish booting first; slow machines).
        assert server.stop(timeout=120) == 0


def test_the_webhook_outcome_series_created_up_front_are_the_outcomes_recorded():
    # The series are created at import so rates work before the first delivery; they must be the very labels
    # `webhooks.delivery` records (they were success/retry while deliveries recorded delivered/retrying).
    from foundation import metrics
    from webhooks.models import AttemptOutcome

    assert set(metrics.WEBHOOK_OUTCOMES) == set(AttemptOutcome.values)
