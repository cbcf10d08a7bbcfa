"""The one tolerant parser for values that arrive as text: dates, datetimes, numbers, booleans, JSON.

Every entry point — Open311 filters, the JSON API, the upstream push, Excel imports, the console's
filters — parses through here, so one value means the same thing everywhere and a bad one is
refused the same way: ``ParseError(field, message)``, a ``ValueError`` whose ``field`` is the name
the sender knows (a column header, a JSON key, a query parameter) and whose message is Chinese.
Adapters turn it into a 400 (or an import row error); nothing here raises ``OverflowError``,
``RecursionError`` or a bare ``ValueError`` for any input.

Tolerant in what it reads (what Chinese exports write):

- datetimes: ISO 8601 (``2023-07-03T09:30:00+08:00``, ``…Z``, ``2023-07-03 09:30``), and
  ``2023/7/3 9:30``, ``2023.7.3 08:55:30``, ``2023年7月3日 9时30分``, ``2023年7月3日``; full-width
  digits and colons are read as ASCII. Naive means the center's local time (``settings.TIME_ZONE``,
  through :mod:`hotline.lib.clock`). A date alone is 00:00, or 23:59:59 with ``end_of_day``.
- integers and decimals: ASCII digits after NFKC, an optional sign, thousands commas, Excel's
  ``35.0`` for an integer; never NaN or infinity.
- booleans: ``true/false``, ``1/0``, ``yes/no``, ``是/否``, ``on/off``, … (case-insensitive); any
  other word is an error (``"false"`` is false, not a non-empty string).
- phone numbers: digits of any script, grouped by spaces, dashes, dots, slashes or parentheses,
  with or without +86 / 0086; stored in one spelling (``parse_phone``) so that search, caller
  history and masking meet one form of each number.

Strict in what it accepts (documented bounds):

- years ``MIN_YEAR``–``MAX_YEAR`` (2000–2100); UTC offsets within ±14:00; a real calendar day
  (``2023-02-30`` is refused); hours 0–23, minutes and seconds 0–59;
- integers within the caller's range, by default what a database ``integer`` column holds;
- a value as text at most ``MAX_VALUE_CHARS`` characters;
- JSON: at most ``MAX_JSON_DEPTH`` levels of nesting (checked before parsing, so a deeply nested
  body never reaches the recursive decoder), a byte cap chosen by the endpoint, valid UTF-8,
  and no NUL or unpaired surrogate in any string (PostgreSQL text cannot hold them).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import math
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from hotline.lib import clock
from hotline.lib.text import NUL_MESSAGE

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_OFFSET = dt.timedelta(hours=14)
MAX_VALUE_CHARS = 64
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # a database ``integer`` column
MAX_JSON_DEPTH = 32

TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "on", "是", "真", "对", "√"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "off", "否", "假", "不", "×"})


class ParseError(ValueError):
    """A value that cannot be read: ``field`` names it as the sender knows it, ``message`` says why
    in Chinese. ``status`` is the HTTP status an adapter should answer (400, or 413 for a body
    over its size cap)."""

    def __init__(self, field: str, message: str, *, status: int = 400):
        super().__init__(f"{field}：{message}")
        self.field, self.message, self.status = field, message, status


def shown(value, limit: int = 40) -> str:
    """``value`` as it may be quoted back in an error: printable characters only (anything else
    becomes U+FFFD, so an error page or XML error document stays valid) and at most ``limit``."""
    text = str(value)
    cut = text[:limit]
    cut = "".join(ch if ch.isprintable() else "\ufffd" for ch in cut)
    return cut + ("…" if len(text) > limit else "")


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value, field: str) -> str:
    """NFKC-normalised, stripped text of a short value (full-width digits become ASCII)."""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if len(text) > MAX_VALUE_CHARS:
        raise ParseError(field, f"过长（不超过 {MAX_VALUE_CHARS} 个字符）")
    return text


def _missing(field: str, required: bool):
    if required:
        raise ParseError(field, "不能为空")
    return None


# ---------------------------------------------------------------------------------------------
# Dates and datetimes

_DATE = r"(?P<y>[0-9]{4})\s*[-/.年]\s*(?P<m>[0-9]{1,2})\s*[-/.月]\s*(?P<d>[0-9]{1,2})\s*日?"
_TIME = (r"(?P<H>[0-9]{1,2})\s*[:时点]\s*(?P<M>[0-9]{1,2})\s*"
         r"(?:分\s*(?:(?P<S1>[0-9]{1,2})\s*秒)?|:\s*(?P<S2>[0-9]{1,2})(?:[.,](?P<f>[0-9]{1,9}))?\s*秒?)?")
_OFFSET = r"(?P<tz>[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)"
_DATETIME = re.compile(rf"{_DATE}(?:(?:\s*T\s*|\s+|(?<=日)\s*){_TIME})?\s*{_OFFSET}?", re.ASCII)
_DATE_ONLY = re.compile(_DATE, re.ASCII)
_EXAMPLE = "如 2023-07-03 09:30、2023/7/3 9:30、2023年7月3日 或 2023-07-03T09:30:00+08:00"


def _check_year(year: int, field: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ParseError(field, f"年份 {year} 超出范围（须在 {MIN_YEAR}–{MAX_YEAR} 年之间）")


def _check_day(year: int, month: int, day: int, field: str) -> None:
    _check_year(year, field)
    if not 1 <= month <= 12:
        raise ParseError(field, f"月份 {month} 不存在（须为 1–12）")
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise ParseError(field, f"日期不存在：{year} 年 {month} 月没有 {day} 日（该月共 {last} 天）")


def _offset(text: str, field: str) -> dt.tzinfo:
    if text in ("Z", "z"):
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if minutes >= 60:
        raise ParseError(field, f"时区偏移 {text} 无效（分钟须为 0–59）")
    offset = dt.timedelta(hours=hours, minutes=minutes)
    if offset > MAX_OFFSET:
        raise ParseError(field, f"时区偏移 {text} 超出范围（须在 -14:00 至 +14:00 之间）")
    return dt.timezone(sign * offset)


def _bounded(value, field: str, earliest, latest, what: str):
    if earliest is not None and value < earliest:
        raise ParseError(field, f"{what}不能早于 {earliest:%Y-%m-%d}")
    if latest is not None and value > latest:
        raise ParseError(field, f"{what}不能晚于 {latest:%Y-%m-%d}")
    return value


def parse_date(value, field: str, *, required: bool = False, earliest: dt.date | None = None,
               latest: dt.date | None = None) -> dt.date | None:
    """A calendar day from ``2023-07-03``, ``2023/7/3``, ``2023年7月3日`` or a date/datetime cell;
    a datetime counts by its day on the center's clock."""
    if _blank(value):
        return _missing(field, required)
    if isinstance(value, dt.datetime):
        day = parse_datetime(value, field).date()
    elif isinstance(value, dt.date):
        _check_year(value.year, field)
        day = value
    elif isinstance(value, str):
        text = _text(value, field)
        match = _DATE_ONLY.fullmatch(text)
        if not match:
            raise ParseError(field, f"“{shown(text)}”不是有效的日期（如 2023-07-03、2023/7/3 或 2023年7月3日）")
        y, m, d = (int(match[k]) for k in "ymd")
        _check_day(y, m, d, field)
        day = dt.date(y, m, d)
    else:
        raise ParseError(field, "须为日期")
    return _bounded(day, field, earliest, latest, "日期")


