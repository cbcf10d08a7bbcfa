"""The assessment engine, with expectations computed by hand (the comments show the sums).

Plain pytest, no database: run with ``-p no:django``.
"""

import json
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.assessment.default_scorecard import (
    DEFAULT_SCORECARDS,
    default_scorecard,
    load_scorecard,
    scorecard_to_data,
)
from hotline.assessment.engine import (
    Adjustment,
    BonusClaim,
    FiguresError,
    RankedResult,
    ScorecardError,
    UnitFigures,
    UnitScore,
    diff_results,
    format_score,
    rank,
    rank_groups,
    score_group,
    score_unit,
)

TOWNSHIP_KEYS = (
    "dispatched signed_on_time due closed_on_time callbacks satisfied solved upstream_callbacks "
    "upstream_satisfied replies replies_compliant overdue unjustified_returns reworks supervision_failed"
).split()


def small_card(**changes):
    """One indicator of each kind, numbers easy to add up by hand."""
    data = {
        "group": "township",
        "label": "乡镇街道",
        "base": "100",
        "min_orders": 6,
        "bonus_cap": "3",
        "indicators": [
            {"kind": "rate", "code": "on_time_rate", "label": "按时办结率", "numerator": "closed_on_time",
             "denominator": "due", "full_points": "20", "target": "90", "per_point": "1",
             "evidence_key": "closed_late"},
            {"kind": "rate", "code": "sign_rate", "label": "及时签收率", "numerator": "signed_on_time",
             "denominator": "dispatched", "full_points": "10",
             "thresholds": [["95", "10"], ["90", "7"], ["80", "4"]]},
            {"kind": "count", "code": "overdue", "label": "超期工单", "key": "overdue",
             "per_item": "0.5", "cap": "5"},
            {"kind": "bonus", "code": "praise", "label": "表扬", "per_item": "0.5", "cap": "1"},
            {"kind": "bonus", "code": "typical_case", "label": "典型案例", "per_item": "1", "cap": "2"},
            {"kind": "bonus", "code": "proactive_governance", "label": "主动治理", "per_item": "1", "cap": "2"},
        ],
    }
    data.update(changes)
    return load_scorecard(data)


def figures(name="杨楼镇", unit_id=None, order_count=50, **kwargs):
    counts = {"due": 50, "closed_on_time": 50, "dispatched": 50, "signed_on_time": 50, "overdue": 0}
    counts.update(kwargs.pop("counts", {}))
    return UnitFigures(unit_id=unit_id or name, unit_name=name, order_count=order_count, counts=counts, **kwargs)


def assert_explained(score: UnitScore):
    """Every point of the score is on a line of the breakdown."""
    assert sum((line.points for line in score.lines), D(0)) == score.score - score.base


# --- rate indicators: per point -----------------------------------------------------------


@pytest.mark.parametrize(
    ("closed", "due", "figures_text", "points"),
    [
        (47, 50, "47/50 = 94.00%", D("0.00")),  # above target: full marks
        (45, 50, "45/50 = 90.00%", D("0.00")),  # exactly the target
        (43, 50, "43/50 = 86.00%", D("-4.00")),  # 90 − 86 = 4 points below, −1 each
        (2, 3, "2/3 = 66.67%", D("-20.00")),  # 23.33 points below, capped at the full 20
        (8982, 10000, "8982/10000 = 89.82%", D("-0.18")),  # Lianyungang: 14.82 of 15 kept
        (1, 3, "1/3 = 33.33%", D("-20.00")),
    ],
)
def test_per_point_rate(closed, due, figures_text, points):
    score = score_unit(small_card(), figures(counts={"closed_on_time": closed, "due": due}))
    line = score.line("on_time_rate")
    assert line.figures == figures_text
    assert line.points == points
    assert line.rule == "目标 ≥ 90%，达标得满分 20 分；每低 1 个百分点扣 1 分，最多扣 20 分"
    assert score.score == D(100) + points
    assert_explained(score)


def test_per_point_rate_says_when_the_cap_bites():
    line = score_unit(small_card(), figures(counts={"closed_on_time": 2, "due": 3})).line("on_time_rate")
    assert "应扣 23.33 分" in line.note and "以满分 20 分为限" in line.note


