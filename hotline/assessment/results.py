"""Monthly results: scoring a month from the database, and reading frozen results back.

``score_month`` builds every group's ``RankedResult`` from the month's figures plus what people
entered (approved adjustments, bonuses, accepted appeals); ``hotline.assessment.actions`` stores
it as a ``MonthlyResult`` version. The readers here (``annex_rows``, ``best_and_worst``,
``unit_sheet``) only ever read frozen JSON, so a published table never changes under the briefing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hotline.assessment.annex import AnnexRow, AnnexTable
from hotline.assessment.default_scorecard import scorecard_to_data
from hotline.assessment.engine import (
    Adjustment,
    BonusClaim,
    RankedResult,
    UnitScore,
    score_group,
)
from hotline.assessment.figures import build_unit_months
from hotline.assessment.models import Appeal, BonusAward, ManualAdjustment, MonthlyResult, ScorecardVersion
from hotline.directory.models import Unit, UnitGroup

CHINESE_MONTHS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二")


class AssessmentError(Exception):
    """A refused assessment operation, with a Chinese message for people."""


def _person(user) -> str:
    if user is None:
        return ""
    return getattr(user, "display_name", "") or user.get_username()


def score_month(year: int, month: int, *, as_of: dt.datetime) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Score every group for the month: (groups for ``MonthlyResult.groups``, inputs used)."""
    unit_months = build_unit_months(year, month, as_of=as_of)

    adjustments: dict[int, list[Adjustment]] = defaultdict(list)
    inputs: dict[str, list[int]] = {"adjustments": [], "bonuses": [], "appeals": []}
    for adj in (ManualAdjustment.objects.filter(year=year, month=month)
                .exclude(state=ManualAdjustment.State.REJECTED)
                .select_related("entered_by", "approved_by").order_by("entered_at", "id")):
        approved = adj.state == ManualAdjustment.State.APPROVED
        adjustments[adj.unit_id].append(Adjustment(points=adj.points, reason=adj.reason, approved=approved,
                                                   entered_by=_person(adj.entered_by),
                                                   approved_by=_person(adj.approved_by)))
        inputs["adjustments"].append(adj.pk)
    for appeal in (Appeal.objects.filter(year=year, month=month, state=Appeal.State.ACCEPTED)
                   .select_related("filed_by", "decided_by").order_by("decided_at", "id")):
        adjustments[appeal.unit_id].append(Adjustment(
            points=appeal.correction_points,
            reason=f"申诉更正（{appeal.line_label}，第 {appeal.pk} 号申诉）：{appeal.decision_reason}",
            approved=True, entered_by=_person(appeal.filed_by), approved_by=_person(appeal.decided_by)))
        inputs["appeals"].append(appeal.pk)

    bonus_orders: dict[tuple[int, str], list[str]] = defaultdict(list)
    bonus_bare: dict[tuple[int, str], int] = defaultdict(int)
    bonus_notes: dict[tuple[int, str], list[str]] = defaultdict(list)
    for award in (BonusAward.objects.filter(year=year, month=month).select_related("order")
                  .order_by("entered_at", "id")):
        key = (award.unit_id, award.kind)
        if award.order_id:
            bonus_orders[key].append(award.order.number)
        else:
            bonus_bare[key] += 1
        if award.note:
            bonus_notes[key].append(award.note)
        inputs["bonuses"].append(award.pk)

    groups = []
    by_group: dict[int, list] = defaultdict(list)
    for m in unit_months.values():
        by_group[m.unit.group_id].append(m)
    for group in UnitGroup.objects.filter(pk__in=list(by_group)).order_by("position", "key"):
        card, version = ScorecardVersion.for_month(group, year, month)
        figures = []
        for m in by_group[group.pk]:
            claims = []
            for kind in card.bonus_kinds():
                key = (m.unit.pk, kind)
                note = "；".join(bonus_notes.get(key, []))
                if bonus_orders.get(key):
                    claims.append(BonusClaim(kind=kind, orders=tuple(bonus_orders[key]), note=note))
                    note = ""
                if bonus_bare.get(key):
                    claims.append(BonusClaim(kind=kind, count=bonus_bare[key], note=note))
            figures.append(m.to_figures(bonuses=tuple(claims), adjustments=tuple(adjustments.get(m.unit.pk, ()))))
        result = score_group(card, figures)
        groups.append({
            "key": group.key,
            "name": group.name,
            "scorecard": scorecard_to_data(card),
            "scorecard_version": version.pk if version else None,
            "min_orders": card.min_orders,
            "result": result.to_dict(),
        })
    return groups, inputs


