"""docs/operations.md stays complete: every environment variable the code reads is in its configuration
table and in .env.example, and every command it tells operators to run exists."""

from __future__ import annotations

import re

from django.core.management import get_commands

from tests.ops_support import BASE_DIR

DOC = (BASE_DIR / "docs" / "operations.md").read_text()
ENV_EXAMPLE = (BASE_DIR / ".env.example").read_text()
READ_BY_SETTINGS = set(re.findall(r'env_(?:str|bool|int|list)\("([A-Z0-9_]+)"', (BASE_DIR / "ipam_project" / "settings.py").read_text()))
READ_BY_DEPLOYMENT = {
    name
    for path in [BASE_DIR / "deploy" / "gunicorn.conf.py", BASE_DIR / "scripts" / "run_dev.py"]
    for name in re.findall(r'os\.environ(?:\.get|\.setdefault)?\(\s*"([A-Z0-9_]+)"', path.read_text())
}


def _table_variables() -> set[str]:
    """Names in the first column of the §11 table."""
    section = DOC.split("## 11. Configuration reference", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for cell in first_cells for name in re.findall(r"`([A-Z0-9_]+)`", cell)}


def test_every_setting_is_in_the_configuration_table():
    missing = sorted((READ_BY_SETTINGS | READ_BY_DEPLOYMENT) - _table_variables() - {"DJANGO_SETTINGS_MODULE"})
    assert missing == []


def test_every_setting_is_in_env_example():
    listed = set(re.findall(r"^#? ?([A-Z0-9_]+)=", ENV_EXAMPLE, re.MULTILINE))
    assert sorted(READ_BY_SETTINGS - listed) == []


def test_the_commands_the_guide_names_exist():
    commands = set(get_commands())
    named = set(re.findall(r"\bmanage(?:\.py)? ([a-z_]+)", DOC))
    assert named, "no command found"
    assert sorted(named - commands) == []
    assert {"rollback", "verify_indexes", "migrate", "dumpdata", "loaddata"} <= named


def test_the_guide_is_linked_from_the_readme():
    assert "docs/operations.md" in (BASE_DIR / "README.md").read_text()