def parse_datetime(value, field: str, *, required: bool = False, end_of_day: bool = False,
                   earliest: dt.datetime | None = None, latest: dt.datetime | None = None) -> dt.datetime | None:
    """An aware datetime on the center's clock from text or an Excel cell (see the module doc)."""
    if _blank(value):
        return _missing(field, required)
    if isinstance(value, dt.datetime):
        _check_year(value.year, field)
        if value.tzinfo is not None:
            offset = value.utcoffset()
            if offset is None or abs(offset) > MAX_OFFSET:
                raise ParseError(field, "时区偏移超出范围（须在 -14:00 至 +14:00 之间）")
        parsed = clock.aware(value)
    elif isinstance(value, dt.date):
        _check_year(value.year, field)
        parsed = clock.aware(dt.datetime.combine(value, clock.END_OF_DAY if end_of_day else dt.time()))
    elif isinstance(value, str):
        parsed = _parse_datetime_text(_text(value, field), field, end_of_day)
    else:
        raise ParseError(field, f"须为日期时间（{_EXAMPLE}）")
    if earliest is not None and parsed < earliest:
        raise ParseError(field, f"不能早于 {clock.local(earliest):%Y-%m-%d %H:%M}")
    if latest is not None and parsed > latest:
        raise ParseError(field, f"不能晚于 {clock.local(latest):%Y-%m-%d %H:%M}")
    return parsed


