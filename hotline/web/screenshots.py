"""Screenshots of the staff console at 1366×768 for docs/console.md.

    DATABASE_URL=sqlite:////tmp/console-shots.sqlite3 python -m hotline.web.screenshots [out_dir [name …]]

Names: console-NAME.png for inbox, dispatch, dispatch-form, search, intake, callbacks, supervision,
dashboard, dashboard-month, order, order-print, order-attachments, knowledge, knowledge-edit,
knowledge-review, briefing-edit; portal-track-evidence.png; ``briefing`` for briefing-page-N.png
(the July 2023 briefing through LibreOffice and pdftoppm).

Uses the configured database (migrated and loaded with the defaults and demo people if needed).
When it holds fewer than a few dozen orders it generates the demo month (July 2023, scaled to 800
orders) and the live work of the last days with ``hotline.demo.generate``; if that is unavailable it
registers and moves a few dozen orders through the real actions itself.
The server runs in-process; the browser is Debian's Chromium driven by Playwright.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
VIEWPORT = {"width": 1366, "height": 768}

CALLS = [
    ("村口垃圾无人清运", "村口垃圾堆积一周无人清运，气味难闻。", "农村管理—人居环境"),
    ("小区停水三天", "小区已连续停水三天，未见通知。", None),
    ("路灯不亮", "主路路灯连续多日不亮，夜间出行不便。", None),
    ("拖欠工资", "在工地务工被拖欠三个月工资。", None),
    ("噪音扰民", "夜间施工噪音扰民，影响休息。", None),
    ("咨询医保报销", "咨询异地就医医保报销流程。", None),
    ("道路坑洼", "村内主路破损严重，雨天积水。", "农村管理—人居环境"),
    ("占道经营", "商户占用人行道经营，行人无法通行。", None),
]


def _after(t: dt.datetime, hours: float) -> dt.datetime:
    return t + dt.timedelta(hours=hours)


def generate_orders(n: int = 40, *, seed: int = 12345, now: dt.datetime | None = None) -> int:
    """Register ``n`` orders over the last 30 days and move them through the actions (a mix of states)."""
    from django.utils import timezone

    from hotline.catalog.models import AppealType, Category
    from hotline.demo.people import ensure_people, unit_handler
    from hotline.directory.models import Unit
    from hotline.workorders import actions, queries
    from hotline.workorders.workflow import WorkflowError

    rng = random.Random(seed)
    people = ensure_people()
    now = now or timezone.now()
    towns = list(Unit.objects.filter(kind__in=Unit.LOCALITY_KINDS, active=True))
    leaves = list(Category.objects.filter(level=2, active=True))
    types = {t.code: t for t in AppealType.objects.all()}
    yanglou = Unit.objects.get(short_name="杨楼镇")
    made = 0
    for i in range(n):
        title, content, leaf = CALLS[i % len(CALLS)]
        town = yanglou if i % 3 == 0 else rng.choice(towns)
        category = Category.objects.get(full_name=leaf) if leaf else rng.choice(leaves)
        start = now - dt.timedelta(days=rng.uniform(0.2, 29), hours=rng.uniform(0, 6))
        start = start.replace(hour=8 + i % 9)
        if start > now:
            start = now - dt.timedelta(hours=3)
        t = start
        try:
            order = actions.register_order(
                acting_user=people["operator_li"], at=t, title=f"{town.short_name}{title}",
                content=f"来电人反映：{town.short_name}{content}", appeal_type=types["problem" if i % 5 else "consult"],
                category=category, town=town, caller_name=rng.choice(["张", "王", "刘", "陈"]) + "先生",
                caller_phone=f"1380000{i % 12:04d}", confidential=i % 17 == 0)
            kind = i % 10
            if kind == 0:
                actions.direct_answer(order, acting_user=people["operator_li"], at=_after(t, 0.1),
                                      answer="已按知识库口径答复来电人。")
                made += 1
                continue
            actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=_after(t, 0.1))
            if kind == 1 or t > now - dt.timedelta(hours=4):
                made += 1
                continue  # waits in the dispatch queue
            suggested = queries.suggest_units(order)
            lead = suggested[0] if suggested else town
            t = _after(t, rng.uniform(0.5, 3))
            actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=lead, at=t)
            handler = people["handler_zhao"] if lead == yanglou else unit_handler(lead)
            if kind == 2:
                made += 1
                continue  # not signed yet
            t = _after(t, rng.uniform(1, 20))
            if t > now:
                made += 1
                continue
            actions.sign(order, acting_user=handler, at=t)
            if kind == 3:
                actions.request_extension(order, acting_user=handler, at=_after(t, 1), reason="需协调相关部门",
                                          new_deadline=order.handle_deadline + dt.timedelta(days=5))
                made += 1
                continue
            if kind == 4:
                actions.request_return(order, acting_user=handler, at=_after(t, 1), reason="不属本单位职责",
                                       basis="汝政办〔2022〕37号职责清单")
                made += 1
                continue
            if kind == 5:
                made += 1
                continue  # in handling: near-due or overdue as the clock says
            t = _after(t, rng.uniform(4, 60))
            if t > now:
                made += 1
                continue
            actions.reply(order, acting_user=handler, at=t, public_reply="经现场核实，已安排人员处理完毕。",
                          is_true="true", solved=True)
            if kind == 6:
                made += 1
                continue  # reply awaits review
            t = _after(t, 2)
            if t > now:
                made += 1
                continue
            actions.approve_reply(order, acting_user=people["dispatcher_wang"], at=t)
            if kind == 7:
                made += 1
                continue  # awaits callback
            t = _after(t, 20)
            if t > now:
                made += 1
                continue
            satisfied = kind != 9
            actions.record_callback(order, acting_user=people["supervisor_zhou"], at=t,
                                    satisfaction="satisfied" if satisfied else "dissatisfied",
                                    solved=satisfied, rework=not satisfied,
                                    note="" if satisfied else "来电人表示问题仍未解决")
            made += 1
        except WorkflowError as exc:  # a generated path the rules refuse is skipped, not forced
            print(f"跳过第 {i} 件：{exc}", file=sys.stderr)
    return made


def ensure_data(min_orders: int = 30) -> None:
    from django.core.management import call_command

    from hotline.demo.defaults import load_defaults
    from hotline.demo.people import ensure_people
    from hotline.workorders.models import WorkOrder

    call_command("migrate", verbosity=0)
    load_defaults()
    ensure_people()
    if WorkOrder.objects.count() >= min_orders:
        return
    try:  # the demo month (shaped like July 2023, scaled down) and live work of the last days
        from hotline.demo.generate import generate_live, generate_month

        generate_month(2023, 7, orders=800)
        generate_live(count=120)
    except (ImportError, TypeError) as exc:
        print(f"演示月数据不可用（{exc}），改为生成少量工单", file=sys.stderr)
        generate_orders(40)


def _scene(width: int, height: int, seed: int, sign: bool = False) -> bytes:
    """A drawn street scene standing in for a phone photo (road, a manhole, a warning sign)."""
    import io

    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    im = Image.new("RGB", (width, height), (150, 175, 205))
    d = ImageDraw.Draw(im)
    d.rectangle([0, height // 2, width, height], fill=(105, 105, 100))
    for _ in range(40):
        x, y = rng.randrange(width), rng.randrange(height // 2, height)
        d.ellipse([x, y, x + 12, y + 6], fill=(90, 90, 85))
    cx, cy = width // 2, height * 3 // 4
    d.ellipse([cx - 110, cy - 45, cx + 110, cy + 45], fill=(40, 40, 40) if not sign else (70, 70, 75),
              outline=(200, 200, 200) if sign else (20, 20, 20), width=6)
    if sign:
        d.polygon([(cx + 200, cy - 170), (cx + 280, cy - 20), (cx + 120, cy - 20)], fill=(240, 200, 0),
                  outline=(200, 30, 30))
        d.rectangle([cx + 195, cy - 20, cx + 205, cy + 60], fill=(80, 80, 80))
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "DemoPhone"
    im.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def attachment_example():
    """An order of 杨楼镇 with a caller's photo, a unit's reply evidence (marked public) and a
    document, moved through the real actions (each file through the file boundary); reused when
    present."""
    from django.db.models import Count

    from hotline.catalog.models import AppealType, Category
    from hotline.demo.people import ensure_people
    from hotline.directory.models import Unit
    from hotline.lib.files import inspect
    from hotline.workorders import actions
    from hotline.workorders.models import WorkOrder

    found = (WorkOrder.objects.annotate(n=Count("attachments")).filter(n__gte=3).order_by("-received_at").first())
    if found:
        return found
    people = ensure_people()
    yanglou = Unit.objects.get(short_name="杨楼镇")
    from django.utils import timezone

    t = timezone.now() - dt.timedelta(days=2)
    order = actions.register_order(
        acting_user=people["operator_li"], at=t, title="杨楼镇村口井盖丢失",
        content="来电人反映：杨楼镇某村村口主路井盖丢失，夜间行人和电动车有掉落危险，希望尽快处理。来电人已拍照上传。",
        appeal_type=AppealType.objects.get(code="problem"),
        category=Category.objects.filter(full_name="农村管理—人居环境").first(), town=yanglou,
        caller_name="张先生", caller_phone="13800009999",
        attachments=[inspect(_scene(1600, 1200, 1), "村口井盖.jpg")])
    actions.submit_for_dispatch(order, acting_user=people["operator_li"], at=_after(t, 0.1))
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=yanglou, at=_after(t, 1))
    actions.sign(order, acting_user=people["handler_zhao"], at=_after(t, 2))
    import io

    from docx import Document

    sheet = io.BytesIO()
    document = Document()
    document.add_heading("井盖更换验收单", 1)
    document.add_paragraph("杨楼镇某村村口主路井盖已于当日更换为防盗井盖，并设置警示标志。")
    document.save(sheet)
    actions.reply(order, acting_user=people["handler_zhao"], at=_after(t, 20),
                  public_reply="经现场核实，已更换防盗井盖并设置警示标志，来电人已确认。", is_true="true", solved=True,
                  evidence=[inspect(_scene(1600, 1200, 2, sign=True), "新井盖.jpg"),
                            inspect(_scene(1200, 1600, 3, sign=True), "警示标志.jpg"),
                            inspect(sheet.getvalue(), "井盖更换验收单.docx")], evidence_public=True)
    actions.approve_reply(order, acting_user=people["dispatcher_wang"], at=_after(t, 22))
    return order


def unit_article():
    """杨楼镇's own article (created as published if the defaults have none), without a pending change."""
    from hotline.catalog.models import KnowledgeArticle, KnowledgeRevision
    from hotline.directory.models import Unit
    from hotline.knowledge.actions import load_published

    yanglou = Unit.objects.get(short_name="杨楼镇")
    article = KnowledgeArticle.objects.filter(owner_unit=yanglou, active=True, version__gt=0).first()
    if article is None:
        article, _ = load_published(title="杨楼镇农村道路维修报修渠道", owner_unit=yanglou, public=True,
                                    body="村内道路破损可向镇村建办报修，工作日受理。\n紧急险情请同时报告所在村委会。",
                                    keywords="道路 维修 报修")
    KnowledgeRevision.objects.filter(article=article, state=KnowledgeRevision.State.PENDING).delete()
    return article


