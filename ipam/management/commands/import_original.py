"""Import the original FastAPI + MongoDB IPAM: users (with their passwords), their data and history.

SOURCE: a mongodump directory, a folder of mongoexport files, or a mongodb:// URI (read only).
See docs/migrating.md for the cut-over, step by step.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ipam.services.legacy.readers import SourceError, open_source
from ipam.services.legacy.runner import ImportOptions, import_original


class Command(BaseCommand):
    help = (
        "Import users, regions, hosts, comments, quotas, audit history, reservations, shares, preferences, "
        "notifications, notification rules and webhooks from the original MongoDB IPAM. Safe to repeat."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("source", help="mongodump directory, mongoexport folder, or mongodb://host/<db> URI")
        parser.add_argument("--dry-run", action="store_true", help="report what would be created/skipped; write nothing")
        parser.add_argument("--user", action="append", default=[], dest="usernames", metavar="NAME", help="only this user (repeatable)")
        parser.add_argument("--batch-size", type=int, default=5000, help="rows per INSERT batch (default 5000)")

    def handle(self, *args: Any, source: str, dry_run: bool, usernames: list[str], batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            reader = open_source(source)
        except SourceError as exc:
            raise CommandError(str(exc)) from exc
        tty = self.stdout.isatty() if hasattr(self.stdout, "isatty") else sys.stdout.isatty()
        self.stdout.write(f"Reading {reader.label}{' (dry run)' if dry_run else ''}.")
        try:
            report = import_original(
                reader,
                options=ImportOptions(dry_run=dry_run, usernames=usernames, batch_size=batch_size),
                progress=self._bar if tty else None,
            )
        except SourceError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            reader.close()
        if tty:
            self.stdout.write("")
        self.stdout.write(report.render())  # one line per collection, then the reasons
        if report.verify:
            raise CommandError(f"verify_counters: {len(report.verify)} drifted value(s) after the import (listed above).")
        if report.users_failed:
            raise CommandError(f"{len(report.users_failed)} user(s) failed and were rolled back (listed above).")
        if not dry_run:
            self.stdout.write(self.style.SUCCESS(f"Import complete: {report.total_new} new; verify_counters clean."))

    def _bar(self, done: int, total: int, username: str) -> None:
        width = 30
        filled = width * done // max(total, 1)
        self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} users  {username[:30]:<30}", ending="")
        self.stdout.flush()
