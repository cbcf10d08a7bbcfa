"""Attachments in a real Chromium (Playwright): 市民 张三丰 sends a photo of the missing manhole
cover from the portal, 赵 of 杨楼镇 sees its thumbnail (and the photo without its EXIF), 钱 of 寄料镇
gets a 404 for it, and 赵's reply evidence reaches 张三丰 once the order is closed (办结)."""

import io
import os

import pytest
from PIL import Image

from tests.test_attachments import gps_exif, jpeg
from tests.test_console_browser import (
    ARGS,
    CHROMIUM,
    PASSWORD,
    _open_action,
    _order,
    _submit_panel,
    wait_until_serving,
)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed")]

PHONE = "13812341234"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    from hotline.demo.defaults import load_defaults
    from hotline.demo.people import ensure_people

    settings.STORAGES = {**settings.STORAGES, "attachments": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    load_defaults()
    return ensure_people(PASSWORD)


@pytest.fixture
def open_page(browser, live_server, world):
    """open_page("handler_zhao") -> a signed-in page at 1366×768; open_page(None) -> the citizen's."""
    contexts = []
    wait_until_serving(live_server)

    def make(username):
        ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        ctx.set_default_timeout(10000)
        contexts.append(ctx)
        page = ctx.new_page()
        if username:
            page.goto(f"{live_server.url}/accounts/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            with page.expect_navigation():
                page.click("button[type=submit]")
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def _photo(tmp_path, name="井盖.jpg", size=(1200, 900)):
    path = tmp_path / name
    path.write_bytes(jpeg(size, color=(90, 90, 90), exif=gps_exif()))
    return path


def _to_yanglou(world, number):
    from hotline.directory.models import Unit
    from hotline.workorders import actions

    order = _order(number)
    actions.submit_for_dispatch(order, acting_user=world["dispatcher_wang"])
    actions.dispatch(order, acting_user=world["dispatcher_wang"], lead_unit=Unit.objects.get(short_name="杨楼镇"))
    return _order(number)


def _images_loaded(page, selector, count) -> bool:
    """Wait until ``count`` images match ``selector`` and every one has loaded (a broken image never does)."""
    page.wait_for_function(
        "([sel, n]) => { const imgs = [...document.querySelectorAll(sel)];"
        " return imgs.length === n && imgs.every(i => i.complete && i.naturalWidth > 0); }", arg=[selector, count])
    return True


def test_a_citizens_photo_reaches_the_unit_as_a_thumbnail_without_exif(open_page, live_server, world, tmp_path):
    citizen = open_page(None)
    citizen.goto(f"{live_server.url}/portal/submit/")
    citizen.fill("#id_caller_name", "张三丰")
    citizen.fill("#id_caller_phone", PHONE)
    citizen.select_option("#id_town", label="杨楼镇")
    citizen.select_option("#id_appeal_type", index=1)
    citizen.fill("#id_title", "村口井盖丢失")
    citizen.fill("#id_content", "杨楼镇某村村口井盖丢失，夜间行人有掉落危险。")
    citizen.set_input_files("#id_photos", str(_photo(tmp_path)))
    with citizen.expect_navigation():
        citizen.click("form button[type=submit]")
    number = citizen.locator("#order-number").inner_text().strip()
    order = _to_yanglou(world, number)
    photo = order.attachments.get()
    assert photo.kind == "photo" and (photo.width, photo.height) == (1200, 900)

    zhao = open_page("handler_zhao")
    zhao.goto(f"{live_server.url}/orders/{number}/")
    thumb = f"#attachments img[src='/attachments/{photo.pk}/thumb/']"
    assert _images_loaded(zhao, thumb, 1)
    assert "市民上传" in zhao.locator("#attachments").inner_text()
    got = zhao.request.get(f"{live_server.url}/attachments/{photo.pk}/")
    assert got.status == 200 and got.headers["x-content-type-options"] == "nosniff"
    stored = Image.open(io.BytesIO(got.body()))
    assert stored.size == (1200, 900) and not stored.getexif()  # no GPS, camera or owner left
    assert b"HUAWEI" not in got.body()


def test_another_towns_handler_gets_404_for_the_attachment(open_page, live_server, world, tmp_path):
    from hotline.catalog.models import AppealType
    from hotline.directory.models import Unit
    from hotline.lib.files import inspect
    from hotline.workorders import actions

    order = actions.register_order(
        acting_user=world["operator_li"], title="杨楼镇井盖丢失", content="村口井盖丢失。",
        appeal_type=AppealType.objects.get(code="problem"), town=Unit.objects.get(short_name="杨楼镇"),
        caller_phone=PHONE, attachments=[inspect(jpeg(), "井盖.jpg")])
    order = _to_yanglou(world, order.number)
    photo = order.attachments.get()
    qian = open_page("handler_qian")
    for url in (f"/attachments/{photo.pk}/", f"/attachments/{photo.pk}/thumb/", f"/orders/{order.number}/"):
        assert qian.goto(f"{live_server.url}{url}").status == 404
    zhao = open_page("handler_zhao")
    assert zhao.goto(f"{live_server.url}/attachments/{photo.pk}/").status == 200


def test_a_units_public_evidence_reaches_the_citizen_after_closing(open_page, live_server, world, tmp_path):
    from hotline.catalog.models import AppealType
    from hotline.directory.models import Unit
    from hotline.workorders import actions

    order = actions.register_order(
        acting_user=world["operator_li"], title="杨楼镇井盖丢失", content="村口井盖丢失。",
        appeal_type=AppealType.objects.get(code="problem"), town=Unit.objects.get(short_name="杨楼镇"),
        caller_name="张三丰", caller_phone=PHONE)
    order = _to_yanglou(world, order.number)
    actions.sign(order, acting_user=world["handler_zhao"])

    zhao = open_page("handler_zhao")
    zhao.goto(f"{live_server.url}/orders/{order.number}/")
    _open_action(zhao, order.number, "reply")
    zhao.fill("#id_public_reply", "已安装新井盖并设置警示标志。")
    zhao.select_option("#id_solved", "1")
    zhao.set_input_files("#id_evidence", [str(_photo(tmp_path, "新井盖.jpg", (800, 600))),
                                          str(_photo(tmp_path, "警示标志.jpg", (600, 800)))])
    zhao.check("#id_evidence_public")
    _submit_panel(zhao)
    evidence = list(_order(order.number).attachments.order_by("id"))
    assert [a.kind for a in evidence] == ["evidence", "evidence"] and all(a.public for a in evidence)
    zhao.goto(f"{live_server.url}/orders/{order.number}/")
    assert "向来电人公开" in zhao.locator("#attachments").inner_text()

    citizen = open_page(None)
    citizen.goto(f"{live_server.url}/portal/track/")
    citizen.fill("#id_number", order.number)
    citizen.fill("#id_phone", PHONE)
    with citizen.expect_navigation():
        citizen.click("form button[type=submit]")
    assert citizen.locator("#evidence").count() == 0  # the reply is not approved yet

    actions.approve_reply(order, acting_user=world["dispatcher_wang"])
    actions.record_callback(order, acting_user=world["supervisor_zhou"], satisfaction="satisfied", solved=True)
    assert _order(order.number).status == "closed"
    citizen.reload()
    assert "已办结" in citizen.locator(".status").inner_text()
    assert _images_loaded(citizen, "#evidence img", 2)
    href = citizen.locator("#evidence a").first.get_attribute("href")
    got = citizen.request.get(f"{live_server.url}{href}")
    assert got.status == 200 and not Image.open(io.BytesIO(got.body())).getexif()
