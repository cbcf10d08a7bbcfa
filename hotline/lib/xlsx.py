"""Excel cells that stay text: user-typed values are never evaluated as formulas.

openpyxl stores a string starting with ``=`` as a formula, and Excel/WPS turn text starting with
``+ - @`` into one as soon as someone edits the cell (CSV/formula injection). Such values are
written as plain strings with the "quote prefix" flag, so the reader sees exactly what was typed.

Every text goes through ``hotline.lib.text.scrub`` first: openpyxl refuses control characters
(``IllegalCharacterError``) and one stored before the text boundary existed must not make a whole
export fail.
"""

from __future__ import annotations

from openpyxl.cell import WriteOnlyCell

from hotline.lib.text import scrub

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_value(ws, value):
    """``value`` as a cell of ``ws`` that cannot become a formula (other values pass unchanged)."""
    if isinstance(value, str):
        value = scrub(value)
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        cell.quotePrefix = True
        return cell
    return value


def safe_row(ws, values) -> list:
    return [safe_value(ws, v) for v in values]


def append(ws, values) -> None:
    """``ws.append`` with every text value neutralised."""
    ws.append(safe_row(ws, values))
