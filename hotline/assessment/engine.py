"""The assessment engine (考核): scorecards in, explained scores and rankings out.

Pure: standard library only, plain values in and out. The database adapter builds one
``UnitFigures`` per unit and month (exclusions already applied), calls ``score_group`` and
freezes the ``RankedResult`` (``to_dict``). Everything here is Decimal; nothing is a float.

The scoring model (docs/assessment.md has the long version)::

    score = base + Σ line.points

Every line of the breakdown carries its signed contribution, so the breakdown explains every
point of the score. Rate indicators and count deductions contribute 0 or a negative number,
bounded by the indicator's full points (rates) or its cap (counts); bonus lines contribute 0 or a
positive number bounded by the kind's cap, and one "bonus cap" line takes back whatever goes over
the overall bonus cap; approved manual adjustments contribute their points, unapproved ones 0.
Each line is rounded to two decimals half-up (四舍五入) before summing, so the sum is exact.

Rates are percentages rounded to two decimals half-up (the platform's one rounding rule, as in
``hotline.lib.shares``) and the rule is applied to the rounded rate, so anyone can redo a line
from the numbers it prints ("47/50 = 94.00%").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

TWO_PLACES = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)

# Line kinds, in the order lines appear in a breakdown.
LINE_ORDERS = "orders"
LINE_RATE = "rate"
LINE_COUNT = "count"
LINE_BONUS = "bonus"
LINE_BONUS_CAP = "bonus_cap"
LINE_ADJUSTMENT = "adjustment"
LINE_KINDS = (LINE_ORDERS, LINE_RATE, LINE_COUNT, LINE_BONUS, LINE_BONUS_CAP, LINE_ADJUSTMENT)


class ScorecardError(ValueError):
    """A scorecard spec that cannot be scored with; the message is Chinese, for the admin."""


class FiguresError(ValueError):
    """Unit figures that contradict themselves or the scorecard (a bug in the adapter)."""


# ---------------------------------------------------------------------------------------------
# Number helpers


def to_decimal(value: Any, what: str = "数值", error: type[ValueError] = ScorecardError) -> Decimal:
    """Read a number from a spec: Decimal, int, numeric string, or a float (through its repr)."""
    if isinstance(value, bool) or value is None:
        raise error(f"{what}必须是数字，实际为 {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise error(f"{what}必须是数字，实际为 {value!r}") from None
    else:
        raise error(f"{what}必须是数字，实际为 {value!r}")
    if not result.is_finite():
        raise error(f"{what}必须是有限的数字，实际为 {value!r}")
    return result


def quantize2(value: Decimal) -> Decimal:
    """Two decimals, half-up: the one rounding rule."""
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def rate_percent(numerator: int, denominator: int) -> Decimal:
    """numerator / denominator × 100, two decimals half-up. The caller checks denominator > 0."""
    return quantize2(Decimal(numerator) * HUNDRED / Decimal(denominator))


def fmt_number(value: Decimal) -> str:
    """A rule's constant as people write it: 90, 0.5, 2.25 (no trailing zeros, no exponent)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def format_score(value: Decimal) -> str:
    """A score as the briefing's annexes print it: 99.5, 98, 90.57."""
    return fmt_number(quantize2(value))


def _points(value: Decimal) -> str:
    """A computed number of points in a note: always two decimals."""
    return f"{quantize2(value):.2f}"


# ---------------------------------------------------------------------------------------------
# Scorecards


@dataclass(frozen=True)
class Threshold:
    """One row of a threshold table: a rate of at least ``min_rate`` percent earns ``points``."""

    min_rate: Decimal
    points: Decimal


