"""Prometheus metrics at /metrics: django-prometheus' series plus the product's own.

From django-prometheus (middleware and database/cache backends):
  request rate/latency/status per view — `django_http_requests_total_by_view_transport_method`,
  `django_http_requests_latency_seconds_by_view_method`, `django_http_responses_total_by_status_view_method`;
  database query counts and time — `django_db_execute_total`, `django_db_query_duration_seconds`;
  Redis cache gets/hits/misses — `django_cache_get_total`, `django_cache_get_hits_total`, ...
Ours (defined here, recorded where the work happens):
  `ipam_cache_requests_total{cache,result}` — hits/misses per logical cache (dashboard, forecast, ...);
  `ipam_allocations_total{resource,result}`, `ipam_allocation_seconds{resource}`;
  `ipam_background_task_duration_seconds{task,outcome}` (workers) and, read from the database at scrape
  time so every host agrees, `ipam_background_task_last_success_timestamp_seconds{task}`,
  `ipam_background_task_last_run_timestamp_seconds{task}`, `ipam_background_task_last_duration_seconds{task}`,
  `ipam_background_task_runs_total{task}`, `ipam_background_task_failures_total{task}`;
  `ipam_webhook_deliveries_total{outcome}`, `ipam_webhook_delivery_seconds` and the database-read gauge
  `ipam_webhook_deliveries_pending`; `ipam_rate_limited_requests_total{scope}`,
  `ipam_rate_limit_degraded_total`; `ipam_build_info{version}`.

The request series of django-prometheus are recorded by `PrometheusBeforeMiddleware` and
`PrometheusAfterMiddleware` below: the library's two middleware with the same series, labels and values, but
each labelled child looked up once per process (see their docstrings).

Several processes (gunicorn workers, Celery pool processes): set PROMETHEUS_MULTIPROC_DIR before start
(deploy/gunicorn.conf.py does it); every process writes its samples there and /metrics merges them, plus
any IPAM_METRICS_EXTRA_DIRS (the worker's directory on the same host).
"""

from __future__ import annotations

import glob
import hmac
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import prometheus_client
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_prometheus import middleware as _dp_middleware
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

logger = logging.getLogger("ipam.metrics")

