"""Check every invariant the allocation data must hold; report drift (exit 1) or repair the counters (--fix)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ipam.services.integrity import counters_check, counters_repair


class Command(BaseCommand):
    help = (
        "Check allocation cursors (bitmap, region_count), regions (host_bitmap, allocated_hosts) and quotas "
        "(regions_used, hosts_used) against the rows, and that no active reservation covers an allocated address or "
        "/24 and every host sits in its region. Exit 1 on drift unless --fix repairs it (counters only: a reservation "
        "on an allocated address or a misplaced host is reported, and still exits 1)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--fix", action="store_true", help="rewrite drifted counters from the rows (audited, safe while serving)")

    def handle(self, *args: Any, fix: bool, **options: Any) -> None:
        report = counters_check()
        self.stdout.write(
            f"Checked {report.cursors} allocation cursors, {report.regions} regions, {report.quotas} quotas, "
            f"{report.reservations} active reservations."
        )
        if not report.drifts:
            self.stdout.write(self.style.SUCCESS("No drift: every counter and bitmap matches the rows, no reservation overlaps."))
            return
        for drift in report.drifts:
            self.stdout.write(f"  DRIFT {drift}")
        if not fix:
            raise CommandError(f"{len(report.drifts)} drifted value(s). Run with --fix to repair them.", returncode=1)
        fixed = counters_repair(drifts=report.drifts)
        for change in fixed:
            self.stdout.write(f"  FIXED {change}")
        self.stdout.write(self.style.SUCCESS(f"Repaired {len(fixed)} value(s) in {len({c.key for c in fixed})} row(s)."))
        if report.unrepairable:
            raise CommandError(
                f"{len(report.unrepairable)} drift(s) need a person (not repaired): a reservation on an allocated "
                "address (delete the reservation) or a host outside its region.",
                returncode=1,
            )
