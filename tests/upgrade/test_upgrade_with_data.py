"""Upgrade from the last release with data in every table: nothing is lost.

The scenario of an operator upgrading a live installation, done on the test database with Django's
`MigrationExecutor` (the technique of django-test-migrations, without the dependency):

1. migrate back to the nodes of the last release (`tests/upgrade/last_release.py`); Django's own apps stay
   at their leaf migrations;
2. with the HISTORICAL models of that state (`loader.project_state(nodes).apps`, never the current models),
   write at least one row in every model's table, every column filled (nullable ones too), foreign keys to
   the rows written before; then assert that every table of the database holds a row, so that a table added
   later that the filler cannot handle fails here, loudly, instead of being silently skipped;
3. snapshot every row of every table with raw SQL (`SELECT *` by table name, ordered by primary key), so
   the comparison does not depend on which app owns a model (models move between apps with
   `SeparateDatabaseAndState`, their tables keep their names);
4. migrate forward to the leaf nodes and compare: every table is still there (or under the name given in
   `RENAMED_TABLES`), every column that existed is still there (or renamed in `RENAMED_COLUMNS`) and every
   row is still there with the same values in those columns. New columns and new tables are fine; new rows
   only in the tables listed in `ROWS_ADDED_BY_MIGRATIONS`.

The test database is left fully migrated whatever happens (`finally`).

PostgreSQL is the backend that matters for upgrades, and CI runs the whole suite on it (`.ci/run`, "tests on
PostgreSQL + Redis"); it also runs, unchanged, on SQLite, so it is not marked `postgres` (which would skip it
there: tests/conftest.py). To run it alone
on PostgreSQL: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/ipam_upgrade_test pytest tests/upgrade`.

When this test fails:
- "table ... has no row": a table was added; if the generic filler could not write a row, add an entry to
  `OVERRIDES` (by table name) with the values its constraints need;
- "IntegrityError while writing ...": a constraint rejects the generic values: add an `OVERRIDES` entry;
- "... lost" / "changed": a migration since the last release drops or rewrites data. Fix the migration;
  if the change is deliberate, say so in `RENAMED_TABLES`, `RENAMED_COLUMNS` or `ROWS_ADDED_BY_MIGRATIONS`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as current_apps
from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.migrations.executor import MigrationExecutor

from tests.upgrade.last_release import LAST_RELEASE

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# A migration since the last release renames a table on purpose: {old table: new table}.
RENAMED_TABLES: dict[str, str] = {}
# ... or a column: {(old table, old column): new column}.
RENAMED_COLUMNS: dict[tuple[str, str], str] = {}
# Tables a migration since the last release adds rows to on purpose (a data migration seeding them).
ROWS_ADDED_BY_MIGRATIONS: set[str] = set()
# Not data: the migration recorder's own table.
UNTRACKED_TABLES = {"django_migrations"}

# Values the generic filler cannot guess, by table name (stable when a model moves between apps).
OVERRIDES: dict[str, dict[str, Any]] = {
    # reservation_z_matches_type: a region reservation has no z octet, a host reservation has one in 1..254.
    "enhancements_reservation": {"resource_type": "host", "z_octet": 9},
}

MOMENT = dt.datetime(2025, 6, 1, 12, 30, 45, 123456, tzinfo=dt.UTC)


# --- migrations -------------------------------------------------------------------------------------------


def _executor() -> MigrationExecutor:
    return MigrationExecutor(connection)  # a fresh one: the loader caches what is applied


def _our_apps(executor: MigrationExecutor) -> set[str]:
    """Labels of the project's apps that have migrations (not Django's, not third-party packages)."""
    base = Path(settings.BASE_DIR).resolve()
    ours = set()
    for config in current_apps.get_app_configs():
        path = Path(config.path).resolve()
        if path.is_relative_to(base) and not {".venv", "site-packages"} & set(path.parts):
            ours.add(config.label)
    return ours & executor.loader.migrated_apps


def _last_release_targets(executor: MigrationExecutor) -> list[tuple[str, str | None]]:
    graph = executor.loader.graph
    unlisted = _our_apps(executor) - set(LAST_RELEASE)
    assert not unlisted, f"apps {sorted(unlisted)} are missing from tests/upgrade/last_release.py (new app: list it with None)"
    for app, name in LAST_RELEASE.items():
        assert name is None or (app, name) in graph.nodes, f"last_release.py: migration {app}.{name} does not exist"
    return [*LAST_RELEASE.items(), *(node for node in graph.leaf_nodes() if node[0] not in LAST_RELEASE)]


def _migrate(targets: list[tuple[str, str | None]]) -> None:
    executor = _executor()
    executor.migrate(targets)


def _migrate_to_latest() -> None:
    executor = _executor()
    executor.migrate(executor.loader.graph.leaf_nodes())


def _applied(app: str) -> set[str]:
    return {name for label, name in _executor().loader.applied_migrations if label == app}


# --- rows from the historical models ----------------------------------------------------------------------


def _concrete_models(historical_apps: Any) -> list[type[models.Model]]:
    """Every model with its own table (auto-created many-to-many tables included), dependencies first."""
    found = [m for m in historical_apps.get_models(include_auto_created=True) if m._meta.managed and not m._meta.proxy]
    by_label = {m._meta.label_lower: m for m in found}
    ordered: list[type[models.Model]] = []
    state: dict[str, str] = {}

    def visit(model: type[models.Model]) -> None:
        label = model._meta.label_lower
        if state.get(label) == "done":
            return
        if state.get(label) == "visiting":
            return  # a cycle: the nullable side is filled afterwards (see _fill)
        state[label] = "visiting"
        for field in model._meta.concrete_fields:
            target = field.related_model if field.is_relation else None
            if target is not None and target._meta.label_lower in by_label and target is not model:
                visit(by_label[target._meta.label_lower])
        state[label] = "done"
        ordered.append(model)

    for model in sorted(found, key=lambda m: m._meta.label_lower):
        visit(model)
    return ordered


def _text(field: models.Field, n: int) -> str:
    value = f"upgrade {field.name} {n}"
    max_length = getattr(field, "max_length", None)
    if max_length and len(value) > max_length:
        # Short unique columns (country codes): lowercase base 36, unlike any seeded (upper-case) value.
        digits = ""
        while True:
            n, digit = divmod(n, 36)
            digits = "0123456789abcdefghijklmnopqrstuvwxyz"[digit] + digits
            if not n:
                break
        value = digits[-max_length:]
    return value


def _value(field: models.Field, n: int) -> Any:
    """A value of the field's type that a typical constraint accepts; distinct per row where it matters."""
    if field.choices:
        return field.flatchoices[0][0]
    if isinstance(field, models.BooleanField):
        return True
    if isinstance(field, models.UUIDField):
        return uuid.UUID(int=n)
    if isinstance(field, models.EmailField):
        return f"upgrade{n}@example.com"
    if isinstance(field, models.GenericIPAddressField):
        return f"10.250.{n % 256}.1"
    if isinstance(field, models.JSONField):
        return {"upgrade": n, "items": [1, "two", None], "nested": {"ok": True}}
    if isinstance(field, models.CharField | models.TextField):
        return _text(field, n)
    if isinstance(field, models.DecimalField):
        return decimal.Decimal(1).scaleb(-(field.decimal_places or 0)) * 3
    if isinstance(field, models.IntegerField):
        # 7 fits every range check we have (octets, counters, x_start <= x_end); unique columns get n.
        return n if field.unique else 7
    if isinstance(field, models.FloatField):
        return 7.5
    if isinstance(field, models.DateTimeField):
        return MOMENT + dt.timedelta(seconds=n)
    if isinstance(field, models.DateField):
        return MOMENT.date() + dt.timedelta(days=n)
    if isinstance(field, models.TimeField):
        return dt.time(12, 30, n % 60)
    if isinstance(field, models.DurationField):
        return dt.timedelta(minutes=n)
    if isinstance(field, models.BinaryField):
        return b"\x00upgrade\xff" + n.to_bytes(4, "big")
    raise AssertionError(
        f"no generic value for {type(field).__name__} {field.model._meta.db_table}.{field.column}: add it to OVERRIDES in {__name__}"
    )


