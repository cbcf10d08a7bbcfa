"""How a scale is laid out in time: the measured month, and the phases that grow the history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hotline.lib import clock

# 30k over the default six months is a Ruzhou-size month (~5,000 orders, the seed's 5,043).
SCALES = {"5k": 5_000, "30k": 30_000, "50k": 50_000, "200k": 200_000, "1m": 1_000_000, "2m": 2_000_000, "5m": 5_000_000,
          "10m": 10_000_000}


@dataclass(frozen=True)
class Phase:
    """Orders received in [start, end): one load step of the history."""

    start: dt.datetime
    end: dt.datetime
    orders: int


def month_start(d: dt.datetime, back: int = 0) -> dt.datetime:
    local = clock.local(d)
    y, m = local.year, local.month - back
    while m < 1:
        y, m = y - 1, m + 12
    return clock.day_start(dt.date(y, m, 1))


def measured_month(now: dt.datetime) -> tuple[int, int]:
    """The last complete calendar month before ``now`` (local): the one stats/assessment/briefing build."""
    first = month_start(now, 1)
    return first.year, first.month


def phases(total: int, months: int, now: dt.datetime) -> list[Phase]:
    """Three windows ending at ``now`` with the same density of orders per day.

    Phase 0 holds the measured month and the current one; phase 1 grows the history to about half
    of ``total``; phase 2 to all of it. Loading them one after the other (newest first) and
    building the measured month after each gives the cost against the size of the history.
    """
    start = now - dt.timedelta(days=round(months * 30.44))
    first = month_start(now, 1)
    span = (now - start).total_seconds()
    per_second = total / span
    recent = int((now - first).total_seconds() * per_second)
    half_start = max(start, now - dt.timedelta(seconds=span / 2))
    if half_start >= first:
        half_start = start + (first - start) / 2
    middle = int((first - half_start).total_seconds() * per_second)
    return [Phase(first, now, recent), Phase(half_start, first, middle),
            Phase(start, half_start, total - recent - middle)]
