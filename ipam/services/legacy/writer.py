"""Bulk insertion of imported rows, keeping their original timestamps.

Rows are dicts keyed by field attname (`user_id`, `region_id` …); missing fields take the model default.
On PostgreSQL the rows go in with `COPY … FROM STDIN` (psycopg 3), elsewhere with batched INSERTs of the
values Django prepares for the backend. Both bypass `auto_now`/`auto_now_add`, which would otherwise stamp
every imported row with the time of the import, and both run inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models

DEFAULT_BATCH = 5000
_JSON = DjangoJSONEncoder(separators=(",", ":"))  # one encoder for every row (json.dumps would build one per call)


def _json(value: Any) -> str:
    if not value:
        return "[]" if isinstance(value, list) else "{}" if isinstance(value, dict) else _JSON.encode(value)
    return _JSON.encode(value)


def _defaults(model: type[models.Model]) -> list[tuple[models.Field[Any, Any], Any]]:
    return [(field, field.get_default()) for field in model._meta.concrete_fields]


def insert_rows(model: type[models.Model], rows: Iterable[dict[str, Any]], *, batch_size: int = DEFAULT_BATCH) -> int:
    """Insert `rows` into `model`'s table; returns how many."""
    fields = _defaults(model)
    columns = [field.column for field, _ in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    count = 0
    if connection.vendor == "postgresql":
        json_fields = {i for i, (field, _) in enumerate(fields) if isinstance(field, models.JSONField)}
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                values = [row.get(field.attname, default) for field, default in fields]
                for i in json_fields:
                    values[i] = _json(values[i])
                copy.write_row(values)
                count += 1
        return count
    sql = f"INSERT INTO {table} ({quoted}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608 (names from the model)
    batch: list[list[Any]] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append([field.get_db_prep_save(row.get(field.attname, default), connection) for field, default in fields])
            if len(batch) >= batch_size:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def copy_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]], *, batch_size: int = DEFAULT_BATCH) -> int:
    """Insert `rows`, tuples of values in the order of `columns` (field attnames); the model's other fields
    take their default. The bulk path of the import: no per-row dict, one COPY stream on PostgreSQL."""
    by_attname = {field.attname: field for field in model._meta.concrete_fields}
    given = [by_attname[name] for name in columns]
    rest = [(field, field.get_default()) for field in model._meta.concrete_fields if field.attname not in set(columns)]
    fields = given + [field for field, _ in rest]
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    count = 0
    if connection.vendor == "postgresql":
        json_given = [i for i, field in enumerate(given) if isinstance(field, models.JSONField)]
        tail = tuple(_json(default) if isinstance(field, models.JSONField) else default for field, default in rest)
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            write = copy.write_row
            if json_given:
                for row in rows:
                    values = list(row)
                    for i in json_given:
                        values[i] = _json(values[i])
                    write((*values, *tail))
                    count += 1
            else:
                for row in rows:
                    write((*row, *tail))
                    count += 1
        return count
    defaults = [default for _, default in rest]
    sql = f"INSERT INTO {table} ({quoted}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608 (names from the model)
    batch: list[list[Any]] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append([field.get_db_prep_save(value, connection) for field, value in zip(fields, (*row, *defaults), strict=True)])
            if len(batch) >= batch_size:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count
