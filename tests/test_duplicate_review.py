"""The review queue of the nightly near-duplicate pairs (疑似重复件核实), on Wednesday 2023-07-12.

张三丰 of 杨楼镇 called about the broken village road on 07-10; 李 answered it at once and the order
was closed after the callback. On 07-11 he called again in nearly the same words. The same day a
caller reported a street lamp out, and on 07-11 a neighbour reported the same lamp — a different
call about the same thing, which 王 judges not to be a repeat. The nightly pass linked both pairs.
王 (dispatcher) and 周 (supervisor) work the queue; 赵 and 钱 (units), 李 (operator) and 吴
(auditor) never see it.
"""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from hotline.triage import actions as review
from hotline.triage import dupindex
from hotline.triage.models import NearDuplicate
from hotline.triage.tasks import find_near_duplicates
from hotline.workorders import actions
from hotline.workorders.models import Event, WorkOrder
from hotline.workorders.workflow import Status, WorkflowError
from tests.conftest import at

pytestmark = pytest.mark.django_db
NOW = at(2023, 7, 12, 10, 0)
ROAD = ("村内道路破损坑洼", "来电人反映：杨楼镇某村主路破损严重，雨天积水，车辆无法通行，老人孩子出行不便，"
        "已向村委会反映多次无人处理，希望相关部门尽快维修。")
ROAD_AGAIN = ("村内道路破损坑洼仍未维修", "市民反映：杨楼镇某村主路破损严重，雨天积水，车辆无法通行，老人孩子出行不便，"
              "已向村委会反映多次无人处理，希望相关部门尽快维修。上周已经打过电话，至今没有人来修。")
LAMP = ("村口路灯不亮", "来电人反映：杨楼镇某村村口十字路口的三盏路灯已经一周不亮，晚上出行很不方便，"
        "存在安全隐患，希望相关部门尽快维修路灯。")
LAMP_NEIGHBOUR = ("村口路灯一周不亮", "来电人反映：杨楼镇某村村口十字路口的三盏路灯已经一周不亮了，晚上出行很不方便，"
                  "存在安全隐患，希望相关部门尽快维修路灯。")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def pairs(frozen, new_order, people):
    """The two pairs the pass over 07-11 records: (road pair, lamp pair)."""
    li = people["operator_li"]
    road = new_order(at=at(2023, 7, 10, 9, 0), title=ROAD[0], content=ROAD[1])
    actions.direct_answer(road, acting_user=li, answer="已告知村委会安排修补。", at=at(2023, 7, 10, 9, 5))
    actions.record_callback(road, acting_user=li, satisfaction="satisfied", solved=True, at=at(2023, 7, 10, 17, 0))
    new_order(at=at(2023, 7, 11, 15, 0), title=ROAD_AGAIN[0], content=ROAD_AGAIN[1], caller_phone="13812341234")
    new_order(at=at(2023, 7, 10, 20, 0), title=LAMP[0], content=LAMP[1], caller_phone="13600001111",
              caller_name="李四")
    new_order(at=at(2023, 7, 11, 19, 0), title=LAMP_NEIGHBOUR[0], content=LAMP_NEIGHBOUR[1],
              caller_phone="13600002222", caller_name="王五")
    assert find_near_duplicates.call(day="2023-07-11")["pairs"] == 2
    by_title = {p.order.title: p for p in NearDuplicate.objects.select_related("order", "similar_to")}
    return by_title[ROAD_AGAIN[0]], by_title[LAMP_NEIGHBOUR[0]]


def _page(client, user, **params):
    client.force_login(user)
    return client.get(reverse("triage_duplicates"), params)


def _post(client, user, pair, decision, **data):
    client.force_login(user)
    return client.post(reverse("triage_duplicate_review", args=[pair.pk, decision]), data)


def _snapshot():
    """Everything a refused decision must leave as it was."""
    return (list(NearDuplicate.objects.order_by("pk").values_list("pk", "state", "reviewed_by", "reviewed_at")),
            Event.objects.count(), list(WorkOrder.objects.order_by("pk").values_list("pk", "status", "repeat_of")))


