"""A real Celery worker (file-system broker, own var/ directory) runs a job end to end, and a task sent
during a request carries that request's id into the worker's log lines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from foundation.models import IdempotencyRecord, JobRun
from tests.ops_support import BASE_DIR, BIN, Background, run_django, subprocess_env, wait_for

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.slow]

CONTRACT_JOBS = {
    "reservation_expiration_checker": "hourly",
    "share_expiration_checker": "hourly",
    "notification_cleanup": "daily",
    "capacity_monitor": "every 15 minutes",
    "webhook_dispatch_due": "every minute",
    "housekeeping": "daily",
}


def _housekeeping_through_a_worker(worker_args: list[str], env: dict[str, str], tmp_path, request_id: str) -> tuple[str, str]:
    """Start a real worker, send `housekeeping` from another process under `request_id`, wait for its JobRun
    to succeed; the task id and the worker's output."""
    with Background(worker_args, env, tmp_path / "worker.out") as worker:
        wait_for(lambda: "ready." in worker.output(), 90, lambda: f"the worker to start:\n{worker.output()}")
        sent = run_django(
            "from foundation import context\n"
            "from ipam_project.celery import app\n"
            f"context.set_context(context.RequestContext(request_id={request_id!r}))\n"
            "print(app.send_task('housekeeping').id)\n",
            env,
        )
        assert sent.returncode == 0, sent.stderr
        task_id = sent.stdout.strip()
        wait_for(
            lambda: JobRun.objects.filter(name="housekeeping", last_task_id=task_id, last_status="success").exists(),
            90,
            lambda: f"the job to finish:\n{worker.output()}",
        )
        return task_id, worker.output()


def test_a_real_worker_on_the_file_system_broker_runs_housekeeping_end_to_end(tmp_path, alice):
    expired = IdempotencyRecord.objects.create(user=alice, key="k", method_path="POST /ipam/hosts", request_hash="h", status_code=201)
    IdempotencyRecord.objects.filter(pk=expired.pk).update(created_at=timezone.now() - timedelta(days=2))
    env = subprocess_env(tmp_path)  # no REDIS_URL: kombu's file-system transport under tmp_path/var
    celery = str(BIN / "celery")
    worker_args = [celery, "-A", "ipam_project", "worker", "--loglevel=INFO", "--concurrency=1", "--hostname=ops-test@%h"]

    task_id, output = _housekeeping_through_a_worker(worker_args, env, tmp_path, "req-ops-42")

    assert not IdempotencyRecord.objects.filter(pk=expired.pk).exists()
    run = JobRun.objects.get(name="housekeeping")
    assert run.run_count == 1 and run.last_duration_ms is not None and run.last_finished_at >= run.last_started_at
    assert "filesystem://" in output and (tmp_path / "var" / "celery-broker" / "in").is_dir()
    assert (tmp_path / "var" / "celery-broker" / "control" / "celery.exchange").is_file()  # nothing written to the cwd
    assert not (BASE_DIR / "control").exists()
    for name, label in CONTRACT_JOBS.items():
        assert f"[BackgroundTasks] Registered: {name} ({label})" in output
    assert f"Task housekeeping[{task_id}] succeeded" in output
    app_log = (tmp_path / "logs" / "app.log").read_text()
    assert "[BackgroundTasks] housekeeping finished: success" in app_log
    housekeeping_lines = [line for line in app_log.splitlines() if "[ipam.housekeeping] Housekeeping deleted" in line]
    assert housekeeping_lines and housekeeping_lines[0].endswith("[request_id=req-ops-42]")


def test_a_real_worker_on_each_production_broker_runs_a_job_with_the_request_id(tmp_path, broker):
    """Redis and RabbitMQ (CELERY_BROKER_URL=amqp://…): the same worker, the same job, the same tracing."""
    env = subprocess_env(tmp_path, **broker.env())
    worker_args = [
        str(BIN / "celery"),
        "-A",
        "ipam_project",
        "worker",
        "--loglevel=INFO",
        "--concurrency=1",
        "--without-mingle",
        "--without-gossip",
    ]
    task_id, output = _housekeeping_through_a_worker(worker_args, env, tmp_path, "req-broker-7")
    scheme = "amqp://" if broker.name == "amqp" else "redis://"
    assert scheme in output and broker.queue in output
    assert f"Task housekeeping[{task_id}] succeeded" in output
    app_log = (tmp_path / "logs" / "app.log").read_text()
    assert any(line.endswith("[request_id=req-broker-7]") for line in app_log.splitlines() if "housekeeping" in line)
