"""The one text boundary: what every text that enters the platform becomes, and what every writer
is given (pure, no Django).

``clean_text`` is called where text comes in (console and portal forms, the JSON API, Open311,
upstream pushes, Excel imports, briefing narrative edits). It

- refuses NUL (``TextError`` with a Chinese message, a 400 at every entry): PostgreSQL cannot store
  it, and a text that carries one was not typed by a person;
- turns ``\\r\\n`` and a lone ``\\r`` into ``\\n`` (browsers send textareas with ``\\r\\n``; one line
  ending keeps search, masking and the writers from seeing two spellings of a break);
- removes every other C0 control character except ``\\n`` and ``\\t``, DEL, the C1 controls
  (U+0080–U+009F), lone surrogates (a JSON body can carry ``"\\ud800"``; it cannot be encoded as UTF-8),
  the non-characters U+FFFE/U+FFFF (not allowed in XML), and the invisible characters that let a text
  hide what it says (zero-width space U+200B, word joiner U+2060, BOM U+FEFF, bidi embeddings and
  overrides U+202A–U+202E and isolates U+2066–U+2069) — so ``137\\u200b0000…`` cannot slip a phone
  number past masking and search;
- applies Unicode NFC, so one character has one spelling in the database and in search.

Single-line fields (title, names, phone, address) also turn ``\\n`` and ``\\t`` into a space.

``scrub`` is the same cleaning for writers (xlsx, XML, DOCX, PDF, JSON): it never raises, NUL is
removed like the other controls. Writers call it so that text stored before this boundary existed
(or written by any path that missed it) cannot break a document.
"""

from __future__ import annotations

import re
import unicodedata

NUL_MESSAGE = "不能包含空字符（NUL）"

# Everything removed, NUL included (scrub); clean_text checks for NUL first.
_REMOVED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\ud800-\udfff\ufffe\uffff"
    "\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069]"
)
_BREAKS = re.compile(r"\r\n?")
_LINE_SPACE = re.compile(r"[\n\t]")


class TextError(ValueError):
    """A text that cannot enter: the message is shown to the person who sent it."""


def scrub(value: str | None, *, single_line: bool = False) -> str:
    """``value`` safe for any store and any document: line endings unified, controls and invisible
    characters removed, NFC. Never raises."""
    if not value:
        return ""
    value = str(value)
    if value.isascii() and value.isprintable():
        return value  # the common case costs one scan
    value = _BREAKS.sub("\n", value)
    value = _REMOVED.sub("", value)
    if single_line:
        value = _LINE_SPACE.sub(" ", value)
    return unicodedata.normalize("NFC", value)


def clean_text(value: str | None, *, single_line: bool = False) -> str:
    """``scrub`` for text that enters: NUL is refused (``TextError``), not silently dropped."""
    if not value:
        return ""
    value = str(value)
    if "\x00" in value:
        raise TextError(NUL_MESSAGE)
    return scrub(value, single_line=single_line)


def scrub_data(value):
    """``scrub`` applied to every string inside a JSON-like value (dict keys included)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_data(k): scrub_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_data(v) for v in value]
    return value