def test_the_center_sees_the_queue_and_no_one_else_does(pairs, client, people, django_assert_max_num_queries):
    road_pair, lamp_pair = pairs
    for name in ("dispatcher_wang", "supervisor_zhou"):
        client.force_login(people[name])
        with django_assert_max_num_queries(8):  # session, user, pairs, both sides' orders, count, the bell
            page = client.get(reverse("triage_duplicates"))
        html = page.content.decode()
        assert page.status_code == 200, name
        assert "待核实 2 对" in html
        for pair in (road_pair, lamp_pair):
            assert f'data-pair="{pair.pk}" data-later="{pair.order.number}" data-earlier="{pair.similar_to.number}"' in html
            assert pair.order.title in html and pair.similar_to.title in html
            assert f"{pair.jaccard:.2f}" in html
            assert reverse("order_detail", args=[pair.order.number]) in html
        # Newest first: the lamp pair was recorded after the road pair on the same day.
        assert html.index(f'data-pair="{lamp_pair.pk}"') < html.index(f'data-pair="{road_pair.pk}"')
        # 标为重办 is offered where the repeat action can take it: the road order is closed, the lamp's is not.
        assert html.count('data-action="dismiss"') == 2 and html.count('data-action="repeat"') == 1
        assert "已办结" in html and "已登记" in html and "登记 07-11 15:00 · 杨楼镇" in html
    for name in ("handler_zhao", "handler_qian", "handler_sun", "operator_li", "auditor_wu"):
        refused = _page(client, people[name])
        assert refused.status_code == 403, name
        assert road_pair.order.number not in refused.content.decode()
        assert _post(client, people[name], lamp_pair, "dismiss").status_code == 403
    assert NearDuplicate.objects.filter(state=NearDuplicate.State.PENDING).count() == 2


def test_the_queue_links_and_counts(pairs, client, people):
    """王 finds the queue beside his other queues: the menu, and a tab with its count on the
    dispatch board; 周 on the supervision page."""
    client.force_login(people["dispatcher_wang"])
    board = client.get(reverse("dispatch")).content.decode()
    assert 'id="nav-duplicates"' in board
    assert f'<a href="{reverse("triage_duplicates")}" id="tab-duplicates">疑似重复待核实 <b>2</b></a>' in board
    client.force_login(people["supervisor_zhou"])
    assert "疑似重复件待核实 <b>2</b> 对" in client.get(reverse("supervision")).content.decode()
    client.force_login(people["handler_zhao"])
    assert 'id="nav-duplicates"' not in client.get(reverse("inbox")).content.decode()


def test_pages_follow_a_keyset(pairs, people):
    road_pair, lamp_pair = pairs
    wang = people["dispatcher_wang"]
    first = dupindex.review_queue(wang, size=1)
    assert [p.pk for p, _, _ in first.rows] == [lamp_pair.pk] and first.next_cursor and first.total == 2
    second = dupindex.review_queue(wang, cursor=first.next_cursor, size=1)
    assert [p.pk for p, _, _ in second.rows] == [road_pair.pk] and second.next_cursor is None
    # A hand-edited cursor starts from the top rather than failing.
    assert [p.pk for p, _, _ in dupindex.review_queue(wang, cursor="x_1", size=1).rows] == [lamp_pair.pk]
    assert [p.pk for p, _, _ in dupindex.review_queue(wang, cursor="99999999_1", size=1).rows] == [lamp_pair.pk]


def test_not_a_duplicate_leaves_the_queue_for_good(pairs, client, people):
    road_pair, lamp_pair = pairs
    wang = people["dispatcher_wang"]
    response = _post(client, wang, lamp_pair, "dismiss", next=reverse("triage_duplicates"))
    assert response.status_code == 302 and response["Location"] == reverse("triage_duplicates")
    lamp_pair.refresh_from_db()
    assert (lamp_pair.state, lamp_pair.reviewed_by, lamp_pair.reviewed_at) == ("dismissed", wang, NOW)
    # The later order's timeline says who judged it, and against which order; neither order changed.
    event = Event.objects.get(order=lamp_pair.order, action="not_duplicate")
    assert (event.actor, event.actor_role, event.at) == (wang, "dispatcher", NOW)
    assert event.data["of"] == lamp_pair.similar_to.number and event.from_status == event.to_status == "received"
    assert lamp_pair.similar_to.number in event.note
    assert set(WorkOrder.objects.filter(pk__in=[lamp_pair.order_id, lamp_pair.similar_to_id])
               .values_list("status", flat=True)) == {"received"}
    page = _page(client, wang).content.decode()
    assert f'data-pair="{lamp_pair.pk}"' not in page and f'data-pair="{road_pair.pk}"' in page
    assert f"{lamp_pair.order.number} 与 {lamp_pair.similar_to.number}：已核实为“不是重复”" in page
    # The order page no longer offers it as a near-duplicate; its timeline shows the decision.
    detail = client.get(reverse("order_detail", args=[lamp_pair.order.number])).content.decode()
    assert "核实不是重复件" in detail and f'data-number="{lamp_pair.similar_to.number}"' not in detail
    # The nightly pass of the same day again brings nothing back, and keeps the decision.
    assert find_near_duplicates.call(day="2023-07-11")["pairs"] == 0
    assert NearDuplicate.objects.count() == 2
    assert NearDuplicate.objects.get(pk=lamp_pair.pk).state == "dismissed"
    assert dupindex.pending_count() == (1, False)


