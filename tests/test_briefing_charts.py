"""The briefing's optional charts: PNGs drawn with matplotlib for the DOCX, ECharts in the console,
and a briefing that still builds (without charts, saying why) when matplotlib or a CJK font is missing."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import struct
import sys

import pytest
from django.core.management import call_command
from django.test import override_settings
from docx import Document

from hotline.briefing import actions, charts
from hotline.briefing.build import build_briefing_data
from hotline.briefing.render_docx import render_docx

try:
    from test_analytics import build_july
    from test_briefing_render import seed_briefing
except ImportError:  # pragma: no cover
    from tests.test_analytics import build_july
    from tests.test_briefing_render import seed_briefing

ISSUE = dt.date(2023, 8, 22)
WIDTH_PX = 827  # 14 cm at 150 dpi, the width the DOCX gives every chart
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

needs_charts = pytest.mark.skipif(not charts.available(), reason=str(charts.unavailable_reason()))


@pytest.fixture
def july(people, unit, new_order):
    return build_july(people, unit, new_order)


@pytest.fixture
def no_matplotlib(monkeypatch):
    """``import matplotlib`` raises ImportError, as in an install without the ``charts`` extra."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking the PNG signature."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", png[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", png[16:24])


def images_in(docx_bytes: bytes) -> int:
    return len(Document(io.BytesIO(docx_bytes)).inline_shapes)


def july_days(counts: dict[int, int]) -> tuple[tuple[dt.date, int], ...]:
    return tuple((dt.date(2023, 7, d), counts.get(d, 0)) for d in range(1, 32))


@needs_charts
def test_charts_are_png_a4_text_width_at_150_dpi():
    drawn = charts.render_charts(seed_briefing(), july_days({3: 180, 12: 229, 31: 178}))
    assert set(drawn) == {"daily", "appeal_types", "hotspots"}
    for key, png in drawn.items():
        width, height = png_size(png)
        assert width == WIDTH_PX, key
        assert 250 < height < 800, key
        assert len(png) < 200_000, key
        assert b"Software" not in png  # no version stamp: the same figures give the same bytes
    assert charts.render_charts(seed_briefing(), july_days({3: 180, 12: 229, 31: 178})) == drawn


@needs_charts
def test_only_charts_with_figures_are_drawn():
    data = seed_briefing(appeal_type_rows=(), hotspot_rows=())
    assert set(charts.render_charts(data, july_days({}))) == set()
    assert set(charts.render_charts(data, july_days({1: 1}))) == {"daily"}


def test_daily_counts_add_up_to_the_month(july):
    daily = charts.daily_counts(2023, 7)
    assert [d for d, _ in daily] == [dt.date(2023, 7, d) for d in range(1, 32)]
    data = build_briefing_data(2023, 7, issue_date=ISSUE, charts=False)
    assert sum(n for _, n in daily) == data.grand_total == 10


def test_payload_for_echarts_uses_the_tables_shares():
    payload = charts.chart_payload(seed_briefing(), july_days({2: 5}))
    assert payload["daily"]["counts"][1] == 5 and payload["daily"]["days"][0] == "1日"
    assert payload["daily"]["title"] == "七月份每日工单量"
    assert payload["appeal_types"][0] == {"name": "咨询类", "value": 2049, "share": "40.63%"}
    assert payload["hotspots"][0]["name"] == "政务服务—网点服务"
    json.dumps(payload)  # plain values only


@needs_charts
def test_docx_with_charts_has_three_images(july):
    data = build_briefing_data(2023, 7, issue_date=ISSUE)
    assert set(data.charts) == {"daily", "appeal_types", "hotspots"}
    assert images_in(render_docx(data)) == 3


def test_docx_without_charts_still_builds(july):
    data = build_briefing_data(2023, 7, issue_date=ISSUE, charts=False)
    assert dict(data.charts) == {}
    docx = render_docx(data)
    assert images_in(docx) == 0
    assert "七月份工作简报" in "\n".join(p.text for p in Document(io.BytesIO(docx)).paragraphs)


