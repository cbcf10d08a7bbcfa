"""Live updates in a real Chromium (Playwright): pages that change while nobody reloads them.

赵 of 杨楼镇 keeps his inbox open; 王, in a browser session of his own, dispatches an order to 杨楼镇:
赵's bell counts it and the order appears in 待签收 without a reload. A citizen submits through the
portal; 李, on the intake queue, sees the bell count and the order arrive, and takes it in with
转派单. The live server is one process (tests/test_live_cluster.py runs two behind nginx); its
carrier is PostgreSQL LISTEN/NOTIFY on the PostgreSQL run and the polling fallback on SQLite.
"""

import os
import re
import time
import urllib.request

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
PASSWORD = "hotline12345"
LIVE_MS = 5000  # the bound: within 5 seconds
STREAM_SECONDS = 4

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
def world(transactional_db, settings):
    from hotline.demo.defaults import load_defaults
    from hotline.demo.people import ensure_people

    # Streams end sooner than in production, so reconnection is exercised too; a closed page's
    # stream ends at its next heartbeats (open_page waits for that).
    settings.HOTLINE_LIVE_STREAM_SECONDS = STREAM_SECONDS
    settings.HOTLINE_LIVE_HEARTBEAT_SECONDS = 0.5
    settings.HOTLINE_LIVE_BACKEND = ""  # as deployed: LISTEN/NOTIFY on PostgreSQL, polling on SQLite
    load_defaults()
    return ensure_people(PASSWORD)


@pytest.fixture
def open_page(browser, live_server, world):
    """open_page("handler_zhao") -> a page of a fresh browser context, signed in (None: a citizen)."""
    # The live server's first request imports every view: seconds on a busy machine, which a page's
    # 10-second navigation timeout must not pay for.
    urllib.request.urlopen(f"{live_server.url}/healthz", timeout=120).close()
    contexts = []

    def open_as(username):
        ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        ctx.set_default_timeout(10000)
        contexts.append(ctx)
        page = ctx.new_page()
        if username:
            page.goto(f"{live_server.url}/accounts/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r".*/$"))
        return page

    yield open_as
    for ctx in contexts:
        ctx.close()
    # Closed tabs end their streams within a few heartbeats (tests/test_live_stream_close.py), long
    # before their lifetime: none is left on the live server when the test database goes.
    from hotline.web.views.notifications import open_streams

    deadline = time.monotonic() + STREAM_SECONDS
    while open_streams() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open_streams() == 0


def _connected(page):
    """The page's event stream has delivered its first state (live.js marks <html data-live>)."""
    page.wait_for_selector("html[data-live=connected]", state="attached")
    page.evaluate("window.__notReloaded = true")


def _not_reloaded(page) -> bool:
    return page.evaluate("window.__notReloaded === true")


def test_the_inbox_updates_live_when_the_dispatcher_dispatches(open_page, live_server, world):
    from hotline.catalog.models import AppealType, Category
    from hotline.directory.models import Unit
    from hotline.workorders import actions

    order = actions.register_order(acting_user=world["operator_li"], title="村口路灯不亮", content="杨楼镇某村村口路灯不亮。",
                                   appeal_type=AppealType.objects.get(code="problem"),
                                   category=Category.objects.get(full_name="农村管理—人居环境"),
                                   town=Unit.objects.get(short_name="杨楼镇"))
    actions.submit_for_dispatch(order, acting_user=world["operator_li"])

    zhao = open_page("handler_zhao")
    zhao.goto(f"{live_server.url}/inbox/")
    _connected(zhao)
    assert zhao.locator("#bell-count").inner_text() == "0"
    assert zhao.locator(f"#inbox-to_sign [data-number='{order.number}']").count() == 0

    wang = open_page("dispatcher_wang")  # another person, another session
    wang.goto(f"{live_server.url}/dispatch/")
    wang.locator(f"[data-number='{order.number}'] [data-action='dispatch']").click()
    wang.wait_for_selector("#panel form")
    wang.select_option("#id_lead_unit", label="杨楼镇")
    with wang.expect_navigation():
        wang.locator("#panel button[type=submit]").click()

    zhao.wait_for_selector(f"#inbox-to_sign [data-number='{order.number}']", timeout=LIVE_MS)
    zhao.wait_for_function("document.getElementById('bell-count').textContent === '1'", timeout=LIVE_MS)
    assert _not_reloaded(zhao)
    # The row that arrived works: 签收 opens its form in the side panel.
    zhao.locator(f"#inbox-to_sign [data-number='{order.number}'] [data-action='sign']").click()
    zhao.wait_for_selector("#panel form")
    # The notification centre lists it, linked to the order.
    zhao.click("#bell")
    zhao.wait_for_selector(f"#notifications a[href='/orders/{order.number}/']")
    with zhao.expect_navigation():
        zhao.click("#read-all")
    assert zhao.locator("#bell-count").inner_text() == "0"


def test_the_operator_sees_a_portal_submission_arrive_and_takes_it_in(open_page, live_server, world):
    from hotline.workorders.models import WorkOrder

    li = open_page("operator_li")
    li.goto(f"{live_server.url}/intake/queue/")
    _connected(li)
    assert "没有待受理的工单" in li.locator("#intake-queue").inner_text()

    citizen = open_page(None)
    citizen.goto(f"{live_server.url}/portal/submit/")
    citizen.fill("#id_caller_name", "张三丰")
    citizen.fill("#id_caller_phone", "13812341234")
    citizen.select_option("#id_town", label="杨楼镇")
    citizen.select_option("#id_appeal_type", index=1)
    citizen.fill("#id_title", "小区门口积水")
    citizen.fill("#id_content", "杨楼镇某小区门口雨后积水严重，出行不便。")
    with citizen.expect_navigation():
        citizen.click("form button[type=submit]")
    number = citizen.locator("#order-number").inner_text().strip()

    row = f"#intake-queue [data-number='{number}']"
    li.wait_for_selector(row, timeout=LIVE_MS)
    li.wait_for_function("document.getElementById('bell-count').textContent === '1'", timeout=LIVE_MS)
    assert _not_reloaded(li)
    assert "网站" in li.locator(row).inner_text()
    li.locator(f"{row} [data-action='submit_for_dispatch']").click()
    li.wait_for_selector("#panel form")
    with li.expect_navigation():
        li.locator("#panel button[type=submit]").click()
    assert li.url.endswith("/intake/queue/") and li.locator(row).count() == 0
    assert WorkOrder.objects.get(number=number).status == "awaiting_dispatch"
