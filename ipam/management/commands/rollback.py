"""Remove the enhancement stores after writing a backup of their rows (guide §8.2, contract §7).

    python manage.py rollback --dry-run                 # what would be dropped, nothing changed
    python manage.py rollback [--backup PATH] [--yes]   # backup, confirm, drop

The eight stores (reservations, shares, user preferences and saved filters, notifications, notification
rules, webhooks, webhook events/deliveries, bulk jobs) are the models of the apps `enhancements`,
`notifications` and `webhooks` (docs/decisions/0002). Rolling back = migrating those apps to zero; core
data (countries, regions, hosts, audit, users, quotas) is untouched, and refused if the plan would touch
it. `manage.py migrate` brings the tables back; `manage.py loaddata <backup>` their rows.
Stop the web and worker processes first (they would use the tables being dropped).
"""

from __future__ import annotations

import gzip
import json
import logging
import sys
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

# Dependents first (webhooks → notifications); Django also unapplies dependents itself.
ENHANCEMENT_APPS = ("webhooks", "notifications", "enhancements")
RULE = "=" * 80
logger = logging.getLogger("ipam.rollback")


def enhancement_models() -> list[type[models.Model]]:
    found: list[type[models.Model]] = []
    for label in ENHANCEMENT_APPS:
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        found.extend(m for m in config.get_models(include_auto_created=True) if m._meta.managed and not m._meta.proxy)
    return found


def default_backup_path() -> Path:
    return Path(settings.IPAM_BACKUP_DIR) / f"rollback-{timezone.now():%Y%m%d-%H%M%S}.json.gz"


class Command(BaseCommand):
    help = "Back up and remove the enhancement stores (apps enhancements, notifications, webhooks); core data is untouched."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--backup", metavar="PATH", help="backup file (default var/backups/rollback-<time>.json.gz)")
        parser.add_argument("--dry-run", action="store_true", help="show what would be backed up and dropped; change nothing")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, backup: str | None, dry_run: bool, yes: bool, database: str, **options: Any) -> None:
        connection = connections[database]
        executor = MigrationExecutor(connection)
        installed = [label for label in ENHANCEMENT_APPS if label in executor.loader.migrated_apps]
        plan = executor.migration_plan([(label, None) for label in installed]) if installed else []
        outside = [f"{m.app_label}.{m.name}" for m, _ in plan if m.app_label not in ENHANCEMENT_APPS]
        if outside:
            raise CommandError(
                "Refusing to roll back: these migrations of core apps depend on the enhancement stores and would be "
                f"unapplied too: {', '.join(outside)}"
            )
        with connection.cursor() as cursor:
            tables = set(connection.introspection.table_names(cursor))
        present = [m for m in enhancement_models() if m._meta.db_table in tables]

        self.stdout.write(RULE)
        self.stdout.write("IPAM Enhancements - Rollback" + (" (dry run: nothing is changed)" if dry_run else ""))
        self.stdout.write(RULE)
        if not plan and not present:
            self.stdout.write(self.style.SUCCESS("Nothing to roll back: the enhancement stores are not installed."))
            return
        path = Path(backup) if backup else default_backup_path()
        self.stdout.write(f"Backup file: {path}")
        self.stdout.write(f"Tables to drop ({len(present)}):")
        for model in present:
            self.stdout.write(f"  - {model._meta.db_table} ({model._base_manager.using(database).count()} rows)")
        self.stdout.write(f"Migrations to unapply ({len(plan)}): {', '.join(f'{m.app_label}.{m.name}' for m, _ in plan) or 'none'}")
        self.stdout.write("Core data (countries, regions, hosts, audit, users, quotas) is not touched.")
        if dry_run:
            self.stdout.write(self.style.WARNING("Dry run: no backup written, nothing dropped."))
            return

        if not yes:
            if not sys.stdin.isatty():
                raise CommandError("Confirmation needed: run in a terminal, or pass --yes (use --dry-run to preview).")
            answer = input("This deletes every row in the tables above. Type 'yes' to continue: ")
            if answer.strip().lower() != "yes":
                self.stdout.write("Rollback cancelled; nothing changed.")
                return

        count = self._backup(present, path, database)
        self.stdout.write(self.style.SUCCESS(f"✓ Backup written: {path} ({count} objects)"))
        logger.warning("Rollback: backup %s written (%d objects); dropping %s", path, count, ", ".join(m._meta.db_table for m in present))
        for label in installed:
            unapplied = [m.name for m, _ in plan if m.app_label == label]
            call_command("migrate", label, "zero", database=database, interactive=False, verbosity=max(0, options["verbosity"] - 1))
            if unapplied:
                self.stdout.write(self.style.SUCCESS(f"✓ {label}: unapplied {', '.join(unapplied)}"))

        with connection.cursor() as cursor:
            left = {m._meta.db_table for m in enhancement_models()} & set(connection.introspection.table_names(cursor))
        if left:
            raise CommandError(f"Rollback incomplete, tables still present: {', '.join(sorted(left))}")
        logger.warning("Rollback complete: %d enhancement tables dropped", len(present))
        self.stdout.write(RULE)
        self.stdout.write(self.style.SUCCESS(f"✓ Rollback complete: {len(present)} tables dropped, core data untouched."))
        self.stdout.write("  Bring the stores back:      python manage.py migrate")
        self.stdout.write(f"  and their rows (optional):  python manage.py loaddata {path}")
        self.stdout.write(RULE)

    def _backup(self, present: list[type[models.Model]], path: Path, database: str) -> int:
        """dumpdata of the stores' rows (a loaddata fixture); verified readable before anything is dropped."""
        path.parent.mkdir(parents=True, exist_ok=True)
        labels = [m._meta.label for m in present]
        if not path.name.endswith((".json", ".json.gz")):
            raise CommandError("The backup path must end in .json or .json.gz (a loaddata fixture).")
        try:
            if labels:
                call_command("dumpdata", *labels, output=str(path), database=database, verbosity=0)
            else:  # no store table left (dumpdata without labels would dump the whole database)
                with gzip.open(path, "wt") if path.name.endswith(".gz") else open(path, "w") as empty:
                    empty.write("[]")
            path.chmod(0o600)  # token hashes and encrypted webhook secrets
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rt") as handle:  # type: ignore[operator]
                objects = json.load(handle)
        except (OSError, ValueError) as exc:
            raise CommandError(f"Backup failed ({exc}); nothing was dropped.") from exc
        return len(objects)
