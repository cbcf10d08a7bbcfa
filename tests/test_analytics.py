"""Statistics of a period, checked against a small July 2023 built through the real actions.

The month (``july``) has ten orders, told as a story of the demo people; every number asserted
below is counted by hand from that story (see the comments), not recomputed from the code.

* A 杨楼镇's village road: dispatched to 杨楼镇, signed within the hour, replied in two days, 非常满意.
* B a 寄料镇 complaint: signed two days late, replied late, 不满意 → rework, still open and overdue.
* C dispatched to 杨楼镇, returned (approved), redispatched to 住建局, answered on time, 满意.
* D a consultation answered directly (基本满意); E coordinated, awaiting its callback;
  F transferred to 110; G a repeat merged into A; K not accepted.
* H an upstream order from 平顶山 dispatched to 住建局 and never signed; I an upstream consultation
  from 河南政务服务平台 answered directly, 满意.
Plus one order in June 2023, one in July 2022, five calls in July and one in June.
"""

from __future__ import annotations

import datetime as dt

import pytest

from hotline.analytics.stats import Rate, period_statistics, previous_period, same_period_last_year
from hotline.lib.shares import format_share, share

try:
    from conftest import at
except ImportError:  # pragma: no cover - pytest's rootdir layout
    from tests.conftest import at

JULY = (dt.date(2023, 7, 1), dt.date(2023, 7, 31))
FAR_LATER = at(2023, 12, 31, 12, 0)  # every deadline of the month has passed