def _parse_datetime_text(text: str, field: str, end_of_day: bool) -> dt.datetime:
    match = _DATETIME.fullmatch(text)
    if not match:
        raise ParseError(field, f"“{shown(text)}”不是有效的时间（{_EXAMPLE}）")
    y, m, d = (int(match[k]) for k in "ymd")
    _check_day(y, m, d, field)
    if match["H"] is None:
        if match["tz"]:
            raise ParseError(field, f"“{shown(text)}”只有日期却带时区，请写出时刻（{_EXAMPLE}）")
        return clock.aware(dt.datetime.combine(dt.date(y, m, d), clock.END_OF_DAY if end_of_day else dt.time()))
    hour, minute = int(match["H"]), int(match["M"])
    second = int(match["S1"] or match["S2"] or 0)
    if hour > 23:
        raise ParseError(field, f"时刻 {hour}:{minute:02d} 不存在（小时须为 0–23）")
    if minute > 59 or second > 59:
        raise ParseError(field, f"时刻 {hour}:{minute:02d}:{second:02d} 不存在（分、秒须为 0–59）")
    micro = int((match["f"] or "0")[:6].ljust(6, "0"))
    tz = _offset(match["tz"], field) if match["tz"] else None
    return clock.aware(dt.datetime(y, m, d, hour, minute, second, micro, tzinfo=tz))


_MONTH = re.compile(r"(?P<y>[0-9]{4})\s*(?:[-/.年]\s*)?(?P<m>[0-9]{1,2})\s*月?(?:份)?", re.ASCII)


def parse_month(value, field: str, *, required: bool = False) -> tuple[int, int] | None:
    """(year, month) from ``2023-07``, ``2023/7``, ``2023年7月``, ``202307``."""
    if _blank(value):
        return _missing(field, required)
    if isinstance(value, dt.date):
        _check_year(value.year, field)
        return value.year, value.month
    text = _text(value, field)
    match = _MONTH.fullmatch(text)
    if not match:
        raise ParseError(field, f"“{shown(text)}”不是有效的月份（如 2023-07 或 2023年7月）")
    year, month = int(match["y"]), int(match["m"])
    _check_year(year, field)
    if not 1 <= month <= 12:
        raise ParseError(field, f"月份 {month} 不存在（须为 1–12）")
    return year, month


# ---------------------------------------------------------------------------------------------
# Numbers

_INTEGER = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.0*)?|[+-]?[0-9]+(?:\.0*)?", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?", re.ASCII)


def _range_message(minimum, maximum) -> str:
    return f"超出范围（须在 {minimum} 至 {maximum} 之间）"


def parse_int(value, field: str, *, required: bool = False, minimum: int = INT_MIN,
              maximum: int = INT_MAX) -> int | None:
    """A whole number within [minimum, maximum]: ``42``, ``"42"``, ``"+42"``, ``"1,234"``, ``42.0``."""
    if _blank(value):
        return _missing(field, required)
    if isinstance(value, bool):
        raise ParseError(field, "须为整数，不是是/否")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float | Decimal):
        if not (math.isfinite(value) if isinstance(value, float) else value.is_finite()):
            raise ParseError(field, "须为有限的整数")
        if not minimum <= value <= maximum:
            raise ParseError(field, _range_message(minimum, maximum))
        if value != int(value):
            raise ParseError(field, f"“{shown(value)}”不是整数")
        number = int(value)
    elif isinstance(value, str):
        text = _text(value, field)
        if not _INTEGER.fullmatch(text):
            raise ParseError(field, f"“{shown(text)}”不是整数")
        number = int(text.replace(",", "").split(".")[0])
    else:
        raise ParseError(field, "须为整数")
    if not minimum <= number <= maximum:
        raise ParseError(field, _range_message(minimum, maximum))
    return number


