"""Recompute allocation bitmaps and counters from the rows; report drift (exit 1) or repair it (--fix)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ipam.services.integrity import counters_check, counters_repair


class Command(BaseCommand):
    help = (
        "Check allocation cursors (bitmap, region_count), regions (host_bitmap, allocated_hosts) and quotas "
        "(regions_used, hosts_used) against the rows. Exit 1 on drift unless --fix repairs it."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--fix", action="store_true", help="rewrite drifted counters from the rows (audited, safe while serving)")

    def handle(self, *args: Any, fix: bool, **options: Any) -> None:
        report = counters_check()
        self.stdout.write(f"Checked {report.cursors} allocation cursors, {report.regions} regions, {report.quotas} quotas.")
        if not report.drifts:
            self.stdout.write(self.style.SUCCESS("No drift: every counter and bitmap matches the rows."))
            return
        for drift in report.drifts:
            self.stdout.write(f"  DRIFT {drift}")
        if not fix:
            raise CommandError(f"{len(report.drifts)} drifted value(s). Run with --fix to repair them.", returncode=1)
        fixed = counters_repair(drifts=report.drifts)
        for change in fixed:
            self.stdout.write(f"  FIXED {change}")
        self.stdout.write(self.style.SUCCESS(f"Repaired {len(fixed)} value(s) in {len({c.key for c in fixed})} row(s)."))