def test_half_point_per_point_rounds_each_line_half_up():
    card = default_scorecard("township")
    counts = dict.fromkeys(TOWNSHIP_KEYS, 0) | {"replies": 36, "replies_compliant": 33}
    score = score_unit(card, UnitFigures("x", "寄料镇", 36, counts=counts))
    line = score.line("reply_compliance_rate")
    # 33/36 = 91.666…% → 91.67%; 95 − 91.67 = 3.33 points × 0.5 = 1.665 → 1.67 (half-up)
    assert line.figures == "33/36 = 91.67%"
    assert line.points == D("-1.67")
    assert score.score == D("98.33")


def test_zero_below_line_takes_everything():
    card = load_scorecard(
        {"group": "g", "label": "测试", "indicators": [
            {"kind": "rate", "code": "r", "label": "满意率", "numerator": "satisfied", "denominator": "callbacks",
             "full_points": "20", "target": "90", "per_point": "1", "zero_below": "80"}]}
    )
    def points(satisfied):
        unit = UnitFigures("u", "蟒川镇", 10, counts={"satisfied": satisfied, "callbacks": 100})
        return score_unit(card, unit).line("r").points

    assert points(80) == D("-10.00")  # at the line: 10 points below target, −10
    assert points(79) == D("-20.00")  # under it: nothing kept
    assert "低于目标 90% 共 10 个百分点" in score_unit(
        card, UnitFigures("u", "蟒川镇", 10, counts={"satisfied": 80, "callbacks": 100})
    ).line("r").note


# --- rate indicators: thresholds ----------------------------------------------------------


@pytest.mark.parametrize(
    ("signed", "dispatched", "kept"),
    [
        (100, 100, 10),
        (95, 100, 10),  # exactly 95.00%: top row
        (9499, 10000, 7),  # 94.99%
        (18999, 20000, 10),  # 94.995% rounds half-up to 95.00%, and the rule reads the rounded rate
        (90, 100, 7),
        (8999, 10000, 4),  # 89.99%
        (80, 100, 4),  # 80.00%: the lowest row still counts
        (7999, 10000, 0),  # 79.99%: below every row, 签收率 < 80% → 0 points
        (0, 100, 0),
    ],
)
def test_threshold_rate_at_and_around_boundaries(signed, dispatched, kept):
    score = score_unit(small_card(), figures(counts={"signed_on_time": signed, "dispatched": dispatched}))
    line = score.line("sign_rate")
    assert line.points == D(kept) - 10
    assert line.rule == "满分 10 分，分档计分：≥ 95% 得 10 分；≥ 90% 得 7 分；≥ 80% 得 4 分；低于 80% 得 0 分"
    assert_explained(score)


def test_threshold_note_reads_like_the_table():
    line = score_unit(small_card(), figures(counts={"signed_on_time": 47, "dispatched": 50})).line("sign_rate")
    assert line.figures == "47/50 = 94.00%"
    assert line.note == "94.00% ≥ 90%，得 7 分，扣 3.00 分"
    low = score_unit(small_card(), figures(counts={"signed_on_time": 3, "dispatched": 5})).line("sign_rate")
    assert low.note == "低于 80%，得 0 分，扣 10.00 分"


def test_denominator_zero_is_not_applicable():
    score = score_unit(small_card(), figures(counts={"due": 0, "closed_on_time": 0}))
    line = score.line("on_time_rate")
    assert line.applicable is False
    assert line.points == D(0)
    assert line.figures == "0/0"
    assert "不适用" in line.note and "不扣分" in line.note
    assert score.score == D("100.00")


def test_rate_evidence_lists_the_orders_that_fell_short():
    late = ["RZ2307-000101", "RZ2307-000102", "RZ2307-000103"]
    score = score_unit(
        small_card(), figures(counts={"closed_on_time": 47}, evidence={"closed_late": late})
    )
    assert score.line("on_time_rate").evidence == tuple(late)


# --- count deductions --------------------------------------------------------------------


def test_count_deduction_per_item_with_evidence():
    overdue = ["RZ2307-000007", "RZ2307-000019", "RZ2307-000023"]
    score = score_unit(small_card(), figures(counts={"overdue": 3}, evidence={"overdue": overdue}))
    line = score.line("overdue")
    assert line.figures == "3 件"
    assert line.points == D("-1.50")  # 3 × 0.5
    assert line.evidence == tuple(overdue)
    assert line.rule == "每件扣 0.5 分，最多扣 5 分"
    assert score.score == D("98.50")


