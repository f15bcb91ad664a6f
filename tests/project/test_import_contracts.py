"""The import contracts of `.importlinter` (docs/architecture.md, "Layers") hold, and they catch what they
are for: a copy of the code with a deliberate cycle or an upward import fails `lint-imports`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ops_support import BASE_DIR, BIN

PACKAGES = ("foundation", "notifications", "webhooks", "ipam", "enhancements", "ipam_project")


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache", str(root / ".importlinter")],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def copy_of_the_code(tmp_path: Path) -> Path:
    """The Python sources of our packages and the contract file, copied (grimp reads files, imports nothing)."""
    for package in PACKAGES:
        shutil.copytree(BASE_DIR / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(BASE_DIR / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_repository_keeps_every_import_contract():
    result = _lint_imports(BASE_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_contracts_pass_on_an_unchanged_copy(copy_of_the_code):
    result = _lint_imports(copy_of_the_code)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_cycle_between_two_services_fails_even_as_a_function_level_import(copy_of_the_code):
    # regions already imports reservations; the reverse import, even inside a function, closes a cycle.
    _append(
        copy_of_the_code / "ipam" / "services" / "reservations.py",
        "def _dodge() -> None:\n    from ipam.services import regions  # noqa: F401",
    )
    result = _lint_imports(copy_of_the_code)
    assert result.returncode != 0
    assert "No cycles between sibling modules of any package BROKEN" in result.stdout


def test_a_service_importing_its_task_fails(copy_of_the_code):
    _append(copy_of_the_code / "ipam" / "services" / "exports.py", "from ipam.tasks import exports as _task  # noqa: F401")
    result = _lint_imports(copy_of_the_code)
    assert result.returncode != 0
    assert "ipam.services is not allowed to import ipam.tasks" in result.stdout


def test_the_platform_importing_an_app_fails(copy_of_the_code):
    _append(copy_of_the_code / "foundation" / "errors.py", "from ipam import exceptions as _ipam  # noqa: F401")
    result = _lint_imports(copy_of_the_code)
    assert result.returncode != 0
    assert "foundation is not allowed to import ipam" in result.stdout


def test_code_importing_the_enhancements_schema_unit_fails(copy_of_the_code):
    (copy_of_the_code / "enhancements" / "helpers.py").write_text("VALUE = 1\n")
    _append(copy_of_the_code / "ipam" / "services" / "shares.py", "from enhancements import helpers as _h  # noqa: F401")
    result = _lint_imports(copy_of_the_code)
    assert result.returncode != 0
    assert "ipam is not allowed to import enhancements" in result.stdout