def parse_decimal(value, field: str, *, minimum: Decimal | int, maximum: Decimal | int,
                  required: bool = False, places: int | None = None) -> Decimal | None:
    """A finite decimal within [minimum, maximum], rounded half-up to ``places`` decimals if given."""
    if _blank(value):
        return _missing(field, required)
    if isinstance(value, bool):
        raise ParseError(field, "须为数字，不是是/否")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ParseError(field, "须为有限的数字")
        number = Decimal(repr(value))
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        text = _text(value, field)
        if not _DECIMAL.fullmatch(text):
            raise ParseError(field, f"“{shown(text)}”不是有效的数字")
        number = Decimal(text)
    else:
        raise ParseError(field, "须为数字")
    if not number.is_finite():
        raise ParseError(field, "须为有限的数字")
    if not minimum <= number <= maximum:
        raise ParseError(field, _range_message(minimum, maximum))
    if places is not None:
        try:
            number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise ParseError(field, f"“{shown(value)}”不是有效的数字") from None
    return number


def parse_seconds(value, field: str, *, maximum: int = 86400) -> int:
    """A duration in whole seconds from ``35``, ``"35秒"``, ``"1:05"``, ``"00:01:05"`` or an Excel
    time/duration cell; blank is 0. At most ``maximum`` (a day by default)."""
    if _blank(value):
        return 0
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, dt.time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second
    elif isinstance(value, str):
        text = _text(value, field).removesuffix("秒").strip()
        if ":" in text:
            parts = text.split(":")
            if len(parts) > 3 or not all(p.isascii() and p.isdigit() and len(p) <= 6 for p in parts):
                raise ParseError(field, f"“{shown(value)}”不是有效的时长（秒数，或 分:秒、时:分:秒）")
            seconds = 0
            for part in parts:
                seconds = seconds * 60 + int(part)
        else:
            seconds = parse_decimal(text, field, minimum=0, maximum=maximum, required=True)
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        seconds = parse_decimal(value, field, minimum=0, maximum=maximum)
    else:
        raise ParseError(field, "须为时长（秒数，或 分:秒）")
    if not 0 <= seconds <= maximum:
        raise ParseError(field, f"时长超出范围（须在 0 至 {maximum} 秒之间）")
    return int(Decimal(seconds).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------------------------------------
# Booleans


def parse_bool(value, field: str, *, required: bool = False, true_words=(), false_words=()) -> bool | None:
    """True or False from a JSON boolean, 1/0, or a word (``true``/``false``, ``是``/``否``, …,
    plus the caller's ``true_words``/``false_words``); blank is None unless ``required``."""
    if _blank(value):
        return _missing(field, required)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, Decimal) and value.is_finite() and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = _text(value, field).casefold()
        if word in TRUE_WORDS or word in true_words:
            return True
        if word in FALSE_WORDS or word in false_words:
            return False
    raise ParseError(field, f"“{shown(value)}”不是是/否（可用 是/否、true/false、1/0）")


# ---------------------------------------------------------------------------------------------
# Phone numbers

_PHONE_CHARS = re.compile(r"\+?[0-9 ()./-]+", re.ASCII)
PHONE_MIN_DIGITS, PHONE_MAX_DIGITS = 5, 20  # 12345 and 95598 are numbers people call from, too


