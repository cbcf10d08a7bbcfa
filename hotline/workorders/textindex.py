"""The character index of work orders' text (PostgreSQL), for searches of any length from one
character, and for a unit's search starting from the unit.

pg_trgm (migrations 0002, 0013) cannot narrow a phrase of one or two characters: it has no trigram.
This index holds, for each order, every character and every pair of adjacent characters of its
title, content and ``masked_text``, and one key per unit ever assigned the order
(``WorkOrder.search_units``): ``hotline_search_keys(title, content, masked_text, search_units)``.
A search asks for the phrase's keys — the character itself for a one-character phrase, each
adjacent pair otherwise — and, for a unit, the unit's key too, so PostgreSQL intersects the unit's
orders with the phrase's inside the index.

Holding the keys is necessary, not sufficient, for a match (拖欠工资 holds 拖欠, 欠工 and 工资
in any order): the index only narrows; the search's own condition (``queries.text_match`` and the
door, ``visible_to``) still decides every row, so no result differs from the plain query's.

Where the keys live (migration 0024): a table of their own, ``workorders_ordersearchkeys`` (one row
per order: its id and its keys) with the GIN index on the keys; a search asks for the orders whose
id is among the rows holding the phrase's keys. Until 0024 they were a GIN index on the expression
over the order's own row, and every update of the row that was not HOT — the sweep's overdue stamp,
a reminder count, any state change: each of those columns is in some other index — re-computed and
re-inserted its hundred-odd keys, though the text had not changed (5k orders: 3,000 overdue stamps
1.7 s with that index, 0.4 s without; docs/performance.md). The side table is written only when the
text or the units change.

The database writes it, not the application: triggers on the order table (``CREATE_TRIGGERS``)
insert the row with the order, rewrite it when title, content, ``masked_text`` or ``search_units``
change (``UPDATE OF`` those columns, and only when a value differs), delete it with the order and
empty it when the order table is truncated. So registration, dispatch, ``hotline remask`` and any
bulk writer write only the order's columns, and no writer can leave the keys stale. There is no
foreign key to the order: Django's ``flush`` (tests, ``hotline demo --reset``) truncates the tables
of its models only, and PostgreSQL refuses to truncate a table another table's foreign key
references; the delete and truncate triggers do its work. Not a Django model for the same reason
and because no Python code writes it; SQLite has none of this and searches by its plain query.
The bench's bulk loader switches the insert trigger off while it copies and fills the table for
the copied orders in one statement (hotline/bench/load.py).

The trigger functions run with the ``search_path`` they were created under (``SET search_path FROM
CURRENT``): pg_restore and other maintenance sessions run with an empty one, where the unqualified
table and function names would not be found (migration 0020 says how the index was once lost so).
The key function itself is plain SQL over C-implemented string functions (about 60–110 µs for an
order of 180 characters); ``\\x1f`` (a control character that cleaned text never holds) separates the
pairs. Pairs that hold a line break or a separator are kept or broken harmlessly: a phrase is one
line with no control characters, so it never asks for them.
"""

from __future__ import annotations

from django.db import connections
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from hotline.lib.planner import planner_without

FUNCTION = "hotline_search_keys"
ORDERS = "workorders_workorder"
# The side table, its GIN index, and the triggers on the order table that write it (migration 0024).
TABLE = "workorders_ordersearchkeys"
INDEX = "search_keys_gin_idx"
INSERT_TRIGGER = "wo_search_keys_insert"
TRIGGERS = (INSERT_TRIGGER, "wo_search_keys_update", "wo_search_keys_delete", "wo_search_keys_truncate")
# What the keys are made of: a change of any other column leaves the side table alone.
TEXT_COLUMNS = ("title", "content", "masked_text", "search_units")
# The expression index 0019 built on the order table and 0024 dropped (its reverse builds it again).
EXPRESSION_INDEX = "wo_search_keys_gin_idx"


def _grams(column: str) -> str:
    """Every character of ``column`` and every adjacent pair (the pairs at odd and at even offsets)."""
    text = f"coalesce({column}, '')"
    return (f"string_to_array({text}, NULL)"
            f" || string_to_array(regexp_replace({text}, '(..)', E'\\\\1\\x1f', 'g'), E'\\x1f')"
            f" || string_to_array(regexp_replace(substr({text}, 2), '(..)', E'\\\\1\\x1f', 'g'), E'\\x1f')")