# ---------------------------------------------------------------------------------------------
# Reading frozen results


@dataclass(frozen=True)
class GroupResult:
    key: str
    name: str
    min_orders: int
    result: RankedResult
    scorecard: dict[str, Any]


def group_results(result: MonthlyResult) -> list[GroupResult]:
    return [GroupResult(key=g["key"], name=g["name"], min_orders=g.get("min_orders", 6),
                        result=RankedResult.from_dict(g["result"]), scorecard=g.get("scorecard", {}))
            for g in result.groups]


def latest_result(year: int, month: int, *, published_only: bool = False) -> MonthlyResult | None:
    """The latest published version of the month, else (unless ``published_only``) the latest computed."""
    qs = MonthlyResult.objects.filter(year=year, month=month)
    published = qs.filter(state=MonthlyResult.State.PUBLISHED).order_by("-version").first()
    if published is not None or published_only:
        return published
    return qs.order_by("-version").first()


def latest_published(year: int, month: int) -> MonthlyResult | None:
    return latest_result(year, month, published_only=True)


def annex_tables(result: MonthlyResult) -> list[AnnexTable]:
    """The briefing's assessment annexes (附件) of one version: one table per group, ranked units only."""
    tables = []
    for g in group_results(result):
        rows = tuple(AnnexRow(unit=r.unit_name, score=r.score.score, rank=r.rank) for r in g.result.ranked)
        tables.append(AnnexTable(title=f"{CHINESE_MONTHS[result.month - 1]}月份{g.name}考核表", rows=rows,
                                 note=f"注：工单量小于{g.min_orders}件的单位不计入考核"))
    return tables


def annex_rows(year: int, month: int) -> list[AnnexTable]:
    """The annexes of the month's latest *published* version ([] when nothing is published)."""
    result = latest_published(year, month)
    return annex_tables(result) if result is not None else []


def named_units(result: MonthlyResult) -> tuple[list[str], list[str]]:
    """Full names of the better and the worse units of a version (办理较好 / 办理较差), by each
    group's scorecard rule (``best``/``worst``: first and last N of the group, ties included)."""
    best_ids, worst_ids = [], []
    for g in group_results(result):
        card = g.scorecard or {}
        better, worse = g.result.named(int(card.get("best", 1)), int(card.get("worst", 1)))
        best_ids.extend(r.unit_id for r in better)
        worst_ids.extend(r.unit_id for r in worse)
    names = dict(Unit.objects.filter(pk__in=[*best_ids, *worst_ids]).values_list("pk", "name"))
    return [names.get(i, str(i)) for i in best_ids], [names.get(i, str(i)) for i in worst_ids]


def best_and_worst(year: int, month: int) -> tuple[list[str], list[str]] | None:
    """The better and worse units of the month's latest published version, or None."""
    result = latest_published(year, month)
    return named_units(result) if result is not None else None


@dataclass(frozen=True)
class UnitSheet:
    """One unit's explained score in one version: its group, rank and breakdown."""

    result: MonthlyResult
    group: GroupResult
    score: UnitScore
    rank: int | None


def unit_sheet(result: MonthlyResult, unit_id: int) -> UnitSheet | None:
    for g in group_results(result):
        for s in g.result.scores():
            if s.unit_id == unit_id:
                return UnitSheet(result=result, group=g, score=s, rank=g.result.rank_of(unit_id))
    return None


def line_points(result: MonthlyResult, unit_id: int, code: str) -> Decimal | None:
    sheet = unit_sheet(result, unit_id)
    if sheet is None:
        return None
    try:
        return sheet.score.line(code).points
    except KeyError:
        return None
