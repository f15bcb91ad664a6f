"""Deployment artefacts: production settings pass `check --deploy`, refuse to start without real keys;
the gunicorn configuration loads; the systemd units are complete (and verified by systemd when present)."""

from __future__ import annotations

import configparser
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.ops_support import BASE_DIR, BIN, manage, subprocess_env

UNITS = BASE_DIR / "deploy" / "systemd"


def _production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = subprocess_env(
        tmp_path,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        FERNET_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="ipam.example.com",
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@pytest.mark.django_db
def test_production_settings_pass_check_deploy_cleanly(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FERNET_KEY"])
def test_production_refuses_to_start_without_its_keys(tmp_path, missing):
    result = manage("check", env=_production_env(tmp_path, **{missing: None}))
    assert result.returncode != 0
    assert f"{missing} must be set when DEBUG is false" in result.stderr


def test_check_deploy_rejects_development_and_malformed_keys(tmp_path):
    # The development key this installation generated (var/dev-secret-key) must never serve production.
    development_key = secrets.token_urlsafe(50)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "dev-secret-key").write_text(development_key)
    result = manage("check", "--deploy", env=_production_env(tmp_path, SECRET_KEY=development_key, FERNET_KEY="not-a-fernet-key"))
    assert result.returncode != 0
    assert "ipam.E001" in result.stderr and "ipam.E003" in result.stderr


def test_without_configuration_the_server_is_production_safe_and_refuses_to_start(tmp_path):
    # No DEBUG, no keys: neither debug pages nor a published key; the process refuses to start.
    env = subprocess_env(tmp_path)
    for name in ("DEBUG", "SECRET_KEY", "FERNET_KEY", "IPAM_TESTING"):
        env.pop(name, None)
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is false" in result.stderr
    assert not (tmp_path / "var" / "dev-secret-key").exists()


def test_development_keys_are_generated_per_installation_and_kept(tmp_path):
    env = subprocess_env(tmp_path, DEBUG="true")
    for name in ("SECRET_KEY", "FERNET_KEY"):
        env.pop(name, None)
    probe = "from django.conf import settings; print(settings.SECRET_KEY); print(settings.FERNET_KEY)"
    first = subprocess.run(
        [str(BIN / "python"), "-c", f"import django; django.setup(); {probe}"], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    second = subprocess.run(
        [str(BIN / "python"), "-c", f"import django; django.setup(); {probe}"], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout  # generated once, then read back
    secret, fernet = first.stdout.split()
    Fernet(fernet.encode())  # a real Fernet key
    assert (tmp_path / "var" / "dev-secret-key").read_text() == secret
    assert (tmp_path / "var" / "dev-secret-key").stat().st_mode & 0o077 == 0  # readable by the owner only
    other = tmp_path / "other"
    env_other = {**env, "IPAM_VAR_DIR": str(other / "var")}
    third = subprocess.run(
        [str(BIN / "python"), "-c", f"import django; django.setup(); {probe}"], cwd=BASE_DIR, env=env_other, capture_output=True, text=True
    )
    assert third.stdout.split()[0] != secret  # another installation, another key


def test_without_a_tls_proxy_check_deploy_asks_for_https_settings(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env(tmp_path, IPAM_TLS_AT_PROXY="false"))
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


def test_the_gunicorn_configuration_loads(tmp_path):
    env = subprocess_env(tmp_path)
    result = subprocess.run(
        [str(BIN / "gunicorn"), "--check-config", "-c", "deploy/gunicorn.conf.py", "ipam_project.wsgi"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name)
    return parser


def test_systemd_units_run_web_worker_and_beat_with_graceful_reload(tmp_path):
    web, worker, beat = _unit("ipam-backend.service"), _unit("ipam-worker.service"), _unit("ipam-beat.service")
    assert "gunicorn -c deploy/gunicorn.conf.py ipam_project.wsgi" in web["Service"]["ExecStart"]
    assert web["Service"]["Type"] == "notify" and web["Service"]["ExecReload"] == "/bin/kill -s HUP $MAINPID"
    assert "check --deploy" in web["Service"]["ExecStartPre"]
    assert "celery -A ipam_project worker" in worker["Service"]["ExecStart"]
    assert worker["Service"]["ExecReload"] == "/bin/kill -s HUP $MAINPID" and worker["Service"]["KillSignal"] == "SIGTERM"
    assert "celery -A ipam_project beat" in beat["Service"]["ExecStart"]
    for unit in (web, worker, beat):
        service = unit["Service"]
        assert (
            service["User"] == "ipam" and service["EnvironmentFile"] == "/etc/ipam/ipam.env" and service["WorkingDirectory"] == "/opt/ipam"
        )
        assert unit["Unit"]["PartOf"] == "ipam.target"
    assert web["Service"]["Environment"] and "PROMETHEUS_MULTIPROC_DIR=/run/ipam-web" in (UNITS / "ipam-backend.service").read_text()

    if shutil.which("systemd-analyze"):  # also let systemd itself check them, with paths of this checkout
        venv_bin = BIN
        for path in UNITS.iterdir():
            text = path.read_text().replace("/opt/ipam/.venv/bin", str(venv_bin)).replace("/opt/ipam", str(BASE_DIR))
            (tmp_path / path.name).write_text(text.replace("/etc/ipam/ipam.env", str(BASE_DIR / ".env.example")))
        result = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0 and not result.stderr.strip(), result.stderr