def build_july(people, unit, new_order):
    """The story of the module docstring; returns the orders by letter."""
    from hotline.catalog.models import AppealType, Category
    from hotline.directory.models import UpstreamPlatform
    from hotline.intake.models import Call
    from hotline.workorders import actions as a

    li, wang, zhou = people["operator_li"], people["dispatcher_wang"], people["supervisor_zhou"]
    zhao, qian, sun = people["handler_zhao"], people["handler_qian"], people["handler_sun"]
    types = {t.code: t for t in AppealType.objects.all()}
    cat = {c.full_name: c for c in Category.objects.filter(level=2)}
    yanglou, jiliao, zhujian = unit("杨楼镇"), unit("寄料镇"), unit("住房和城乡建设局")
    o = {}

    def dispatched(order, to, day, hour=10):
        a.submit_for_dispatch(order, acting_user=li, at=at(2023, 7, day, hour - 1, 30))
        return a.dispatch(order, acting_user=wang, lead_unit=to, at=at(2023, 7, day, hour))

    def callback(order, satisfaction, solved, day, rework=False):
        return a.record_callback(order, acting_user=li, satisfaction=satisfaction, solved=solved, rework=rework,
                                 note="回访" if rework else "", at=at(2023, 7, day, 15))

    # A
    o["A"] = new_order(at=at(2023, 7, 3, 9))
    dispatched(o["A"], yanglou, 3)
    a.sign(o["A"], acting_user=zhao, at=at(2023, 7, 3, 11))
    a.reply(o["A"], acting_user=zhao, public_reply="已安排施工队修补路面坑洼，并清理了积水。", solved=True,
            at=at(2023, 7, 5, 16))
    a.approve_reply(o["A"], acting_user=wang, at=at(2023, 7, 5, 17))
    callback(o["A"], "very_satisfied", True, 6)
    # B
    o["B"] = new_order(at=at(2023, 7, 3, 9, 5), title="商户缺斤少两", appeal_type=types["complaint"],
                       category=cat["市场管理—消费纠纷"], town=jiliao, content="寄料镇集市商户缺斤少两。")
    dispatched(o["B"], jiliao, 3)
    a.sign(o["B"], acting_user=qian, at=at(2023, 7, 5, 16))  # sign deadline was 7-04 10:00
    a.reply(o["B"], acting_user=qian, public_reply="已约谈商户。", solved=False, at=at(2023, 7, 20, 10))
    a.approve_reply(o["B"], acting_user=wang, at=at(2023, 7, 20, 11))
    callback(o["B"], "dissatisfied", False, 21, rework=True)
    # C
    o["C"] = new_order(at=at(2023, 7, 4, 9))
    dispatched(o["C"], yanglou, 4)
    a.request_return(o["C"], acting_user=zhao, reason="属住建部门职责", basis="三定方案", at=at(2023, 7, 4, 11))
    a.approve_return(o["C"], acting_user=wang, at=at(2023, 7, 4, 14))
    a.dispatch(o["C"], acting_user=wang, lead_unit=zhujian, at=at(2023, 7, 5, 9))
    a.sign(o["C"], acting_user=sun, at=at(2023, 7, 5, 10))
    a.reply(o["C"], acting_user=sun, public_reply="已维修。", solved=True, at=at(2023, 7, 6, 10))
    a.approve_reply(o["C"], acting_user=wang, at=at(2023, 7, 6, 11))
    callback(o["C"], "satisfied", True, 7)
    # D, E, F, G, K: the center's own
    o["D"] = new_order(at=at(2023, 7, 3, 10), title="社保卡补办", appeal_type=types["consult"],
                       category=cat["政务服务—网点服务"])
    a.direct_answer(o["D"], acting_user=li, answer="可到市民之家社保窗口补办。", at=at(2023, 7, 3, 10, 5))
    callback(o["D"], "basically_satisfied", True, 4)
    o["E"] = new_order(at=at(2023, 7, 4, 10), title="不动产登记时间", appeal_type=types["consult"],
                       category=cat["政务服务—网点服务"])
    a.coordinate(o["E"], acting_user=li, answer="已联系不动产登记中心答复。", at=at(2023, 7, 4, 16))
    o["F"] = new_order(at=at(2023, 7, 5, 22), title="有人打架", appeal_type=types["other"], category=None)
    a.transfer(o["F"], acting_user=li, target="110", at=at(2023, 7, 5, 22, 1))
    o["G"] = new_order(at=at(2023, 7, 4, 8))
    a.merge(o["G"], acting_user=li, into=o["A"], at=at(2023, 7, 4, 8, 5))
    o["K"] = new_order(at=at(2023, 7, 10, 9), title="建议修建机场", appeal_type=types["suggestion"],
                       category=cat["民主法制—政策咨询"])
    a.not_accept(o["K"], acting_user=li, note="不属于热线受理范围", at=at(2023, 7, 10, 9, 10))
    # H, I: upstream
    pds, henan = UpstreamPlatform.objects.get(code="pds"), UpstreamPlatform.objects.get(code="henan")
    o["H"] = new_order(at=at(2023, 7, 6, 9), title="小区供水不足", source="upstream", upstream_platform=pds,
                       upstream_number="PDS-1", category=cat["政务服务—网点服务"])
    dispatched(o["H"], zhujian, 6)
    o["I"] = new_order(at=at(2023, 7, 7, 9), title="营业执照办理", source="upstream", upstream_platform=henan,
                       upstream_number="HN-1", appeal_type=types["consult"], category=cat["政务服务—网点服务"])
    a.direct_answer(o["I"], acting_user=li, answer="可网上办理。", at=at(2023, 7, 7, 9, 30))
    callback(o["I"], "satisfied", True, 8)
    # The neighbours: June 2023 and July 2022, and the calls.
    june = new_order(at=at(2023, 6, 20, 9), appeal_type=types["consult"])
    a.direct_answer(june, acting_user=li, answer="答复。", at=at(2023, 6, 20, 9, 10))
    last_year = new_order(at=at(2022, 7, 10, 9), appeal_type=types["consult"])
    a.coordinate(last_year, acting_user=li, answer="答复。", at=at(2022, 7, 10, 9, 10))
    for day in (3, 4, 5, 6, 31):
        Call.objects.create(started_at=at(2023, 7, day, 23, 59), caller_phone="13800000000", result="order")
    Call.objects.create(started_at=at(2023, 6, 30, 23, 59), caller_phone="13800000000", result="order")
    Call.objects.create(started_at=at(2023, 8, 1, 0, 0), caller_phone="13800000000", result="order")
    del zhou
    return o


@pytest.fixture
def july(people, unit, new_order):
    return build_july(people, unit, new_order)


def stats(**kwargs):
    return period_statistics(*JULY, as_of=FAR_LATER, **kwargs)


