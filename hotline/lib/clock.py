"""The center's clock: the one place that turns instants into the center's days and months.

A hotline center lives on its own wall clock (``settings.TIME_ZONE``, Asia/Shanghai unless the
deployment says otherwise). Instants are stored in UTC, but every decision about *which day* or
*which month* something belongs to — a working-day deadline, "today's" counts, a month's
statistics and assessment, a sweep at midnight — is made here, in that time zone, whatever time
zone the caller's datetime carries. A naive datetime coming from outside (an Excel sheet, an
upstream platform, a query string) means the center's local time.

The center's time zone is the configured default, not the request's current time zone: a
figure must not change with who looks at it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

END_OF_DAY = dt.time(23, 59, 59)


def tz() -> ZoneInfo:
    """The center's time zone (``settings.TIME_ZONE``)."""
    return timezone.get_default_timezone()


def now() -> dt.datetime:
    """The current instant on the center's wall clock (aware)."""
    return timezone.now().astimezone(tz())


def today() -> dt.date:
    """The center's calendar day now."""
    return now().date()


def local(value: dt.datetime) -> dt.datetime:
    """An aware datetime on the center's wall clock; a naive one is refused (its meaning is unknown
    here — use :func:`aware` for input that means local time)."""
    if timezone.is_naive(value):
        raise ValueError("时间必须带时区")
    return value.astimezone(tz())


def local_date(value: dt.datetime) -> dt.date:
    """The center's calendar day of an aware instant."""
    return local(value).date()


def aware(value: dt.datetime) -> dt.datetime:
    """A datetime from outside as an aware one: naive means the center's local time; an aware one
    keeps its instant and is shown on the center's clock."""
    if timezone.is_naive(value):
        return timezone.make_aware(value, tz())
    return value.astimezone(tz())


def day_start(day: dt.date) -> dt.datetime:
    """00:00 of the center's day ``day`` (aware)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), tz())


def end_of_day(day: dt.date) -> dt.datetime:
    """23:59:59 of the center's day ``day``: the moment a working-day deadline ends."""
    return timezone.make_aware(dt.datetime.combine(day, END_OF_DAY), tz())


def days_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the center's days ``first`` to ``last`` inclusive, as instants."""
    return day_start(first), day_start(last + dt.timedelta(days=1))


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of one of the center's days."""
    return days_bounds(day, day)


def month_first(year: int, month: int) -> dt.date:
    return dt.date(year, month, 1)


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def month_last(year: int, month: int) -> dt.date:
    return month_first(*next_month(year, month)) - dt.timedelta(days=1)


def month_bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the center's calendar month, as instants: an order registered at 00:00 local
    on the 1st belongs to the month, one at 23:59:59 local on its last day too."""
    return day_start(month_first(year, month)), day_start(month_first(*next_month(year, month)))


def month_of(value: dt.datetime) -> tuple[int, int]:
    """(year, month) of the center's calendar month an aware instant falls in."""
    day = local_date(value)
    return day.year, day.month
