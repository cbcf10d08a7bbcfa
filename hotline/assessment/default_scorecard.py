"""The default monthly scorecards (乡镇街道, 市直单位) as JSON data, and the loader.

A scorecard is stored and edited as plain JSON (numbers as strings so they stay exact); the
engine works on dataclasses. ``load_scorecard`` turns the one into the other and refuses a
malformed spec with a Chinese ``ScorecardError``; ``scorecard_to_data`` goes back.

Every number below is explained in docs/assessment.md ("默认评分表"); in short, the shapes come
from DESIGN.md §7: base 100 with deductions and bonuses (so scores above 100 happen, as the seed's
101.5), a threshold table for sign-for (Lianyungang: 签收率 below 80% earns nothing), "≥ 90% full
marks, −1 per point below" for the outcome rates (a 市长热线 self-check sheet; Lianyungang's
按时办结率 89.82% → 14.82 of 15 points is the same shape), upstream satisfaction scored on its
own, per-item deductions for returns, rework and supervision, and units with fewer than 6 orders
left out of the ranking (the seed's annex note).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from hotline.assessment.engine import (
    BonusRule,
    CountDeduction,
    RateIndicator,
    Scorecard,
    ScorecardError,
    Threshold,
    fmt_number,
    to_decimal,
)

__all__ = ["DEFAULT_SCORECARDS", "ScorecardError", "default_scorecard", "load_scorecard", "scorecard_to_data"]

TOWNSHIP = "township"
DEPARTMENT = "department"

# The six rate indicators both groups share. Weights add up to 80: a unit failing every rate
# completely keeps 20 of its 100 base points before count deductions.
_RATES: list[dict[str, Any]] = [
    {
        "kind": "rate",
        "code": "sign_rate",
        "label": "及时签收率",
        "numerator": "signed_on_time",
        "denominator": "dispatched",
        "full_points": "10",
        "thresholds": [["95", "10"], ["90", "7"], ["80", "4"]],
        "evidence_key": "signed_late",
    },
    {
        "kind": "rate",
        "code": "on_time_rate",
        "label": "按时办结率",
        "numerator": "closed_on_time",
        "denominator": "due",
        "full_points": "20",
        "target": "90",
        "per_point": "1",
        "evidence_key": "closed_late",
    },
    {
        "kind": "rate",
        "code": "satisfaction_rate",
        "label": "满意率",
        "numerator": "satisfied",
        "denominator": "callbacks",
        "full_points": "20",
        "target": "90",
        "per_point": "1",
        "evidence_key": "dissatisfied",
    },
    {
        "kind": "rate",
        "code": "solved_rate",
        "label": "解决率",
        "numerator": "solved",
        "denominator": "callbacks",
        "full_points": "15",
        "target": "85",
        "per_point": "1",
        "evidence_key": "unsolved",
    },
    {
        "kind": "rate",
        "code": "upstream_satisfaction_rate",
        "label": "上级交办满意率",
        "numerator": "upstream_satisfied",
        "denominator": "upstream_callbacks",
        "full_points": "10",
        "target": "90",
        "per_point": "1",
        "evidence_key": "upstream_dissatisfied",
    },
    {
        "kind": "rate",
        "code": "reply_compliance_rate",
        "label": "回复规范率",
        "numerator": "replies_compliant",
        "denominator": "replies",
        "full_points": "5",
        "target": "95",
        "per_point": "0.5",
        "evidence_key": "replies_noncompliant",
    },
]

_DEDUCTIONS: list[dict[str, Any]] = [
    {
        "kind": "count",
        "code": "overdue",
        "label": "超期工单",
        "key": "overdue",
        "per_item": "0.5",
        "cap": "5",
    },
    {
        "kind": "count",
        "code": "unjustified_returns",
        "label": "不当退单",
        "key": "unjustified_returns",
        "per_item": "0.5",
        "cap": "5",
    },
    {
        "kind": "count",
        "code": "reworks",
        "label": "重办工单",
        "key": "reworks",
        "per_item": "0.5",
        "cap": "5",
    },
    {
        "kind": "count",
        "code": "supervision_failed",
        "label": "督办事项未落实",
        "key": "supervision_failed",
        "per_item": "2",
        "cap": "6",
    },
]

_STATIONING: dict[str, Any] = {
    "kind": "count",
    "code": "stationing",
    "label": "未按规定派驻人员",
    "key": "stationing_noncompliant",
    "per_item": "5",
    "cap": "5",
}

_BONUSES: list[dict[str, Any]] = [
    {"kind": "bonus", "code": "praise", "label": "表扬", "per_item": "0.5", "cap": "1"},
    {"kind": "bonus", "code": "typical_case", "label": "典型案例", "per_item": "1", "cap": "2"},
    {"kind": "bonus", "code": "proactive_governance", "label": "主动治理", "per_item": "1", "cap": "2"},
]

DEFAULT_SCORECARDS: dict[str, dict[str, Any]] = {
    TOWNSHIP: {
        "group": TOWNSHIP,
        "label": "乡镇街道",
        "name": "乡镇街道月度考核评分表（默认）",
        "base": "100",
        "min_orders": 6,
        "best": 1,
        "worst": 1,
        "bonus_cap": "3",
        "indicators": copy.deepcopy([*_RATES, *_DEDUCTIONS, *_BONUSES]),
    },
    DEPARTMENT: {
        "group": DEPARTMENT,
        "label": "市直单位",
        "name": "市直单位月度考核评分表（默认）",
        "base": "100",
        "min_orders": 6,
        "best": 1,
        "worst": 1,
        "bonus_cap": "3",
        "indicators": copy.deepcopy([*_RATES, *_DEDUCTIONS, _STATIONING, *_BONUSES]),
    },
}

_TOP_REQUIRED = ("group", "label", "indicators")
_TOP_OPTIONAL = ("name", "base", "min_orders", "bonus_cap", "best", "worst")
_KIND_LABELS = {"rate": "比率指标", "count": "计件扣分", "bonus": "加分项"}
_REQUIRED = {
    "rate": ("code", "label", "numerator", "denominator", "full_points"),
    "count": ("code", "label", "key", "per_item", "cap"),
    "bonus": ("code", "label", "per_item", "cap"),
}
_OPTIONAL = {
    "rate": ("target", "per_point", "zero_below", "thresholds", "evidence_key"),
    "count": (),
    "bonus": (),
}


def default_scorecard(group: str) -> Scorecard:
    """The default scorecard of ``township`` or ``department``."""
    try:
        data = DEFAULT_SCORECARDS[group]
    except KeyError:
        raise ScorecardError(f"没有分组“{group}”的默认评分表") from None
    return load_scorecard(data)


def load_scorecard(data: Mapping[str, Any]) -> Scorecard:
    """Validate a JSON scorecard spec and build the engine's ``Scorecard``."""
    if not isinstance(data, Mapping):
        raise ScorecardError("评分表必须是一个对象（JSON object）")
    _check_fields(data, _TOP_REQUIRED, _TOP_OPTIONAL, "评分表")
    indicators = data["indicators"]
    if not isinstance(indicators, list):
        raise ScorecardError("评分表的 indicators 必须是列表")
    rates: list[RateIndicator] = []
    deductions: list[CountDeduction] = []
    bonuses: list[BonusRule] = []
    for position, spec in enumerate(indicators, start=1):
        where = f"第 {position} 个指标"
        if not isinstance(spec, Mapping):
            raise ScorecardError(f"{where}必须是一个对象")
        kind = spec.get("kind")
        if kind not in _REQUIRED:
            raise ScorecardError(
                f"{where}的类型“{kind}”未知，应为 rate（比率指标）、count（计件扣分）或 bonus（加分项）"
            )
        where = f"{where}（{_KIND_LABELS[kind]}“{spec.get('label', spec.get('code', ''))}”）"
        _check_fields(spec, _REQUIRED[kind], ("kind", *_OPTIONAL[kind]), where)
        if kind == "rate":
            rates.append(_load_rate(spec, where))
        elif kind == "count":
            deductions.append(
                CountDeduction(
                    code=spec["code"],
                    label=spec["label"],
                    key=spec["key"],
                    per_item=to_decimal(spec["per_item"], f"{where}的每件扣分"),
                    cap=to_decimal(spec["cap"], f"{where}的扣分上限"),
                )
            )
        else:
            bonuses.append(
                BonusRule(
                    kind=spec["code"],
                    label=spec["label"],
                    per_item=to_decimal(spec["per_item"], f"{where}的每项加分"),
                    cap=to_decimal(spec["cap"], f"{where}的加分上限"),
                )
            )
    min_orders = data.get("min_orders", 6)
    if isinstance(min_orders, bool) or not isinstance(min_orders, int):
        raise ScorecardError("参加排名的最少工单量（min_orders）必须是整数")
    bonus_cap = data.get("bonus_cap")
    named = {}
    for key, what in (("best", "办理较好单位的名次数（best）"), ("worst", "办理较差单位的名次数（worst）")):
        value = data.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScorecardError(f"{what}必须是整数")
        named[key] = value
    return Scorecard(
        group=data["group"],
        label=data["label"],
        name=data.get("name", ""),
        base=to_decimal(data.get("base", "100"), "基础分（base）"),
        min_orders=min_orders,
        rates=tuple(rates),
        deductions=tuple(deductions),
        bonuses=tuple(bonuses),
        bonus_cap=None if bonus_cap is None else to_decimal(bonus_cap, "加分总上限（bonus_cap）"),
        **named,
    )