def test_totals_and_split(july):
    s = stats()
    assert s.call_volume == 5  # 23:59 on 7-31 counts, 00:00 on 8-01 does not
    assert (s.grand_total, s.local_total, s.coordinated, s.dispatched, s.undecided) == (10, 8, 5, 3, 0)
    assert s.coordinated + s.dispatched == s.local_total
    assert s.upstream_total == 2
    assert [(r.name, r.count) for r in s.upstream_by_platform] == [("平顶山市“民呼必应”平台", 1),
                                                                  ("河南政务服务平台", 1)]


def test_appeal_types_all_five_in_order(july):
    s = stats()
    assert [(r.name, r.count) for r in s.appeal_types] == [
        ("咨询类", 3), ("问题处理类", 4), ("投诉举报类", 1), ("建议类", 1), ("其他", 1)]
    assert s.appeal_type_total == s.grand_total
    shares = [s.share_text(r.count) for r in s.appeal_types]
    assert shares == ["30.00%", "40.00%", "10.00%", "10.00%", "10.00%"]


def test_zero_rows_are_listed(people):
    s = stats()
    assert [r.count for r in s.appeal_types] == [0, 0, 0, 0, 0]
    assert len(s.appeal_types) == 5 and s.grand_total == 0 and s.hotspots == ()
    assert s.share_text(0) == "0.00%"
    assert s.rates.sign.text == "—"


def test_hotspots_top_n_ties_by_code(july):
    s = stats()
    assert [(r.label, r.count) for r in s.hotspots] == [
        ("政务服务—网点服务", 4), ("农村管理—人居环境", 3), ("民主法制—政策咨询", 1), ("市场管理—消费纠纷", 1)]
    assert s.categorized == 9  # F has no category
    top2 = period_statistics(*JULY, top=2, as_of=FAR_LATER)
    assert [r.count for r in top2.hotspots] == [4, 3] and top2.hotspot_total == 7
    assert format_share(share(top2.hotspot_total, top2.grand_total)) == "70.00%"


def test_changes(july):
    s = stats()
    changes = {c.key: c for c in s.changes}
    assert changes["grand_total"].month_on_month.previous == 1
    assert changes["grand_total"].month_on_month.text == "+900.00%"
    assert changes["grand_total"].year_on_year.previous == 1
    assert changes["coordinated"].month_on_month.previous == 1
    assert changes["dispatched"].month_on_month.previous == 0
    assert changes["dispatched"].month_on_month.text == "—"
    assert changes["call_volume"].month_on_month.previous == 1
    assert changes["call_volume"].year_on_year.previous == 0


def test_overall_rates(july):
    """Center-wide = the sum of the units (docs/metrics.md): lead assignments dispatched in July,
    the approved return (C→杨楼) out; the center's own D and I are in no unit."""
    r = stats().rates
    assert r.sign == Rate(2, 4)  # A, C→住建 on time; B late; H unsigned
    assert r.on_time == Rate(2, 4)  # A and C on time; B (reworked, open) and H past due
    assert r.callback == Rate(3, 3)  # answered A B C; reached A B C (H never answered)
    assert r.satisfaction == Rate(2, 3)  # B dissatisfied
    assert r.solved == Rate(2, 3)
    assert r.returns == Rate(1, 5) and r.return_requests == Rate(1, 5)  # five assignments, C→杨楼 returned
    assert r.rework == Rate(1, 4)
    assert r.sign.text == "50.00%" and r.satisfaction.text == "66.67%"
    assert stats().direct_answer == Rate(1, 8)  # D of the local A B C D E F G K (I is upstream)


