"""Tasks are sent by name (services never import task modules): every name a service sends resolves to a
registered task, also in a fresh process that has imported no task module yet (a web process)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.ops_support import BASE_DIR, run_django, subprocess_env

SENT_NAMES = re.compile(r"""queue\.(?:enqueue|send_now)\(\s*["']([a-z_]+)["']""")


def _names_sent_by_the_code() -> set[str]:
    names: set[str] = set()
    for package in ("foundation", "notifications", "webhooks", "ipam"):
        for path in Path(BASE_DIR, package).rglob("*.py"):
            names.update(SENT_NAMES.findall(path.read_text()))
    return names


def test_every_task_name_a_service_sends_is_registered_in_a_fresh_process(tmp_path):
    names = _names_sent_by_the_code()
    assert {"export_build", "bulk_tags_run", "webhook_deliver", "notification_email_send"} <= names
    code = "from foundation import queue\n" + "".join(f"print(queue.task_named({name!r}).name)\n" for name in sorted(names))
    result = run_django(code, subprocess_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == sorted(names)
