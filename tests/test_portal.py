"""The citizen portal: a citizen submits a request, tracks it by number + phone and rates the answer.

The stories: 市民 张三丰 reports a broken road in 杨楼镇 on the website; operator 李, dispatcher 王
and handler 赵 (杨楼镇) work it; 张三丰 looks it up and rates the result. A stranger who knows the
number but not the phone learns nothing, and cannot guess phones by the thousand.
"""

import re

import pytest
from conftest import at
from django.core.cache import caches
from django.test import Client

from hotline.catalog.models import AppealType, Category
from hotline.portal.models import CitizenRating
from hotline.workorders import actions
from hotline.workorders.models import Callback, Event, WorkOrder

pytestmark = pytest.mark.django_db

NOT_FOUND = "未找到该工单，请核对编号和电话"


@pytest.fixture(autouse=True)
def fresh_cache():
    caches["shared"].clear()  # the rate limiter counts in the shared cache
    yield
    caches["shared"].clear()


def submission(unit, **overrides):
    category = Category.objects.get(full_name="农村管理—人居环境")
    data = {
        "caller_name": "张三丰", "caller_phone": "138-1234-1234", "town": unit("杨楼镇").pk,
        "address": "杨楼镇某村三组", "appeal_type": AppealType.objects.get(code="problem").pk,
        "category_group": category.parent_id, "category": category.pk, "title": "村内道路破损",
        "content": "村主路破损严重，雨天积水，希望尽快维修。",
    }
    data.update(overrides)
    return data


def text(response) -> str:
    return response.content.decode()


def track(client, number, phone):
    return client.post("/portal/track/", {"number": number, "phone": phone})


def answered(people, unit, new_order, **kw):
    """An order dispatched to 杨楼镇, answered by 赵 and approved by 王: awaiting the callback."""
    li, wang, zhao = people["operator_li"], people["dispatcher_wang"], people["handler_zhao"]
    order = new_order(**kw)
    actions.submit_for_dispatch(order, acting_user=li, note="需镇政府处理", at=at(2023, 7, 3, 9, 5))
    actions.dispatch(order, acting_user=wang, lead_unit=unit("杨楼镇"), note="派单员内部提示：该村多次反映",
                     at=at(2023, 7, 3, 10, 0))
    actions.sign(order, acting_user=zhao, at=at(2023, 7, 3, 11, 0))
    actions.annotate(order, acting_user=wang, note="内部备注：来电人情绪激动", at=at(2023, 7, 4, 9, 0))
    actions.reply(order, acting_user=zhao, public_reply="已安排施工队修补路面，预计本周完工。",
                  internal_note="村委会配合，资金由镇财政列支", is_true="true", solved=True,
                  at=at(2023, 7, 5, 15, 0))
    actions.approve_reply(order, acting_user=wang, note="审核意见：答复规范", at=at(2023, 7, 5, 16, 0))
    order.refresh_from_db()
    return order


def test_submit_registers_a_web_order_and_shows_its_number(client, ruzhou, unit):
    page = client.get("/portal/submit/")
    assert page.status_code == 200 and "csrfmiddlewaretoken" in text(page)
    assert "杨楼镇" in text(page) and "政务服务" in text(page) and "网点服务" in text(page)
    response = client.post("/portal/submit/", submission(unit), follow=True)
    order = WorkOrder.objects.get()
    assert order.number in text(response) and "提交成功" in text(response)
    assert (order.source, order.registered_by, order.status) == ("web", None, "received")
    assert (order.caller_name, order.caller_phone, order.town) == ("张三丰", "13812341234", unit("杨楼镇"))
    assert order.category.full_name == "农村管理—人居环境" and not order.confidential
    event = Event.objects.get(order=order)
    assert (event.action, event.actor, event.actor_role) == ("register", None, "system")


def test_confidential_checkbox_is_kept(client, ruzhou, unit):
    client.post("/portal/submit/", submission(unit, confidential="on"))
    assert WorkOrder.objects.get().confidential is True


