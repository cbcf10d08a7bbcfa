"""Working-day arithmetic on the statutory calendar (pure)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hotline.lib.workcalendar import (
    HOURS,
    WORKING_DAYS,
    CalendarYearUnknown,
    WorkCalendar,
    compute_deadline,
    package_knows,
)

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()


def test_national_day_holiday_is_skipped():
    # 2023: 9/29–10/6 off (Mid-Autumn + National Day); Sat 10/7 and Sun 10/8 are adjusted workdays.
    start = dt.datetime(2023, 9, 28, 10, 0, tzinfo=TZ)
    deadline = compute_deadline(CAL, start, 1, WORKING_DAYS)
    assert deadline.at == dt.datetime(2023, 10, 7, 23, 59, 59, tzinfo=TZ)
    assert not deadline.provisional


def test_adjusted_saturday_counts_as_a_working_day():
    assert CAL.is_workday(dt.date(2023, 10, 7))  # Saturday, 调休上班
    assert not CAL.is_workday(dt.date(2023, 10, 2))  # Monday, 国庆
    start = dt.datetime(2023, 10, 6, 16, 0, tzinfo=TZ)
    assert compute_deadline(CAL, start, 2, WORKING_DAYS).at.date() == dt.date(2023, 10, 8)


def test_five_working_days_over_a_weekend():
    start = dt.datetime(2023, 7, 3, 9, 0, tzinfo=TZ)  # Monday
    assert compute_deadline(CAL, start, 5, WORKING_DAYS).at.date() == dt.date(2023, 7, 10)


def test_hours_are_calendar_hours():
    start = dt.datetime(2023, 10, 1, 22, 0, tzinfo=TZ)
    assert compute_deadline(CAL, start, 24, HOURS).at == dt.datetime(2023, 10, 2, 22, 0, tzinfo=TZ)


def test_unknown_year_falls_back_to_weekdays_with_a_warning():
    year = next(y for y in range(2026, 2040) if not package_knows(y))
    start = dt.datetime(year, 1, 1, 9, 0, tzinfo=TZ)
    deadline = compute_deadline(CAL, start, 3, WORKING_DAYS)
    assert deadline.provisional and deadline.assumed_years == (year,)
    assert f"{year}年节假日安排未录入" in deadline.warning()
    assert deadline.at.weekday() < 5


def test_strict_mode_names_the_missing_year_in_chinese():
    year = next(y for y in range(2026, 2040) if not package_knows(y))
    with pytest.raises(CalendarYearUnknown, match=f"{year}年"):
        WorkCalendar(strict=True).is_workday(dt.date(year, 3, 3))


def test_admin_overrides_win_and_configure_a_year():
    year = next(y for y in range(2026, 2040) if not package_knows(y))
    holiday = dt.date(year, 1, 1)
    cal = WorkCalendar(overrides={holiday: False, dt.date(2023, 7, 3): False}, configured_years=frozenset({year}))
    assert not cal.is_workday(holiday)
    assert not cal.is_workday(dt.date(2023, 7, 3))  # an override beats the package too
    start = dt.datetime(year, 1, 1, 9, 0, tzinfo=TZ)
    assert not compute_deadline(cal, start, 1, WORKING_DAYS).provisional


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        compute_deadline(CAL, dt.datetime(2023, 7, 3, 9, 0), 1, WORKING_DAYS)
