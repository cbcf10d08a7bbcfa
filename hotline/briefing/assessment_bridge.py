"""The month's assessment annexes for the briefing.

Published results come from ``hotline.assessment.results`` (``annex_rows``, ``best_and_worst``)
when that module exists and has a result for the month. Otherwise the annexes are computed here
from the month's statistics with the pure engine and the default scorecards — a provisional
ranking, good enough for a draft; publish the month's assessment for the real one.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Sequence
from dataclasses import dataclass

from hotline.analytics.stats import PeriodStats, UnitRates
from hotline.assessment import engine
from hotline.assessment.default_scorecard import DEPARTMENT, TOWNSHIP, default_scorecard
from hotline.briefing.data import AnnexRow, AnnexTable
from hotline.briefing.narrative import month_label

GROUP_TITLES = {TOWNSHIP: "乡镇街道考核表", DEPARTMENT: "市直单位考核表"}


@dataclass(frozen=True)
class Assessment:
    annexes: tuple[AnnexTable, ...]
    best: tuple[str, ...]
    worst: tuple[str, ...]
    source: str  # "published" or "computed"


def _as_annex(item) -> AnnexTable:
    if isinstance(item, AnnexTable):
        return item
    title, rows, note = item if isinstance(item, tuple | list) else (item.title, item.rows, item.note)
    return AnnexTable(title, tuple(r if isinstance(r, AnnexRow) else AnnexRow(r[0], engine.to_decimal(r[1]), int(r[2]))
                                   for r in rows), note or "")


def published(year: int, month: int) -> Assessment | None:
    try:
        results = importlib.import_module("hotline.assessment.results")
    except ImportError:
        return None
    annex_rows = getattr(results, "annex_rows", None)
    if annex_rows is None:
        return None
    annexes = annex_rows(year, month)
    if not annexes:
        return None
    best, worst = (), ()
    if hasattr(results, "best_and_worst"):
        best, worst = results.best_and_worst(year, month) or ((), ())
    return Assessment(tuple(_as_annex(a) for a in annexes), tuple(best), tuple(worst), "published")


def _figures(members: Sequence[UnitRates], name: str, unit_id, stationing_noncompliant: bool) -> engine.UnitFigures:
    """One unit's figures (a sub-unit such as 车管所 is summed into its parent)."""
    def total(get):
        return sum(get(m) for m in members)

    excluded = total(lambda m: m.excluded)
    counts = {
        "signed_on_time": total(lambda m: m.rates.sign.numerator),
        "dispatched": total(lambda m: m.rates.sign.denominator),
        "closed_on_time": total(lambda m: m.rates.on_time.numerator),
        "due": total(lambda m: m.rates.on_time.denominator),
        "satisfied": total(lambda m: m.rates.satisfaction.numerator),
        "callbacks": total(lambda m: m.rates.satisfaction.denominator),
        "solved": total(lambda m: m.rates.solved.numerator),
        "upstream_satisfied": total(lambda m: m.upstream_satisfied),
        "upstream_callbacks": total(lambda m: m.upstream_callbacks),
        # No reply-quality review is recorded yet: every reply counts as compliant.
        "replies_compliant": total(lambda m: m.replies),
        "replies": total(lambda m: m.replies),
        "overdue": total(lambda m: m.overdue),
        "unjustified_returns": total(lambda m: m.returns_rejected),
        "reworks": total(lambda m: m.rates.rework.numerator),
        "supervision_failed": total(lambda m: m.supervision_failed),
        "stationing_noncompliant": 1 if stationing_noncompliant else 0,
    }
    return engine.UnitFigures(unit_id=unit_id, unit_name=name,
                              order_count=max(total(lambda m: m.orders) - excluded, 0),
                              counts=counts, excluded_count=excluded)


def computed(stats: PeriodStats, month: int, *, min_orders: int | None = None) -> Assessment:
    """Score every township and department from the statistics with the default scorecards."""
    from hotline.directory.models import Unit

    by_unit = {u.unit_id: u for u in stats.unit_rates}
    noncompliant = set(stats.stationing_noncompliant)
    annexes, best, worst = [], [], []
    for group in (TOWNSHIP, DEPARTMENT):
        card = default_scorecard(group)
        if min_orders is not None:
            card = dataclasses.replace(card, min_orders=min_orders)
        units = list(Unit.objects.filter(active=True, group__key=group).order_by("position", "code"))
        children: dict[int, list[UnitRates]] = {}
        for rates in stats.unit_rates:
            if rates.parent_id and not rates.group:
                children.setdefault(rates.parent_id, []).append(rates)
        figures = []
        for unit in units:
            members = [m for m in [by_unit.get(unit.pk), *children.get(unit.pk, [])] if m]
            figures.append(_figures(members, unit.short_name, unit.pk, unit.name in noncompliant))
        result = engine.score_group(card, figures)
        names = {u.pk: u.name for u in units}
        best += [names[r.unit_id] for r in result.best(1)]
        worst += [names[r.unit_id] for r in result.worst(1) if r.rank != 1]
        if result.ranked:
            annexes.append(AnnexTable(f"{month_label(month)}{GROUP_TITLES[group]}",
                                      tuple(AnnexRow(r.unit_name, r.score.score, r.rank) for r in result.ranked)))
    if annexes:
        last = annexes[-1]
        annexes[-1] = AnnexTable(last.title, last.rows, f"注：工单量小于{min_orders or 6}件的单位不计入考核")
    return Assessment(tuple(annexes), tuple(best), tuple(worst), "computed")


def month_assessment(year: int, month: int, stats: PeriodStats, *, min_orders: int | None = None) -> Assessment:
    return published(year, month) or computed(stats, month, min_orders=min_orders)