def _fill(historical_apps: Any) -> None:
    """One row in every model's table, written through the historical models."""
    counter = iter(range(1000, 1_000_000))
    created: dict[str, models.Model] = {}
    deferred: list[tuple[models.Model, models.Field, str]] = []
    with transaction.atomic():
        for model in _concrete_models(historical_apps):
            table = model._meta.db_table
            overrides = OVERRIDES.get(table, {})
            values: dict[str, Any] = {}
            for field in model._meta.concrete_fields:
                if field.name in overrides or field.attname in overrides:
                    continue
                if getattr(field, "db_returning", False):
                    continue  # auto-increment keys, generated columns: the database sets them
                if field.is_relation:
                    target = field.related_model._meta.label_lower
                    if target in created:
                        values[field.name] = created[target]
                    else:  # a cycle or a self reference: set once the row exists
                        assert field.null, f"{table}.{field.column}: a non-null reference in a cycle; add it to OVERRIDES"
                        deferred.append((model, field, target))
                    continue
                values[field.name] = _value(field, next(counter))
            values.update(overrides)
            instance = model(**values)
            try:
                with transaction.atomic():
                    instance.save(force_insert=True)
            except IntegrityError as exc:
                raise AssertionError(
                    f"IntegrityError while writing a row in {table} ({exc}): add the values it needs to OVERRIDES"
                ) from exc
            created[model._meta.label_lower] = instance
        for model, field, target in deferred:
            instance = created[model._meta.label_lower]
            setattr(instance, field.name, created[target])
            instance.save(update_fields=[field.name])