def parse_phone(value, field: str, *, required: bool = False) -> str:
    """A phone number in the one spelling the platform stores and searches (blank is "" unless
    ``required``):

    - a mobile as its 11 digits (``+86 137-0000-8888``, ``１３７ ００００ ８８８８`` → ``13700008888``);
    - a landline with its area code as ``area-local`` (``(0375)6012345``, ``03756012345`` →
      ``0375-6012345``, also written internationally as ``+86 375 6012345``; area codes starting
      01/02 have three digits, the others four);
    - anything else of 5–20 digits (service numbers, a local number without area code) as digits.

    Only digits, spaces, ``-./()`` and a leading ``+`` are allowed; full-width forms count as ASCII.
    """
    if _blank(value):
        if required:
            _missing(field, required)
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ParseError(field, "须为电话号码")
    text = _text(value, field).replace("\u3000", " ")
    if not _PHONE_CHARS.fullmatch(text):
        raise ParseError(field, f"“{shown(value)}”不是电话号码（只能包含数字、空格、连字符和括号）")
    digits = re.sub(r"[^0-9]", "", text)
    international = text.strip().startswith("+86") or digits.startswith("0086")
    for prefix in ("0086", "86"):
        rest = digits[len(prefix):]
        if digits.startswith(prefix) and len(rest) == 11 and rest.startswith("1"):
            digits = rest
            break
        # Written internationally a landline drops its trunk 0 (+86 375 6012345): put it back, so
        # the number is stored, masked and searched as the same 0375-6012345 as written at home.
        if international and digits.startswith(prefix) and 9 <= len(rest) <= 11 and (rest[0] in "23456789" or rest.startswith("10")):
            digits = "0" + rest
            break
    if not PHONE_MIN_DIGITS <= len(digits) <= PHONE_MAX_DIGITS:
        raise ParseError(field, f"“{shown(value)}”位数不对（电话号码须有 {PHONE_MIN_DIGITS}–{PHONE_MAX_DIGITS} 位数字）")
    if len(digits) == 11 and digits.startswith("1"):
        return digits
    if digits.startswith("0") and not digits.startswith("00") and 10 <= len(digits) <= 12:
        area = 3 if digits[1] in "12" else 4
        return f"{digits[:area]}-{digits[area:]}"
    return digits


def phone_spellings(value) -> list[str]:
    """What a typed number may be stored as: its one spelling, and for rows stored before
    ``parse_phone`` existed, the text as typed and its bare digits. Empty if it is no number."""
    try:
        canonical = parse_phone(value, "phone")
    except ParseError:
        return []
    typed = _text(value, "phone") if isinstance(value, str) else str(value)
    return sorted({canonical, typed, canonical.replace("-", "")} - {""})


# ---------------------------------------------------------------------------------------------
# JSON bodies

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth_exceeds(text: str, max_depth: int) -> bool:
    """Whether brackets outside strings nest deeper than ``max_depth``; stops at the first level
    too deep, so a body of a million ``[`` costs no more than ``max_depth`` steps past the start."""
    depth = 0
    for bracket in _BRACKET.finditer(_JSON_STRING.sub("", text)):
        if bracket[0] in "[{":
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


class _Constant(ValueError):
    """NaN or Infinity: Python's json reads them, JSON does not have them."""


def _refuse_constant(name: str):
    raise _Constant(name)


def _bad_string(text: str) -> str:
    if "\x00" in text:
        return NUL_MESSAGE
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "含有无效的 Unicode 字符（不成对的代理项）"
    return ""


def parse_json(body: bytes, field: str = "请求体", *, max_bytes: int, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """A JSON document from a request body, refused with ``ParseError`` before the decoder sees it
    when over ``max_bytes`` (status 413) or nested deeper than ``max_depth``; NaN/Infinity, NUL and
    unpaired surrogates anywhere in it are refused too."""
    if len(body) > max_bytes:
        raise ParseError(field, f"过大（上限 {max_bytes // 1024} KB）", status=413)
    if b"\x00" in body:
        raise ParseError(field, NUL_MESSAGE)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError(field, "不是有效的 UTF-8 文本") from None
    if json_depth_exceeds(text, max_depth):
        raise ParseError(field, f"嵌套过深（不超过 {max_depth} 层）")
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as e:
        raise ParseError(field, f"不是有效的 JSON（第 {e.lineno} 行第 {e.colno} 列附近有误）") from None
    except _Constant as e:
        raise ParseError(field, f"不是有效的 JSON（不支持 {e}）") from None
    except (ValueError, RecursionError):
        # int() refuses numbers of more than 4,300 digits; the depth check makes recursion moot.
        raise ParseError(field, "不是有效的 JSON（数字位数过多）") from None
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                if problem := _bad_string(key):
                    raise ParseError(field, f"字段名{problem}")
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and (problem := _bad_string(item)):
            raise ParseError(field, problem)
    return data


READS_RAW_BODY = "reads_raw_body"


def reads_raw_body(view):
    """Mark a view that reads ``request.body`` itself and parses it with :func:`parse_json`: the
    NUL middleware leaves its multipart bodies unparsed (Django cannot hand a view the raw body of
    a form it has already parsed), and ``parse_json`` refuses NUL in whatever arrives."""
    setattr(view, READS_RAW_BODY, True)
    return view