@pytest.mark.parametrize(("items", "points"), [(0, "0"), (9, "-4.5"), (10, "-5"), (11, "-5"), (40, "-5")])
def test_count_deduction_cap(items, points):
    score = score_unit(small_card(), figures(counts={"overdue": items}))
    assert score.line("overdue").points == D(points)
    assert_explained(score)


def test_default_department_card_deducts_for_stationing():
    card = default_scorecard("department")
    counts = dict.fromkeys(card.count_keys(), 0) | {"stationing_noncompliant": 1}
    score = score_unit(card, UnitFigures("zrzy", "自然资源和规划局", 30, counts=counts))
    assert score.line("stationing").points == D("-5.00")
    assert score.score == D("95.00")


# --- bonuses -----------------------------------------------------------------------------


def test_bonus_seed_shape_above_one_hundred():
    # 住房和城乡建设局: full marks, one praise (0.5) and one typical case (1) → 101.5 as in annex 2
    unit = figures(
        "住房和城乡建设局",
        bonuses=[BonusClaim("praise", orders=["RZ2307-000311"]), BonusClaim("typical_case", count=1)],
    )
    score = score_unit(small_card(), unit)
    assert score.score == D("101.50")
    assert score.line("praise").evidence == ("RZ2307-000311",)
    assert score.bonus_points == D("1.50")
    assert format_score(score.score) == "101.5"
    assert_explained(score)


def test_bonus_per_kind_cap_and_overall_cap():
    unit = figures(
        bonuses=[
            BonusClaim("praise", count=3),  # 3 × 0.5 = 1.5 → kind cap 1
            BonusClaim("typical_case", count=2),  # 2 × 1 = 2 (cap 2)
            BonusClaim("proactive_governance", count=1, note="主动排查汛期积水点"),  # 1
        ]
    )
    score = score_unit(small_card(), unit)
    assert score.line("praise").points == D("1.00")
    assert "超过上限" in score.line("praise").note
    assert score.line("typical_case").points == D("2.00")
    assert "主动排查汛期积水点" in score.line("proactive_governance").note
    # 1 + 2 + 1 = 4, overall cap 3: the cap line takes back 1
    cap = score.line("bonus_cap")
    assert cap.points == D("-1.00")
    assert cap.figures == "加分合计 4.00 分"
    assert score.score == D("103.00")
    assert score.bonus_points == D("3.00")
    assert_explained(score)


def test_bonus_claims_of_one_kind_add_up():
    unit = figures(bonuses=[BonusClaim("praise", count=1), BonusClaim("praise", orders=["RZ2307-000400"])])
    assert score_unit(small_card(), unit).line("praise").points == D("1.00")


def test_no_overall_cap_when_spec_has_none():
    card = small_card(bonus_cap=None)
    unit = figures(bonuses=[BonusClaim("typical_case", count=2), BonusClaim("proactive_governance", count=2)])
    score = score_unit(card, unit)
    assert score.score == D("104.00")
    with pytest.raises(KeyError):
        score.line("bonus_cap")


# --- manual adjustments and exclusions ---------------------------------------------------


def test_only_approved_adjustments_count():
    unit = figures(
        adjustments=[
            Adjustment(D("1.5"), "协调会上主动认领宏翔大道下水道问题", approved=True,
                       entered_by="supervisor_zhou", approved_by="admin"),
            Adjustment(D("-2"), "回复内容与事实不符（待核实）", approved=False, entered_by="supervisor_zhou"),
        ]
    )
    score = score_unit(small_card(), unit)
    approved, pending = score.line("adjustment-1"), score.line("adjustment-2")
    assert approved.points == D("1.50")
    assert approved.figures == "+1.50 分：协调会上主动认领宏翔大道下水道问题"
    assert "supervisor_zhou" in approved.note and "admin" in approved.note
    assert pending.points == D(0) and pending.applicable is False
    assert "未审批，不计分" in pending.note
    assert pending.figures == "-2.00 分：回复内容与事实不符（待核实）"
    assert score.score == D("101.50")
    assert_explained(score)


def test_adjustment_needs_a_reason():
    with pytest.raises(FiguresError, match="理由"):
        Adjustment(D(1), "  ", approved=True)