def test_without_matplotlib_the_build_has_no_charts_and_says_how_to_get_them(july, no_matplotlib):
    assert not charts.available()
    reason = charts.unavailable_reason()
    assert "matplotlib" in reason and ".[charts]" in reason
    assert charts.render_charts(seed_briefing(), july_days({1: 1})) == {}
    data = build_briefing_data(2023, 7, issue_date=ISSUE)  # charts=True by default: degrades quietly
    assert dict(data.charts) == {} and images_in(render_docx(data)) == 0


def test_without_a_cjk_font_no_boxes_are_drawn(monkeypatch):
    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    if charts._matplotlib_missing():
        pytest.skip("matplotlib is not installed")
    assert "fonts-noto-cjk" in charts.unavailable_reason()
    assert charts.render_charts(seed_briefing(), july_days({1: 1})) == {}


@needs_charts
def test_command_line_charts_on_by_default_and_off_on_request(july, tmp_path):
    on, off = tmp_path / "on.docx", tmp_path / "off.docx"
    call_command("briefing", "build", "--month", "2023-07", "-o", str(on), "--issue-date", "2023-08-22")
    call_command("briefing", "build", "--month", "2023-07", "-o", str(off), "--no-charts")
    assert images_in(on.read_bytes()) == 3 and images_in(off.read_bytes()) == 0


def test_command_line_says_why_there_are_no_charts(july, tmp_path, no_matplotlib):
    out, err = tmp_path / "b.docx", io.StringIO()
    call_command("briefing", "build", "--month", "2023-07", "-o", str(out), stderr=err)
    assert "matplotlib" in err.getvalue() and images_in(out.read_bytes()) == 0


@override_settings(TASKS=IMMEDIATE)
def test_editor_draws_the_charts_with_the_vendored_echarts(july, client, people):
    actions.create_draft(2023, 7, acting_user=people["supervisor_zhou"], build=True)
    client.force_login(people["supervisor_zhou"])
    page = client.get("/briefing/2023/7/").content.decode()
    assert re.search(r'<script src="/static/vendor/echarts(\.[0-9a-f]+)?\.min\.js" defer></script>', page)
    assert not re.search(r'<script[^>]+src="(https?:)?//', page)  # nothing from another origin
    found = re.search(r'<script id="briefing-chart-data" type="application/json">(.*?)</script>', page, re.S)
    payload = json.loads(found.group(1))
    assert sum(payload["daily"]["counts"]) == 10 and len(payload["daily"]["days"]) == 31
    assert {r["name"] for r in payload["appeal_types"]} >= {"咨询类"}
    assert payload["hotspots"] and all(r["share"].endswith("%") for r in payload["hotspots"])
    for chart in ("briefing-chart-daily", "briefing-chart-appeal-types", "briefing-chart-hotspots"):
        assert f'id="{chart}"' in page
    assert "data:image/png" not in page  # the preview leaves the PNGs to the Word file


@override_settings(TASKS=IMMEDIATE)
def test_editor_tells_how_to_get_charts_into_the_word_file(july, client, people, no_matplotlib):
    actions.create_draft(2023, 7, acting_user=people["supervisor_zhou"], build=True)
    client.force_login(people["supervisor_zhou"])
    page = client.get("/briefing/2023/7/").content.decode()
    assert "未安装 matplotlib" in page and "briefing-chart-data" in page  # ECharts needs no matplotlib


def test_a_cjk_font_installed_after_matplotlib_listed_the_fonts_is_found(monkeypatch):
    """CI's machine drew charts before fonts-noto-cjk was installed: matplotlib's cached font list had
    no CJK font, and the charts were silently left out. The font is looked for on disk once more."""
    from matplotlib import font_manager

    if not any("CJK" in font_manager.FontProperties(fname=p).get_name()
               for p in font_manager.findSystemFonts() if p.endswith((".ttc", ".otf", ".ttf"))):
        pytest.fail("no CJK font on this machine: .ci/run installs fonts-noto-cjk")
    stale = [f for f in font_manager.fontManager.ttflist if "CJK" not in f.name]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", stale)
    charts._cjk_font_cached.cache_clear()
    try:
        assert charts.cjk_font() in charts.CJK_FONTS
        assert charts.unavailable_reason() is None
    finally:
        charts._cjk_font_cached.cache_clear()
