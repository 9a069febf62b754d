"""Set-based writes for the engine's hot paths (the dispatcher's bursts, a full sync):
thousands of rows in one statement, from plain values rather than model instances.

Django's bulk_update compiles a CASE per field and row (~2 ms a row) and bulk_create
prepares every value through its field (~100 µs a row); psycopg's adaptation of Python
lists as arrays still costs ~4 µs per value. On PostgreSQL the rows therefore travel as
one JSON array of arrays (positional: no key repeated per row, which halves what a batch
holds in memory), encoded by the C json encoder and expanded by `json_array_elements`;
SQLite (a single dispatcher at small scale) gets Django's per-value preparation, which
stores datetimes as text.

Only names and types from the models' metadata are formatted into SQL; values are
always parameters.
"""

import json
from collections.abc import Iterable
from datetime import datetime

from django.db import connection
from django.db.models import Field, Model

# Rows per statement on SQLite (under its limit of 32,766 bound parameters).
SQLITE_BATCH = 1000


def update_by_pk(model: type[Model], rows: Iterable, fields: list[str]) -> None:
    """Write `fields` of many rows by primary key; a row is anything with `pk` and the
    fields' attributes (model instances, or the dispatcher's light rows)."""
    rows = list(rows)
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(f) for f in fields]
    qn = connection.ops.quote_name
    table, pk = qn(meta.db_table), qn(meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            document = [[r.pk, *(getattr(r, c.attname) for c in columns)] for r in rows]
            assignments = ", ".join(
                f"{qn(c.column)} = {_element(n, c)}" for n, c in enumerate(columns, start=1)
            )
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM json_array_elements(%s::json) AS e "  # noqa: S608
                f"WHERE {table}.{pk} = (e->>0)::bigint",
                [_json(document)],
            )
            return
        assignments = ", ".join(f"{qn(c.column)} = %s" for c in columns)
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE {pk} = %s",  # noqa: S608
            [[*(c.get_db_prep_save(getattr(r, c.attname), connection) for c in columns), r.pk] for r in rows],
        )


def insert_new(model: type[Model], rows: list[dict], unique: str) -> dict:
    """Insert the rows ({attname: value}, every concrete field but the primary key) whose
    `unique` field is new; {unique value: primary key} of those inserted.

    INSERT … ON CONFLICT DO NOTHING RETURNING: the conflict decides which rows are new,
    even with several writers racing.
    """
    if not rows:
        return {}
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    qn = connection.ops.quote_name
    table = qn(meta.db_table)
    columns = ", ".join(qn(f.column) for f in fields)
    key = qn(meta.get_field(unique).column)
    returning = f"ON CONFLICT ({key}) DO NOTHING RETURNING {qn(meta.pk.column)}, {key}"
    inserted = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            document = [[row[f.attname] for f in fields] for row in rows]
            elements = ", ".join(_element(n, f) for n, f in enumerate(fields))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {elements} "  # noqa: S608
                f"FROM json_array_elements(%s::json) AS e {returning}",
                [_json(document)],
            )
            inserted.update((k, pk) for pk, k in cursor.fetchall())
            return inserted
        placeholders = f"({', '.join(['%s'] * len(fields))})"
        for start in range(0, len(rows), SQLITE_BATCH):
            batch = rows[start : start + SQLITE_BATCH]
            values = ", ".join([placeholders] * len(batch))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} {returning}",  # noqa: S608
                [f.get_db_prep_save(row[f.attname], connection) for row in batch for f in fields],
            )
            inserted.update((k, pk) for pk, k in cursor.fetchall())
    return inserted


def _element(position: int, field: Field) -> str:
    """The field's value at `position` of a row `e` of the JSON document, cast to its
    column type (a JSON field keeps its JSON; a JSON null reads as NULL)."""
    db_type = field.db_type(connection)
    if db_type in ("json", "jsonb"):
        return f"(e->{position})::{db_type}"
    return f"(e->>{position})::{db_type}"


def _json(document: list[dict]) -> str:
    return json.dumps(document, default=_iso, separators=(",", ":"))


def _iso(value):
    # Aware datetimes keep their offset: PostgreSQL reads ISO 8601 into timestamptz.
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