def test_exclusions_are_shown_in_the_explanation():
    excluded = ["RZ2307-000501", "RZ2307-000502"]
    unit = figures(order_count=48, excluded_count=2, excluded_orders=excluded)
    score = score_unit(small_card(), unit)
    line = score.line("orders")
    assert line.figures == "计入考核工单 48 件，另有 2 件经审核认定为不合理或恶意诉求，已剔除"
    assert line.evidence == tuple(excluded)
    assert line.points == D(0)
    assert score.excluded_count == 2 and score.order_count == 48


# --- a whole default-card month, by hand -------------------------------------------------


def test_default_township_card_by_hand():
    counts = {
        "dispatched": 40, "signed_on_time": 34,  # 85.00% → row ≥ 80: 4 of 10 → −6
        "due": 36, "closed_on_time": 30,  # 83.33% → 6.67 below 90 → −6.67
        "callbacks": 30, "satisfied": 24, "solved": 24,  # 80.00% → −10; 解决率 80 vs 85 → −5
        "upstream_callbacks": 4, "upstream_satisfied": 3,  # 75.00% → 15 below, cap 10 → −10
        "replies": 36, "replies_compliant": 33,  # 91.67% → 3.33 × 0.5 = 1.665 → −1.67
        "overdue": 6,  # −3
        "unjustified_returns": 1,  # −0.5
        "reworks": 2,  # −1
        "supervision_failed": 0,
    }
    score = score_unit(default_scorecard("township"), UnitFigures("jl", "寄料镇", 40, counts=counts))
    expected = {
        "sign_rate": "-6", "on_time_rate": "-6.67", "satisfaction_rate": "-10", "solved_rate": "-5",
        "upstream_satisfaction_rate": "-10", "reply_compliance_rate": "-1.67", "overdue": "-3",
        "unjustified_returns": "-0.5", "reworks": "-1", "supervision_failed": "0",
    }
    for code, points in expected.items():
        assert score.line(code).points == D(points), code
    assert score.score == D("56.16")  # 100 − 43.84
    assert score.deductions == D("43.84")
    assert_explained(score)


# --- the minimum-order rule --------------------------------------------------------------


def test_five_orders_unranked_six_ranked():
    card = small_card()
    five = score_unit(card, figures("王寨乡", order_count=5))
    six = score_unit(card, figures("骑岭乡", order_count=6, counts={"overdue": 1}))
    assert five.ranked is False
    assert five.unranked_reason == "工单量 5 件，少于 6 件，不计入考核排名"
    assert "少于 6 件" in five.line("orders").note
    assert six.ranked is True
    result = rank([five, six])
    assert [(r.unit_name, r.rank) for r in result.ranked] == [("骑岭乡", 1)]
    assert [s.unit_name for s in result.unranked] == ["王寨乡"]
    assert result.rank_of(five.unit_id) is None
    # the unranked unit keeps its (higher) score for the record, but takes no rank
    assert five.score == D("100.00") > six.score


# --- ranking -----------------------------------------------------------------------------


def s(name, score, group="township", ranked=True):
    return UnitScore(unit_id=name, unit_name=name, score=D(score), group=group, ranked=ranked)


def test_ties_share_a_rank_and_the_next_rank_skips():
    result = rank([s("蟒川镇", "98"), s("杨楼镇", "99.5"), s("临汝镇", "99.5"), s("陵头镇", "97.5")])
    assert [(r.unit_name, r.rank) for r in result.ranked] == [
        ("临汝镇", 1), ("杨楼镇", 1), ("蟒川镇", 3), ("陵头镇", 4),
    ]


def test_three_way_tie():
    result = rank([s("a", "90"), s("b", "88"), s("c", "88"), s("d", "88"), s("e", "80")])
    assert [r.rank for r in result.ranked] == [1, 2, 2, 2, 5]


def test_tie_order_is_by_name_then_unit_id_whatever_the_input_order():
    units = [UnitScore(3, "夏店镇", D(90)), UnitScore(1, "夏店镇", D(90)), UnitScore(2, "大峪镇", D(90))]
    for order in (units, units[::-1]):
        result = rank(order)
        # names compare by code point (夏 U+590F before 大 U+5927), then unit id
        assert [r.unit_id for r in result.ranked] == [1, 3, 2]
        assert [r.rank for r in result.ranked] == [1, 1, 1]