CACHE_REQUESTS = Counter("ipam_cache_requests_total", "Cache lookups by cache name and result", ["cache", "result"])
ALLOCATIONS = Counter("ipam_allocations_total", "Allocation attempts by resource and result", ["resource", "result"])
ALLOCATION_LATENCY = Histogram(
    "ipam_allocation_seconds",
    "Time spent in the allocation service",
    ["resource"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
RATE_LIMITED = Counter("ipam_rate_limited_requests_total", "Requests refused by a rate limit", ["scope"])
RATE_LIMIT_DEGRADED = Counter("ipam_rate_limit_degraded_total", "Requests allowed because the rate-limit store was unreachable")
BACKGROUND_TASK_DURATION = Histogram(
    "ipam_background_task_duration_seconds",
    "Duration of scheduled background job runs (recorded by the worker that ran them)",
    ["task", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0),
)
# Recorded by the webhooks app after every delivery attempt: record_webhook_delivery(outcome, seconds). The
# outcomes are those of webhooks.models.AttemptOutcome (a test keeps the two lists equal).
WEBHOOK_OUTCOMES = ("delivered", "retrying", "failed")
WEBHOOK_DELIVERIES = Counter("ipam_webhook_deliveries_total", "Webhook delivery attempts by outcome", ["outcome"])
WEBHOOK_DELIVERY_SECONDS = Histogram(
    "ipam_webhook_delivery_seconds",
    "Time from sending a webhook delivery to its response (or error)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# Known label values start at 0 so the series exist (and rates work) before the first event.
for _outcome in WEBHOOK_OUTCOMES:
    WEBHOOK_DELIVERIES.labels(outcome=_outcome)
for _scope in ("read", "write", "host_create", "webhook_create", "bulk", "public_share", "login"):
    RATE_LIMITED.labels(scope=_scope)
for _resource in ("region", "host"):
    ALLOCATIONS.labels(resource=_resource, result="success")


def record_cache_access(name: str, hit: bool) -> None:
    CACHE_REQUESTS.labels(cache=name, result="hit" if hit else "miss").inc()


def record_webhook_delivery(outcome: str, seconds: float | None = None) -> None:
    """One delivery attempt finished. outcome: delivered (2xx) | retrying (will be retried) | failed (given up)."""
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
    if seconds is not None:
        WEBHOOK_DELIVERY_SECONDS.observe(seconds)


# Gauges whose truth is in the database, registered by the app that owns the rows (AppConfig.ready):
# name -> (help text, function returning the value). Read at every scrape.
DATABASE_GAUGES: dict[str, tuple[str, Callable[[], float]]] = {}


def register_database_gauge(name: str, documentation: str, read: Callable[[], float]) -> None:
    DATABASE_GAUGES[name] = (documentation, read)


def _ts(value: Any) -> float:
    return value.timestamp() if value else 0.0


class DatabaseCollector(Collector):
    """Series whose truth is in the database (same answer from every process and host), read at scrape."""

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("ipam_build_info", "Version of the running IPAM service", labels=["version"])
        info.add_metric([settings.IPAM_VERSION], 1)
        yield info
        yield from self._jobs()
        yield from self._gauges()

    def _jobs(self) -> Iterable[Metric]:
        from foundation.models import JobRun

        try:
            rows = {row.name: row for row in JobRun.objects.filter(name__in=list(settings.IPAM_JOBS))}
        except Exception as exc:  # database down or not migrated: the other series still export
            logger.warning("Could not read background job runs for /metrics: %s", exc.__class__.__name__)
            return []
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {
            "success": GaugeMetricFamily(
                "ipam_background_task_last_success_timestamp_seconds", "Unix time of the last successful run", labels=["task"]
            ),
            "run": GaugeMetricFamily("ipam_background_task_last_run_timestamp_seconds", "Unix time the last run started", labels=["task"]),
            "duration": GaugeMetricFamily(
                "ipam_background_task_last_duration_seconds", "Duration of the last finished run", labels=["task"]
            ),
            "runs": CounterMetricFamily("ipam_background_task_runs", "Finished runs of a scheduled job", labels=["task"]),
            "failures": CounterMetricFamily("ipam_background_task_failures", "Failed runs of a scheduled job", labels=["task"]),
        }
        for name in settings.IPAM_JOBS:
            row = rows.get(name)
            families["success"].add_metric([name], _ts(row.last_success_at) if row else 0.0)
            families["run"].add_metric([name], _ts(row.last_started_at) if row else 0.0)
            families["duration"].add_metric([name], (row.last_duration_ms or 0.0) / 1000 if row else 0.0)
            families["runs"].add_metric([name], row.run_count if row else 0)
            families["failures"].add_metric([name], row.failure_count if row else 0)
        return list(families.values())

    def _gauges(self) -> Iterable[Metric]:
        found: list[Metric] = []
        for name, (documentation, read) in DATABASE_GAUGES.items():
            try:
                value = read()
            except Exception as exc:  # database down: the other series still export
                logger.warning("Could not read %s for /metrics: %s", name, exc.__class__.__name__)
                continue
            gauge = GaugeMetricFamily(name, documentation)
            gauge.add_metric([], value or 0)
            found.append(gauge)
        return found


class MultiDirectoryCollector(Collector):
    """Prometheus multiprocess samples merged from several directories (web's own plus extra ones)."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths

    def collect(self) -> Iterator[Metric]:
        files: set[str] = set()
        for path in self.paths:
            files.update(os.path.realpath(f) for f in glob.glob(os.path.join(path, "*.db")))
        return iter(MultiProcessCollector.merge(sorted(files), accumulate=True))


_database_registry = CollectorRegistry(auto_describe=False)
_database_registry.register(DatabaseCollector())


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def render() -> bytes:
    """The whole /metrics page."""
    own = multiprocess_dir()
    if own:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(MultiDirectoryCollector([own, *settings.IPAM_METRICS_EXTRA_DIRS]))
    else:
        registry = prometheus_client.REGISTRY
    return prometheus_client.generate_latest(registry) + prometheus_client.generate_latest(_database_registry)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics (Prometheus text format). With IPAM_METRICS_TOKEN set, `Authorization: Bearer <it>`."""
    token = settings.IPAM_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return HttpResponse("metrics token required\n", status=401, content_type="text/plain", headers={"WWW-Authenticate": "Bearer"})
    return HttpResponse(render(), content_type=prometheus_client.CONTENT_TYPE_LATEST)


# --- request middleware ------------------------------------------------------------------------------------

# django-prometheus normalises the method of most series (anything else counts as "<invalid method>"); the
# latency histogram takes `request.method` as it comes, as the library does.
_KNOWN_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"))
# Children remembered per metric; past this (a client inventing methods) `labels()` is called as before.
_CHILDREN_LIMIT = 4096


class _Children:
    """`metric.labels(*values)`, remembered per process.

    prometheus_client's `labels()` validates and converts the values, takes a lock and looks the child up on
    every call; django-prometheus calls it seven times per request. The child for a tuple of values never
    changes (nothing removes labelled children of these series), so it is kept here after the first call.
    """

    __slots__ = ("found", "metric")

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self.found: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self.found.get(values)
        if child is None:
            child = self.metric.labels(*values)
            if len(self.found) < _CHILDREN_LIMIT:
                self.found[values] = child
        return child


class PrometheusBeforeMiddleware(_dp_middleware.PrometheusBeforeMiddleware):
    """django-prometheus' outer middleware (requests/responses before middleware, latency including them),
    as a plain `__call__`: the same three updates, without `MiddlewareMixin`'s per-request dispatch."""

    sync_capable = True
    async_capable = False  # a sync-only `__call__`: Django adapts it under ASGI

    def __call__(self, request: HttpRequest) -> HttpResponse:
        metrics = self.metrics
        metrics.requests_total.inc()
        started = _dp_middleware.Time()
        request.prometheus_before_middleware_event = started  # type: ignore[attr-defined]
        response: HttpResponse = self.get_response(request)
        metrics.responses_total.inc()
        metrics.requests_latency_before.observe(_dp_middleware.TimeSince(started))
        return response


class PrometheusAfterMiddleware(_dp_middleware.PrometheusAfterMiddleware):
    """django-prometheus' inner middleware: the same series, labels and values (`process_view`,
    `process_template_response` and `process_exception` are the library's), with the labelled children
    remembered (`_Children`) and the request headers read from `META` (no `request.headers` mapping built)."""

    sync_capable = True
    async_capable = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        m = self.metrics
        self._by_method = _Children(m.requests_by_method)
        self._by_transport = _Children(m.requests_by_transport)
        self._by_view_transport_method = _Children(m.requests_by_view_transport_method)
        self._by_templatename = _Children(m.responses_by_templatename)
        self._by_status = _Children(m.responses_by_status)
        self._by_status_view_method = _Children(m.responses_by_status_view_method)
        self._by_charset = _Children(m.responses_by_charset)
        self._latency_by_view_method = _Children(m.requests_latency_by_view_method)
        self._children_of = {
            children.metric: children
            for children in (
                self._by_method,
                self._by_transport,
                self._by_view_transport_method,
                self._by_templatename,
                self._by_status,
                self._by_status_view_method,
                self._by_charset,
                self._latency_by_view_method,
            )
        }

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.process_request(request)
        response: HttpResponse = self.get_response(request)
        return self.process_response(request, response)

    def _method(self, request: HttpRequest) -> str:
        method = request.method
        return method if method in _KNOWN_METHODS else "<invalid method>"  # type: ignore[return-value]

    def label_metric(self, metric: Any, request: Any, response: Any = None, **labels: Any) -> Any:
        # The library's hooks not overridden here (process_view, process_template_response, process_exception)
        # label through this: the remembered child for the series above, `labels()` for the others.
        if not labels:
            return metric
        children = self._children_of.get(metric)
        if children is None:
            return metric.labels(**labels)
        return children(*(str(labels[name]) for name in metric._labelnames))

    def process_request(self, request: HttpRequest) -> None:
        meta = request.META
        self._by_method(self._method(request)).inc()
        self._by_transport("https" if request.is_secure() else "http").inc()
        if meta.get("HTTP_X_REQUESTED_WITH") == "XMLHttpRequest":
            self.metrics.requests_ajax.inc()
        self.metrics.requests_body_bytes.observe(int(meta.get("CONTENT_LENGTH") or 0))
        request.prometheus_after_middleware_event = _dp_middleware.Time()  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        method = self._method(request)
        name = self._get_view_name(request)
        status = str(response.status_code)
        self._by_status(status).inc()
        self._by_status_view_method(status, name, method).inc()
        if hasattr(response, "charset"):
            self._by_charset(str(response.charset)).inc()
        if getattr(response, "streaming", False):
            self.metrics.responses_streaming.inc()
        if hasattr(response, "content"):
            self.metrics.responses_body_bytes.observe(len(response.content))
        started = getattr(request, "prometheus_after_middleware_event", None)
        if started is not None:
            self._latency_by_view_method(name, str(request.method)).observe(_dp_middleware.TimeSince(started))
        else:
            self.metrics.requests_unknown_latency.inc()
        return response