def test_unit_rates(july):
    by = {u.short_name: u for u in stats().unit_rates}
    assert set(by) == {"杨楼镇", "寄料镇", "住房和城乡建设局"}
    y, j, z = by["杨楼镇"], by["寄料镇"], by["住房和城乡建设局"]
    # 杨楼镇 is measured on A alone: C was returned with approval and answers to 住建局.
    assert (y.assignments, y.orders, y.rates.sign, y.rates.on_time, y.rates.returns) == (
        2, 1, Rate(1, 1), Rate(1, 1), Rate(1, 2))
    assert (j.assignments, j.rates.sign, j.rates.on_time, j.rates.satisfaction, j.rates.rework, j.overdue) == (
        1, Rate(0, 1), Rate(0, 1), Rate(0, 1), Rate(1, 1), 1)
    assert (z.assignments, z.orders, z.rates.sign, z.rates.on_time, z.rates.satisfaction, z.overdue) == (
        2, 2, Rate(1, 2), Rate(1, 2), Rate(1, 1), 1)
    assert y.group == "township" and z.group == "department"
    # 超期 is exactly the due orders not closed on time, for every unit.
    for u in by.values():
        assert u.overdue == u.counts["due"] - u.counts["closed_on_time"]


def test_overdue_list(july):
    s = stats()
    assert s.overdue_total == 2
    assert {o.number for o in s.overdue} == {july["B"].number, july["H"].number}
    assert all(o.replied_at is None for o in s.overdue)


def test_filters(july, unit):
    s = stats(unit=unit("杨楼镇"))  # orders 杨楼镇 ever led: A, C
    assert (s.grand_total, s.dispatched, s.call_volume) == (2, 2, None)
    t = stats(town=unit("寄料镇"))
    assert (t.grand_total, [r.count for r in t.appeal_types]) == (1, [0, 0, 1, 0, 0])


def test_stationing(july, unit):
    from hotline.directory.models import Stationing, Unit

    must = list(Unit.objects.filter(must_station=True, active=True).order_by("position", "code")
                .values_list("name", flat=True))
    assert stats().stationing_noncompliant == tuple(must)
    Stationing.objects.create(unit=unit("住房和城乡建设局"), staff_name="刘", start_date=dt.date(2023, 1, 1))
    assert "住房和城乡建设局" not in stats().stationing_noncompliant


def test_undecided_orders_are_counted_apart(new_order):
    new_order(at=at(2023, 7, 3, 9))
    s = stats()
    assert (s.local_total, s.coordinated, s.dispatched, s.undecided) == (1, 0, 0, 1)


def test_query_budget(july, django_assert_max_num_queries):
    # Four of them are the closed month's store (hotline.metrics.store): its row, the event mark,
    # the sub-units, the write; read again, the month is not counted.
    with django_assert_max_num_queries(29):
        stats()


def test_periods():
    assert previous_period(dt.date(2023, 1, 1), dt.date(2023, 1, 31)) == (dt.date(2022, 12, 1), dt.date(2022, 12, 31))
    assert previous_period(dt.date(2023, 7, 1), dt.date(2023, 7, 10)) == (dt.date(2023, 6, 21), dt.date(2023, 6, 30))
    assert same_period_last_year(dt.date(2024, 2, 1), dt.date(2024, 2, 29)) == (dt.date(2023, 2, 1),
                                                                                 dt.date(2023, 2, 28))
    assert same_period_last_year(dt.date(2024, 2, 29), dt.date(2024, 3, 1)) == (dt.date(2023, 2, 28),
                                                                                dt.date(2023, 3, 1))


def test_the_latest_callback_decides(july, people):
    """B: reached (dissatisfied, rework), answered again, then the second callback fails. Every
    callback figure reads the latest callback (docs/metrics.md): B's answer is not called back
    yet, and its satisfaction is not known."""
    from hotline.workorders import actions as a

    b, qian, wang = july["B"], people["handler_qian"], people["dispatcher_wang"]
    a.reply(b, acting_user=qian, public_reply="已再次约谈商户并复秤，处理完毕。", solved=True, at=at(2023, 7, 24, 10))
    a.approve_reply(b, acting_user=wang, at=at(2023, 7, 24, 11))
    a.record_callback(b, acting_user=people["operator_li"], reached=False, at=at(2023, 7, 25, 15))
    s = stats()
    assert s.rates.callback == Rate(2, 3)  # B answered, its latest callback failed
    assert s.rates.satisfaction == Rate(2, 2)
    jiliao = {u.short_name: u for u in s.unit_rates}["寄料镇"]
    assert jiliao.rates.callback == Rate(0, 1) and jiliao.rates.satisfaction == Rate(0, 0)