def take_screenshots(base_url: str, out_dir: Path, only: set[str] | frozenset = frozenset()) -> list[Path]:
    from django.utils import timezone
    from playwright.sync_api import sync_playwright

    from hotline.demo.people import DEMO_PASSWORD
    from hotline.workorders.models import WorkOrder

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    from django.db.models import Count

    # The order with the longest history makes the most telling order page.
    long_order = (WorkOrder.objects.filter(lead_unit__isnull=False).annotate(n=Count("events"))
                  .order_by("-n", "-received_at").first() or WorkOrder.objects.order_by("-received_at").first())
    to_dispatch = WorkOrder.objects.filter(status="awaiting_dispatch").order_by("received_at").first()
    phone = WorkOrder.objects.values_list("caller_phone", flat=True).order_by("-received_at").first()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)

        def session(username):
            ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
            page = ctx.new_page()
            page.goto(f"{base_url}/accounts/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            return page

        def want(name):
            return not only or name in only

        def shot(page, name, url=None, full=False):
            if not want(name):
                return
            if url:
                page.goto(f"{base_url}{url}")
                page.wait_for_load_state("networkidle")
            path = out_dir / f"console-{name}.png"
            page.screenshot(path=str(path), full_page=full)
            written.append(path)

        if want("intake"):
            li = session("operator_li")
            li.goto(f"{base_url}/intake/")
            li.fill("#id_caller_phone", phone or "13800000001")
            li.wait_for_selector("#lookup ul", timeout=5000)
            li.fill("#kb-search", "医保")
            li.wait_for_timeout(800)
            shot(li, "intake")
        wang = session("dispatcher_wang")
        shot(wang, "dispatch", "/dispatch/")
        if to_dispatch and want("dispatch-form"):
            wang.goto(f"{base_url}/dispatch/")
            wang.click(f"[data-number='{to_dispatch.number}'] [data-action='dispatch']")
            wang.wait_for_selector("#panel form")
            shot(wang, "dispatch-form")
        shot(wang, "search", "/orders/")
        zhao = session("handler_zhao")
        shot(zhao, "inbox", "/inbox/")
        zhou = session("supervisor_zhou")
        shot(zhou, "callbacks", "/callbacks/")
        shot(zhou, "supervision", "/supervision/")
        if want("dashboard"):
            zhou.goto(f"{base_url}/dashboard/")
            zhou.wait_for_selector("body[data-charts-ready]")
            shot(zhou, "dashboard")
        month_end = WorkOrder.objects.filter(received_at__lt=WorkOrder.objects.order_by("-received_at")
                                             .values_list("received_at", flat=True).first() - dt.timedelta(days=40)
                                             ).order_by("-received_at").values_list("received_at", flat=True).first()
        if month_end and want("dashboard-month"):  # a past month (the demo's July 2023) seen as of its last day
            zhou.goto(f"{base_url}/dashboard/?date={timezone.localtime(month_end).date().isoformat()}")
            zhou.wait_for_selector("body[data-charts-ready]")
            shot(zhou, "dashboard-month")
        if long_order and (want("order") or want("order-print")):
            shot(zhou, "order", f"/orders/{long_order.number}/")
            zhou.emulate_media(media="print")
            shot(zhou, "order-print", f"/orders/{long_order.number}/", full=True)
            zhou.emulate_media(media="screen")
        shot(zhou, "knowledge", "/kb/")
        if want("knowledge-edit") or want("knowledge-review"):
            article = unit_article()
            zhao = session("handler_zhao")
            zhao.goto(f"{base_url}/kb/{article.pk}/edit/")
            zhao.fill("#id_body", article.body + "\n节假日可拨打镇值班电话 0375-6000000。")
            zhao.fill("#id_note", "补充节假日报修电话")
            shot(zhao, "knowledge-edit")
            with zhao.expect_navigation():
                zhao.click("#kb-form button[type=submit]")
            shot(zhou, "knowledge-review", f"/kb/{article.pk}/")
        if want("order-attachments") or want("portal-track-evidence"):
            with_files = attachment_example()
            zhao = session("handler_zhao")
            shot(zhao, "order-attachments", f"/orders/{with_files.number}/")
            if want("portal-track-evidence"):  # the citizen's side: the unit's public evidence
                citizen = browser.new_context(viewport=VIEWPORT, locale="zh-CN").new_page()
                citizen.goto(f"{base_url}/portal/track/")
                citizen.fill("#id_number", with_files.number)
                citizen.fill("#id_phone", with_files.caller_phone)
                with citizen.expect_navigation():
                    citizen.click("form button[type=submit]")
                citizen.locator("#evidence").scroll_into_view_if_needed()
                citizen.wait_for_function("[...document.querySelectorAll('#evidence img')]"
                                          ".every(i => i.complete && i.naturalWidth > 0)")
                path = out_dir / "portal-track-evidence.png"
                citizen.screenshot(path=str(path))
                written.append(path)
        if want("briefing-edit"):  # the month's briefing page: figures, narrative editor, build and publish
            month = briefing_month()
            if month:
                month_briefing(*month)
                zhou.goto(f"{base_url}/briefing/{month[0]}/{month[1]}/")
                zhou.wait_for_load_state("networkidle")
                if zhou.locator("#briefing-chart-hotspots").count():  # drawn once the figures are built
                    zhou.wait_for_selector("body[data-briefing-charts-ready]", timeout=20000)
                shot(zhou, "briefing-edit")
        browser.close()
    return written


def briefing_month() -> tuple[int, int] | None:
    """July 2023, the demo month shaped like the seed briefing, when the database holds it."""
    from hotline.workorders.models import WorkOrder

    july = WorkOrder.objects.filter(received_at__year=2023, received_at__month=7)
    return (2023, 7) if july.exists() else None


def month_briefing(year: int, month: int):
    """The month's briefing, opened and built by 周 through the briefing actions if there is none."""
    from hotline.briefing import actions
    from hotline.briefing.models import Briefing
    from hotline.demo.people import ensure_people

    found = Briefing.objects.filter(year=year, month=month).first()
    return found or actions.create_draft(year, month, acting_user=ensure_people()["supervisor_zhou"])


def briefing_pages(out_dir: Path) -> list[Path]:
    """The pages of the month's briefing document as rendered by Word's layout engine stand-in
    (LibreOffice → PDF → pdftoppm): docs/screenshots/briefing-page-N.png."""
    from hotline.briefing.build import build_briefing_data
    from hotline.briefing.charts import unavailable_reason
    from hotline.briefing.render_docx import render_docx
    from hotline.briefing.render_pdf import docx_to_pngs

    month = briefing_month()
    if month is None:
        return []
    data = build_briefing_data(*month, charts=not unavailable_reason())
    return docx_to_pngs(render_docx(data), out_dir)


def main(argv=None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    import django

    django.setup()
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    argv = sys.argv[1:] if argv is None else argv
    out_dir = Path(argv[0] if argv else "docs/screenshots")
    only = set(argv[1:])  # names of the shots to take (console-NAME.png); all when none are given
    ensure_data()
    server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    try:
        for path in take_screenshots(f"http://127.0.0.1:{server.port}", out_dir, only):
            print(path)
    finally:
        server.terminate()
    if not only or "briefing" in only:
        for path in briefing_pages(out_dir):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
