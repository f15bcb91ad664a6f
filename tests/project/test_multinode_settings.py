"""Settings of a multi-node deployment (docs/operations.md "More than one node"), as a fresh process sees them:
the broker chosen by CELERY_BROKER_URL, the beat lock when Redis is there, and PgBouncer transaction mode."""

from __future__ import annotations

import json

import pytest

from tests.ops_support import run_django, subprocess_env

pytestmark = pytest.mark.slow

SHOW = (
    "import json\n"
    "from django.conf import settings as s\n"
    "from ipam_project.celery import app\n"
    "db = s.DATABASES['default']\n"
    "print(json.dumps({'broker': app.conf.broker_url, 'options': app.conf.broker_transport_options,\n"
    "  'scheduler': str(app.conf.beat_scheduler), 'lock_timeout': app.conf.get('redbeat_lock_timeout'),\n"
    "  'prefix': app.conf.get('redbeat_key_prefix'), 'reject': app.conf.task_reject_on_worker_lost, 'acks_late': app.conf.task_acks_late,\n"
    "  'queue': app.conf.task_default_queue, 'dispatch': str(s.CELERY_BEAT_SCHEDULE['webhook_dispatch_due']['schedule']),\n"
    "  'no_cursors': db.get('DISABLE_SERVER_SIDE_CURSORS', False), 'prepare': db.get('OPTIONS', {}).get('prepare_threshold', 'unset')}))\n"
)


def _settings(tmp_path, **env: str) -> dict:
    result = run_django(SHOW, subprocess_env(tmp_path, **env))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_rabbitmq_is_chosen_by_url_and_keeps_no_file_system_options(tmp_path):
    got = _settings(tmp_path, CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//", REDIS_URL="redis://127.0.0.1:6379/14")
    assert got["broker"].startswith("amqp://") and got["options"] == {}
    assert got["acks_late"] and got["reject"]
    assert got["scheduler"] == "redbeat.RedBeatScheduler" and got["lock_timeout"] == 60 and got["prefix"] == "ipam:beat:"


def test_redis_broker_gets_its_visibility_timeout_and_without_redis_beat_keeps_its_file(tmp_path):
    assert _settings(tmp_path, REDIS_URL="redis://127.0.0.1:6379/14")["options"] == {"visibility_timeout": 3600}
    alone = _settings(tmp_path)
    assert alone["broker"] == "filesystem://localhost/" and "data_folder_in" in alone["options"]
    assert alone["scheduler"] == "celery.beat:PersistentScheduler" and alone["queue"] == "celery"
    assert alone["dispatch"] == "60.0"
    assert _settings(tmp_path, IPAM_WEBHOOK_DISPATCH_INTERVAL_SECONDS="5")["dispatch"] == "5.0"


def test_pgbouncer_transaction_mode_turns_off_server_side_cursors_and_prepared_statements(tmp_path):
    url = "postgres://postgres@127.0.0.1:6432/ipam"
    direct = _settings(tmp_path, DATABASE_URL=url)
    assert direct["no_cursors"] is False and direct["prepare"] == 5  # (only foundation.compiled.prepared_cursor prepares)
    got = _settings(tmp_path, DATABASE_URL=url, DB_PGBOUNCER_TRANSACTION_MODE="true")
    assert got["no_cursors"] is True and got["prepare"] is None
