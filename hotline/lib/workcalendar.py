"""Working-day arithmetic on China's statutory calendar (pure: no database).

``chinese-calendar`` knows the State Council's holiday and adjusted-workday (调休) arrangements
for the years it ships with and raises ``NotImplementedError`` for later ones. A hotline cannot
refuse a citizen's order because next year's arrangement is not published yet, so for an
unknown year the calendar falls back to Monday–Friday and reports the year as *assumed*; the
caller stores that fact on the deadline and the admin is told to enter the year's overrides.
An admin override (a date that is or is not a working day) always wins.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import chinese_calendar

from hotline.lib import clock


class CalendarYearUnknown(Exception):
    """Raised in strict mode when a year has neither package data nor admin overrides."""

    def __init__(self, year: int):
        self.year = year
        super().__init__(
            f"工作日历缺少{year}年的法定节假日和调休安排：请管理员在“节假日调整”中录入{year}年的安排，"
            f"录入前按周一至周五计算工作日。"
        )


@functools.cache  # the package's data is fixed for the life of the process
def package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@dataclass(frozen=True)
class WorkCalendar:
    """A working-day calendar: package data plus admin overrides.

    ``overrides`` maps a date to True (working day) or False (day off). ``configured_years`` are
    the years an admin has declared complete, which makes them known even when the package is not.
    """

    overrides: Mapping[dt.date, bool] = field(default_factory=dict)
    configured_years: frozenset[int] = frozenset()
    strict: bool = False
    # Each day's answer, once worked out: a calendar is kept per process (hotline.workorders.sla) and
    # every deadline walks the same few days, each of which the package looks up slowly.
    _days: dict[dt.date, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    def year_known(self, year: int) -> bool:
        return year in self.configured_years or package_knows(year)

    def is_workday(self, day: dt.date) -> bool:
        found = self._days.get(day)
        if found is None:
            found = self._days[day] = self._is_workday(day)
        return found

    def _is_workday(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in self.configured_years:
            return day.weekday() < 5
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            if self.strict:
                raise CalendarYearUnknown(day.year) from None
            return day.weekday() < 5

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days d with start <= d <= end."""
        count = 0
        day = start
        while day <= end:
            count += self.is_workday(day)
            day += dt.timedelta(days=1)
        return count

    def nth_workday_after(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day strictly after ``day`` (n >= 1); ``day`` itself for n == 0."""
        if n < 0:
            raise ValueError("工作日数不能为负数")
        current = day
        remaining = n
        while remaining:
            current += dt.timedelta(days=1)
            if self.is_workday(current):
                remaining -= 1
        return current

    def assumed_years(self, start: dt.date, end: dt.date) -> list[int]:
        """Years touched by [start, end] whose arrangement is only assumed (Mon–Fri)."""
        return [y for y in range(start.year, end.year + 1) if not self.year_known(y)]


@dataclass(frozen=True)
class Deadline:
    at: dt.datetime
    assumed_years: tuple[int, ...] = ()

    @property
    def provisional(self) -> bool:
        return bool(self.assumed_years)

    def warning(self) -> str:
        if not self.assumed_years:
            return ""
        years = "、".join(f"{y}年" for y in self.assumed_years)
        return f"{years}节假日安排未录入，时限暂按周一至周五计算"


HOURS = "hours"
WORKING_DAYS = "working_days"


def compute_deadline(calendar: WorkCalendar, start: dt.datetime, amount: int, unit: str) -> Deadline:
    """Deadline ``amount`` hours or working days after ``start`` (an aware datetime).

    Working days: the end (23:59:59) of the ``amount``-th working day after the start day, both
    on the center's clock (``hotline.lib.clock``) whatever time zone ``start`` carries — an order
    registered at 07:30 local is 23:30 UTC the day before, and must still count from its local
    day. The day an order arrives does not count, so an order received on Friday evening with one
    working day is due Monday night, and one received the day before a holiday is due after it.
    Hours are calendar hours (特急 and outages run through nights).
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    start = clock.local(start)
    if unit == HOURS:
        at = start + dt.timedelta(hours=amount)
        return Deadline(at, ())
    if unit != WORKING_DAYS:
        raise ValueError(f"未知的时限单位：{unit}")
    first = start.date()
    day = calendar.nth_workday_after(first, amount)
    return Deadline(clock.end_of_day(day), tuple(calendar.assumed_years(first, day)))


def earliest(*values: dt.datetime | None) -> dt.datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def calendar_from_rows(rows: Iterable[tuple[dt.date, bool]], years: Iterable[int] = ()) -> WorkCalendar:
    return WorkCalendar(overrides=dict(rows), configured_years=frozenset(years))
