"""Excel sheets as people open them, and cells that stay text.

Every export starts its tables with ``table``: columns wide enough to read their header (and a
width the caller knows its values need), the header bold and frozen so it stays in view while
scrolling — one writer for the order list, statistics, assessment, import templates and error files.

User-typed values are never evaluated as formulas.

openpyxl stores a string starting with ``=`` as a formula, and Excel/WPS turn text starting with
``+ - @`` into one as soon as someone edits the cell (CSV/formula injection). Such values are
written as plain strings with the "quote prefix" flag, so the reader sees exactly what was typed.

Every text goes through ``hotline.lib.text.scrub`` first: openpyxl refuses control characters
(``IllegalCharacterError``) and one stored before the text boundary existed must not make a whole
export fail.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

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


MIN_WIDTH, MAX_WIDTH = 8, 60


def text_width(text) -> int:
    """Width of ``text`` in Excel's character units: a CJK (wide) character counts two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text or ""))


def table(wb, title: str, header: Sequence[str], *, widths: Mapping[str, int] | None = None,
          above: Sequence[Sequence] = ()):
    """A new sheet ``title`` of ``wb`` (write-only or not) with ``above`` (title lines) and the bold
    ``header`` row frozen; each column as wide as its header or ``widths[header]``."""
    ws = wb.create_sheet(title)
    widths = widths or {}
    for i, name in enumerate(header, 1):
        width = widths.get(name) or text_width(name) + 4
        ws.column_dimensions[get_column_letter(i)].width = max(MIN_WIDTH, min(MAX_WIDTH, width))
    # Before the first row: a write-only sheet writes its view (and widths) when the first row comes.
    ws.freeze_panes = f"A{len(above) + 2}"
    for row in above:
        append(ws, row)
    bold = Font(bold=True)
    cells = []
    for name in header:
        cell = WriteOnlyCell(ws, value=scrub(str(name)))
        cell.font = bold
        cells.append(cell)
    ws.append(cells)
    return ws