@dataclass(frozen=True)
class RateIndicator:
    """A rate (numerator ÷ denominator from the unit's counts) worth up to ``full_points``.

    Exactly one of two rules:

    * per point: rate ≥ ``target`` keeps the full points; below it, ``per_point`` points are
      lost per percentage point of shortfall (fractions count: 89.82% against 90% loses 0.18),
      never more than ``full_points``; below ``zero_below`` (optional) all points are lost.
    * thresholds: the first row (highest ``min_rate`` first) whose ``min_rate`` the rate reaches
      gives the points kept; a rate under every row keeps 0.

    The line contributes −(full_points − points kept). A denominator of 0 makes the indicator
    not applicable: no deduction, and the line says so. ``evidence_key`` names the evidence list
    (order numbers that fell short, e.g. orders signed for late); it defaults to ``code``.
    """

    code: str
    label: str
    numerator: str
    denominator: str
    full_points: Decimal
    target: Decimal | None = None
    per_point: Decimal | None = None
    zero_below: Decimal | None = None
    thresholds: tuple[Threshold, ...] = ()
    evidence_key: str | None = None

    def __post_init__(self) -> None:
        _check_code(self.code, self.label)
        _check_key(self.numerator, f"指标“{self.label}”的分子")
        _check_key(self.denominator, f"指标“{self.label}”的分母")
        if self.numerator == self.denominator:
            raise ScorecardError(f"指标“{self.label}”的分子与分母不能是同一项")
        _check_non_negative(self.full_points, f"指标“{self.label}”的满分")
        per_point_mode = self.target is not None or self.per_point is not None
        if per_point_mode and self.thresholds:
            raise ScorecardError(f"指标“{self.label}”不能同时设置“目标值/每点扣分”和“分档表”")
        if not per_point_mode and not self.thresholds:
            raise ScorecardError(f"指标“{self.label}”须设置“目标值与每点扣分”或“分档表”之一")
        if per_point_mode:
            if self.target is None or self.per_point is None:
                raise ScorecardError(f"指标“{self.label}”须同时设置目标值和每个百分点的扣分")
            _check_percent(self.target, f"指标“{self.label}”的目标值")
            if self.target <= 0:
                raise ScorecardError(f"指标“{self.label}”的目标值必须大于 0%")
            if self.per_point <= 0:
                raise ScorecardError(f"指标“{self.label}”每个百分点的扣分必须大于 0")
            if self.zero_below is not None:
                _check_percent(self.zero_below, f"指标“{self.label}”的不得分线")
                if self.zero_below >= self.target:
                    raise ScorecardError(f"指标“{self.label}”的不得分线必须低于目标值")
        else:
            if self.zero_below is not None:
                raise ScorecardError(f"指标“{self.label}”使用分档表时不设不得分线（最低一档以下即得 0 分）")
            previous: Threshold | None = None
            for row in self.thresholds:
                _check_percent(row.min_rate, f"指标“{self.label}”分档表的下限")
                _check_non_negative(row.points, f"指标“{self.label}”分档表的得分")
                if row.points > self.full_points:
                    raise ScorecardError(
                        f"指标“{self.label}”分档表的得分不能超过满分 {fmt_number(self.full_points)} 分"
                    )
                if previous is not None:
                    if row.min_rate >= previous.min_rate:
                        raise ScorecardError(
                            f"指标“{self.label}”的分档表须按下限从高到低排列，且下限不能重复"
                        )
                    if row.points > previous.points:
                        raise ScorecardError(f"指标“{self.label}”的分档表中，较低一档的得分不能高于较高一档")
                previous = row
            if self.thresholds[0].points != self.full_points:
                raise ScorecardError(
                    f"指标“{self.label}”分档表最高一档应得满分 {fmt_number(self.full_points)} 分"
                )

    @property
    def uses_thresholds(self) -> bool:
        return bool(self.thresholds)

    def rule_text(self) -> str:
        """The rule in Chinese, as printed next to the line."""
        full = fmt_number(self.full_points)
        if self.uses_thresholds:
            rows = "；".join(
                f"≥ {fmt_number(t.min_rate)}% 得 {fmt_number(t.points)} 分" for t in self.thresholds
            )
            lowest = fmt_number(self.thresholds[-1].min_rate)
            return f"满分 {full} 分，分档计分：{rows}；低于 {lowest}% 得 0 分"
        text = (
            f"目标 ≥ {fmt_number(self.target)}%，达标得满分 {full} 分；"
            f"每低 1 个百分点扣 {fmt_number(self.per_point)} 分，最多扣 {full} 分"
        )
        if self.zero_below is not None:
            text += f"；低于 {fmt_number(self.zero_below)}% 不得分"
        return text


@dataclass(frozen=True)
class CountDeduction:
    """``per_item`` points off for each item counted under ``key``, never more than ``cap``."""

    code: str
    label: str
    key: str
    per_item: Decimal
    cap: Decimal

    def __post_init__(self) -> None:
        _check_code(self.code, self.label)
        _check_key(self.key, f"扣分项“{self.label}”的计数项")
        if self.per_item <= 0:
            raise ScorecardError(f"扣分项“{self.label}”的每件扣分必须大于 0")
        _check_non_negative(self.cap, f"扣分项“{self.label}”的扣分上限")

    def rule_text(self) -> str:
        return f"每件扣 {fmt_number(self.per_item)} 分，最多扣 {fmt_number(self.cap)} 分"


