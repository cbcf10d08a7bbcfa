"""The assessment's database side: a small July 2023 built through the real actions, counted by hand.

杨楼镇 (handler 赵) gets eight lead orders dispatched on Mon 2023-07-03 10:00 (sign-for limit 24 h,
handling deadline set to 07-10 18:00 unless noted):

A  signed on time; replied; callback 不满意 → rework; replied again; callback 满意, solved
B  signed late (07-05); stamped overdue by the sweep; replied late with a short reply; 不满意, unsolved
C  signed on time; return requested and rejected (不当退单); never replied → overdue at the cut-off
D  returned and the return approved → not 杨楼镇's; redispatched to 寄料镇
E  judged malicious on review → excluded
F  upstream order; replied on time; 非常满意, solved
G  suspended (承诺办理): not due, not overdue; its 督办 marked not carried out
H  replied on time, compliant; waiting for its callback

Hand count for 杨楼镇 (cut-off 2023-08-01): orders 6 (A B C F G H); dispatched 6, signed late 1 (B);
replies 4 (A B F H), compliant 3; due 5 (A B F H replied + C unreplied past), on time 3 (A F H);
callbacks 3 (A B F), satisfied 2, solved 2; upstream 1/1; overdue 2 (B C); unjustified returns 1 (C);
reworks 1 (A); supervision failed 1 (G). 寄料镇: 1 order (D) → not ranked.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from hotline.assessment import actions as assess
from hotline.assessment.figures import build_unit_months
from hotline.assessment.models import Appeal, ManualAdjustment, MonthlyResult, ScorecardVersion
from hotline.assessment.results import AssessmentError, annex_rows, annex_tables, best_and_worst, unit_sheet
from hotline.workorders import actions
from hotline.workorders.models import Event, Reminder
from tests.conftest import at

CUTOFF = at(2023, 8, 1, 9, 0)
DEADLINE = at(2023, 7, 10, 18, 0)
GOOD_REPLY = "经核实，已安排施工队对该路段进行修补，现已恢复通行。"


@pytest.fixture
def second_supervisor(people):
    from hotline.accounts.models import User

    return User.objects.create_user("supervisor_zheng", password="x", role="supervisor", display_name="郑")


@pytest.fixture
def july(people, unit, new_order):
    """The month described in the module docstring; returns the orders by letter."""
    from hotline.directory.models import UpstreamPlatform

    wang, zhao, li, zhou = (people[k] for k in ("dispatcher_wang", "handler_zhao", "operator_li", "supervisor_zhou"))
    yanglou = unit("杨楼镇")
    orders = {}
    for letter in "ABCDEFGH":
        extra = {}
        if letter == "F":
            extra = {"source": "upstream", "upstream_platform": UpstreamPlatform.objects.order_by("position").first(),
                     "upstream_number": "PDS-2023-0701"}
        order = new_order(title=f"工单{letter}", **extra)
        actions.submit_for_dispatch(order, acting_user=li, at=at(2023, 7, 3, 9, 30))
        actions.dispatch(order, acting_user=wang, lead_unit=yanglou, handle_deadline=DEADLINE, at=at(2023, 7, 3, 10))
        orders[letter] = order

    def close(order, satisfaction, solved, when, rework=False):
        actions.approve_reply(order, acting_user=wang, at=when)
        actions.record_callback(order, acting_user=li, satisfaction=satisfaction, solved=solved, rework=rework,
                                note="来电人表示问题仍未解决" if rework else "", at=when + dt.timedelta(hours=2))

    a = orders["A"]
    actions.sign(a, acting_user=zhao, at=at(2023, 7, 3, 11))
    actions.reply(a, acting_user=zhao, public_reply=GOOD_REPLY, is_true="true", solved=True, at=at(2023, 7, 4, 10))
    close(a, "dissatisfied", False, at(2023, 7, 4, 15), rework=True)
    actions.reply(a, acting_user=zhao, public_reply=GOOD_REPLY + "已再次上门。", is_true="true", solved=True,
                  at=at(2023, 7, 6, 10))
    close(a, "satisfied", True, at(2023, 7, 6, 15))

    b = orders["B"]
    actions.sign(b, acting_user=zhao, at=at(2023, 7, 5, 9))
    assert actions.mark_overdue([b.pk], at=at(2023, 7, 11, 8)) == 1
    actions.reply(b, acting_user=zhao, public_reply="已处理。", is_true="true", solved=False, at=at(2023, 7, 11, 9))
    close(b, "dissatisfied", False, at(2023, 7, 11, 15))

    c = orders["C"]
    actions.sign(c, acting_user=zhao, at=at(2023, 7, 3, 11))
    actions.request_return(c, acting_user=zhao, reason="不属于本镇职责", basis="三定方案", at=at(2023, 7, 3, 12))
    actions.reject_return(c, acting_user=wang, note="属地管理，应由杨楼镇办理", at=at(2023, 7, 3, 16))

    d = orders["D"]
    actions.request_return(d, acting_user=zhao, reason="不属于本镇职责", basis="三定方案", at=at(2023, 7, 3, 12))
    actions.approve_return(d, acting_user=wang, at=at(2023, 7, 3, 14))
    actions.dispatch(d, acting_user=wang, lead_unit=unit("寄料镇"), handle_deadline=DEADLINE, at=at(2023, 7, 3, 15))

    e = orders["E"]
    actions.sign(e, acting_user=zhao, at=at(2023, 7, 3, 11))
    assess.decide_exclusion(e, acting_user=zhou, reason="来电人反复恶意投诉，经核查诉求不实", at=at(2023, 7, 20, 9))

    f = orders["F"]
    actions.sign(f, acting_user=zhao, at=at(2023, 7, 3, 11))
    actions.reply(f, acting_user=zhao, public_reply=GOOD_REPLY, is_true="partly", solved=True, at=at(2023, 7, 5, 10))
    close(f, "very_satisfied", True, at(2023, 7, 5, 15))

    g = orders["G"]
    actions.sign(g, acting_user=zhao, at=at(2023, 7, 3, 11))
    actions.supervise(g, acting_user=zhou, notice="请于两日内反馈办理进度", at=at(2023, 7, 4, 9))
    Reminder.objects.filter(order=g, kind=Reminder.Kind.SUPERVISION).update(failed=True)
    actions.request_suspension(g, acting_user=zhao, reason="需列入年度道路改造计划", at=at(2023, 7, 5, 9))
    actions.approve_suspension(g, acting_user=wang, at=at(2023, 7, 5, 10))

    h = orders["H"]
    actions.sign(h, acting_user=zhao, at=at(2023, 7, 3, 11))
    actions.reply(h, acting_user=zhao, public_reply=GOOD_REPLY, is_true="true", solved=True, at=at(2023, 7, 6, 10))
    actions.approve_reply(h, acting_user=wang, at=at(2023, 7, 6, 11))
    for o in orders.values():
        o.refresh_from_db()
    return orders


def test_figures_counted_by_hand(july, unit, django_assert_max_num_queries):
    # Four of them are the closed month's store (hotline.metrics.store): its row, the event mark,
    # the sub-units, the write.
    with django_assert_max_num_queries(16):
        months = build_unit_months(2023, 7, as_of=CUTOFF)
    m = months[unit("杨楼镇").pk]
    n = {k: v.number for k, v in july.items()}
    assert m.order_count == 6
    assert m.excluded_orders == [n["E"]]
    assert m.counts == {
        "dispatched": 6, "signed_on_time": 5, "due": 5, "closed_on_time": 3,
        "callbacks": 3, "satisfied": 2, "solved": 2,
        "upstream_callbacks": 1, "upstream_satisfied": 1, "upstream_solved": 1,
        "replies": 4, "replies_compliant": 3, "overdue": 2, "unjustified_returns": 1,
        "reworks": 1, "supervision_failed": 1, "stationing_noncompliant": 0, "unreachable": 0,
        # A B C D F G H (D's approved return included, E excluded); A B F H answered (C is still
        # being handled, G suspended); C's rejected and D's approved return; A reworked once.
        "assignments": 7, "orders": 6, "answered": 4, "return_requests": 2, "returns_approved": 1,
        "reworked": 1,
    }
    assert m.evidence["signed_late"] == [n["B"]]
    assert m.evidence["closed_late"] == [n["B"], n["C"]]
    assert m.evidence["dissatisfied"] == [n["B"]]
    assert m.evidence["unsolved"] == [n["B"]]
    assert m.evidence["replies_noncompliant"] == [n["B"]]
    assert m.evidence["overdue"] == [n["B"], n["C"]]
    assert m.evidence["unjustified_returns"] == [n["C"]]
    assert m.evidence["reworks"] == [n["A"]]
    assert m.evidence["supervision_failed"] == [n["G"]]
    assert "upstream_dissatisfied" not in m.evidence

    jiliao = months[unit("寄料镇").pk]
    assert jiliao.order_count == 1 and jiliao.counts["dispatched"] == 1
    # Departments that must station staff and have no stationing row are non-compliant.
    assert months[unit("城市管理局").pk].counts["stationing_noncompliant"] == 1
    assert months[unit("教育体育局（体育）").pk].counts["stationing_noncompliant"] == 0


def test_sub_unit_rolls_into_parent(people, unit, new_order):
    order = new_order()
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=at(2023, 7, 3, 9, 30))
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("车管所"), at=at(2023, 7, 3, 10))
    months = build_unit_months(2023, 7, as_of=CUTOFF)
    assert unit("车管所").pk not in months
    assert months[unit("公安局").pk].counts["dispatched"] == 1


def test_exclusion_is_an_order_event_and_supervisor_only(july, people):
    e = july["E"]
    assert e.excluded_from_assessment
    event = Event.objects.filter(order=e, action="exclude_from_assessment").get()
    assert event.actor == people["supervisor_zhou"] and "恶意" in event.note
    with pytest.raises(AssessmentError, match="只有督办人员或管理员"):
        assess.decide_exclusion(july["A"], acting_user=people["dispatcher_wang"], reason="不合理")
    with pytest.raises(AssessmentError, match="须填写认定理由"):
        assess.decide_exclusion(july["A"], acting_user=people["supervisor_zhou"], reason=" ")
    assess.decide_exclusion(e, acting_user=people["supervisor_zhou"], excluded=False, reason="复核后恢复计入")
    e.refresh_from_db()
    assert not e.excluded_from_assessment


def test_compute_scores_ranks_and_min_orders(july, people, unit):
    result = assess.compute_month(2023, 7, acting_user=people["supervisor_zhou"], at=CUTOFF)
    assert result.version == 1 and result.state == MonthlyResult.State.COMPUTED
    sheet = unit_sheet(result, unit("杨楼镇").pk)
    s = sheet.score
    # 100 − 6 (sign 83.33% → 4 of 10) − 20 (on time 60%) − 20 (satisfied 66.67%) − 15 (solved 66.67%)
    #     − 5 (replies 75%) − 1 (overdue 2) − 0.5 (return) − 0.5 (rework) − 2 (supervision) = 30
    assert s.score == Decimal("30.00")
    assert s.line("sign_rate").points == Decimal("-6.00")
    assert s.line("overdue").evidence == (july["B"].number, july["C"].number)
    assert s.ranked and sheet.rank == 1
    jiliao = unit_sheet(result, unit("寄料镇").pk)
    assert not jiliao.score.ranked and jiliao.rank is None
    assert "少于 6 件" in jiliao.score.unranked_reason

    assert annex_rows(2023, 7) == [] and best_and_worst(2023, 7) is None  # computed, not published
    tables = annex_tables(result)
    assert [t.title for t in tables] == ["七月份乡镇街道考核表", "七月份市直单位考核表"]
    assert [(r.unit, r.score, r.rank) for r in tables[0].rows] == [("杨楼镇", Decimal("30.00"), 1)]
    assert tables[1].rows == ()
    assert tables[0].note == "注：工单量小于6件的单位不计入考核"
    assess.publish_result(result, acting_user=people["supervisor_zhou"], at=CUTOFF)
    assert annex_rows(2023, 7) == tables
    # Alone in its ranking, 杨楼镇 is the group's first and last: named better, not also worse.
    assert best_and_worst(2023, 7) == (["杨楼镇人民政府"], [])
    assert best_and_worst(2023, 8) is None and annex_rows(2023, 8) == []


def test_only_managers_compute_and_publish(july, people):
    for name in ("dispatcher_wang", "handler_zhao", "operator_li", "auditor_wu"):
        with pytest.raises(AssessmentError, match="只有督办人员或管理员可以计算考核结果"):
            assess.compute_month(2023, 7, acting_user=people[name])
    result = assess.compute_month(2023, 7, acting_user=people["admin"], at=CUTOFF)
    with pytest.raises(AssessmentError, match="发布考核结果"):
        assess.publish_result(result, acting_user=people["dispatcher_wang"])


def test_configured_min_orders_from_scorecard_version(july, people, unit):
    from hotline.assessment.default_scorecard import DEFAULT_SCORECARDS
    from hotline.directory.models import UnitGroup

    spec = dict(DEFAULT_SCORECARDS["township"], min_orders=7)
    township = UnitGroup.objects.get(key="township")
    ScorecardVersion.objects.create(group=township, valid_from=dt.date(2023, 7, 1), spec=spec)
    ScorecardVersion.objects.create(group=township, valid_from=dt.date(2023, 9, 1),
                                    spec=dict(DEFAULT_SCORECARDS["township"], min_orders=2))
    result = assess.compute_month(2023, 7, acting_user=people["supervisor_zhou"], at=CUTOFF)
    assert not unit_sheet(result, unit("杨楼镇").pk).score.ranked
    assert annex_tables(result)[0].note == "注：工单量小于7件的单位不计入考核"


def test_adjustments_need_a_second_supervisor(july, people, unit, second_supervisor):
    zhou = people["supervisor_zhou"]
    yanglou = unit("杨楼镇")
    approved = assess.enter_adjustment(yanglou, 2023, 7, acting_user=zhou, points="1.5", reason="汛期抢险表现突出")
    pending = assess.enter_adjustment(yanglou, 2023, 7, acting_user=zhou, points="-2", reason="虚假回复")
    with pytest.raises(AssessmentError, match="另一名督办人员"):
        assess.decide_adjustment(approved, acting_user=zhou, approve=True)
    with pytest.raises(AssessmentError, match="只有督办人员或管理员"):
        assess.enter_adjustment(yanglou, 2023, 7, acting_user=people["handler_zhao"], points="5", reason="自评")
    with pytest.raises(AssessmentError, match="理由"):
        assess.enter_adjustment(yanglou, 2023, 7, acting_user=zhou, points="1", reason="")
    assess.decide_adjustment(approved, acting_user=second_supervisor, approve=True)
    with pytest.raises(AssessmentError, match="已批准"):
        assess.decide_adjustment(approved, acting_user=second_supervisor, approve=False, note="x")
    # The database refuses it too.
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ManualAdjustment.objects.filter(pk=pending.pk).update(state="approved", approved_by=zhou)

    result = assess.compute_month(2023, 7, acting_user=zhou, at=CUTOFF)
    s = unit_sheet(result, yanglou.pk).score
    assert s.score == Decimal("31.50")  # 30 + 1.5; the unapproved −2 is listed at 0
    adj = [line for line in s.lines if line.kind == "adjustment"]
    assert [(line.points, line.applicable) for line in adj] == [(Decimal("1.50"), True), (Decimal("0.00"), False)]
    assert "郑审批同意" in adj[0].note


def test_bonus_awards(july, people, unit):
    zhou = people["supervisor_zhou"]
    yanglou = unit("杨楼镇")
    assess.award_bonus(yanglou, 2023, 7, acting_user=zhou, kind="praise", note="群众送锦旗")
    assess.award_bonus(yanglou, 2023, 7, acting_user=zhou, kind="typical_case", order=july["A"])
    with pytest.raises(AssessmentError, match="未知的加分类型"):
        assess.award_bonus(yanglou, 2023, 7, acting_user=zhou, kind="gift")
    result = assess.compute_month(2023, 7, acting_user=zhou, at=CUTOFF)
    s = unit_sheet(result, yanglou.pk).score
    assert s.score == Decimal("31.50")
    assert s.line("typical_case").evidence == (july["A"].number,)
    assert "群众送锦旗" in s.line("praise").note


def test_publish_freezes_and_recompute_makes_version_two_with_diff(july, people, unit):
    zhou = people["supervisor_zhou"]
    v1 = assess.compute_month(2023, 7, acting_user=zhou, at=CUTOFF)
    assess.publish_result(v1, acting_user=zhou, at=at(2023, 8, 2, 9))
    with pytest.raises(AssessmentError, match="已发布"):
        assess.publish_result(v1, acting_user=zhou)
    frozen = MonthlyResult.objects.get(pk=v1.pk).groups
    # A late exclusion: C (overdue, unjustified return, closed late) no longer counts.
    assess.decide_exclusion(july["C"], acting_user=zhou, reason="经复核为恶意重复诉求", at=at(2023, 8, 3, 9))
    v2 = assess.compute_month(2023, 7, acting_user=zhou, at=at(2023, 8, 3, 10), as_of=CUTOFF)
    assert v2.version == 2 and v2.diff_against == v1
    assert MonthlyResult.objects.get(pk=v1.pk).groups == frozen
    assert any(sentence.startswith("杨楼镇：得分 30 → ") for sentence in v2.diff["township"])
    assert "超期工单 -1.00 → -0.50" in v2.diff_text
    # The briefing reads the published version until v2 is published.
    assert annex_rows(2023, 7)[0].rows[0].score == Decimal("30.00")
    with pytest.raises(AssessmentError, match="最新"):
        v3 = assess.compute_month(2023, 7, acting_user=zhou, at=at(2023, 8, 3, 11), as_of=CUTOFF)
        assess.publish_result(v2, acting_user=zhou)
    assess.publish_result(v3, acting_user=zhou, at=at(2023, 8, 3, 12))
    # With C out, 杨楼镇 has 5 orders: scored higher, but no longer ranked.
    assert annex_rows(2023, 7)[0].rows == ()
    assert unit_sheet(v3, unit("杨楼镇").pk).score.score > Decimal("30.00")


def test_appeal_window_and_accepted_appeal_changes_next_version(july, people, unit, settings):
    zhou, zhao, qian = people["supervisor_zhou"], people["handler_zhao"], people["handler_qian"]
    yanglou = unit("杨楼镇")
    with pytest.raises(AssessmentError, match="尚未发布"):
        assess.file_appeal(yanglou, 2023, 7, acting_user=zhao, line_code="overdue", reason="x")
    v1 = assess.compute_month(2023, 7, acting_user=zhou, at=CUTOFF)
    assess.publish_result(v1, acting_user=zhou, at=at(2023, 8, 2, 9))
    with pytest.raises(AssessmentError, match="只有本单位的承办人"):
        assess.file_appeal(yanglou, 2023, 7, acting_user=qian, line_code="overdue", reason="x")
    with pytest.raises(AssessmentError, match="申诉期已过"):
        assess.file_appeal(yanglou, 2023, 7, acting_user=zhao, line_code="overdue", reason="x",
                           at=at(2023, 8, 7, 9, 1))
    settings.HOTLINE = {**settings.HOTLINE, "APPEAL_DAYS": 10}
    late_but_allowed = assess.file_appeal(yanglou, 2023, 7, acting_user=zhao, line_code="reworks",
                                          reason="重办系来电人新增诉求", at=at(2023, 8, 10, 9))
    settings.HOTLINE = {**settings.HOTLINE, "APPEAL_DAYS": 5}
    appeal = assess.file_appeal(yanglou, 2023, 7, acting_user=zhao, line_code="overdue",
                                reason="B 单已在时限内电话答复来电人", at=at(2023, 8, 6, 9))
    assert appeal.line_points == Decimal("-1.00")
    with pytest.raises(AssessmentError, match="待处理的申诉"):
        assess.file_appeal(yanglou, 2023, 7, acting_user=zhao, line_code="overdue", reason="再次", at=at(2023, 8, 6, 10))
    with pytest.raises(AssessmentError, match="不能超过该项扣分 1.00 分"):
        assess.decide_appeal(appeal, acting_user=zhou, accept=True, reason="属实", correction_points="2")
    assess.decide_appeal(appeal, acting_user=zhou, accept=True, reason="经核实 B 单按时答复", correction_points="0.5")
    assess.decide_appeal(late_but_allowed, acting_user=zhou, accept=False, reason="重办理由不成立")
    assert Appeal.objects.get(pk=appeal.pk).state == Appeal.State.ACCEPTED
    # Nothing published changes; the next version carries the correction as an explained line.
    assert unit_sheet(MonthlyResult.objects.get(pk=v1.pk), yanglou.pk).score.score == Decimal("30.00")
    v2 = assess.compute_month(2023, 7, acting_user=zhou, at=at(2023, 8, 8, 9), as_of=CUTOFF)
    s = unit_sheet(v2, yanglou.pk).score
    assert s.score == Decimal("30.50")
    line = [line for line in s.lines if line.kind == "adjustment"][0]
    assert "申诉更正（超期工单" in line.figures and line.points == Decimal("0.50")
    assert "人工调整" in v2.diff_text or "30 → 30.5" in v2.diff_text
