"""Chase loops in a real Chromium (Playwright): a unit answers from the page where it sees them.

督办 周 sends a 催办 and then a 督办 on an order 杨楼镇 is handling. 赵 of 杨楼镇 sees both in his
notification centre, opens the order from the 督办's notification, confirms receipt (确认收到催办督办)
and writes the response (督办反馈) in the side panel. 周's bell counts the response; the order page
shows it and the 督办 leaves his 督办待反馈 list. Another 督办, left unanswered past its
``respond_by``, is found failed by the sweep: 周 sees it in 督办未落实 and 赵 sees the badge on the
order.
"""

import datetime as dt
import os
import re
import urllib.request

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
PASSWORD = "hotline12345"
RESPONSE = "已安排施工队于本周内修复路面，完工后拍照反馈。"

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed")]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def world(transactional_db):
    from hotline.demo.defaults import load_defaults
    from hotline.demo.people import ensure_people

    load_defaults()
    return ensure_people(PASSWORD)


@pytest.fixture
def login(browser, live_server, world):
    # The live server's first request imports every view: seconds on a busy machine, which a page's
    # 10-second navigation timeout must not pay for.
    urllib.request.urlopen(f"{live_server.url}/healthz", timeout=120).close()
    contexts = []

    def open_as(username):
        ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        ctx.set_default_timeout(20000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/$"))
        return page

    yield open_as
    for ctx in contexts:
        ctx.close()


def _handling(world, *, at=None):
    """An order 杨楼镇 has signed for (registered ``at``, or now)."""
    from hotline.catalog.models import AppealType, Category
    from hotline.directory.models import Unit
    from hotline.workorders import actions

    kw = {"at": at} if at else {}
    steps = [dt.timedelta(minutes=m) for m in (0, 10, 20, 30)] if at else [None] * 4
    when = (lambda i: {"at": at + steps[i]}) if at else (lambda i: {})
    order = actions.register_order(acting_user=world["operator_li"], title="村内道路破损坑洼",
                                   content="杨楼镇某村主路破损严重，雨天积水。", caller_phone="13812341234",
                                   appeal_type=AppealType.objects.get(code="problem"),
                                   category=Category.objects.get(full_name="农村管理—人居环境"),
                                   town=Unit.objects.get(short_name="杨楼镇"), **kw)
    actions.submit_for_dispatch(order, acting_user=world["operator_li"], **when(1))
    actions.dispatch(order, acting_user=world["dispatcher_wang"], lead_unit=Unit.objects.get(short_name="杨楼镇"),
                     **when(2))
    return actions.sign(order, acting_user=world["handler_zhao"], **when(3))


def _submit_panel(page):
    page.wait_for_selector("#panel form")
    with page.expect_navigation():
        page.locator("#panel button[type=submit]").click()


def test_the_unit_acknowledges_and_answers_from_the_order_and_the_supervisor_sees_it(login, live_server, world):
    from hotline.notify.models import Kind, Notification
    from hotline.workorders import actions
    from hotline.workorders.models import Reminder

    order = _handling(world)
    actions.remind(order, acting_user=world["supervisor_zhou"], notice="请加快办理")
    actions.supervise(order, acting_user=world["supervisor_zhou"], notice="群众多次反映，请两日内书面反馈整改情况")

    zhao = login("handler_zhao")
    zhao.click("#bell")
    rows = zhao.locator("#notifications tbody tr")
    assert "督办" in rows.nth(0).inner_text() and "催办" in rows.nth(1).inner_text()
    with zhao.expect_navigation():  # 已读并查看 on the 督办's notification
        rows.nth(0).locator("[data-open]").click()
    assert zhao.url.endswith(f"/orders/{order.number}/")
    assert "未确认" in zhao.locator("body").inner_text()

    zhao.locator("#order-actions [data-action='acknowledge_reminder']").click()
    _submit_panel(zhao)
    assert Reminder.objects.filter(order=order, acknowledged_at__isnull=True).count() == 0
    # Confirmed, the button is gone; the 督办 still waits for its written response.
    assert zhao.locator("#order-actions [data-action='acknowledge_reminder']").count() == 0
    zhao.locator("#order-actions [data-action='respond_supervision']").click()
    zhao.wait_for_selector("#panel form")
    zhao.fill("#id_response", RESPONSE)
    _submit_panel(zhao)
    supervision = Reminder.objects.get(order=order, kind=Reminder.Kind.SUPERVISION)
    assert supervision.response == RESPONSE and supervision.responded_by == world["handler_zhao"]
    assert zhao.locator("#order-actions [data-action='respond_supervision']").count() == 0
    assert "反馈（" in zhao.locator("body").inner_text()

    zhou = login("supervisor_zhou")
    told = Notification.objects.filter(recipient=world["supervisor_zhou"], kind=Kind.CHASE_ANSWERED, order=order)
    assert told.count() == 2  # the confirmation of the 督办, then its response
    assert zhou.locator("#bell-count").inner_text() == "2"
    zhou.goto(f"{live_server.url}/supervision/")
    assert zhou.locator(f"#awaiting-supervision-list [data-number='{order.number}']").count() == 0
    zhou.click("#bell")
    assert "督办反馈" in zhou.locator("#notifications").inner_text()
    zhou.locator(f"#notifications a[href='/orders/{order.number}/']").first.click()
    zhou.wait_for_url(re.compile(rf".*/orders/{order.number}/$"))
    assert RESPONSE in zhou.locator("body").inner_text()


def test_a_supervision_left_unanswered_shows_failed_to_the_supervisor_and_the_unit(login, live_server, world):
    from django.utils import timezone

    from hotline.workorders import actions, tasks
    from hotline.workorders.models import Reminder

    start = timezone.now() - dt.timedelta(days=10)
    order = _handling(world, at=start)
    actions.supervise(order, acting_user=world["supervisor_zhou"], notice="请限期书面反馈",
                      at=start + dt.timedelta(hours=1))

    zhou = login("supervisor_zhou")
    zhou.goto(f"{live_server.url}/supervision/")
    assert zhou.locator(f"#awaiting-supervision-list [data-number='{order.number}']").count() == 1
    assert zhou.locator(f"#failed-supervision-list [data-number='{order.number}']").count() == 0

    assert tasks.sweep_supervisions(timezone.now(), live=True) == 1
    assert Reminder.objects.get(order=order).failed

    zhou.reload()
    failed = zhou.locator(f"#failed-supervision-list [data-number='{order.number}']")
    assert failed.count() == 1 and "杨楼镇" in failed.inner_text()
    assert zhou.locator(f"#awaiting-supervision-list [data-number='{order.number}']").count() == 0
    assert zhou.locator("#bell-count").inner_text() == "1"  # 督办未落实, told as the sweep found it
    zhou.click("#bell")
    assert "督办未落实" in zhou.locator("#notifications").inner_text()

    zhao = login("handler_zhao")
    zhao.goto(f"{live_server.url}/orders/{order.number}/")
    assert "督办未落实" in zhao.locator("body").inner_text()