@dataclass(frozen=True)
class BonusRule:
    """``per_item`` points for each item of this ``kind`` (表扬, 典型案例 …), never more than ``cap``."""

    kind: str
    label: str
    per_item: Decimal
    cap: Decimal

    def __post_init__(self) -> None:
        _check_code(self.kind, self.label)
        if self.per_item <= 0:
            raise ScorecardError(f"加分项“{self.label}”的每项加分必须大于 0")
        _check_non_negative(self.cap, f"加分项“{self.label}”的加分上限")

    @property
    def code(self) -> str:
        return self.kind

    def rule_text(self) -> str:
        return f"每项加 {fmt_number(self.per_item)} 分，最多加 {fmt_number(self.cap)} 分"


@dataclass(frozen=True)
class Scorecard:
    """How one unit group (乡镇街道, 市直单位, …) is scored in a month."""

    group: str
    label: str
    base: Decimal = Decimal(100)
    min_orders: int = 6
    rates: tuple[RateIndicator, ...] = ()
    deductions: tuple[CountDeduction, ...] = ()
    bonuses: tuple[BonusRule, ...] = ()
    bonus_cap: Decimal | None = None
    name: str = ""
    # Who the briefing names (办理较好 / 办理较差): the first ``best`` and the last ``worst`` ranked
    # units of the group, ties with the boundary unit included. The seed's rule is 1 and 1.
    best: int = 1
    worst: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.group, str) or not self.group.strip():
            raise ScorecardError("评分表须指明单位分组（group）")
        if not isinstance(self.label, str) or not self.label.strip():
            raise ScorecardError(f"评分表“{self.group}”须有中文名称（label）")
        _check_non_negative(self.base, "基础分")
        if quantize2(self.base) != self.base:
            raise ScorecardError("基础分最多保留两位小数")
        if isinstance(self.min_orders, bool) or not isinstance(self.min_orders, int) or self.min_orders < 0:
            raise ScorecardError("参加排名的最少工单量必须是不小于 0 的整数")
        if self.bonus_cap is not None:
            _check_non_negative(self.bonus_cap, "加分总上限")
        for value, what in ((self.best, "办理较好单位的名次数（best）"), (self.worst, "办理较差单位的名次数（worst）")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ScorecardError(f"{what}必须是不小于 0 的整数")
        seen: set[str] = set()
        for item in (*self.rates, *self.deductions, *self.bonuses):
            if item.code in seen:
                raise ScorecardError(f"评分表“{self.label}”中指标代码“{item.code}”重复")
            seen.add(item.code)

    def count_keys(self) -> tuple[str, ...]:
        """Every key this scorecard reads from ``UnitFigures.counts``, in first-use order."""
        keys: list[str] = []
        for rate in self.rates:
            keys.extend((rate.numerator, rate.denominator))
        keys.extend(d.key for d in self.deductions)
        return tuple(dict.fromkeys(keys))

    def bonus_kinds(self) -> tuple[str, ...]:
        return tuple(b.kind for b in self.bonuses)


def _check_code(code: Any, label: Any) -> None:
    if not isinstance(label, str) or not label.strip():
        raise ScorecardError(f"指标“{code}”须有中文名称（label）")
    if not isinstance(code, str) or not code.strip():
        raise ScorecardError(f"指标“{label}”须有代码（code）")


def _check_key(key: Any, what: str) -> None:
    if not isinstance(key, str) or not key.strip():
        raise ScorecardError(f"{what}须是计数项名称")


def _check_non_negative(value: Any, what: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ScorecardError(f"{what}必须是数字")
    if value < 0:
        raise ScorecardError(f"{what}不能为负数")


def _check_percent(value: Any, what: str) -> None:
    _check_non_negative(value, what)
    if value > HUNDRED:
        raise ScorecardError(f"{what}必须在 0% 到 100% 之间")


# ---------------------------------------------------------------------------------------------
# Figures (what the adapter computed for one unit and month)


@dataclass(frozen=True)
class BonusClaim:
    """Bonus items of one kind: either a bare ``count`` or the ``orders`` behind them (or both)."""

    kind: str
    count: int | None = None
    orders: tuple[str, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "orders", tuple(self.orders))
        if self.count is not None:
            if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 0:
                raise FiguresError(f"加分项“{self.kind}”的数量必须是不小于 0 的整数")
            if self.orders and len(self.orders) != self.count:
                raise FiguresError(
                    f"加分项“{self.kind}”的数量 {self.count} 与所列工单 {len(self.orders)} 件不一致"
                )

    @property
    def items(self) -> int:
        return self.count if self.count is not None else len(self.orders)


@dataclass(frozen=True)
class Adjustment:
    """A supervisor's manual adjustment (人工加减分) with its reason; only approved ones count."""

    points: Decimal
    reason: str
    approved: bool
    entered_by: str = ""
    approved_by: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", to_decimal(self.points, "人工调整分值", FiguresError))
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise FiguresError("人工调整必须填写理由")


@dataclass(frozen=True)
class UnitFigures:
    """One unit's month as plain numbers, after exclusions (不合理/恶意诉求 judged on review).

    ``order_count`` counts the orders that remain; ``excluded_count`` (and, if known,
    ``excluded_orders``) the ones taken out, so the explanation can show them. ``counts`` must
    hold every key of ``Scorecard.count_keys()``; ``evidence`` maps a count key or a rate
    indicator's evidence key to the order numbers behind it.
    """

    unit_id: str | int
    unit_name: str
    order_count: int
    counts: Mapping[str, int] = field(default_factory=dict)
    evidence: Mapping[str, Sequence[str]] = field(default_factory=dict)
    bonuses: tuple[BonusClaim, ...] = ()
    adjustments: tuple[Adjustment, ...] = ()
    excluded_count: int = 0
    excluded_orders: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "bonuses", tuple(self.bonuses))
        object.__setattr__(self, "adjustments", tuple(self.adjustments))
        object.__setattr__(self, "excluded_orders", tuple(self.excluded_orders))
        for what, value in (("工单量", self.order_count), ("剔除工单量", self.excluded_count)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise FiguresError(f"单位“{self.unit_name}”的{what}必须是不小于 0 的整数")
        if self.excluded_orders and len(self.excluded_orders) != self.excluded_count:
            raise FiguresError(f"单位“{self.unit_name}”剔除工单量 {self.excluded_count} 与所列工单不一致")
        for key, value in self.counts.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise FiguresError(f"单位“{self.unit_name}”的计数项“{key}”必须是不小于 0 的整数")


# ---------------------------------------------------------------------------------------------
# Scores


@dataclass(frozen=True)
class BreakdownLine:
    """One line of the explanation: what was counted, the rule, and the points it moved.

    ``points`` is the signed contribution to the score (0 or less for rates and deductions,
    0 or more for bonuses). ``figures`` is the raw numbers ("47/50 = 94.00%", "3 件"),
    ``rule`` the rule in Chinese, ``note`` how it applied this month.
    """

    kind: str
    code: str
    label: str
    figures: str
    rule: str
    note: str
    points: Decimal
    evidence: tuple[str, ...] = ()
    applicable: bool = True
    numerator: int | None = None
    denominator: int | None = None
    rate: Decimal | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "code": self.code,
            "label": self.label,
            "figures": self.figures,
            "rule": self.rule,
            "note": self.note,
            "points": str(self.points),
            "evidence": list(self.evidence),
            "applicable": self.applicable,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "rate": None if self.rate is None else str(self.rate),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BreakdownLine:
        return cls(
            kind=data["kind"],
            code=data["code"],
            label=data["label"],
            figures=data["figures"],
            rule=data["rule"],
            note=data["note"],
            points=Decimal(data["points"]),
            evidence=tuple(data.get("evidence", ())),
            applicable=data.get("applicable", True),
            numerator=data.get("numerator"),
            denominator=data.get("denominator"),
            rate=None if data.get("rate") is None else Decimal(data["rate"]),
        )


@dataclass(frozen=True)
class UnitScore:
    """A unit's score for the month with the breakdown that explains it.

    Invariant: ``score == base + sum(line.points for line in lines)``.
    """

    unit_id: str | int
    unit_name: str
    score: Decimal
    group: str = ""
    base: Decimal = Decimal(100)
    ranked: bool = True
    order_count: int = 0
    excluded_count: int = 0
    unranked_reason: str = ""
    lines: tuple[BreakdownLine, ...] = ()

    @property
    def deductions(self) -> Decimal:
        """Points lost (a non-negative number): rates, count deductions, negative adjustments."""
        return -sum((line.points for line in self.lines if line.points < 0), ZERO)

    @property
    def bonus_points(self) -> Decimal:
        """Points gained from bonus lines after the overall bonus cap."""
        return sum((line.points for line in self.lines if line.kind in (LINE_BONUS, LINE_BONUS_CAP)), ZERO)

    def line(self, code: str) -> BreakdownLine:
        for line in self.lines:
            if line.code == code:
                return line
        raise KeyError(code)

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit_id": self.unit_id,
            "unit_name": self.unit_name,
            "group": self.group,
            "score": str(self.score),
            "base": str(self.base),
            "ranked": self.ranked,
            "order_count": self.order_count,
            "excluded_count": self.excluded_count,
            "unranked_reason": self.unranked_reason,
            "lines": [line.to_dict() for line in self.lines],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UnitScore:
        return cls(
            unit_id=data["unit_id"],
            unit_name=data["unit_name"],
            group=data.get("group", ""),
            score=Decimal(data["score"]),
            base=Decimal(data.get("base", "100")),
            ranked=data.get("ranked", True),
            order_count=data.get("order_count", 0),
            excluded_count=data.get("excluded_count", 0),
            unranked_reason=data.get("unranked_reason", ""),
            lines=tuple(BreakdownLine.from_dict(line) for line in data.get("lines", ())),
        )


def score_unit(scorecard: Scorecard, figures: UnitFigures) -> UnitScore:
    """Score one unit's month on ``scorecard``; the breakdown explains every point."""
    missing = [key for key in scorecard.count_keys() if key not in figures.counts]
    if missing:
        raise FiguresError(f"单位“{figures.unit_name}”缺少计数项：{'、'.join(missing)}")
    known_kinds = set(scorecard.bonus_kinds())
    unknown = sorted({claim.kind for claim in figures.bonuses} - known_kinds)
    if unknown:
        raise FiguresError(f"评分表“{scorecard.label}”没有加分项：{'、'.join(unknown)}")

    lines: list[BreakdownLine] = [_orders_line(scorecard, figures)]
    lines.extend(_rate_line(rate, figures) for rate in scorecard.rates)
    lines.extend(_count_line(rule, figures) for rule in scorecard.deductions)
    bonus_lines = [_bonus_line(rule, figures) for rule in scorecard.bonuses]
    lines.extend(bonus_lines)
    bonus_total = sum((line.points for line in bonus_lines), ZERO)
    if scorecard.bonus_cap is not None and bonus_total > scorecard.bonus_cap:
        over = quantize2(bonus_total - scorecard.bonus_cap)
        lines.append(
            BreakdownLine(
                kind=LINE_BONUS_CAP,
                code="bonus_cap",
                label="加分封顶",
                figures=f"加分合计 {_points(bonus_total)} 分",
                rule=f"加分合计最多 {fmt_number(scorecard.bonus_cap)} 分",
                note=f"超出上限，核减 {_points(over)} 分",
                points=-over,
            )
        )
    lines.extend(_adjustment_line(i, adj) for i, adj in enumerate(figures.adjustments, start=1))

    ranked = figures.order_count >= scorecard.min_orders
    reason = ""
    if not ranked:
        reason = f"工单量 {figures.order_count} 件，少于 {scorecard.min_orders} 件，不计入考核排名"
    score = quantize2(scorecard.base + sum((line.points for line in lines), ZERO))
    return UnitScore(
        unit_id=figures.unit_id,
        unit_name=figures.unit_name,
        group=scorecard.group,
        score=score,
        base=scorecard.base,
        ranked=ranked,
        order_count=figures.order_count,
        excluded_count=figures.excluded_count,
        unranked_reason=reason,
        lines=tuple(lines),
    )


def score_group(scorecard: Scorecard, figures: Iterable[UnitFigures]) -> RankedResult:
    """Score every unit of a group and rank them."""
    return rank([score_unit(scorecard, f) for f in figures], group=scorecard.group)


def _orders_line(scorecard: Scorecard, figures: UnitFigures) -> BreakdownLine:
    text = f"计入考核工单 {figures.order_count} 件"
    if figures.excluded_count:
        text += f"，另有 {figures.excluded_count} 件经审核认定为不合理或恶意诉求，已剔除"
    if figures.order_count < scorecard.min_orders:
        note = f"少于 {scorecard.min_orders} 件，不计入考核排名"
    else:
        note = "参加排名"
    return BreakdownLine(
        kind=LINE_ORDERS,
        code="orders",
        label="工单量",
        figures=text,
        rule=f"工单量小于 {scorecard.min_orders} 件的单位不计入考核排名；经审核认定的不合理、恶意诉求不计入考核",
        note=note,
        points=ZERO,
        evidence=figures.excluded_orders,
    )


def _rate_line(rate: RateIndicator, figures: UnitFigures) -> BreakdownLine:
    numerator = figures.counts[rate.numerator]
    denominator = figures.counts[rate.denominator]
    evidence = tuple(figures.evidence.get(rate.evidence_key or rate.code, ()))
    common = {
        "kind": LINE_RATE,
        "code": rate.code,
        "label": rate.label,
        "rule": rate.rule_text(),
        "numerator": numerator,
        "denominator": denominator,
        "evidence": evidence,
    }
    if denominator == 0:
        return BreakdownLine(
            figures=f"{numerator}/0",
            note="本月无可计算工单（分母为 0），该项不适用，不扣分",
            points=ZERO,
            applicable=False,
            **common,
        )
    if numerator > denominator:
        raise FiguresError(
            f"单位“{figures.unit_name}”的“{rate.label}”分子 {numerator} 大于分母 {denominator}"
        )
    value = rate_percent(numerator, denominator)
    full = rate.full_points
    if rate.uses_thresholds:
        kept = ZERO
        note = f"低于 {fmt_number(rate.thresholds[-1].min_rate)}%，得 0 分"
        for row in rate.thresholds:
            if value >= row.min_rate:
                kept = row.points
                note = f"{value:.2f}% ≥ {fmt_number(row.min_rate)}%，得 {fmt_number(row.points)} 分"
                break
        lost = quantize2(full - kept)
        note += f"，扣 {_points(lost)} 分"
    else:
        assert rate.target is not None and rate.per_point is not None
        if value >= rate.target:
            lost = ZERO
            note = f"{value:.2f}% ≥ {fmt_number(rate.target)}%，达标得满分 {fmt_number(full)} 分"
        elif rate.zero_below is not None and value < rate.zero_below:
            lost = quantize2(full)
            note = f"{value:.2f}% 低于 {fmt_number(rate.zero_below)}%，不得分，扣 {_points(lost)} 分"
        else:
            shortfall = rate.target - value
            raw = quantize2(shortfall * rate.per_point)
            lost = min(raw, quantize2(full))
            note = (
                f"{value:.2f}% 低于目标 {fmt_number(rate.target)}% 共 {fmt_number(shortfall)} 个百分点，"
                f"扣 {_points(lost)} 分"
            )
            if raw > lost:
                note += f"（按每点扣分应扣 {_points(raw)} 分，以满分 {fmt_number(full)} 分为限）"
    return BreakdownLine(
        figures=f"{numerator}/{denominator} = {value:.2f}%",
        note=note,
        points=-lost,
        rate=value,
        **common,
    )


def _count_line(rule: CountDeduction, figures: UnitFigures) -> BreakdownLine:
    items = figures.counts[rule.key]
    raw = quantize2(items * rule.per_item)
    lost = min(raw, quantize2(rule.cap))
    if items == 0:
        note = "无，不扣分"
    elif raw > lost:
        note = f"{items} 件 × {fmt_number(rule.per_item)} 分 = {_points(raw)} 分，超过上限，扣 {_points(lost)} 分"
    else:
        note = f"{items} 件 × {fmt_number(rule.per_item)} 分，扣 {_points(lost)} 分"
    return BreakdownLine(
        kind=LINE_COUNT,
        code=rule.code,
        label=rule.label,
        figures=f"{items} 件",
        rule=rule.rule_text(),
        note=note,
        points=-lost,
        evidence=tuple(figures.evidence.get(rule.key, ())),
    )


def _bonus_line(rule: BonusRule, figures: UnitFigures) -> BreakdownLine:
    claims = [claim for claim in figures.bonuses if claim.kind == rule.kind]
    items = sum(claim.items for claim in claims)
    evidence = tuple(order for claim in claims for order in claim.orders)
    notes = "；".join(claim.note for claim in claims if claim.note)
    raw = quantize2(items * rule.per_item)
    gained = min(raw, quantize2(rule.cap))
    if items == 0:
        note = "无"
    elif raw > gained:
        note = f"{items} 项 × {fmt_number(rule.per_item)} 分 = {_points(raw)} 分，超过上限，加 {_points(gained)} 分"
    else:
        note = f"{items} 项 × {fmt_number(rule.per_item)} 分，加 {_points(gained)} 分"
    if notes:
        note += f"（{notes}）"
    return BreakdownLine(
        kind=LINE_BONUS,
        code=rule.kind,
        label=rule.label,
        figures=f"{items} 项",
        rule=rule.rule_text(),
        note=note,
        points=gained,
        evidence=evidence,
    )


def _adjustment_line(index: int, adjustment: Adjustment) -> BreakdownLine:
    points = quantize2(adjustment.points) if adjustment.approved else ZERO
    who = f"{adjustment.entered_by or '（未署名）'}提出"
    if adjustment.approved:
        who += f"，{adjustment.approved_by or '（未署名）'}审批同意"
        note = f"已审批，计 {'+' if points > 0 else ''}{_points(points)} 分（{who}）"
    else:
        note = f"未审批，不计分（{who}）"
    sign = "+" if adjustment.points > 0 else ""
    return BreakdownLine(
        kind=LINE_ADJUSTMENT,
        code=f"adjustment-{index}",
        label="人工调整",
        figures=f"{sign}{_points(adjustment.points)} 分：{adjustment.reason}",
        rule="督办人员录入、经审批的人工调整计入得分，须注明理由",
        note=note,
        points=points,
        applicable=adjustment.approved,
    )


# ---------------------------------------------------------------------------------------------
# Ranking


@dataclass(frozen=True)
class RankedUnit:
    rank: int
    score: UnitScore

    @property
    def unit_id(self) -> str | int:
        return self.score.unit_id

    @property
    def unit_name(self) -> str:
        return self.score.unit_name


def _tie_key(score: UnitScore) -> tuple[str, str]:
    return (score.unit_name, str(score.unit_id))


@dataclass(frozen=True)
class RankedResult:
    """One group's month: ranked units (score desc, ties 1, 1, 3) and unranked units apart."""

    group: str
    ranked: tuple[RankedUnit, ...]
    unranked: tuple[UnitScore, ...] = ()

    def best(self, n: int) -> tuple[RankedUnit, ...]:
        """The top ``n`` ranked units, plus any unit tied with the ``n``-th."""
        if n <= 0 or not self.ranked:
            return ()
        boundary = self.ranked[min(n, len(self.ranked)) - 1].score.score
        return tuple(r for r in self.ranked if r.score.score >= boundary)

    def worst(self, n: int) -> tuple[RankedUnit, ...]:
        """The bottom ``n`` ranked units, worst first, plus any unit tied with the ``n``-th."""
        if n <= 0 or not self.ranked:
            return ()
        bottom_up = sorted(self.ranked, key=lambda r: (r.score.score, _tie_key(r.score)))
        boundary = bottom_up[min(n, len(bottom_up)) - 1].score.score
        return tuple(r for r in bottom_up if r.score.score <= boundary)

    def named(self, best: int, worst: int) -> tuple[tuple[RankedUnit, ...], tuple[RankedUnit, ...]]:
        """The better units (first ``best``, ties included) and the worse ones (last ``worst``,
        ties included); a unit named better is never also named worse (a group where everyone ties)."""
        better = self.best(best)
        ids = {r.unit_id for r in better}
        return better, tuple(r for r in self.worst(worst) if r.unit_id not in ids)

    def rank_of(self, unit_id: str | int) -> int | None:
        """The unit's rank, or None when it is unranked or absent."""
        for r in self.ranked:
            if r.score.unit_id == unit_id:
                return r.rank
        return None

    def scores(self) -> tuple[UnitScore, ...]:
        """Every unit: ranked ones in rank order, then the unranked."""
        return tuple(r.score for r in self.ranked) + self.unranked

    def rows(self) -> list[tuple[str, str, int]]:
        """The annex table: (单位, 考核总分 as printed, 排名)."""
        return [(r.unit_name, format_score(r.score.score), r.rank) for r in self.ranked]

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "ranked": [{"rank": r.rank, **r.score.to_dict()} for r in self.ranked],
            "unranked": [s.to_dict() for s in self.unranked],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RankedResult:
        return cls(
            group=data["group"],
            ranked=tuple(
                RankedUnit(rank=row["rank"], score=UnitScore.from_dict(row)) for row in data["ranked"]
            ),
            unranked=tuple(UnitScore.from_dict(row) for row in data.get("unranked", ())),
        )


def rank(scores: Iterable[UnitScore], *, group: str | None = None) -> RankedResult:
    """Competition ranking of one group: rank = 1 + number of strictly higher scores.

    Ties share a rank and are listed by unit name, then unit id, so the order is stable.
    Units with ``ranked=False`` (too few orders) are listed apart, by name.
    """
    items = list(scores)
    groups = {s.group for s in items}
    if group is None:
        if len(groups) > 1:
            raise FiguresError(f"不同分组不能混合排名：{'、'.join(sorted(groups))}；请使用 rank_groups")
        group = groups.pop() if groups else ""
    elif groups - {group, ""}:
        raise FiguresError(f"排名分组为“{group}”，但包含其他分组的单位")
    ids = [s.unit_id for s in items]
    if len(set(ids)) != len(ids):
        raise FiguresError("同一分组中单位重复")
    ranked_scores = sorted((s for s in items if s.ranked), key=lambda s: (-s.score, _tie_key(s)))
    ranked: list[RankedUnit] = []
    for position, s in enumerate(ranked_scores, start=1):
        if ranked and ranked[-1].score.score == s.score:
            ranked.append(RankedUnit(rank=ranked[-1].rank, score=s))
        else:
            ranked.append(RankedUnit(rank=position, score=s))
    unranked = tuple(sorted((s for s in items if not s.ranked), key=_tie_key))
    return RankedResult(group=group, ranked=tuple(ranked), unranked=unranked)


def rank_groups(scores: Iterable[UnitScore]) -> dict[str, RankedResult]:
    """Rank each group separately (groups are never ranked against each other)."""
    by_group: dict[str, list[UnitScore]] = {}
    for s in scores:
        by_group.setdefault(s.group, []).append(s)
    return {g: rank(items, group=g) for g, items in by_group.items()}


# ---------------------------------------------------------------------------------------------
# Diff between two versions of a month's results


@dataclass(frozen=True)
class LineChange:
    code: str
    label: str
    old_points: Decimal | None
    new_points: Decimal | None


@dataclass(frozen=True)
class UnitChange:
    """How one unit's result moved between two versions. ``status``: added, removed, changed."""

    unit_id: str | int
    unit_name: str
    status: str
    old_score: Decimal | None
    new_score: Decimal | None
    old_rank: int | None
    new_rank: int | None
    old_ranked: bool | None
    new_ranked: bool | None
    line_changes: tuple[LineChange, ...] = ()

    @property
    def score_delta(self) -> Decimal | None:
        if self.old_score is None or self.new_score is None:
            return None
        return self.new_score - self.old_score

    def describe(self) -> str:
        """One Chinese sentence for the recomputation notice."""
        if self.status == "added":
            where = f"排名第 {self.new_rank}" if self.new_rank else "不计入排名"
            return f"{self.unit_name}：新增，得分 {format_score(self.new_score)}，{where}"
        if self.status == "removed":
            return f"{self.unit_name}：已从结果中移除（原得分 {format_score(self.old_score)}）"
        parts = []
        if self.old_score != self.new_score:
            parts.append(f"得分 {format_score(self.old_score)} → {format_score(self.new_score)}")
        if self.old_rank != self.new_rank:
            parts.append(f"排名 {_rank_text(self.old_rank)} → {_rank_text(self.new_rank)}")
        for change in self.line_changes:
            parts.append(f"{change.label} {_signed(change.old_points)} → {_signed(change.new_points)}")
        return f"{self.unit_name}：" + "；".join(parts)


def _rank_text(value: int | None) -> str:
    return "不排名" if value is None else f"第 {value}"


def _signed(value: Decimal | None) -> str:
    if value is None:
        return "无"
    return f"{'+' if value > 0 else ''}{value:.2f}"


@dataclass(frozen=True)
class ResultDiff:
    group: str
    changes: tuple[UnitChange, ...]

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def describe(self) -> list[str]:
        return [change.describe() for change in self.changes]


def diff_results(old: RankedResult, new: RankedResult) -> ResultDiff:
    """What changed when a month's results were recomputed: per unit score, rank and lines.

    Units are matched by ``unit_id``; only units with some change are listed, in the new
    version's order, then units that disappeared.
    """
    if old.group != new.group:
        raise FiguresError(f"不能比较不同分组的结果：“{old.group}”与“{new.group}”")
    old_scores = {s.unit_id: s for s in old.scores()}
    new_scores = {s.unit_id: s for s in new.scores()}
    changes: list[UnitChange] = []
    for s in new.scores():
        before = old_scores.get(s.unit_id)
        if before is None:
            changes.append(
                UnitChange(
                    s.unit_id,
                    s.unit_name,
                    "added",
                    None,
                    s.score,
                    None,
                    new.rank_of(s.unit_id),
                    None,
                    s.ranked,
                )
            )
            continue
        line_changes = _line_changes(before, s)
        old_rank, new_rank = old.rank_of(s.unit_id), new.rank_of(s.unit_id)
        if before.score != s.score or old_rank != new_rank or before.ranked != s.ranked or line_changes:
            changes.append(
                UnitChange(
                    s.unit_id,
                    s.unit_name,
                    "changed",
                    before.score,
                    s.score,
                    old_rank,
                    new_rank,
                    before.ranked,
                    s.ranked,
                    line_changes,
                )
            )
    for s in old.scores():
        if s.unit_id not in new_scores:
            changes.append(
                UnitChange(
                    s.unit_id,
                    s.unit_name,
                    "removed",
                    s.score,
                    None,
                    old.rank_of(s.unit_id),
                    None,
                    s.ranked,
                    None,
                )
            )
    return ResultDiff(group=new.group, changes=tuple(changes))


def _line_changes(old: UnitScore, new: UnitScore) -> tuple[LineChange, ...]:
    old_lines = {line.code: line for line in old.lines}
    new_lines = {line.code: line for line in new.lines}
    changes = []
    for code in dict.fromkeys([*new_lines, *old_lines]):
        a, b = old_lines.get(code), new_lines.get(code)
        old_points = a.points if a else None
        new_points = b.points if b else None
        # A line that appears or goes away with 0 points (an unapproved adjustment) moves nothing.
        if (old_points or ZERO) != (new_points or ZERO):
            label = (b or a).label  # type: ignore[union-attr]
            changes.append(LineChange(code, label, old_points, new_points))
    return tuple(changes)