@pytest.mark.parametrize("override, message", [
    ({"caller_phone": ""}, "请填写联系电话"),
    ({"caller_phone": "12ab"}, "请填写正确的联系电话"),
    ({"title": ""}, "请填写标题"),
    ({"content": ""}, "请填写诉求内容"),
    ({"town": ""}, "请选择所在乡镇（街道）"),
    ({"town": "999999"}, "所选乡镇（街道）无效"),
    ({"appeal_type": ""}, "请选择诉求类型"),
    ({"category": "999999"}, "所选分类无效"),
])
def test_bad_input_is_refused_in_chinese_and_writes_nothing(client, ruzhou, unit, override, message):
    response = client.post("/portal/submit/", submission(unit, **override))
    assert response.status_code == 200 and message in text(response)
    assert WorkOrder.objects.count() == 0 and Event.objects.count() == 0


def test_a_category_must_belong_to_the_chosen_group(client, ruzhou, unit):
    other_group = Category.objects.get(full_name="政务服务")
    response = client.post("/portal/submit/", submission(unit, category_group=other_group.pk))
    assert "所选分类无效" in text(response) or "具体分类不属于所选大类" in text(response)
    assert WorkOrder.objects.count() == 0


def test_the_second_select_lists_the_groups_categories(client, ruzhou):
    group = Category.objects.get(full_name="政务服务")
    response = client.get("/portal/categories/", {"category_group": group.pk})
    assert "网点服务" in text(response) and "人居环境" not in text(response)


def test_the_forms_need_a_csrf_token(ruzhou, unit):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/portal/submit/", submission(unit)).status_code == 403
    assert strict.post("/portal/track/", {"number": "RZ2307-000001", "phone": "13812341234"}).status_code == 403
    assert WorkOrder.objects.count() == 0


def test_tracking_with_the_right_phone_shows_the_public_progress(client, people, unit, new_order):
    order = answered(people, unit, new_order)
    response = track(client, order.number, "138 1234 1234")
    assert response.status_code == 302
    page = text(client.get(response["Location"]))
    assert order.number in page and "已答复，待评价" in page
    for step in ("已受理", "已派发承办单位办理", "承办单位已签收，正在办理", "答复已审核，等待回访"):
        assert step in page
    assert "2023-07-03 09:00" in page and "已安排施工队修补路面" in page


def test_wrong_phone_and_unknown_number_look_the_same(client, people, unit, new_order):
    order = new_order()
    wrong_phone = track(client, order.number, "13900000000")
    unknown = track(client, "RZ2307-999999", "13812341234")
    no_phone = new_order(caller_phone="")  # an order without a phone can never be looked up
    empty = track(client, no_phone.number, "")
    for response in (wrong_phone, unknown):
        assert response.status_code == 200 and NOT_FOUND in text(response)
    assert "请填写联系电话" in text(empty)

    def strip(r):
        return re.sub(r'value="[^"]*"', "", text(r))

    assert strip(wrong_phone) == strip(unknown)
    # Nothing was proved: the detail page sends the stranger back to the form.
    assert client.get(f"/portal/track/{order.number}/")["Location"] == "/portal/track/"


def test_the_tracking_page_leaks_no_internal_notes_or_handler_names(client, people, unit, new_order):
    order = answered(people, unit, new_order)
    zhao = people["handler_zhao"]
    other = new_order(caller_name="李四", caller_phone="13900001111", title="邻居家的噪音")
    track(client, order.number, "13812341234")
    page = text(client.get(f"/portal/track/{order.number}/"))
    for secret in ("村委会配合", "镇财政", "内部备注", "情绪激动", "派单员内部提示", "需镇政府处理", "审核意见",
                   zhao.username, zhao.display_name or "赵", "dispatcher_wang", "operator_li",
                   "李四", "13900001111", other.number, "邻居家的噪音"):
        assert secret not in page, secret


