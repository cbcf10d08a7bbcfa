"""The knowledge base in a real Chromium (Playwright): 赵 of 杨楼镇 edits his unit's article from the
list (it was a 403), operators keep reading version 1 until 周 of the center approves the change on
the article's page, which publishes version 2 to operators and, the article being public, to
citizens in the portal. 钱 of 寄料镇 is offered no edit link and is refused the edit page."""

import datetime as dt
import os

import pytest

from tests.test_attachments_browser import browser, open_page, world  # noqa: F401 (fixtures)
from tests.test_console_browser import CHROMIUM

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed")]

OLD = "村内道路破损可向镇村建办报修，工作日受理。"
ADDED = "节假日可拨打镇值班电话 0375-6000000。"


@pytest.fixture
def article(world):  # noqa: F811 (the fixture imported above)
    from hotline.directory.models import Unit
    from hotline.knowledge.actions import load_published

    made, _ = load_published(title="杨楼镇农村道路维修报修渠道", body=OLD, keywords="道路 维修 报修",
                             owner_unit=Unit.objects.get(short_name="杨楼镇"), public=True,
                             review_date=dt.date(2030, 12, 31))
    return made


def test_a_unit_edits_its_article_and_the_center_approves_it(open_page, live_server, world, article):  # noqa: F811
    from hotline.catalog.models import KnowledgeArticle, KnowledgeRevision

    qian = open_page("handler_qian")
    qian.goto(f"{live_server.url}/kb/")
    row = qian.locator(f"#kb-table [data-article='{article.pk}']")
    assert row.count() == 1 and row.locator("a", has_text="修改").count() == 0
    assert qian.goto(f"{live_server.url}/kb/{article.pk}/edit/").status == 403

    zhao = open_page("handler_zhao")
    zhao.goto(f"{live_server.url}/kb/")
    with zhao.expect_navigation():
        zhao.locator(f"#kb-table [data-article='{article.pk}'] a", has_text="修改").click()
    assert zhao.locator("#id_body").input_value() == OLD
    zhao.fill("#id_body", f"{OLD}\n{ADDED}")
    zhao.fill("#id_note", "补充节假日报修电话")
    with zhao.expect_navigation():
        zhao.click("#kb-form button[type=submit]")
    assert "热线中心审核后发布" in zhao.locator("body").inner_text()
    assert "等待热线中心审核" in zhao.locator("#kb-pending-revision").inner_text()
    assert zhao.locator("#kb-approve").count() == 0 and zhao.locator("#kb-edit").count() == 0
    article.refresh_from_db()
    assert article.version == 1 and ADDED not in article.body  # operators still read version 1

    zhou = open_page("supervisor_zhou")
    zhou.goto(f"{live_server.url}/kb/")
    with zhou.expect_navigation():
        zhou.locator("#kb-pending a", has_text=article.title).click()
    pending = zhou.locator("#kb-pending-revision")
    assert "杨楼镇" in pending.inner_text() and "补充节假日报修电话" in pending.inner_text()
    assert pending.locator("ins", has_text=ADDED).count() == 1
    zhou.fill("#kb-pending-revision input[name=note]", "同意")
    with zhou.expect_navigation():
        zhou.click("#kb-approve")
    assert "已审核发布" in zhou.locator("body").inner_text()
    assert zhou.locator("#kb-pending-revision").count() == 0
    assert "第2版" in zhou.locator(".kb-article").inner_text()
    assert ADDED in zhou.locator(".kb-article .content").inner_text()
    history = zhou.locator("#kb-history tbody tr").first.inner_text()
    assert "第2版" in history and "同意" in history

    article = KnowledgeArticle.objects.get(pk=article.pk)
    assert article.version == 2 and ADDED in article.body
    approved = KnowledgeRevision.objects.get(article=article, number=2)
    assert (approved.state, approved.proposed_by.username, approved.decided_by.username) == (
        "approved", "handler_zhao", "supervisor_zhou")

    citizen = open_page(None)
    citizen.goto(f"{live_server.url}/portal/kb/?q=道路")
    with citizen.expect_navigation():
        citizen.locator("a", has_text=article.title).first.click()
    assert ADDED in citizen.locator("body").inner_text()
