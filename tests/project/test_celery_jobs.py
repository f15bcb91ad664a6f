"""Background jobs (contract §6): the beat schedule holds every job, each name is a registered task, runs are
recorded (start, finish, duration, outcome) where /health and /metrics read them, and the flag
IPAM_ENABLE_BACKGROUND_TASKS=false registers none."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from celery import shared_task
from celery.schedules import crontab
from django.utils import timezone

from foundation.models import IdempotencyRecord, JobRun
from ipam.models import AuditLog, Region
from ipam.tasks.housekeeping import housekeeping
from ipam_project import celery as celery_module
from ipam_project.celery import app as celery_app
from tests.factories import make_region
from tests.ops_support import run_django, subprocess_env

CONTRACT_JOBS = {
    "reservation_expiration_checker": "hourly",
    "share_expiration_checker": "hourly",
    "notification_cleanup": "daily",
    "capacity_monitor": "every 15 minutes",
    "webhook_dispatch_due": "every minute",
    "housekeeping": "daily",
    "bulk_jobs_resume": "every 10 minutes",  # ours, beyond the contract §6 table: lost bulk job messages
    "partitions_maintain": "daily",  # ours: monthly partitions of the history tables created ahead (ADR 0016)
    "day_counts_compact": "every minute",  # ours: folds the history lists' day counts' deltas (page numbers)
}


def _registered_task_names() -> set[str]:
    celery_app.loader.import_default_modules()  # what a worker does at start (autodiscovery)
    return set(celery_app.tasks)


def test_beat_schedule_contains_every_spec_job_with_its_interval():
    schedule = celery_app.conf.beat_schedule
    assert set(schedule) == set(CONTRACT_JOBS)
    for name, entry in schedule.items():
        assert entry["task"] == name
        assert entry["options"]["expires"] > 0
    hourly, quarter, daily = (schedule[n]["schedule"] for n in ("reservation_expiration_checker", "capacity_monitor", "housekeeping"))
    assert isinstance(hourly, crontab) and len(hourly.minute) == 1 and len(hourly.hour) == 24
    assert isinstance(quarter, crontab) and quarter.minute == {0, 15, 30, 45} and len(quarter.hour) == 24
    assert isinstance(daily, crontab) and len(daily.minute) == 1 and len(daily.hour) == 1
    share = schedule["share_expiration_checker"]["schedule"]
    assert isinstance(share, crontab) and len(share.minute) == 1 and len(share.hour) == 24
    assert float(schedule["webhook_dispatch_due"]["schedule"]) == 60.0
    assert len(schedule["notification_cleanup"]["schedule"].hour) == 1


def test_housekeeping_is_a_registered_task():
    assert "housekeeping" in _registered_task_names()


def test_every_scheduled_job_is_a_registered_task():
    # Passes once the branches implementing the other five jobs are merged (see the ops report).
    missing = sorted(entry["task"] for entry in celery_app.conf.beat_schedule.values() if entry["task"] not in _registered_task_names())
    assert missing == []


def test_disabling_background_tasks_registers_no_job(tmp_path):
    env = subprocess_env(tmp_path, IPAM_ENABLE_BACKGROUND_TASKS="false")
    result = run_django("from ipam_project.celery import app\nprint(len(app.conf.beat_schedule))", env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


def test_worker_start_logs_one_registration_line_per_job(caplog, settings):
    with caplog.at_level(logging.INFO, logger="ipam.tasks"):
        celery_module._log_registrations()
    lines = [r.getMessage() for r in caplog.records if "Registered:" in r.getMessage()]
    assert lines == [f"[BackgroundTasks] Registered: {name} ({label})" for name, label in CONTRACT_JOBS.items()]


def test_worker_start_logs_that_jobs_are_disabled(caplog, settings):
    settings.IPAM_ENABLE_BACKGROUND_TASKS = False
    with caplog.at_level(logging.INFO, logger="ipam.tasks"):
        celery_module._log_registrations()
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "Registered:" in m]
    assert any("Disabled (IPAM_ENABLE_BACKGROUND_TASKS=false)" in m for m in messages)


@pytest.mark.django_db
def test_housekeeping_deletes_expired_rows_and_keeps_recent_ones(alice, settings):
    settings.IPAM_AUDIT_RETENTION_DAYS = 30
    old_key = IdempotencyRecord.objects.create(user=alice, key="old", method_path="POST /ipam/hosts", request_hash="x", status_code=201)
    new_key = IdempotencyRecord.objects.create(user=alice, key="new", method_path="POST /ipam/hosts", request_hash="y", status_code=201)
    IdempotencyRecord.objects.filter(pk=old_key.pk).update(created_at=timezone.now() - timedelta(hours=25))
    make_region(alice)
    make_region(alice)
    audit_ids = list(AuditLog.objects.order_by("id").values_list("id", flat=True))
    assert len(audit_ids) >= 2
    AuditLog.objects.filter(id=audit_ids[0]).update(timestamp=timezone.now() - timedelta(days=31))

    result = housekeeping.apply(throw=True).get()

    assert result["idempotency_keys"] == 1 and result["audit_log"] == 1
    assert set(result) == {
        "webhook_delivery_logs",
        "bulk_jobs",
        "export_jobs",
        "import_jobs",
        "audit_log",
        "idempotency_keys",
        "expired_refresh_tokens",
    }
    assert not IdempotencyRecord.objects.filter(pk=old_key.pk).exists()
    assert IdempotencyRecord.objects.filter(pk=new_key.pk).exists()
    assert not AuditLog.objects.filter(id=audit_ids[0]).exists()
    assert AuditLog.objects.filter(id__in=audit_ids[1:]).count() == len(audit_ids) - 1
    assert Region.objects.filter(user=alice).count() == 2  # core data untouched

    # Idempotent: a second run deletes nothing more.
    again = housekeeping.apply(throw=True).get()
    assert again["idempotency_keys"] == 0 and again["audit_log"] == 0


@pytest.mark.django_db
def test_each_run_records_start_finish_duration_and_outcome(db):
    before = timezone.now()
    housekeeping.apply(throw=True)
    housekeeping.apply(throw=True)
    run = JobRun.objects.get(name="housekeeping")
    assert run.last_status == "success"
    assert run.run_count == 2 and run.failure_count == 0
    assert before <= run.last_started_at <= run.last_finished_at
    assert run.last_success_at == run.last_finished_at
    assert run.last_duration_ms is not None and run.last_duration_ms >= 0
    assert run.last_task_id and run.last_hostname
    assert JobRun.objects.count() == 1  # only scheduled jobs are recorded


@shared_task(name="ops_test_failing_job")
def failing_job() -> None:
    raise ValueError("disk full, password=hunter2")


@pytest.mark.django_db
def test_a_failed_run_is_recorded_with_its_error_and_logged(monkeypatch, caplog, settings):
    monkeypatch.setitem(settings.IPAM_JOBS, "ops_test_failing_job", {"label": "daily", "schedule": 60.0, "expires": 60})
    with caplog.at_level(logging.INFO, logger="ipam.tasks"):
        failing_job.apply()
    run = JobRun.objects.get(name="ops_test_failing_job")
    assert run.last_status == "failure" and run.failure_count == 1 and run.run_count == 1
    assert run.last_failure_at is not None and run.last_success_at is None
    assert run.last_error.startswith("ValueError: disk full")
    assert "hunter2" not in run.last_error
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(m.startswith("[BackgroundTasks] ops_test_failing_job error after") for m in errors)


@pytest.mark.django_db
def test_health_shows_each_jobs_last_run_and_status(anon):
    housekeeping.apply(throw=True)
    body = anon.get("/health").json()
    tasks = body["background_tasks"]
    assert set(tasks) == set(CONTRACT_JOBS)
    assert tasks["housekeeping"]["last_status"] == "success"
    assert tasks["housekeeping"]["last_run"] is not None and tasks["housekeeping"]["last_success"] is not None
    assert tasks["housekeeping"]["schedule"] == "daily"
    assert tasks["capacity_monitor"] == {
        "schedule": "every 15 minutes",
        "last_run": None,
        "last_status": "never",
        "last_finished": None,
        "last_duration_ms": None,
        "last_success": None,
        "last_error": None,
    }
    assert body["status"] == "healthy"


@pytest.mark.django_db
def test_health_lists_no_jobs_when_background_tasks_are_disabled(anon, settings):
    settings.IPAM_ENABLE_BACKGROUND_TASKS = False
    assert anon.get("/health").json()["background_tasks"] == {}
