"""Row reads and inserts that every request makes, built by the ORM once per connection and then
only executed.

For these statements Django spends more CPU building the SQL than the statement costs: on the
50k bench database (2026-12-06) reading the session row through the ORM took 0.81 ms of the app's
CPU and the same SELECT through a cursor 0.17 ms; reading the user 0.84 ms against 0.26 ms; an
order's INSERT through ``save()`` about 1.3 ms, most of it compiling 60 columns. The SQL here is the
ORM's own — compiled by its compiler the first time on each connection — and values go in and
come out through the same field methods and backend converters, so the rows written and the
instances read are the ones the ORM would write and read.

What these skip is ``save()``'s machinery around the INSERT: no ``pre_save``/``post_save``
signals are sent (``tests/test_intake_api.py`` checks that nothing listens for the models inserted
here) and no expressions are resolved (a value that is an expression falls back to ``save()``).

On PostgreSQL these statements, and the few others a registration runs, go through ``cursor``:
the server parses and plans each once per connection and then only binds values. Django's own
cursors bind values into the SQL text on the client, so the server parsed the 60-column INSERT
anew for every order.
"""

from __future__ import annotations

import functools
import weakref

from django.conf import settings
from django.db import connections
from django.db.models import NOT_PROVIDED
from django.db.models.sql import InsertQuery

# connection -> {key: compiled}: connections are per thread, and a compiler keeps its connection.
_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cache(connection) -> dict:
    found = _compiled.get(connection)
    if found is None:
        found = _compiled[connection] = {}
    return found


def cursor(connection):
    """A cursor (a context manager, as ``connection.cursor()``) whose statements PostgreSQL prepares
    on their first execution on this connection, for statements run thousands of times with the
    same text. Values are bound on the server, so the SQL must be a plain ``%s`` statement (no
    tuple or list to expand into ``IN (…)``, one statement, no ``SET``). Elsewhere, and with
    ``HOTLINE["PREPARED_STATEMENTS"]`` off, it is ``connection.cursor()``.

    About 0.8 ms of PostgreSQL's CPU per API registration at the median (docs/performance.md,
    "受理：预备语句"; the throughput gain through gunicorn was within the test machine's noise).
    The cursor is Django's own wrapper around it, so query logging, ``CaptureQueriesContext`` and
    ``execute_wrapper`` see these statements like any other.
    """
    if connection.vendor != "postgresql" or not settings.HOTLINE.get("PREPARED_STATEMENTS", True):
        return connection.cursor()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    if connection.connection.prepare_threshold is None:
        # Django opens connections with psycopg's threshold off (None), and then psycopg ignores
        # even an explicit ``prepare=True``. A threshold no statement reaches turns explicit
        # preparing on and leaves every other cursor as it was.
        connection.connection.prepare_threshold = _NEVER_BY_COUNT
    with connection.wrap_database_errors:
        raw = _preparing_cursor_class()(connection.connection)
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


_NEVER_BY_COUNT = 2**62


@functools.cache
def _preparing_cursor_class():
    # Imported here: the module needs psycopg, which a SQLite-only process never loads.
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        """Prepares every statement on its first execution; psycopg keeps the last 100 per
        connection (``prepared_max``) and a new connection prepares them again."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)

        def _convert_query(self, query, params=None):
            # Django's query log reads the statement from ``_query`` (``last_executed_query``),
            # which psycopg sets only on the unprepared path: without this, DEBUG's and the tests'
            # captured queries would show None for every prepared execution.
            pgq = super()._convert_query(query, params)
            self._query = pgq
            return pgq

    return PreparingCursor


def get_by_pk(model, pk, using: str = "default"):
    """``model._default_manager.get(pk=pk)``, or None where that raises DoesNotExist."""
    connection = connections[using]
    cache = _cache(connection)
    key = ("get", model)
    if key not in cache:
        compiler = model._default_manager.db_manager(using).filter(pk=model._meta.pk.to_python(1)).query \
            .get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        assert len(params) == 1, sql
        info = compiler.klass_info
        names = [compiler.select[i][0].target.attname for i in info["select_fields"]]
        cache[key] = (sql, compiler, compiler.get_converters([col for col, _, _ in compiler.select]), names)
    sql, compiler, converters, names = cache[key]
    # The lookup's own conversion of the value (a session holds the user's id as text).
    value = model._meta.pk.get_db_prep_value(pk, connection, prepared=False)
    with cursor(connection) as cursor_:
        cursor_.execute(sql, [value])
        row = cursor_.fetchone()
    if row is None:
        return None
    if converters:
        row = next(iter(compiler.apply_converters([row], converters)))
    return model.from_db(using, names, row)


def insert(obj, using: str = "default") -> None:
    """``obj.save(force_insert=True, using=using)`` for a new row without parents: the primary key
    is set from the database when it was None."""
    model = type(obj)
    meta = model._meta
    connection = connections[using]
    if meta.parents or not connection.features.can_return_columns_from_insert:
        obj.save(force_insert=True, using=using)
        return
    fields, values = [], []
    for field in meta.local_concrete_fields:
        if field.generated or (field is meta.auto_field and getattr(obj, field.attname) is None):
            continue
        value = field.pre_save(obj, True)
        if hasattr(value, "resolve_expression"):
            obj.save(force_insert=True, using=using)
            return
        # A NULL column is left out (no column here has a default in the database but db_default):
        # fewer than 50 values keep the statement in psycopg's parsed-query cache.
        if value is None and field.db_default is NOT_PROVIDED:
            continue
        fields.append(field)
        values.append(field.get_db_prep_save(value, connection=connection))
    returning = meta.pk.attname if getattr(obj, meta.pk.attname) is None else None
    cache = _cache(connection)
    key = ("insert", model, tuple(f.attname for f in fields))
    if key not in cache:
        query = InsertQuery(model)
        query.insert_values(fields, [obj])
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = [meta.pk] if returning else None
        [(sql, params)] = compiler.as_sql()
        returning_params = tuple(compiler.returning_params) if returning else ()
        # One placeholder a value: the statement is run again with other rows' values.
        assert len(params) == len(values) + len(returning_params), sql
        cache[key] = (sql, returning_params)
    sql, returning_params = cache[key]
    with cursor(connection) as cursor_:
        cursor_.execute(sql, values + list(returning_params))
        if returning:
            setattr(obj, returning, connection.ops.fetch_returned_insert_columns(cursor_, returning_params)[0])
    obj._state.adding = False
    obj._state.db = using