# --- snapshots by table name ------------------------------------------------------------------------------


def _normalized(value: Any) -> Any:
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    return value


def _snapshot() -> dict[str, dict[str, Any]]:
    """{table: {"columns": [...], "pk": [...], "rows": [{column: value}, ...]}}, rows in primary key order."""
    qn = connection.ops.quote_name
    snapshot: dict[str, dict[str, Any]] = {}
    with connection.cursor() as cursor:
        for table in sorted(set(connection.introspection.table_names(cursor)) - UNTRACKED_TABLES):
            pk = connection.introspection.get_primary_key_columns(cursor, table) or []
            order = f" ORDER BY {', '.join(qn(c) for c in pk)}" if pk else ""
            cursor.execute(f"SELECT * FROM {qn(table)}{order}")
            columns = [d[0] for d in cursor.description]
            rows = [{c: _normalized(v) for c, v in zip(columns, raw, strict=True)} for raw in cursor.fetchall()]
            snapshot[table] = {"columns": columns, "pk": pk, "rows": rows}
    return snapshot


def _keyed(rows: list[dict[str, Any]], key_columns: list[str]) -> dict[Any, dict[str, Any]]:
    """Rows by the values of `key_columns`; identical keys (a table without primary key) by occurrence too."""
    keyed: dict[Any, dict[str, Any]] = {}
    seen: Counter[str] = Counter()
    for row in rows:
        key = repr(tuple(row[c] for c in key_columns))
        seen[key] += 1
        keyed[key if seen[key] == 1 else f"{key} #{seen[key]}"] = row
    return keyed


def _losses(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> Iterator[str]:
    for old_table, old in before.items():
        table = RENAMED_TABLES.get(old_table, old_table)
        new = after.get(table)
        if new is None:
            yield f"table {old_table} is gone ({len(old['rows'])} rows lost)"
            continue
        renamed = {c: RENAMED_COLUMNS.get((old_table, c), c) for c in old["columns"]}
        dropped = [c for c, now in renamed.items() if now not in new["columns"]]
        if dropped:
            yield f"{table}: columns {dropped} are gone"
        kept = {c: now for c, now in renamed.items() if now in new["columns"]}
        # By primary key; without one, by every column that is still there (then a change reads as a loss).
        key_columns = [c for c in old["pk"] if c in kept] or list(kept)
        old_rows = _keyed(old["rows"], key_columns)
        new_rows = _keyed(new["rows"], [kept[c] for c in key_columns])
        for key, row in old_rows.items():
            now = new_rows.get(key)
            if now is None:
                yield f"{table}: row {key} lost: {row}"
                continue
            changed = {c: (row[c], now[n]) for c, n in kept.items() if row[c] != now[n]}
            if changed:
                yield f"{table}: row {key} changed (column: (before, after)): {changed}"
        added = len(new_rows.keys() - old_rows.keys())
        if added and table not in ROWS_ADDED_BY_MIGRATIONS:
            yield f"{table}: {added} rows appeared (a data migration? list the table in ROWS_ADDED_BY_MIGRATIONS)"


# --- the test ---------------------------------------------------------------------------------------------


def test_upgrade_from_last_release_with_data_in_every_table_loses_nothing() -> None:
    vendor = connection.vendor
    try:
        executor = _executor()
        targets = _last_release_targets(executor)
        _migrate(targets)
        executor = _executor()
        graph = executor.loader.graph
        for app, name in LAST_RELEASE.items():
            expected = {n for a, n in graph.forwards_plan((app, name)) if a == app} if name else set()
            assert _applied(app) == expected, f"{vendor}: {app} is not at the last release ({name}) after migrating back"

        historical_apps = executor.loader.project_state([t for t in targets if t[1] is not None]).apps
        _fill(historical_apps)
        before = _snapshot()
        empty = sorted(table for table, content in before.items() if not content["rows"])
        assert not empty, (
            f"{vendor}: tables {empty} have no row at the last release, so the upgrade test proves nothing for them: "
            f"make the filler in {__name__} write one (OVERRIDES)"
        )

        _migrate_to_latest()
        after = _snapshot()
        losses = list(_losses(before, after))
        assert not losses, f"{vendor}: upgrading from the last release loses or alters data:\n" + "\n".join(losses)
    finally:
        _migrate_to_latest()
    executor = _executor()
    assert not executor.migration_plan(executor.loader.graph.leaf_nodes()), "the test database must be left fully migrated"
