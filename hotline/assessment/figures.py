"""A month's figures as the engine's ``UnitFigures``: ``hotline.metrics.units`` for the month.

Every count is defined once in ``hotline.metrics.definitions`` (docs/metrics.md) and counted by
``hotline.metrics.units.unit_metrics`` — the same query the statistics read, so a score sheet's
"14/14 = 100.00%" is the statistics page's figure for the unit and month. This module only picks
the assessed units (active, with a group), adds stationing (派驻) for the month, and hands the
counts and the order numbers behind each shortfall to the engine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from hotline.assessment.engine import UnitFigures
from hotline.directory.models import Unit, stationing_compliance
from hotline.lib import clock
from hotline.metrics.definitions import UNIT_COUNT_KEYS
from hotline.metrics.units import EVIDENCE_KEYS, REPLY_MIN_CHARS, unit_metrics

__all__ = ["COUNT_KEYS", "EVIDENCE_KEYS", "REPLY_MIN_CHARS", "UnitMonth", "build_unit_months", "month_range"]

COUNT_KEYS = UNIT_COUNT_KEYS


def month_range(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """[first instant, first instant of next month) on the center's clock."""
    return clock.month_bounds(year, month)


@dataclass
class UnitMonth:
    """What figures.py knows about one assessed unit besides the counts."""

    unit: Unit
    order_count: int = 0
    excluded_orders: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    evidence: dict[str, list[str]] = field(default_factory=dict)

    def to_figures(self, **extra) -> UnitFigures:
        return UnitFigures(
            unit_id=self.unit.pk,
            unit_name=self.unit.short_name,
            order_count=self.order_count,
            counts=dict(self.counts),
            evidence={k: tuple(v) for k, v in self.evidence.items()},
            excluded_count=len(self.excluded_orders),
            excluded_orders=tuple(self.excluded_orders),
            **extra,
        )


def assessed_units() -> list[Unit]:
    """Active units with an assessment group, in the directory's order."""
    return list(Unit.objects.filter(active=True, group__isnull=False).select_related("group")
                .order_by("group__position", "position", "code"))


def build_unit_months(year: int, month: int, *, as_of: dt.datetime) -> dict[int, UnitMonth]:
    """Every assessed unit's counts and evidence for the month, keyed by unit id.

    ``as_of`` is the cut-off: a limit that had not passed by then is not (yet) a failure.
    """
    units = assessed_units()
    metrics = unit_metrics(*month_range(year, month), as_of=as_of, using="default", units=units)
    months = {}
    for u in units:
        m = metrics[u.pk]
        months[u.pk] = UnitMonth(unit=u, order_count=m.counts["orders"], excluded_orders=list(m.excluded_orders),
                                 counts=dict(m.counts), evidence={k: list(v) for k, v in m.evidence.items()})
    for unit, complies in stationing_compliance(year, month).items():
        if unit.pk in months and not complies:
            months[unit.pk].counts["stationing_noncompliant"] = 1
    return months