def test_best_and_worst_include_ties_at_the_boundary():
    result = rank([
        s("杨楼镇", "99.5"), s("临汝镇", "99.5"), s("蟒川镇", "98"),
        s("纸坊镇", "77"), s("寄料镇", "77"), s("小屯镇", "83.5"),
    ])
    assert [r.unit_name for r in result.best(1)] == ["临汝镇", "杨楼镇"]
    assert [r.unit_name for r in result.best(3)] == ["临汝镇", "杨楼镇", "蟒川镇"]
    # ties at the bottom: both share rank 5 and both are named
    assert [(r.unit_name, r.rank) for r in result.worst(1)] == [("寄料镇", 5), ("纸坊镇", 5)]
    assert [r.unit_name for r in result.worst(3)] == ["寄料镇", "纸坊镇", "小屯镇"]
    assert result.best(0) == () and result.worst(0) == ()
    assert len(result.best(100)) == 6


def test_groups_rank_separately_and_never_mix():
    scores = [s("杨楼镇", "99.5"), s("住房和城乡建设局", "101.5", group="department"), s("寄料镇", "77")]
    with pytest.raises(FiguresError, match="不同分组"):
        rank(scores)
    by_group = rank_groups(scores)
    assert [r.unit_name for r in by_group["department"].ranked] == ["住房和城乡建设局"]
    assert by_group["department"].ranked[0].rank == 1
    assert [r.rank for r in by_group["township"].ranked] == [1, 2]


def test_duplicate_units_are_refused():
    with pytest.raises(FiguresError, match="重复"):
        rank([s("杨楼镇", "99"), s("杨楼镇", "98")])


ANNEX_1 = [
    ("杨楼镇", "99.5", 1), ("临汝镇", "99.5", 1), ("蟒川镇", "98", 3), ("焦村镇", "98", 3), ("陵头镇", "97.5", 5),
    ("洗耳河街道", "95.75", 6), ("夏店镇", "94.5", 7), ("大峪镇", "94", 8), ("煤山街道", "93", 9),
    ("风穴路街道", "92.5", 10), ("骑岭乡", "92", 11), ("温泉镇", "90.57", 12), ("钟楼街道", "88.5", 13),
    ("紫云路街道", "88.5", 13), ("庙下镇", "88", 15), ("米庙镇", "86", 16), ("汝南街道", "85", 17),
    ("王寨乡", "84.67", 18), ("小屯镇", "83.5", 19), ("纸坊镇", "80", 20), ("寄料镇", "77", 21),
]

ANNEX_2 = [
    ("住房和城乡建设局", "101.5", 1), ("教育体育局（教育）", "101", 2), ("国网汝州市供电公司", "100", 3),
    ("生态环境局", "98", 4), ("税务局", "97.5", 5), ("商务局", "97.5", 5), ("医疗保障局", "97", 7),
    ("煤矿安全监察局", "96", 8), ("文广旅游局", "95", 9), ("融媒体中心", "94", 10), ("自来水公司", "92.78", 11),
    ("人力资源和社会保障局", "92.5", 12), ("公安局", "91", 13), ("移动公司", "90", 14), ("农业农村局", "88", 15),
    ("教育体育局（体育）", "88", 15), ("公路管理局", "88", 15), ("联通公司", "86", 18), ("城市管理局", "85.5", 19),
    ("国资事务中心", "84", 20), ("市场监督管理局", "83", 21), ("自然资源和规划局", "79.46", 22),
    ("卫生健康委员会", "78.5", 23), ("交通运输局", "77.06", 24),
]


@pytest.mark.parametrize("annex", [ANNEX_1, ANNEX_2], ids=["annex1-townships", "annex2-departments"])
def test_seed_annex_rank_column_is_reproduced_from_its_scores(annex):
    shuffled = annex[::-1]  # the engine must not rely on the input order
    result = rank([s(name, score) for name, score, _ in shuffled])
    expected_rank = {name: r for name, _, r in annex}
    assert {r.unit_name: r.rank for r in result.ranked} == expected_rank
    assert [r for _, _, r in result.rows()] == [r for _, _, r in annex]
    assert {name: printed for name, printed, _ in result.rows()} == {name: sc for name, sc, _ in annex}


