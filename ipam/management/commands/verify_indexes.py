"""Check that every index and constraint the models declare exists in the database (guide §3.3).

    python manage.py verify_indexes [--app ipam --app enhancements ...]

Declared = Meta.indexes and Meta.constraints (matched by name and kind), primary keys, unique and indexed
fields, foreign keys (index and constraint), unique_together and the column checks the backend adds
(positive integers, JSON on SQLite), matched by columns. Prints a summary per table; exits 1 if anything
is missing (run `manage.py migrate`, or recreate what was dropped by hand).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor

from foundation import partitions

RULE = "=" * 80


@dataclass(frozen=True)
class Expected:
    description: str
    name: str = ""  # named index/constraint: matched by name
    kind: str = "index"  # index | unique | check | primary_key | foreign_key
    columns: tuple[str, ...] = ()
    references: tuple[str, str] | None = None  # (table, column) for foreign keys

    def found_in(self, existing: dict[str, dict[str, Any]]) -> bool:
        if self.name:
            info = existing.get(self.name)
            return info is not None and self._kind_matches(info)
        for info in existing.values():
            cols = tuple(info.get("columns") or ())
            if self.kind == "check":
                if info.get("check") and set(cols) == set(self.columns):
                    return True
            elif self.kind == "foreign_key":
                if info.get("foreign_key") and tuple(info["foreign_key"]) == self.references and cols == self.columns:
                    return True
            elif self.kind == "unique":
                if (info.get("unique") or info.get("primary_key")) and set(cols) == set(self.columns):
                    return True
            elif self.kind == "primary_key":
                if info.get("primary_key") and cols == self.columns:
                    return True
            elif (info.get("index") or info.get("unique") or info.get("primary_key")) and cols == self.columns:
                return True
        return False

    def _kind_matches(self, info: dict[str, Any]) -> bool:
        if self.kind == "unique":
            return bool(info.get("unique"))
        if self.kind == "check":
            return bool(info.get("check"))
        return bool(info.get("index") or info.get("unique"))


def expected_for(model: type[models.Model], connection: BaseDatabaseWrapper) -> list[Expected]:
    """What the model declares, as the backend creates it."""
    meta = model._meta
    out: list[Expected] = []
    for index in meta.indexes:
        out.append(Expected(f"index {index.name} ({', '.join(index.fields) or 'expressions'})", name=str(index.name)))
    for constraint in meta.constraints:
        kind = "unique" if isinstance(constraint, models.UniqueConstraint) else "check"
        if kind == "check" and not connection.features.supports_table_check_constraints:
            continue
        out.append(Expected(f"{kind} constraint {constraint.name}", name=constraint.name, kind=kind))
    # A table partitioned by month (foundation/partitions.py) has the partition key in its primary key.
    partition_key = tuple(partitions.partition_key(connection, meta.db_table))
    for field in meta.local_fields:
        column = field.column
        if field.primary_key:
            columns = (column, *partition_key)
            out.append(Expected(f"primary key ({', '.join(columns)})", kind="primary_key", columns=columns))
        elif field.unique:
            out.append(Expected(f"unique ({column})", kind="unique", columns=(column,)))
        elif getattr(field, "db_index", False):
            out.append(Expected(f"index ({column})", kind="index", columns=(column,)))
        remote = getattr(field, "remote_field", None)
        if remote is not None and getattr(field, "db_constraint", False) and connection.features.supports_foreign_keys:
            target = remote.model._meta
            target_field = remote.get_related_field()
            if target.managed and not target.proxy and partitions.is_partitioned(connection, target.db_table):
                # No foreign key can reference a partitioned table's `id` alone (ADR 0016): the index remains.
                out.append(Expected(f"index ({column}; → partitioned {target.db_table})", kind="index", columns=(column,)))
            elif target.managed and not target.proxy:
                out.append(
                    Expected(
                        f"foreign key ({column} → {target.db_table}.{target_field.column})",
                        kind="foreign_key",
                        columns=(column,),
                        references=(target.db_table, target_field.column),
                    )
                )
        if connection.features.supports_column_check_constraints and field.db_check(connection):
            out.append(Expected(f"check ({column})", kind="check", columns=(column,)))
    for fields in meta.unique_together:
        columns = tuple(str(getattr(meta.get_field(name), "column", name)) for name in fields)
        out.append(Expected(f"unique together ({', '.join(columns)})", kind="unique", columns=columns))
    return list(dict.fromkeys(out))  # unique, in order


class Command(BaseCommand):
    help = "Verify that every index and constraint the models declare exists in the database; exit 1 if any is missing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--app", action="append", dest="app_labels", default=[], help="only this app (repeatable)")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, app_labels: list[str], database: str, **options: Any) -> None:
        connection = connections[database]
        self.stdout.write(RULE)
        self.stdout.write("IPAM - Index and Constraint Verification")
        self.stdout.write(RULE)
        try:
            connection.ensure_connection()
        except Exception as exc:
            raise CommandError(f"Cannot connect to the database: {exc.__class__.__name__}: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"✓ Connected to database ({connection.vendor}, {connection.settings_dict['NAME']})"))
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            self.stdout.write(self.style.WARNING(f"! {len(pending)} migrations not applied (run `manage.py migrate`)"))
        else:
            self.stdout.write(self.style.SUCCESS("✓ Database health check passed (all migrations applied)"))
        self.stdout.write("")

        try:
            configs = [apps.get_app_config(label) for label in app_labels] if app_labels else list(apps.get_app_configs())
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        with connection.cursor() as cursor:
            tables = set(connection.introspection.table_names(cursor))
            checked = total = 0
            missing_total = 0
            broken_tables = 0
            for config in configs:
                for model in config.get_models(include_auto_created=True):
                    meta = model._meta
                    if not meta.managed or meta.proxy or meta.swapped:
                        continue
                    table = meta.db_table
                    expected = expected_for(model, connection)
                    checked += 1
                    total += len(expected)
                    if table not in tables:
                        broken_tables += 1
                        missing_total += len(expected)
                        self.stdout.write(self.style.ERROR(f"✗ {table}: table missing ({len(expected)} indexes and constraints)"))
                        continue
                    existing = connection.introspection.get_constraints(cursor, table)
                    missing = [e for e in expected if not e.found_in(existing)]
                    if missing:
                        broken_tables += 1
                        missing_total += len(missing)
                        self.stdout.write(self.style.ERROR(f"✗ {table}: {len(missing)} of {len(expected)} missing"))
                        for item in missing:
                            self.stdout.write(self.style.ERROR(f"    - {item.description}"))
                    else:
                        self.stdout.write(self.style.SUCCESS(f"✓ {table}: All indexes present ({len(expected)} indexes and constraints)"))

        self.stdout.write("")
        self.stdout.write(RULE)
        self.stdout.write("Verification Summary")
        self.stdout.write(RULE)
        if missing_total:
            self.stdout.write(
                self.style.ERROR(f"✗ Missing indexes or constraints: {missing_total} (in {broken_tables} of {checked} tables)")
            )
        else:
            self.stdout.write(self.style.SUCCESS("✓ All indexes verified successfully!"))
        self.stdout.write(f"  Tables checked: {checked}")
        self.stdout.write(f"  Total indexes and constraints: {total}")
        self.stdout.write(RULE)
        if missing_total:
            raise CommandError(
                f"missing indexes or constraints: {missing_total}; run `manage.py migrate`, or recreate the dropped ones "
                "(`manage.py sqlmigrate <app> <migration>` shows their SQL)",
                returncode=1,
            )
