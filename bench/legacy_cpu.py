"""CPU seconds of an `import_original` run, client and server, independent of the machine's load.

    python bench/legacy_cpu.py DUMP_DIR        (DATABASE_URL: a migrated PostgreSQL database)

Runs the import in-process and prints its wall time, this process's CPU time (user + system) and the CPU
time of the PostgreSQL backend serving the connection (from /proc, so the server must run on this machine).
On a busy machine the wall time includes waiting for a core; the two CPU figures do not.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipam_project.settings")

import django

django.setup()

from django.db import connection  # noqa: E402

from ipam.services.legacy.readers import open_source  # noqa: E402
from ipam.services.legacy.runner import ImportOptions, import_original  # noqa: E402


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def main() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    server_before, start = backend_cpu(pid), time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    client_before = usage.ru_utime + usage.ru_stime
    report = import_original(open_source(sys.argv[1]), options=ImportOptions())
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"{report.total_new} new; verify drifts: {len(report.verify)}; failed users: {len(report.users_failed)}")
    print(f"wall {wall:.1f} s; import process CPU {usage.ru_utime + usage.ru_stime - client_before:.1f} s; ", end="")
    server = backend_cpu(pid) - server_before
    print(f"PostgreSQL backend CPU {server:.1f} s; peak RSS {usage.ru_maxrss // 1024} MB; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