def test_seed_annex_best_and_worst():
    townships = rank([s(name, score) for name, score, _ in ANNEX_1])
    departments = rank([s(name, score, group="department") for name, score, _ in ANNEX_2])
    assert [r.unit_name for r in townships.best(2)] == ["临汝镇", "杨楼镇"]
    assert [r.unit_name for r in townships.worst(1)] == ["寄料镇"]
    assert [r.unit_name for r in departments.best(1)] == ["住房和城乡建设局"]
    assert [r.unit_name for r in departments.worst(1)] == ["交通运输局"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=400), min_size=0, max_size=30))
def test_property_ranks_are_consistent_with_scores(raw):
    # quarter-point scores from 0 to 100 make ties frequent
    scores = [UnitScore(unit_id=i, unit_name=f"单位{i % 7}", score=D(v) / 4) for i, v in enumerate(raw)]
    result = rank(scores)
    assert len(result.ranked) == len(scores)
    for a in result.ranked:
        assert a.rank == 1 + sum(1 for b in result.ranked if b.score.score > a.score.score)
        for b in result.ranked:
            if a.score.score > b.score.score:
                assert a.rank < b.rank
            if a.score.score == b.score.score:
                assert a.rank == b.rank
    ranks = [r.rank for r in result.ranked]
    assert ranks == sorted(ranks)


@settings(max_examples=150, deadline=None)
@given(
    group=st.sampled_from(["township", "department"]),
    data=st.data(),
)
def test_property_breakdown_explains_every_point(group, data):
    card = default_scorecard(group)
    counts = {}
    for rate in card.rates:
        den = counts.get(rate.denominator, data.draw(st.integers(0, 300)))
        counts[rate.denominator] = den
        counts[rate.numerator] = data.draw(st.integers(0, den))
    for d in card.deductions:
        counts[d.key] = data.draw(st.integers(0, 30))
    # numerators sharing a denominator (satisfied, solved / callbacks) were drawn after it
    bonuses = [BonusClaim(kind, count=data.draw(st.integers(0, 5))) for kind in card.bonus_kinds()]
    adjustments = [
        Adjustment(D(data.draw(st.integers(-300, 300))) / 100, "理由", approved=data.draw(st.booleans()))
        for _ in range(data.draw(st.integers(0, 3)))
    ]
    unit = UnitFigures("u", "单位", data.draw(st.integers(0, 300)), counts=counts,
                       bonuses=bonuses, adjustments=adjustments)
    score = score_unit(card, unit)
    assert_explained(score)
    assert score.score == score.score.quantize(D("0.01"))
    for line in score.lines:
        if line.kind in ("rate", "count"):
            assert line.points <= 0
        if line.kind == "bonus":
            assert line.points >= 0
    assert score.bonus_points <= card.bonus_cap
    assert score.ranked == (unit.order_count >= 6)


# --- diff between versions ---------------------------------------------------------------


def test_diff_after_recomputation():
    card = small_card()
    before = score_group(card, [
        figures("杨楼镇", unit_id=1),
        figures("临汝镇", unit_id=2),
        figures("寄料镇", unit_id=3, counts={"overdue": 4}),  # 98
        figures("米庙镇", unit_id=4, order_count=5),
    ])
    after = score_group(card, [
        figures("杨楼镇", unit_id=1),
        # a rejected order was excluded on review: one overdue order fewer
        figures("临汝镇", unit_id=2, counts={"overdue": 1}),  # 99.5
        figures("寄料镇", unit_id=3, counts={"overdue": 4},
                adjustments=[Adjustment(D(3), "复核后补记协调会贡献", approved=True)]),  # 101
        figures("庙下镇", unit_id=5),
    ])
    assert [(r.unit_name, r.rank) for r in before.ranked] == [("临汝镇", 1), ("杨楼镇", 1), ("寄料镇", 3)]
    assert [(r.unit_name, r.rank) for r in after.ranked] == [
        ("寄料镇", 1), ("庙下镇", 2), ("杨楼镇", 2), ("临汝镇", 4)
    ]
    diff = diff_results(before, after)
    by_id = {c.unit_id: c for c in diff.changes}
    assert set(by_id) == {1, 2, 3, 4, 5}
    assert by_id[3].status == "changed"
    assert (by_id[3].old_score, by_id[3].new_score, by_id[3].old_rank, by_id[3].new_rank) == (
        D("98.00"), D("101.00"), 3, 1,
    )
    assert by_id[3].score_delta == D("3.00")
    assert [(c.label, c.old_points, c.new_points) for c in by_id[3].line_changes] == [
        ("人工调整", None, D("3.00"))
    ]
    assert by_id[2].describe() == "临汝镇：得分 100 → 99.5；排名 第 1 → 第 4；超期工单 0.00 → -0.50"
    assert by_id[1].describe() == "杨楼镇：排名 第 1 → 第 2"  # same score, pushed down by others
    assert by_id[5].status == "added" and by_id[5].describe() == "庙下镇：新增，得分 100，排名第 2"
    assert by_id[4].status == "removed" and "已从结果中移除" in by_id[4].describe()
    assert len(diff.describe()) == 5


