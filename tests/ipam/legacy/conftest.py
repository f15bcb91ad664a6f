from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.ipam.legacy.original import dataset, write_dump


@pytest.fixture
def original() -> dict[str, list[dict[str, Any]]]:
    return dataset()


@pytest.fixture
def dump_dir(tmp_path: Path, original: dict[str, list[dict[str, Any]]]) -> Path:
    return write_dump(tmp_path / "dump", original)


def run_import(source: str | Path, *args: str) -> str:
    out = StringIO()
    call_command("import_original", str(source), *args, stdout=out)
    return out.getvalue()