def test_a_satisfied_rating_closes_the_order_once(client, people, unit, new_order):
    order = new_order()
    track(client, order.number, "13812341234")
    # Not answered yet: no rating form, and a forged post is refused without writing anything.
    assert "评价办理结果" not in text(client.get(f"/portal/track/{order.number}/"))
    refused = client.post(f"/portal/track/{order.number}/rate/", {"satisfaction": "satisfied", "solved": "yes"})
    assert refused.status_code == 400 and "该工单当前不在待评价状态" in text(refused)
    assert CitizenRating.objects.count() == 0 and Callback.objects.count() == 0

    order = answered(people, unit, lambda: order)
    assert "评价办理结果" in text(client.get(f"/portal/track/{order.number}/"))
    bad = client.post(f"/portal/track/{order.number}/rate/", {"satisfaction": "great"})
    assert bad.status_code == 400 and "满意度取值无效" in text(bad)
    ok = client.post(f"/portal/track/{order.number}/rate/",
                     {"satisfaction": "very_satisfied", "solved": "yes", "comment": "修得很快"})
    assert ok.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.satisfaction, order.callback_solved) == ("closed", "very_satisfied", True)
    callback = Callback.objects.get(order=order)
    assert callback.by is None and callback.outcome == "close"
    page = text(client.get(f"/portal/track/{order.number}/"))
    assert "已办结" in page and "非常满意" in page
    again = client.post(f"/portal/track/{order.number}/rate/", {"satisfaction": "dissatisfied", "solved": "no"})
    assert again.status_code == 400 and "您已评价过该工单" in text(again)
    assert CitizenRating.objects.count() == 1 and Callback.objects.count() == 1


def test_a_dissatisfied_rating_is_left_for_the_callback_staff(client, people, unit, new_order):
    order = answered(people, unit, new_order)
    track(client, order.number, "13812341234")
    client.post(f"/portal/track/{order.number}/rate/",
                {"satisfaction": "dissatisfied", "solved": "no", "comment": "路面还是坑洼"})
    order.refresh_from_db()
    assert order.status == "awaiting_callback" and order.rework_count == 0 and Callback.objects.count() == 0
    note = Event.objects.filter(order=order, action="annotate").last()
    assert note.actor is None and "市民网上评价：不满意，未解决" in note.note and "路面还是坑洼" in note.note
    assert "热线工作人员将与您联系核实" in text(client.get(f"/portal/track/{order.number}/"))
    again = client.post(f"/portal/track/{order.number}/rate/", {"satisfaction": "satisfied", "solved": "yes"})
    assert "您已评价过该工单" in text(again)
    # 周 calls back, finds the complaint reasonable and sends it back to 杨楼镇 (重办).
    actions.record_callback(order, acting_user=people["supervisor_zhou"], satisfaction="dissatisfied", solved=False,
                            rework=True, note="回访核实：路面未修复")
    order.refresh_from_db()
    assert order.status == "handling" and order.rework_count == 1


def test_lookups_are_rate_limited_per_ip(client, people, new_order):
    order = new_order()
    for _ in range(20):
        assert NOT_FOUND in text(track(client, order.number, "13900000000"))
    blocked = track(client, order.number, "13812341234")  # even the right phone, once over the limit
    assert blocked.status_code == 429 and "查询过于频繁" in text(blocked)
    elsewhere = Client(REMOTE_ADDR="10.1.2.3")
    assert track(elsewhere, order.number, "13812341234").status_code == 302


def test_behind_our_proxy_the_forwarded_client_is_counted(settings, rf):
    from hotline.portal.ratelimit import client_ip

    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 10.0.0.7")
    assert client_ip(request) == "127.0.0.1"  # default: no proxy trusted
    settings.PORTAL_PROXY_HOPS = 1
    assert client_ip(request) == "10.0.0.7"  # the address nginx saw, not the forgeable left-most one