def test_diff_of_identical_results_is_empty():
    result = score_group(small_card(), [figures("杨楼镇"), figures("寄料镇", counts={"overdue": 2})])
    assert diff_results(result, result).changed is False


def test_results_survive_json_and_diff_against_the_frozen_copy():
    card = small_card()
    result = score_group(card, [
        figures("杨楼镇", bonuses=[BonusClaim("praise", orders=["RZ2307-000311"])]),
        figures("寄料镇", counts={"overdue": 2}, evidence={"overdue": ["RZ2307-000007", "RZ2307-000009"]}),
        figures("米庙镇", order_count=3),
    ])
    frozen = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert RankedResult.from_dict(frozen) == result
    assert diff_results(RankedResult.from_dict(frozen), result).changes == ()


# --- figures errors ----------------------------------------------------------------------


def test_missing_count_key_is_an_error_not_a_zero():
    unit = UnitFigures("u", "杨楼镇", 10, counts={"due": 10, "closed_on_time": 10})
    with pytest.raises(FiguresError, match="缺少计数项：signed_on_time、dispatched、overdue"):
        score_unit(small_card(), unit)


def test_numerator_above_denominator_is_an_error():
    with pytest.raises(FiguresError, match="分子 51 大于分母 50"):
        score_unit(small_card(), figures(counts={"closed_on_time": 51}))


def test_unknown_bonus_kind_is_an_error():
    with pytest.raises(FiguresError, match="没有加分项：banner"):
        score_unit(small_card(), figures(bonuses=[BonusClaim("banner", count=1)]))


def test_negative_counts_are_refused():
    with pytest.raises(FiguresError, match="不小于 0"):
        figures(counts={"overdue": -1})


# --- default scorecards and the loader ---------------------------------------------------


def test_default_scorecards_are_json_and_round_trip():
    text = json.dumps(DEFAULT_SCORECARDS, ensure_ascii=False)
    assert json.loads(text) == DEFAULT_SCORECARDS
    for group, data in DEFAULT_SCORECARDS.items():
        card = load_scorecard(data)
        assert card.group == group
        assert card.base == D(100) and card.min_orders == 6
        assert load_scorecard(scorecard_to_data(card)) == card
        assert sum(r.full_points for r in card.rates) == D(80)
    assert default_scorecard("township").count_keys() == (
        "signed_on_time", "dispatched", "closed_on_time", "due", "satisfied", "callbacks", "solved",
        "upstream_satisfied", "upstream_callbacks", "replies_compliant", "replies", "overdue",
        "unjustified_returns", "reworks", "supervision_failed",
    )
    assert default_scorecard("department").count_keys()[-1] == "stationing_noncompliant"
    assert default_scorecard("department").bonus_kinds() == ("praise", "typical_case", "proactive_governance")


def test_default_scorecards_do_not_share_mutable_data():
    DEFAULT_SCORECARDS["township"]["indicators"][0]["label"] = "改过"
    try:
        assert DEFAULT_SCORECARDS["department"]["indicators"][0]["label"] == "及时签收率"
    finally:
        DEFAULT_SCORECARDS["township"]["indicators"][0]["label"] = "及时签收率"


def test_unknown_default_group():
    with pytest.raises(ScorecardError, match="没有分组"):
        default_scorecard("villages")


def _with_indicator(indicator):
    return {"group": "g", "label": "测试", "indicators": [indicator]}


