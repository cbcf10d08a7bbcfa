"""The paged work queues: 赵's inbox at 杨楼镇 and 王's dispatch board, page by page.

Each section is a queue of its own, the most urgent first, 50 a page with a keyset cursor. Walking
the pages must show every order exactly once, in order, even when deadlines tie; counts say how many
there are (capped: "1000+"); the query count stays the same however long the queues grow; and 钱 of
寄料镇 still sees none of it.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from hotline.catalog.models import AppealType, Category
from hotline.workorders import actions, queries
from hotline.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(people, unit):
    """``orders(n, ...)``: n orders registered and sent to dispatch by 李; dispatched by 王 to 杨楼镇
    (with 住建局 co-handling) unless ``dispatch=False``; ``deadline`` sets one shared handling
    deadline, so that the keyset has to break ties by id."""
    cat = Category.objects.get(full_name="农村管理—人居环境")
    kind = AppealType.objects.get(code="problem")

    def make(n, *, dispatch=True, deadline=None, co=True, start=None):
        start = start or timezone.now() - dt.timedelta(days=1)
        made = []
        for i in range(n):
            t = start + dt.timedelta(minutes=i)
            o = actions.register_order(acting_user=people["operator_li"], at=t, title=f"队列工单{i}", content="内容",
                                       appeal_type=kind, category=cat, town=unit("杨楼镇"), caller_phone="13800000000")
            actions.submit_for_dispatch(o, acting_user=people["operator_li"], at=t)
            if dispatch:
                actions.dispatch(o, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"),
                                 co_units=[unit("住房和城乡建设局")] if co else [], handle_deadline=deadline,
                                 at=t + dt.timedelta(seconds=30))
            made.append(o)
        return made
    return make


def _walk(read, key=None):
    """Every row of a queue, page by page, and the number of pages."""
    rows, cursor, pages = [], None, 0
    while True:
        page = read(cursor)
        page = page[key] if key else page
        rows += page.rows
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            return rows, pages


def test_inbox_pages_show_every_order_once_in_deadline_order(people, orders):
    tie = timezone.now() + dt.timedelta(days=10)
    made = orders(9, deadline=tie) + orders(4)  # nine share one deadline: the cursor breaks ties by id
    zhao, now = people["handler_zhao"], timezone.now()
    first = queries.unit_inbox(zhao, now, size=4)["to_sign"]
    assert first.total == 13 and first.count_label == "13" and len(first.rows) == 4 and first.next_cursor
    rows, pages = _walk(lambda c: queries.unit_inbox(zhao, now, cursors={"to_sign": c} if c else None, size=4),
                        "to_sign")
    assert pages == 4
    assert [r.id for r in rows] == sorted((o.pk for o in made), key=lambda pk: (
        WorkOrder.objects.get(pk=pk).handle_deadline, pk))
    assert all(r.role == "lead" for r in rows)


def test_inbox_sections_page_independently_in_the_browser_url(as_user, people, orders):
    orders(55)
    zhao = as_user("handler_zhao")
    r = zhao.get(reverse("inbox"))
    first = r.context["sections"][0]
    assert first["key"] == "to_sign" and len(first["page"].rows) == 50 and first["page"].count_label == "55"
    assert 'id="pager-to_sign"' in r.content.decode()
    r2 = zhao.get(reverse("inbox") + first["next_url"])
    second = r2.context["sections"][0]["page"]
    assert len(second.rows) == 5 and not second.next_cursor
    assert not {a.id for a in first["page"].rows} & {a.id for a in second.rows}
    assert "« 第一页" in r2.content.decode()


def test_co_handling_unit_pages_its_part(people, orders):
    made = orders(7)
    sun, now = people["handler_sun"], timezone.now()
    rows, pages = _walk(lambda c: queries.unit_inbox(sun, now, cursors={"to_sign": c} if c else None, size=3),
                        "to_sign")
    assert pages == 3 and sorted(r.id for r in rows) == sorted(o.pk for o in made)
    assert all(r.role == "co" for r in rows)


def test_inbox_sections_follow_the_order(people, orders, unit):
    """Signed, overdue, near-due, sent back: each order is in exactly one section, and a later event
    (a reminder) takes a sent-back order out of 被退回重办 as before."""
    late, soon_, later = orders(1, start=timezone.now() - dt.timedelta(days=30))[0], *orders(2)
    zhao, wang = people["handler_zhao"], people["dispatcher_wang"]
    for o in (late, soon_, later):
        actions.sign(o, acting_user=zhao)
    WorkOrder.objects.filter(pk=late.pk).update(handle_deadline=timezone.now() - dt.timedelta(hours=1))
    WorkOrder.objects.filter(pk=soon_.pk).update(handle_deadline=timezone.now() + dt.timedelta(hours=2))
    actions.reply(later, acting_user=zhao, public_reply="已处理", solved=True)
    actions.send_back(later, acting_user=wang, note="答复过于简单")

    def where():
        pages = queries.unit_inbox(zhao, timezone.now())
        return {o.number: [k for k, p in pages.items() if o.pk in {r.id for r in p.rows}] for o in (late, soon_, later)}
    assert where() == {late.number: ["overdue"], soon_.number: ["near_due"], later.number: ["sent_back"]}
    actions.remind(later, acting_user=people["supervisor_zhou"], notice="请尽快")
    assert where()[later.number] == ["handling"]


def test_dispatch_queues_page_through_every_order(as_user, people, orders):
    made = orders(12, dispatch=False)
    wang = people["dispatcher_wang"]
    rows, pages = _walk(lambda c: queries.dispatch_queue(wang, cursor=c, size=5))
    assert pages == 3 and [r["id"] for r in rows] == [o.pk for o in made]  # no deadline yet: by registration
    c = as_user("dispatcher_wang")
    body = c.get(reverse("dispatch")).content.decode()
    assert "待派单（共 12 件）" in body and body.count('data-action="dispatch"') == 12


def test_counts_are_capped(people, orders, monkeypatch):
    orders(6, dispatch=False)
    monkeypatch.setattr(queries, "COUNT_CAP", 4)
    page = queries.dispatch_queue(people["dispatcher_wang"], size=2)
    assert page.capped and page.count_label == "4+" and len(page.rows) == 2


def test_bad_cursors_start_from_the_top(as_user, orders):
    orders(3, dispatch=False)
    c = as_user("dispatcher_wang")
    for junk in ("x", "1_2", "9" * 40 + "_1_1", "n_n_n", "-5_1_1", "１_1_1"):
        r = c.get(reverse("dispatch"), {"dispatch": junk})
        assert r.status_code == 200 and len(r.context["dispatch"].rows) == 3


def test_queue_pages_keep_their_query_count(as_user, orders):
    """Pages of 50 in a fixed number of queries, whether a queue holds 3 orders or 120."""
    orders(3)
    counts = {}
    for username, url in (("handler_zhao", "inbox"), ("handler_sun", "inbox"), ("dispatcher_wang", "dispatch")):
        c = as_user(username)
        c.get(reverse(url))  # the first request of a login also saves its session
        with CaptureQueriesContext(connection) as ctx:
            c.get(reverse(url))
        counts[username] = len(ctx.captured_queries)
    orders(60)
    orders(60, dispatch=False)
    for username, url in (("handler_zhao", "inbox"), ("handler_sun", "inbox"), ("dispatcher_wang", "dispatch")):
        c = as_user(username)
        c.get(reverse(url))
        with CaptureQueriesContext(connection) as ctx:
            body = c.get(reverse(url)).content.decode()
        assert len(ctx.captured_queries) == counts[username], [q["sql"][:90] for q in ctx.captured_queries]
        assert 'class="next"' in body


def test_other_units_see_nothing_on_any_page(as_user, people, orders):
    made = orders(8)
    qian = people["handler_qian"]
    pages = queries.unit_inbox(qian, timezone.now(), size=3)
    assert all(p.total == 0 and not p.rows for p in pages.values())
    # A cursor lifted from 赵's page shows 钱 nothing either.
    cursor = queries.unit_inbox(people["handler_zhao"], timezone.now(), size=3)["to_sign"].next_cursor
    assert not queries.unit_inbox(qian, timezone.now(), cursors={"to_sign": cursor})["to_sign"].rows
    body = as_user("handler_qian").get(reverse("inbox"), {"to_sign": cursor}).content.decode()
    assert not any(o.number in body for o in made)


def test_confidential_titles_are_shielded_in_the_inbox(as_user, people, unit, new_order):
    order = new_order(at=timezone.now() - dt.timedelta(minutes=5), confidential=True, caller_name="王秘密",
                      title="王秘密反映13912345678家门口污水")
    actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))
    body = as_user("handler_zhao").get(reverse("inbox")).content.decode()
    assert order.number in body and "王秘密" not in body and "13912345678" not in body


@pytest.fixture
def as_user(client, people):
    def login(username):
        client.force_login(people[username])
        return client
    return login


@pytest.fixture
def submissions(people, unit):
    """``submissions(n)``: n orders as the portal and Open311 register them — by nobody (the
    system), in 已登记, waiting for an operator to take them in."""
    from hotline.catalog.models import Source

    cat = Category.objects.get(full_name="农村管理—人居环境")
    kind = AppealType.objects.get(code="problem")

    def make(n, *, source=Source.WEB):
        return [actions.register_order(acting_user=None, source=source, title=f"网站诉求{i}", content="路灯不亮",
                                       appeal_type=kind, category=cat, town=unit("杨楼镇"),
                                       caller_phone="13900001111") for i in range(n)]
    return make


def test_operator_sees_and_takes_in_portal_submissions(as_user, people, submissions):
    """李 sees what the portal registered (no longer a 404), takes one in with 转派单 from the
    queue, and it leaves the queue for the dispatch board."""
    from hotline.catalog.models import Source

    web, app = submissions(1)[0], submissions(1, source=Source.APP)[0]
    li = as_user("operator_li")
    r = li.get(reverse("intake_queue"))
    body = r.content.decode()
    assert r.status_code == 200 and "待受理（共 2 件）" in body
    assert web.number in body and app.number in body and "网站" in body and "移动端" in body
    assert body.count('data-action="submit_for_dispatch"') == 2 and body.count('data-action="direct_answer"') == 2
    assert li.get(reverse("order_detail", args=[web.number])).status_code == 200
    url = reverse("order_action", args=[web.number, "submit_for_dispatch"])
    r = li.post(url + "?next=" + reverse("intake_queue"), {"note": "需镇政府处理"})
    assert r.status_code == 302 and r["Location"] == reverse("intake_queue")
    web.refresh_from_db()
    assert web.status == "awaiting_dispatch"
    r = li.get(reverse("intake_queue"))
    assert "待受理（共 1 件）" in r.content.decode() and "转派单成功" in r.content.decode()
    assert [row["number"] for row in r.context["queue"].rows] == [app.number]
    # Taken in, it is the dispatcher's now: the operator's door closes again on another's order.
    assert li.get(reverse("order_detail", args=[web.number])).status_code == 404
    assert web.number in as_user("dispatcher_wang").get(reverse("dispatch")).content.decode()


def test_intake_queue_pages_and_keeps_its_query_count(as_user, people, submissions):
    submissions(3)
    li = as_user("operator_li")
    li.get(reverse("intake_queue"))
    with CaptureQueriesContext(connection) as ctx:
        li.get(reverse("intake_queue"))
    few = len(ctx.captured_queries)
    submissions(55)
    with CaptureQueriesContext(connection) as ctx:
        r = li.get(reverse("intake_queue"))
    assert len(ctx.captured_queries) == few
    page = r.context["queue"]
    assert len(page.rows) == 50 and page.count_label == "58" and page.next_cursor
    rows, pages = _walk(lambda c: queries.intake_queue(people["operator_li"], cursor=c, size=20))
    assert pages == 3 and len({row["id"] for row in rows}) == 58


def test_units_have_no_intake_queue(as_user, submissions):
    made = submissions(1)[0]
    zhao = as_user("handler_zhao")
    assert zhao.get(reverse("intake_queue")).status_code == 403
    assert zhao.get(reverse("order_detail", args=[made.number])).status_code == 404


def test_supervisor_sees_failed_supervision_and_upstream_deadlines(as_user, people, unit, orders):
    """周's 督办 page: 督办 left unanswered past respond_by (the chase sweep sets ``failed``), and
    upstream orders not yet reported back whose upstream deadline is past or within the window."""
    from hotline.directory.models import UpstreamPlatform
    from hotline.workorders.models import Reminder

    zhou, now = people["supervisor_zhou"], timezone.now()
    chased, answered = orders(2)
    for o in (chased, answered):
        actions.supervise(o, acting_user=zhou, notice="请于两日内书面反馈")
    Reminder.objects.filter(order=chased).update(failed=True)  # what the sweep writes past respond_by
    platform = UpstreamPlatform.objects.first()
    kind, town = AppealType.objects.get(code="problem"), unit("杨楼镇")

    def upstream(number, hours):
        return actions.register_order(acting_user=None, source="upstream", upstream_platform=platform,
                                      upstream_number=number, upstream_deadline=now + dt.timedelta(hours=hours),
                                      title=f"上级交办{number}", content="内容", appeal_type=kind, town=town)
    late, soon, far = upstream("SJ-1", -2), upstream("SJ-2", 3), upstream("SJ-3", 24 * 10)
    failed = queries.failed_supervisions(zhou).rows
    assert [r["order__number"] for r in failed] == [chased.number] and failed[0]["unit__short_name"] == "杨楼镇"
    due = queries.upstream_deadlines(zhou, now)
    assert [(o["number"], o["late"]) for o in due.rows] == [(late.number, True), (soon.number, False)]
    assert due.counts == {"late": "1", "near": "1"}
    body = as_user("supervisor_zhou").get(reverse("supervision")).content.decode()
    assert "督办未落实（1）" in body and chased.number in body and answered.number not in body.split("督办未落实")[1]
    assert "上级交办时限（已超 1，临近 1）" in body and "SJ-2" in body and far.number not in body
    # Units have no such page, and 钱 of 寄料镇 sees no row of 杨楼镇's in these lists.
    assert as_user("handler_qian").get(reverse("supervision")).status_code == 403
    assert not queries.failed_supervisions(people["handler_qian"]).rows
