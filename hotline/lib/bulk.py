"""Many rows of one table in one statement, without a model instance per row.

``bulk_create`` builds a model instance per row and prepares every value of every row through
its field (on PostgreSQL it then dumps one array per column, element by element). For the SLA
sweep's catch-up — tens of thousands of events and notifications after a day of downtime — that
was more than half of the time: on the 200k bench database (2026-12-07) about 0.15 ms of CPU per
row against about 0.02 ms for the statement below. Here a row is a tuple of Python values, the
columns are prepared once, and

* on PostgreSQL the rows go as one JSON text, unpacked by ``json_to_recordset`` into the
  columns' own types (one string parameter: nothing is dumped per element);
* on SQLite (development and tests) they go through ``executemany``, each value prepared by its
  field exactly as ``bulk_create`` prepares it.

A column left out gets its field's Python default, as a model instance given to
``bulk_create`` would have it. ``tests/test_bulk.py`` checks that the rows read back are those
``bulk_create`` writes, on both databases.

The same batches name their rows by key in every statement: ``any_of`` does that with one
parameter on PostgreSQL rather than one per key.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from django.db import connections
from django.db.models import F, Lookup
from django.db.models.base import ModelState
from django.db.models.lookups import In
from django.db.models.signals import post_init, pre_init

# Internal types whose Python value is already what JSON carries to PostgreSQL's cast.
_PLAIN = {"AutoField", "BigAutoField", "SmallAutoField", "BigIntegerField", "IntegerField", "SmallIntegerField",
          "PositiveIntegerField", "PositiveSmallIntegerField", "PositiveBigIntegerField", "BooleanField",
          "CharField", "TextField", "EmailField", "URLField", "SlugField", "ForeignKey", "OneToOneField"}


def _field(meta, attname: str):
    for field in meta.concrete_fields:
        if field.attname == attname:
            return field
    raise LookupError(f"{meta.label} has no column {attname}")


def _json_value(value):
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.isoformat()
    return value


def insert_rows(model, names: Sequence[str], rows: Sequence[Sequence], *, ignore_conflicts: bool = False,
                using: str = "default") -> int:
    """Insert ``rows`` (tuples of values for the fields ``names``, by attname: ``order_id``) into
    ``model``'s table; every other concrete field gets its default (the primary key, unless named,
    comes from the database). ``ignore_conflicts`` as in ``bulk_create``: a row that breaks a unique
    constraint is skipped. Returns the number of rows given."""
    if not rows:
        return 0
    connection = connections[using]
    meta = model._meta
    given = [_field(meta, name) for name in names]
    rest = [f for f in meta.concrete_fields if f not in given and not f.generated
            and f is not meta.auto_field]
    defaults = [field.get_default() for field in rest]
    fields = given + rest
    table = connection.ops.quote_name(meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    if connection.vendor == "postgresql":
        for field in fields:
            kind = field.get_internal_type()
            if kind not in _PLAIN and kind not in {"DateTimeField", "DateField", "JSONField"}:
                raise TypeError(f"{meta.label}.{field.name}: {kind} is not supported here")
        # Keys are the columns' positions: short, and never a quoting question.
        record = ", ".join(f'"{i}" {f.db_type(connection)}' for i, f in enumerate(fields))
        picked = ", ".join(f'r."{i}"' for i in range(len(fields)))
        conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
        sql = (f"INSERT INTO {table} ({columns}) SELECT {picked} FROM json_to_recordset(%s::json) "
               f"AS r({record}){conflict}")
        tail = [_json_value(v) for v in defaults]
        # A JSON column's value goes nested, read by json_to_recordset as jsonb. Only times need
        # converting; a batch's rows mostly share one (the sweep's instant), converted once.
        times = [i for i, f in enumerate(given) if f.get_internal_type() in {"DateTimeField", "DateField"}]
        memo: dict = {}
        keys = [str(i) for i in range(len(fields))]
        payload = []
        for row in rows:
            values = [*row, *tail]
            for i in times:
                value = values[i]
                if value is not None:
                    text = memo.get(value)
                    if text is None:
                        text = memo[value] = _json_value(value)
                    values[i] = text
            payload.append(dict(zip(keys, values, strict=True)))
        with connection.cursor() as cursor:
            cursor.execute(sql, [json.dumps(payload, ensure_ascii=False)])
        return len(rows)
    verb = "INSERT OR IGNORE" if ignore_conflicts and connection.vendor == "sqlite" else "INSERT"
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"{verb} INTO {table} ({columns}) VALUES ({placeholders})"
    tail = [f.get_db_prep_save(v, connection=connection) for f, v in zip(rest, defaults, strict=True)]
    prepared = [[f.get_db_prep_save(v, connection=connection) for f, v in zip(given, row, strict=True)] + tail
                for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, prepared)
    return len(rows)


def reserve_ids(model, count: int, using: str = "default") -> list[int]:
    """``count`` new primary keys of ``model``, for rows inserted with ``insert_rows`` that others
    must reference in the same transaction (an event's notifications).

    PostgreSQL: drawn from the table's sequence, as an INSERT would draw them. SQLite: the next
    ``count`` after the highest ever given out (``AUTOINCREMENT``'s rule), which is safe because a
    transaction there holds the database's write lock from its first statement (``BEGIN
    IMMEDIATE``, see settings) — so this must run inside one.
    """
    if count <= 0:
        return []
    connection = connections[using]
    meta = model._meta
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence named once (a subquery), not looked up again for every row drawn.
            cursor.execute("SELECT nextval(s.seq) FROM (SELECT pg_get_serial_sequence(%s, %s)::regclass AS seq) s, "
                           "generate_series(1, %s)", [meta.db_table, meta.pk.column, count])
            return [row[0] for row in cursor.fetchall()]
        if not connection.in_atomic_block:
            raise RuntimeError("reserve_ids needs a transaction on SQLite")
        table, pk = connection.ops.quote_name(meta.db_table), connection.ops.quote_name(meta.pk.column)
        cursor.execute(f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
                       f"coalesce((SELECT max({pk}) FROM {table}), 0))", [meta.db_table])
        last = cursor.fetchone()[0]
    return list(range(last + 1, last + 1 + count))


def instances(model, names: Sequence[str], rows: Sequence[Sequence], using: str = "default") -> list:
    """Model instances of rows just written (as ``from_db`` makes them: not ``adding``), for the
    receivers of a signal that hands them on; every field not in ``names`` reads as its default.

    Each instance's attributes are set at once rather than through ``__init__`` (which sets every
    field through its descriptor, and a foreign key's descriptor checks its cached object each
    time): a catch-up hands on tens of thousands. No field here has a deferred value, so the
    result is what ``from_db`` gives; ``tests/test_bulk.py`` compares the two."""
    meta = model._meta
    position = {name: i for i, name in enumerate(names)}
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        # Someone watches instances being made: through __init__, as from_db does.
        order = [position.get(field.attname) for field in meta.concrete_fields]
        defaults = {i: f.get_default() for i, f in enumerate(meta.concrete_fields) if order[i] is None}
        return [model.from_db(using, None, [row[j] if j is not None else defaults[i] for i, j in enumerate(order)])
                for row in rows]
    unknown = set(names) - {field.attname for field in meta.concrete_fields}
    if unknown:
        raise LookupError(f"{meta.label} has no column {', '.join(sorted(unknown))}")
    defaults = {field.attname: field.get_default() for field in meta.concrete_fields if field.attname not in position}
    out = []
    for row in rows:
        obj = model.__new__(model)
        values = obj.__dict__
        values.update(defaults)
        values.update(zip(names, row, strict=True))
        obj._state = state = ModelState()
        state.adding, state.db = False, using
        out.append(obj)
    return out


class AnyOf(Lookup):
    """``field = ANY(%s)`` with the values as one array parameter on PostgreSQL; ``IN (…)`` elsewhere.

    A sweep's batch names hundreds of rows by key in each statement. Written ``pk__in=ids``, the
    ORM prepares each value and psycopg's client-side binding splits and quotes a statement with
    hundreds of placeholders (too long for its cache): on the 260k bench database (2026-12-07)
    about half of the near-due pass's query-building CPU. One array parameter is prepared once
    and means the same to the planner (PostgreSQL reads ``IN (…)`` as ``= ANY (ARRAY[…])``).
    The values are used as given: plain keys of the field's type, no expressions."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        return compiler.compile(In(self.lhs, list(self.rhs)))

    def as_postgresql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::{self.lhs.output_field.cast_db_type(connection)}[])", (*params, list(self.rhs))


def any_of(name: str, values) -> AnyOf:
    """A filter for ``QuerySet.filter``: the column ``name`` (``"pk"``, ``"order_id"``) is one of
    ``values`` (see ``AnyOf``)."""
    return AnyOf(F(name), list(values))