RATE = {"kind": "rate", "code": "r", "label": "满意率", "numerator": "satisfied", "denominator": "callbacks",
        "full_points": "20", "target": "90", "per_point": "1"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("not a dict", "必须是一个对象"),
        ({"label": "测试", "indicators": []}, "缺少字段：group"),
        ({"group": "g", "label": "测试", "indicators": [], "weights": 1}, "未知字段：weights"),
        ({"group": "g", "label": "测试", "indicators": {}}, "必须是列表"),
        (_with_indicator({**RATE, "kind": "ratio"}), "类型“ratio”未知"),
        (_with_indicator({k: v for k, v in RATE.items() if k != "denominator"}), "缺少字段：denominator"),
        (_with_indicator({**RATE, "full_points": "二十"}), "必须是数字"),
        (_with_indicator({**RATE, "full_points": "-5"}), "满分不能为负数"),
        (_with_indicator({**RATE, "target": "120"}), "0% 到 100%"),
        (_with_indicator({**RATE, "per_point": "0"}), "扣分必须大于 0"),
        (_with_indicator({k: v for k, v in RATE.items() if k != "per_point"}), "须同时设置目标值和每个百分点的扣分"),
        (_with_indicator({**RATE, "zero_below": "95"}), "不得分线必须低于目标值"),
        (_with_indicator({**RATE, "thresholds": [["90", "20"]]}), "不能同时设置"),
        (_with_indicator({k: v for k, v in RATE.items() if k not in ("target", "per_point")}), "之一"),
        (_with_indicator({**{k: v for k, v in RATE.items() if k not in ("target", "per_point")},
                          "thresholds": [["80", "10"], ["90", "20"]]}), "从高到低"),
        (_with_indicator({**{k: v for k, v in RATE.items() if k not in ("target", "per_point")},
                          "thresholds": [["90", "20"], ["90", "10"]]}), "不能重复"),
        (_with_indicator({**{k: v for k, v in RATE.items() if k not in ("target", "per_point")},
                          "thresholds": [["90", "20"], ["80", "25"]]}), "不能超过满分"),
        (_with_indicator({**{k: v for k, v in RATE.items() if k not in ("target", "per_point")},
                          "thresholds": [["90", "15"], ["80", "10"]]}), "最高一档应得满分"),
        (_with_indicator({**{k: v for k, v in RATE.items() if k not in ("target", "per_point")},
                          "thresholds": [["90", "20"], ["80", "5"], ["70", "10"]]}), "较低一档的得分不能高于"),
        (_with_indicator({**{k: v for k, v in RATE.items() if k not in ("target", "per_point")},
                          "thresholds": [["90"]]}), "每一档须为"),
        (_with_indicator({**RATE, "numerator": "callbacks"}), "分子与分母不能是同一项"),
        (_with_indicator({"kind": "count", "code": "overdue", "label": "超期工单", "key": "overdue",
                          "per_item": "0.5", "cap": "-5"}), "扣分上限不能为负数"),
        (_with_indicator({"kind": "count", "code": "overdue", "label": "超期工单", "key": "overdue",
                          "per_item": "0.5"}), "缺少字段：cap"),
        (_with_indicator({"kind": "bonus", "code": "praise", "label": "表扬", "per_item": "0.5",
                          "cap": "-1"}), "加分上限不能为负数"),
        (_with_indicator({"kind": "bonus", "code": "praise", "label": "", "per_item": "0.5",
                          "cap": "1"}), "须有中文名称"),
        ({"group": "g", "label": "测试", "bonus_cap": "-3", "indicators": []}, "加分总上限不能为负数"),
        ({"group": "g", "label": "测试", "min_orders": "6", "indicators": []}, "必须是整数"),
        ({"group": "g", "label": "测试", "base": "100.005", "indicators": []}, "两位小数"),
        ({"group": "g", "label": "测试", "indicators": [RATE, RATE]}, "重复"),
        ({"group": "", "label": "测试", "indicators": []}, "分组"),
    ],
)
def test_malformed_scorecards_are_refused_in_chinese(spec, message):
    with pytest.raises(ScorecardError, match=message):
        load_scorecard(spec)


def test_loader_accepts_numbers_and_threshold_objects():
    card = load_scorecard(_with_indicator({
        **{k: v for k, v in RATE.items() if k not in ("target", "per_point")},
        "full_points": 20,
        "thresholds": [{"min_rate": 95, "points": 20}, {"min_rate": 85.5, "points": 12.5}],
    }))
    assert card.rates[0].thresholds[1].min_rate == D("85.5")
    assert card.rates[0].thresholds[1].points == D("12.5")
