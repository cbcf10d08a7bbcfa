"""The one tolerant parser (hotline.lib.parsing): what it reads, what it refuses, and that no input
whatsoever makes it raise anything but ParseError (a ValueError that names the field in Chinese).

Pure: no database. The property tests feed it arbitrary text, numbers, datetimes in any zone and
JSON of any shape; the example tables pin the shapes Chinese exports and upstream platforms use.
"""

import datetime as dt
import json
import string
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.lib import parsing
from hotline.lib.parsing import ParseError

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIELD = "登记时间"
PARSERS = [
    lambda v: parsing.parse_datetime(v, FIELD),
    lambda v: parsing.parse_datetime(v, FIELD, end_of_day=True),
    lambda v: parsing.parse_date(v, FIELD),
    lambda v: parsing.parse_month(v, FIELD),
    lambda v: parsing.parse_int(v, FIELD),
    lambda v: parsing.parse_decimal(v, FIELD, minimum=-90, maximum=90, places=6),
    lambda v: parsing.parse_bool(v, FIELD),
    lambda v: parsing.parse_seconds(v, FIELD),
]

# Text that looks like dates and numbers, broken in every way, plus anything at all.
datelike = st.text(alphabet="0123456789-/.:年月日时分秒T Zz+,", max_size=30)
anything = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.decimals(), st.text(), datelike,
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.timezones()),
    st.dates(), st.times(), st.timedeltas(), st.binary(), st.lists(st.integers(), max_size=3),
)


@pytest.mark.parametrize("parse", range(len(PARSERS)))
@given(value=anything)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_input_raises_anything_but_a_parse_error_naming_the_field(parse, value):
    try:
        PARSERS[parse](value)
    except ParseError as e:
        assert e.field == FIELD and str(e).startswith(f"{FIELD}：") and e.status == 400
        assert all(ch.isprintable() for ch in e.message)  # quoted values cannot break a page or XML


@given(value=st.one_of(anything, datelike))
@settings(max_examples=500, deadline=None)
def test_a_parsed_datetime_is_aware_on_the_centers_clock_and_within_the_years(value):
    try:
        parsed = parsing.parse_datetime(value, FIELD)
    except ParseError:
        return
    if parsed is not None:
        assert parsed.tzinfo is not None and parsed.utcoffset() == dt.timedelta(hours=8)
        assert parsing.MIN_YEAR - 1 <= parsed.year <= parsing.MAX_YEAR + 1