def _load_rate(spec: Mapping[str, Any], where: str) -> RateIndicator:
    thresholds_spec = spec.get("thresholds")
    thresholds: list[Threshold] = []
    if thresholds_spec is not None:
        if not isinstance(thresholds_spec, list) or not thresholds_spec:
            raise ScorecardError(f"{where}的分档表（thresholds）必须是非空列表")
        for row in thresholds_spec:
            if isinstance(row, Mapping) and set(row) == {"min_rate", "points"}:
                min_rate, points = row["min_rate"], row["points"]
            elif isinstance(row, list | tuple) and len(row) == 2:
                min_rate, points = row
            else:
                raise ScorecardError(f"{where}的分档表每一档须为 [下限百分比, 得分]")
            thresholds.append(
                Threshold(
                    min_rate=to_decimal(min_rate, f"{where}分档表的下限"),
                    points=to_decimal(points, f"{where}分档表的得分"),
                )
            )

    def optional(name: str, what: str):
        value = spec.get(name)
        return None if value is None else to_decimal(value, f"{where}的{what}")

    evidence_key = spec.get("evidence_key")
    if evidence_key is not None and (not isinstance(evidence_key, str) or not evidence_key.strip()):
        raise ScorecardError(f"{where}的 evidence_key 必须是非空字符串")
    return RateIndicator(
        code=spec["code"],
        label=spec["label"],
        numerator=spec["numerator"],
        denominator=spec["denominator"],
        full_points=to_decimal(spec["full_points"], f"{where}的满分"),
        target=optional("target", "目标值"),
        per_point=optional("per_point", "每个百分点的扣分"),
        zero_below=optional("zero_below", "不得分线"),
        thresholds=tuple(thresholds),
        evidence_key=evidence_key,
    )