def test_link_as_repeat_goes_through_the_repeat_action(pairs, client, people):
    road_pair, lamp_pair = pairs
    zhou = people["supervisor_zhou"]
    assert _post(client, zhou, road_pair, "repeat").status_code == 302
    again = WorkOrder.objects.get(pk=road_pair.order_id)
    # The project's one repeat: a linked 重办 for dispatch, the closed order notes it.
    assert (again.repeat_of_id, again.is_repeat, again.status) == (road_pair.similar_to_id, True, Status.AWAITING_DISPATCH)
    assert Event.objects.get(order=again, action="repeat_rework").actor == zhou
    assert Event.objects.filter(order_id=road_pair.similar_to_id, action="repeat_noted").count() == 1
    road_pair.refresh_from_db()
    assert (road_pair.state, road_pair.reviewed_by, road_pair.reviewed_at) == ("linked", zhou, NOW)
    assert f'data-pair="{road_pair.pk}"' not in _page(client, zhou).content.decode()
    assert find_near_duplicates.call(day="2023-07-11")["pairs"] == 0


def test_refusals_change_nothing(pairs, client, people):
    road_pair, lamp_pair = pairs
    wang, zhou = people["dispatcher_wang"], people["supervisor_zhou"]
    before = _snapshot()
    # The earlier lamp order is not closed: no 重办 of it (the repeat action's own rule and words).
    refused = _post(client, wang, lamp_pair, "repeat")
    assert refused.status_code == 409 and "未办结" in refused.content.decode()
    # A forged decision, a pair that does not exist, a GET in place of a POST.
    assert _post(client, wang, lamp_pair, "merge").status_code == 404
    assert client.post(reverse("triage_duplicate_review", args=[999999, "dismiss"])).status_code == 404
    assert client.get(reverse("triage_duplicate_review", args=[lamp_pair.pk, "dismiss"])).status_code == 405
    # A unit's handler, an operator, the actions called directly: refused in Chinese.
    for name in ("handler_zhao", "operator_li"):
        with pytest.raises(WorkflowError, match="只有派单员、督办人员可以核实"):
            review.dismiss(lamp_pair, acting_user=people[name])
        with pytest.raises(WorkflowError, match="只有派单员、督办人员可以核实"):
            actions.note_not_duplicate(lamp_pair.order_id, acting_user=people[name], of=lamp_pair.similar_to_id)
    assert _snapshot() == before
    # Decided by 王, then 周 comes to the same pair: told who decided it, and nothing more happens.
    review.dismiss(lamp_pair, acting_user=wang)
    decided = _snapshot()
    for decision in ("dismiss", "repeat"):
        again = _post(client, zhou, lamp_pair, decision)
        assert again.status_code == 409
        assert f"该疑似重复已由{wang}于07-12 10:00核实为“不是重复”，无需再处理" in again.content.decode()
    assert _snapshot() == decided
    # The failed 重办 left no trace on the orders.
    assert not Event.objects.filter(action__in=["repeat_rework", "repeat_noted"]).exists()
    assert WorkOrder.objects.get(pk=lamp_pair.order_id).repeat_of_id is None


def test_a_linked_repeat_outside_the_window_is_refused(pairs, people):
    """周 comes back to the road pair after the repeat window: the repeat action refuses, in its words."""
    road_pair, _ = pairs
    later = NOW + dt.timedelta(days=40)
    with pytest.raises(WorkflowError, match="办结已超过 30 天"):
        review.link_as_repeat(road_pair, acting_user=people["supervisor_zhou"], at=later)
    road_pair.refresh_from_db()
    assert road_pair.state == "pending" and road_pair.reviewed_at is None
