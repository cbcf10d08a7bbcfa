"""The character index of work orders' text (PostgreSQL), for searches of any length from one
character, and for a unit's search starting from the unit.

pg_trgm (migrations 0002, 0013) cannot narrow a phrase of one or two characters: it has no trigram.
This index holds, for each order, every character and every pair of adjacent characters of its
title, content and ``masked_text``, and one key per unit ever assigned the order
(``WorkOrder.search_units``): ``hotline_search_keys(title, content, masked_text, search_units)``,
one GIN index (migration 0019). A search asks for the phrase's keys — the character itself for a
one-character phrase, each adjacent pair otherwise — and, for a unit, the unit's key too, so
PostgreSQL intersects the unit's orders with the phrase's inside the index.

Holding the keys is necessary, not sufficient, for a match (拖欠工资 holds 拖欠, 欠工 and 工资
in any order): the index only narrows; the search's own condition (``queries.text_match`` and the
door, ``visible_to``) still decides every row, so no result differs from the plain query's.

The keys are computed by PostgreSQL from the columns (an expression index), so no writer can leave
them stale: registration, ``hotline remask`` and the bench's bulk loader all write only the
columns. The function is plain SQL over C-implemented string functions (about 60 µs for an order
of 180 characters); ``\\x1f`` (a control character that cleaned text never holds) separates the
pairs. Pairs that hold a line break or a separator are kept or broken harmlessly: a phrase is one
line with no control characters, so it never asks for them.
"""

from __future__ import annotations

from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

FUNCTION = "hotline_search_keys"
INDEX = "wo_search_keys_gin_idx"

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
CREATE_INDEX = (f"CREATE INDEX IF NOT EXISTS {INDEX} ON workorders_workorder USING gin "
                f"({FUNCTION}(title, content, masked_text, search_units))")
DROP_INDEX = f"DROP INDEX IF EXISTS {INDEX}"


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


def holds_keys(phrase: str, unit_id: int | None = None) -> RawSQL:
    """A condition (PostgreSQL) narrowing orders to those whose index keys hold ``phrase``'s, and
    ``unit_id``'s when given: written as the index is, so the planner reads the index for it."""
    keys = phrase_keys(phrase) + ([unit_key(unit_id)] if unit_id is not None else [])
    table = "workorders_workorder"
    return RawSQL(f'{FUNCTION}("{table}"."title", "{table}"."content", "{table}"."masked_text", '
                  f'"{table}"."search_units") @> %s::text[]', [keys], output_field=BooleanField())


def among_search_units(unit_id: int) -> RawSQL:
    """Orders whose ``search_units`` name ``unit_id``: a test on the row itself, cheaper than the
    door's look-up of the unit's assignments, which it lets run only for the unit's own orders."""
    return RawSQL("(' ' || \"workorders_workorder\".\"search_units\" || ' ') LIKE %s", [f"% {int(unit_id)} %"],
                  output_field=BooleanField())