def _check_fields(
    spec: Mapping[str, Any], required: tuple[str, ...], optional: tuple[str, ...], where: str
) -> None:
    missing = [name for name in required if name not in spec]
    if missing:
        raise ScorecardError(f"{where}缺少字段：{'、'.join(missing)}")
    unknown = sorted(set(spec) - set(required) - set(optional))
    if unknown:
        raise ScorecardError(f"{where}有未知字段：{'、'.join(unknown)}")


def scorecard_to_data(scorecard: Scorecard) -> dict[str, Any]:
    """The JSON spec of a scorecard (the inverse of ``load_scorecard``)."""
    indicators: list[dict[str, Any]] = []
    for rate in scorecard.rates:
        spec: dict[str, Any] = {
            "kind": "rate",
            "code": rate.code,
            "label": rate.label,
            "numerator": rate.numerator,
            "denominator": rate.denominator,
            "full_points": fmt_number(rate.full_points),
        }
        if rate.thresholds:
            spec["thresholds"] = [[fmt_number(t.min_rate), fmt_number(t.points)] for t in rate.thresholds]
        else:
            spec["target"] = fmt_number(rate.target)
            spec["per_point"] = fmt_number(rate.per_point)
            if rate.zero_below is not None:
                spec["zero_below"] = fmt_number(rate.zero_below)
        if rate.evidence_key:
            spec["evidence_key"] = rate.evidence_key
        indicators.append(spec)
    for d in scorecard.deductions:
        indicators.append(
            {
                "kind": "count",
                "code": d.code,
                "label": d.label,
                "key": d.key,
                "per_item": fmt_number(d.per_item),
                "cap": fmt_number(d.cap),
            }
        )
    for b in scorecard.bonuses:
        indicators.append(
            {
                "kind": "bonus",
                "code": b.kind,
                "label": b.label,
                "per_item": fmt_number(b.per_item),
                "cap": fmt_number(b.cap),
            }
        )
    data: dict[str, Any] = {
        "group": scorecard.group,
        "label": scorecard.label,
        "name": scorecard.name,
        "base": fmt_number(scorecard.base),
        "min_orders": scorecard.min_orders,
        "best": scorecard.best,
        "worst": scorecard.worst,
        "indicators": indicators,
    }
    if scorecard.bonus_cap is not None:
        data["bonus_cap"] = fmt_number(scorecard.bonus_cap)
    return copy.deepcopy(data)