# One function calling only built-in functions: pg_restore builds indexes with an empty
# search_path, where a call to another function of ours would not be found.
CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}(title text, content text, masked text, units text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT {_grams("title")}
      || {_grams("content")}
      || {_grams("masked")}
      || string_to_array(regexp_replace(coalesce(units, ''), '(\\d+)', '@\\1@', 'g'), ' ')
$$;
DROP FUNCTION IF EXISTS hotline_text_grams(text);
"""
DROP_FUNCTION = f"DROP FUNCTION IF EXISTS {FUNCTION}(text, text, text, text)"
CREATE_EXPRESSION_INDEX = (f"CREATE INDEX IF NOT EXISTS {EXPRESSION_INDEX} ON {ORDERS} USING gin "
                           f"({FUNCTION}(title, content, masked_text, search_units))")
DROP_EXPRESSION_INDEX = f"DROP INDEX IF EXISTS {EXPRESSION_INDEX}"


def keys_of(row: str) -> str:
    """The keys of the order ``row`` (a table alias, or NEW in a trigger)."""
    return f"{FUNCTION}({', '.join(f'{row}.{column}' for column in TEXT_COLUMNS)})"


CREATE_TABLE = f"CREATE TABLE IF NOT EXISTS {TABLE} (order_id bigint PRIMARY KEY, keys text[] NOT NULL)"
CREATE_INDEX = f"CREATE INDEX IF NOT EXISTS {INDEX} ON {TABLE} USING gin (keys)"
DROP_INDEX = f"DROP INDEX IF EXISTS {INDEX}"
DROP_TABLE = f"DROP TABLE IF EXISTS {TABLE}"


def fill(where: str = "") -> str:
    """One statement writing the keys of the orders ``where`` selects (alias ``o``; all by default),
    for orders written while the insert trigger was off: migration 0024's backfill, the bench's loader."""
    return (f"INSERT INTO {TABLE} (order_id, keys) SELECT o.id, {keys_of('o')} FROM {ORDERS} o"
            + (f" WHERE {where}" if where else ""))


_changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in TEXT_COLUMNS)
# Row triggers for insert, update and delete: a registration writes one row, a remask a few; a
# bulk writer turns the insert trigger off and calls ``fill`` once. The update trigger names its
# columns and compares them, so an update of anything else (the sweep's stamps, a status) does
# not run it at all. ON CONFLICT: a row left by a load whose trigger was off is rewritten, not refused.
CREATE_TRIGGERS = f"""
CREATE OR REPLACE FUNCTION hotline_search_keys_write() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO {TABLE} (order_id, keys) VALUES (NEW.id, {keys_of("NEW")})
    ON CONFLICT (order_id) DO UPDATE SET keys = EXCLUDED.keys;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION hotline_search_keys_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  DELETE FROM {TABLE} WHERE order_id = OLD.id;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION hotline_search_keys_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  TRUNCATE {TABLE};
  RETURN NULL;
END $$;
CREATE TRIGGER {TRIGGERS[0]} AFTER INSERT ON {ORDERS}
  FOR EACH ROW EXECUTE FUNCTION hotline_search_keys_write();
CREATE TRIGGER {TRIGGERS[1]} AFTER UPDATE OF {", ".join(TEXT_COLUMNS)} ON {ORDERS}
  FOR EACH ROW WHEN ({_changed}) EXECUTE FUNCTION hotline_search_keys_write();
CREATE TRIGGER {TRIGGERS[2]} AFTER DELETE ON {ORDERS}
  FOR EACH ROW EXECUTE FUNCTION hotline_search_keys_delete();
CREATE TRIGGER {TRIGGERS[3]} AFTER TRUNCATE ON {ORDERS}
  FOR EACH STATEMENT EXECUTE FUNCTION hotline_search_keys_truncate();
"""
DROP_TRIGGERS = "".join(f"DROP TRIGGER IF EXISTS {name} ON {ORDERS};\n" for name in TRIGGERS) + "".join(
    f"DROP FUNCTION IF EXISTS hotline_search_keys_{kind}();\n" for kind in ("write", "delete", "truncate"))


def phrase_keys(phrase: str) -> list[str]:
    """The keys every order whose text holds ``phrase`` has: the character of a one-character
    phrase, the adjacent pairs of a longer one (each once, in order)."""
    if len(phrase) <= 1:
        return [phrase] if phrase else []
    return list(dict.fromkeys(phrase[i:i + 2] for i in range(len(phrase) - 1)))


def unit_key(unit_id: int) -> str:
    """A unit's key: ``@12@``, three characters or more, so never one of a text's keys."""
    return f"@{int(unit_id)}@"


def search_units_with(units: str, unit_ids) -> str:
    """``WorkOrder.search_units`` after dispatching to ``unit_ids``: the new ones appended."""
    known = units.split()
    for unit_id in unit_ids:
        if str(unit_id) not in known:
            known.append(str(unit_id))
    return " ".join(known)


def _asked_keys(phrase: str, unit_id: int | None) -> list[str]:
    """The keys a search asks for: the phrase's, and the unit's for a unit's search."""
    return phrase_keys(phrase) + ([unit_key(unit_id)] if unit_id is not None else [])


def holds_keys(phrase: str, unit_id: int | None = None) -> RawSQL:
    """A condition (PostgreSQL) narrowing orders to those whose keys hold ``phrase``'s, and
    ``unit_id``'s when given: the ids of the side table's rows that hold them, which the planner
    finds in its GIN index (or, for a few orders found otherwise, checks row by row by key)."""
    keys = _asked_keys(phrase, unit_id)
    return RawSQL(f'"{ORDERS}"."id" IN (SELECT order_id FROM {TABLE} WHERE keys @> %s::text[])', [keys],
                  output_field=BooleanField())


def orders_holding(phrase: str, unit_id: int | None, *, at_most: int, using: str = "default") -> list[int] | None:
    """The ids of the orders whose keys hold ``phrase``'s (and ``unit_id``'s), when they are at
    most ``at_most``; None when there are more. Read from the GIN index as one bitmap (planned
    without sequential and index scans: with a limit, the planner would rather walk the side table
    until it has found enough, reading thousands of its wide rows for a common phrase); the side
    table's rows are then read in block order, at most ``at_most`` + 1 of them."""
    keys = _asked_keys(phrase, unit_id)
    with planner_without(using, "seqscan", "indexscan"), connections[using].cursor() as cursor:
        cursor.execute(f"SELECT order_id FROM {TABLE} WHERE keys @> %s::text[] LIMIT %s", [keys, at_most + 1])
        ids = [row[0] for row in cursor.fetchall()]
    return ids if len(ids) <= at_most else None


def among_search_units(unit_id: int) -> RawSQL:
    """Orders whose ``search_units`` name ``unit_id``: a test on the row itself, cheaper than the
    door's look-up of the unit's assignments, which it lets run only for the unit's own orders."""
    return RawSQL("(' ' || \"workorders_workorder\".\"search_units\" || ' ') LIKE %s", [f"% {int(unit_id)} %"],
                  output_field=BooleanField())