@given(when=st.datetimes(min_value=dt.datetime(2000, 1, 2), max_value=dt.datetime(2100, 12, 30)),
       offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_iso_8601_with_any_valid_offset_keeps_the_instant(when, offset_minutes):
    aware = when.replace(tzinfo=dt.timezone(dt.timedelta(minutes=offset_minutes)))
    for text in (aware.isoformat(), aware.isoformat(sep=" "), aware.isoformat().replace("+00:00", "Z")):
        assert parsing.parse_datetime(text, FIELD) == aware


@given(day=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_every_spelling_of_a_day_is_the_same_day(day):
    spellings = [day.isoformat(), f"{day.year}/{day.month}/{day.day}", f"{day.year}.{day.month}.{day.day}",
                 f"{day.year}年{day.month}月{day.day}日", f"{day.year}-{day.month}-{day.day}",
                 f"{day.year}年{day.month}月{day.day}日".translate(str.maketrans(string.digits, "０１２３４５６７８９"))]
    for text in spellings:
        assert parsing.parse_date(text, FIELD) == day
        assert parsing.parse_datetime(text, FIELD) == dt.datetime.combine(day, dt.time(), SHANGHAI)
        assert parsing.parse_datetime(text, FIELD, end_of_day=True) == \
            dt.datetime.combine(day, dt.time(23, 59, 59), SHANGHAI)


@pytest.mark.parametrize("text, expected", [
    ("2023-07-03T09:30:00+08:00", (2023, 7, 3, 9, 30)),
    ("2023-07-03T01:30:00Z", (2023, 7, 3, 9, 30)),
    ("2023-07-03 09:30", (2023, 7, 3, 9, 30)),
    ("2023/7/3 9:30", (2023, 7, 3, 9, 30)),
    ("2023.7.3 09:30:15", (2023, 7, 3, 9, 30, 15)),
    ("2023年7月3日 9时30分", (2023, 7, 3, 9, 30)),
    ("2023年7月3日9时30分15秒", (2023, 7, 3, 9, 30, 15)),
    ("２０２３／７／３　９：３０", (2023, 7, 3, 9, 30)),
    ("2023-07-03T09:30:00.250+0800", (2023, 7, 3, 9, 30, 0, 250000)),
    ("2023-07-02T21:30-12:00", (2023, 7, 3, 17, 30)),
])
def test_the_shapes_exports_and_platforms_write(text, expected):
    assert parsing.parse_datetime(text, FIELD) == dt.datetime(*expected, tzinfo=SHANGHAI)


@override_settings(TIME_ZONE="Asia/Urumqi")
def test_naive_means_the_centers_configured_zone():
    assert parsing.parse_datetime("2023-07-03 09:30", FIELD) == dt.datetime(2023, 7, 3, 9, 30,
                                                                             tzinfo=ZoneInfo("Asia/Urumqi"))
    assert parsing.parse_datetime(dt.datetime(2023, 7, 3, 9, 30), FIELD).utcoffset() == dt.timedelta(hours=6)


@pytest.mark.parametrize("text, words", [
    ("2023-02-30", "2023 年 2 月没有 30 日"),
    ("2024-02-30 08:00", "2024 年 2 月没有 30 日"),
    ("2023-13-01", "月份 13 不存在"),
    ("2023-07-03 25:00", "小时须为 0–23"),
    ("2023-07-03 24:00", "小时须为 0–23"),
    ("2023-07-03 09:60", "分、秒须为 0–59"),
    ("2023-07-03T09:00:00+99:00", "须在 -14:00 至 +14:00 之间"),
    ("2023-07-03T09:00:00+14:01", "须在 -14:00 至 +14:00 之间"),
    ("2023-07-03T09:00:00+08:75", "分钟须为 0–59"),
    ("0001-01-01", "年份 1 超出范围"),
    ("9999-12-31T23:59:59+14:00", "年份 9999 超出范围"),
    ("1999-12-31", "年份 1999 超出范围"),
    ("2023-07-03+08:00", "只有日期却带时区"),
    ("下周一", "不是有效的时间"),
    ("7/3/2023", "不是有效的时间"),
    ("2023-07-03" + "0" * 100, "过长"),
])
def test_impossible_times_are_refused_with_the_reason(text, words):
    with pytest.raises(ParseError) as info:
        parsing.parse_datetime(text, FIELD)
    assert info.value.field == FIELD and words in info.value.message, info.value.message


def test_limits_on_either_side():
    assert parsing.parse_datetime("2000-01-01 00:00", FIELD).year == 2000
    assert parsing.parse_datetime("2100-12-31 23:59:59", FIELD).year == 2100
    with pytest.raises(ParseError, match="不能晚于"):
        parsing.parse_date("2023-07-04", FIELD, latest=dt.date(2023, 7, 3))
    with pytest.raises(ParseError, match="年份 1 超出范围"):
        parsing.parse_datetime(dt.datetime(1, 1, 1), FIELD)
    with pytest.raises(ParseError, match="时区偏移超出范围"):
        parsing.parse_datetime(dt.datetime(2023, 7, 3, tzinfo=dt.timezone(dt.timedelta(hours=20))), FIELD)


@pytest.mark.parametrize("value, expected", [
    ("false", False), ("False", False), ("0", False), ("否", False), ("no", False), ("off", False), (0, False),
    (False, False), ("true", True), ("TRUE", True), ("1", True), ("是", True), ("yes", True), (1, True), (1.0, True),
    (None, None), ("", None), ("  ", None),
])
def test_booleans(value, expected):
    assert parsing.parse_bool(value, "保密") is expected


@pytest.mark.parametrize("value", ["maybe", "2", 2, -1, 0.5, "truthy", [], {}])
def test_unknown_booleans_are_errors(value):
    with pytest.raises(ParseError, match="不是是/否"):
        parsing.parse_bool(value, "保密")


def test_callers_add_their_own_words():
    assert parsing.parse_bool("保密", "是否保密", true_words={"保密"}) is True
    with pytest.raises(ParseError):
        parsing.parse_bool("保密", "是否保密")


@given(st.integers(min_value=parsing.INT_MIN, max_value=parsing.INT_MAX))
def test_integers_in_every_spelling(n):
    for value in (n, str(n), f"{n:,}", float(n), f"{n}.0", Decimal(n)):
        assert parsing.parse_int(value, "通话时长") == n


@pytest.mark.parametrize("value", ["9" * 40, 2**63, "1e5", "inf", float("inf"), float("nan"), "1.5", 1.5, True, "１２a"])
def test_huge_or_broken_integers_are_refused(value):
    with pytest.raises(ParseError):
        parsing.parse_int(value, "通话时长")


@pytest.mark.parametrize("value, expected", [
    ("34.1675", Decimal("34.167500")), (34.1675, Decimal("34.167500")), ("-90", Decimal("-90.000000")),
    ("1e1", Decimal("10.000000")), ("0.0000005", Decimal("0.000001")),
])
def test_decimals(value, expected):
    assert parsing.parse_decimal(value, "lat", minimum=-90, maximum=90, places=6) == expected


@pytest.mark.parametrize("value", ["91", "1e999", "-1e400", "NaN", "Infinity", float("nan"), "north", "1e99999999999"])
def test_decimals_out_of_range_or_not_numbers(value):
    with pytest.raises(ParseError):
        parsing.parse_decimal(value, "lat", minimum=-90, maximum=90, places=6)


@pytest.mark.parametrize("value, expected", [
    (35, 35), ("35", 35), ("35秒", 35), ("1:05", 65), ("00:01:05", 65), (dt.time(0, 1, 5), 65),
    (dt.timedelta(minutes=2), 120), (35.4, 35), ("", 0), (None, 0),
])
def test_durations(value, expected):
    assert parsing.parse_seconds(value, "通话时长") == expected


@pytest.mark.parametrize("value", ["inf", float("inf"), "1e308", -5, "1:2:3:4", "a:b", "99999999:00", "86401"])
def test_impossible_durations(value):
    with pytest.raises(ParseError):
        parsing.parse_seconds(value, "通话时长")


@pytest.mark.parametrize("text, expected", [("2023-07", (2023, 7)), ("2023/7", (2023, 7)), ("2023年7月", (2023, 7)),
                                            ("202307", (2023, 7)), ("2023年07月份", (2023, 7))])
def test_months(text, expected):
    assert parsing.parse_month(text, "月份") == expected


@pytest.mark.parametrize("text", ["0001-01", "2023-13", "2023-00", "July"])
def test_bad_months(text):
    with pytest.raises(ParseError):
        parsing.parse_month(text, "月份")


# ---------------------------------------------------------------------------------------------
# JSON bodies

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


def _clean(value) -> bool:
    if isinstance(value, str):
        return "\x00" not in value
    if isinstance(value, list):
        return all(_clean(v) for v in value)
    if isinstance(value, dict):
        return all(_clean(k) and _clean(v) for k, v in value.items())
    return True


@given(json_values)
def test_json_round_trips_when_clean_and_is_refused_when_it_holds_nul(value):
    body = json.dumps(value, ensure_ascii=False).encode()
    if _clean(value):
        assert parsing.parse_json(body, max_bytes=10**6) == value
    else:
        with pytest.raises(ParseError, match="NUL"):
            parsing.parse_json(body, max_bytes=10**6)


@given(depth=st.integers(min_value=1, max_value=200), brackets=st.sampled_from(["[]", "{}"]),
       noise=st.text(alphabet='[]{}"\\', max_size=20))
def test_depth_is_checked_before_decoding(depth, brackets, noise):
    open_, close = brackets
    inner = json.dumps(noise)  # brackets inside a string do not count
    body = (('{"a":' if open_ == "{" else "[") * depth + inner + close * depth).encode()
    if depth <= parsing.MAX_JSON_DEPTH:
        assert parsing.parse_json(body, max_bytes=10**6) is not None
    else:
        with pytest.raises(ParseError, match="嵌套过深"):
            parsing.parse_json(body, max_bytes=10**6)


@given(st.binary(max_size=200))
def test_any_bytes_parse_or_are_refused(body):
    try:
        parsing.parse_json(body, max_bytes=100)
    except ParseError as e:
        assert e.status in (400, 413) and e.field == "请求体"


@pytest.mark.parametrize("body, words, status", [
    (b"[" * 5000 + b"]" * 5000, "嵌套过深", 400),
    (b'{"a": "\\u0000"}', "NUL", 400),
    (b'{"a\\u0000": 1}', "NUL", 400),
    (b'{"a": "x\x00"}', "NUL", 400),
    (b'{"a": "\\ud800"}', "代理项", 400),
    (b'{"a": NaN}', "NaN", 400),
    (b'{"a": -Infinity}', "Infinity", 400),
    (b'{"a": ' + b"9" * 5000 + b"}", "数字位数过多", 400),
    (b"\xff\xfe", "UTF-8", 400),
    (b'{"a": ', "第 1 行", 400),
    (b"[" + b"1," * 100_000 + b"1]", "过大", 413),
])
def test_hostile_bodies(body, words, status):
    with pytest.raises(ParseError) as info:
        parsing.parse_json(body, max_bytes=100 * 1024)
    assert words in info.value.message and info.value.status == status
