"""The July 2023 Ruzhou briefing, rebuilt from its figures and read back from the rendered files.

The figures are the seed's (shared/seed/ruzhou-2023-07-figures.json), copied here so the test
needs nothing outside the repository. The hotspot shares are the one place the expected values
differ from the seed: the seed printed 4.02% for 203 of 5043, which is 4.03%.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from datetime import date
from decimal import Decimal

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Cm

from hotline.briefing import narrative
from hotline.briefing.data import (
    AnnexRow,
    AnnexTable,
    BriefingData,
    CountRow,
    HotspotRow,
    PlatformCount,
    TitledText,
)
from hotline.briefing.render_docx import render_docx
from hotline.briefing.render_html import render_html
from hotline.briefing.render_pdf import PdfUnavailable, docx_to_pdf, pdf_available

TOWNSHIPS = [
    ("杨楼镇", "99.5", 1), ("临汝镇", "99.5", 1), ("蟒川镇", "98", 3), ("焦村镇", "98", 3),
    ("陵头镇", "97.5", 5), ("洗耳河街道", "95.75", 6), ("夏店镇", "94.5", 7), ("大峪镇", "94", 8),
    ("煤山街道", "93", 9), ("风穴路街道", "92.5", 10), ("骑岭乡", "92", 11), ("温泉镇", "90.57", 12),
    ("钟楼街道", "88.5", 13), ("紫云路街道", "88.5", 13), ("庙下镇", "88", 15), ("米庙镇", "86", 16),
    ("汝南街道", "85", 17), ("王寨乡", "84.67", 18), ("小屯镇", "83.5", 19), ("纸坊镇", "80", 20),
    ("寄料镇", "77", 21),
]
DEPARTMENTS = [
    ("住房和城乡建设局", "101.5", 1), ("教育体育局（教育）", "101", 2), ("国网汝州市供电公司", "100", 3),
    ("生态环境局", "98", 4), ("税务局", "97.5", 5), ("商务局", "97.5", 5), ("医疗保障局", "97", 7),
    ("煤矿安全监察局", "96", 8), ("文广旅游局", "95", 9), ("融媒体中心", "94", 10), ("自来水公司", "92.78", 11),
    ("人力资源和社会保障局", "92.5", 12), ("公安局", "91", 13), ("移动公司", "90", 14), ("农业农村局", "88", 15),
    ("教育体育局（体育）", "88", 15), ("公路管理局", "88", 15), ("联通公司", "86", 18), ("城市管理局", "85.5", 19),
    ("国资事务中心", "84", 20), ("市场监督管理局", "83", 21), ("自然资源和规划局", "79.46", 22),
    ("卫生健康委员会", "78.5", 23), ("交通运输局", "77.06", 24),
]
APPEAL_TYPES = [("咨询类", 2049), ("问题处理类", 831), ("投诉举报类", 1019), ("建议类", 30), ("其他", 1114)]
HOTSPOTS = [
    ("政务服务", "网点服务", 770), ("民主法制", "政策咨询", 404), ("公共服务", "水电气暖", 203),
    ("农村管理", "人居环境", 182), ("文体科教", "教育管理", 162), ("工资薪金", "拖欠工资", 157),
    ("政务服务", "行政效能", 135), ("社会保险", "医疗保险", 128), ("市场管理", "消费纠纷", 110),
    ("市政管理", "市容市貌", 103),
]
POLICY = "《汝州市人民政府办公室关于进一步加强民呼必应工作的通知》（汝政办〔2022〕37号）"


def seed_briefing(**changes) -> BriefingData:
    """The July 2023 briefing as the seed printed it."""
    values = dict(
        issuer="汝州市人民政府办公室",
        issue_date=date(2023, 8, 22),
        hotline_name="汝州市12345民呼必应热线",
        year=2023,
        month=7,
        call_volume=9000,
        local_total=4707,
        coordinated=3285,
        dispatched=1422,
        upstream_total=336,
        upstream_by_platform=[PlatformCount("平顶山市“民呼必应”平台", 287), PlatformCount("河南政务服务平台", 49)],
        best_units=["杨楼镇人民政府", "临汝镇人民政府", "住房和城乡建设局"],
        worst_units=["寄料镇人民政府", "交通运输局"],
        stationing_noncompliant=["自然资源和规划局", "人力资源和社会保障局", "城市管理局"],
        stationing_policy=POLICY,
        appeal_type_rows=[CountRow(n, c) for n, c in APPEAL_TYPES],
        hotspot_rows=[HotspotRow(a, b, c) for a, b, c in HOTSPOTS],
        grand_total=5043,
        hot_problems=[
            TitledText("驾驶员考试问题", "因车管所考试车辆更换和系统升级等原因，导致驾驶员科目二、科目三考试无法如期进行，群众反映较多。"),
            TitledText("医保报销问题", "部分教职工、困难企业职工因医保费用缴纳问题，导致住院后无法报销费用。"),
            TitledText("汛期安全问题", "主要反映汛期市区个别区域积水较多、窨井盖损坏、树木倾倒、路面下沉等问题。"),
            TitledText("通信线缆问题", "主要反映个别通信线杆因故倾倒、线缆垂落，存在安全隐患。"),
            TitledText("物业管理问题", "主要反映部分居民小区物业公司不作为，对业主提出的合理诉求处理不及时等问题。"),
        ],
        typical_cases=[
            "公路局接到“小屯镇时屯村转盘处缺少警示标志，存在安全隐患”的事项工单后，迅速响应，当即安排人员核实处办。"
            "技术人员根据现场实际情况，在周边路段分别安装了爆闪灯，放置了防撞桶，并在相关区域设置了导向牌等安全设施，"
            "切实有效的提高了周边区域的通行安全性。",
        ],
        business_work=[
            TitledText("协助做好营商环境评价考核工作",
                       "为切实做好2022年度河南省营商环境评价工作，12345热线中心按照市委政法委工作要求，"
                       "安排专人对多项考核指标进行学习和分析。根据职责分工，结合工作实际，汇总整理相关材料。"),
            TitledText("召开疑难事项协调会",
                       "7月13日，热线中心召集住房和城乡建设局、国资事务中心相关负责同志，就宏翔大道个别下水道堵塞、"
                       "道路改造后日常维护等问题召开协调会。会议研究分析了问题产生的根源，进一步明确了责任主体，"
                       "加快了问题处办进度。7月19日，召集市场监督管理局、商务局相关负责同志，就二手车买卖相关疑难问题"
                       "进行座谈。会议对争议事项责任主体进行了明确，对职权交叉内容进行了探讨，推动职能部门担当作为、主动履职。"),
            TitledText("参加标准化示范项目观摩活动",
                       "7月20日，热线中心根据标准化示范项目创建工作要求，前往圣庄园小区创新物业公司和骨科医院医养中心，"
                       "参加河南省市场监督管理局的观摩指导。标准化示范项目专家组就项目创建的难点进行了答疑释惑，"
                       "对有关项目的工作短板明确了提升意见，对12345热线的标准化示范项目创建起到了良好的推动作用。"),
        ],
        annexes=[
            AnnexTable("七月份乡镇街道考核表", [AnnexRow(u, Decimal(s), r) for u, s, r in TOWNSHIPS],
                       "注：工单量小于6件的单位不计入考核"),
            AnnexTable("七月份市直单位考核表", [AnnexRow(u, Decimal(s), r) for u, s, r in DEPARTMENTS],
                       "注：工单量小于6件的单位不计入考核"),
        ],
        disclosure_note="（本简报在汝州市人民政府网站予以公开）",
    )
    values.update(changes)
    return BriefingData(**values)


def tiny_png() -> bytes:
    """A valid 1×1 white PNG, enough to check that charts are embedded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def seed_docx() -> Document:
    return Document(io.BytesIO(render_docx(seed_briefing())))


def texts(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


def cells(table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows]


EXPECTED_TYPE_TABLE = [
    ["类型", "数量（件）", "占比"],
    ["咨询类", "2049", "40.63%"],
    ["问题处理类", "831", "16.48%"],
    ["投诉举报类", "1019", "20.21%"],
    ["建议类", "30", "0.59%"],
    ["其他", "1114", "22.09%"],
    ["合计", "5043", "100.00%"],
]
# Computed, not copied: the seed misprinted 4.03 / 2.18 / 2.04 / 46.68 as 4.02 / 2.22 / 2.00 / 46.67.
EXPECTED_HOTSPOT_TABLE = [
    ["类型", "数量（件）", "占比"],
    ["政务服务—网点服务", "770", "15.27%"],
    ["民主法制—政策咨询", "404", "8.01%"],
    ["公共服务—水电气暖", "203", "4.03%"],
    ["农村管理—人居环境", "182", "3.61%"],
    ["文体科教—教育管理", "162", "3.21%"],
    ["工资薪金—拖欠工资", "157", "3.11%"],
    ["政务服务—行政效能", "135", "2.68%"],
    ["社会保险—医疗保险", "128", "2.54%"],
    ["市场管理—消费纠纷", "110", "2.18%"],
    ["市政管理—市容市貌", "103", "2.04%"],
    ["合计", "2354", "46.68%"],
]


# ---------------------------------------------------------------- DOCX: words


def test_docx_opens_with_masthead_and_lead_sentence(seed_docx):
    paras = [t for t in texts(seed_docx) if t.strip()]
    assert paras[0] == "汝州市人民政府办公室\t2023年8月22日"
    assert paras[1] == "汝州市12345民呼必应热线"
    assert paras[2] == "七月份工作简报"
    assert paras[3] == "七月份，汝州市12345民呼必应热线总话务量约9000人次，办理本级登记事项4707件，办理上级交办事项336件。"


def test_docx_overview_says_what_the_seed_says(seed_docx):
    body = texts(seed_docx)
    for sentence in [
        "一、工作概况",
        "（一）本级登记事项4707件。其中，协调办理3285件，交办处理1422件。",
        "（二）上级交办事项336件。其中，平顶山市“民呼必应”平台交办事项287件；河南政务服务平台交办事项49件。",
        "（三）办理较好的单位有杨楼镇人民政府、临汝镇人民政府、住房和城乡建设局。办理较差的单位有寄料镇人民政府、交通运输局。",
        "（四）自然资源和规划局、人力资源和社会保障局、城市管理局未按规定完成人员派驻工作。",
        "二、数据分析", "诉求类型统计表", "热点问题统计表", "三、热点问题", "四、典型案例", "五、业务工作", "六、派驻工作",
        "自然资源和规划局、人力资源和社会保障局、城市管理局未按" + POLICY + "要求派驻人员，特此通报。",
        "附件：1．七月份乡镇街道考核表",
        "2．七月份市直单位考核表",
        "（本简报在汝州市人民政府网站予以公开）",
        "附件1", "七月份乡镇街道考核表", "附件2", "七月份市直单位考核表",
        "注：工单量小于6件的单位不计入考核",
        "汝州市人民政府办公室\t2023年8月22日印",
    ]:
        assert sentence in body, sentence
    # The sections come in the seed's order.
    order = [body.index(h) for h in ["一、工作概况", "二、数据分析", "三、热点问题", "四、典型案例", "五、业务工作", "六、派驻工作"]]
    assert order == sorted(order)


def test_docx_hot_problems_and_business_work_are_numbered(seed_docx):
    body = "\n".join(texts(seed_docx))
    assert "1、驾驶员考试问题。因车管所考试车辆更换" in body
    assert "群众反映较多。\n2、医保报销问题。部分教职工" in body  # one paragraph per problem
    assert "1、协助做好营商环境评价考核工作。为切实做好2022年度" in body
    assert "\n3、参加标准化示范项目观摩活动。7月20日" in body


def test_docx_printing_line_is_last_and_between_rules(seed_docx):
    last = [p for p in seed_docx.paragraphs if p.text.strip()][-1]
    assert last.text == "汝州市人民政府办公室\t2023年8月22日印"
    borders = last._p.pPr.find(qn("w:pBdr"))
    assert borders.find(qn("w:top")) is not None and borders.find(qn("w:bottom")) is not None


# ---------------------------------------------------------------- DOCX: tables


def test_docx_appeal_type_table_cell_by_cell(seed_docx):
    assert cells(seed_docx.tables[0]) == EXPECTED_TYPE_TABLE


def test_docx_hotspot_table_has_computed_shares_not_the_seeds_misprints(seed_docx):
    assert cells(seed_docx.tables[1]) == EXPECTED_HOTSPOT_TABLE


def test_docx_annex_tables_print_scores_like_the_seed(seed_docx):
    townships, departments = cells(seed_docx.tables[2]), cells(seed_docx.tables[3])
    assert townships[0] == ["单位", "考核总分", "排名"]
    assert townships[1:] == [[u, s, str(r)] for u, s, r in TOWNSHIPS]
    assert departments[1:] == [[u, s, str(r)] for u, s, r in DEPARTMENTS]
    assert ["温泉镇", "90.57", "12"] in townships
    assert ["住房和城乡建设局", "101.5", "1"] in departments
    assert ["国网汝州市供电公司", "100", "3"] in departments


def test_docx_tables_have_grid_bold_header_and_centered_numbers(seed_docx):
    for table in seed_docx.tables:
        assert table.style.name == "Table Grid"
        assert all(run.bold for cell in table.rows[0].cells for run in cell.paragraphs[0].runs)
        assert table.rows[1].cells[1].paragraphs[0].alignment == 1  # CENTER


def test_docx_annexes_start_on_new_pages(seed_docx):
    labels = [p for p in seed_docx.paragraphs if p.text in ("附件1", "附件2")]
    assert len(labels) == 2
    assert all(p.paragraph_format.page_break_before for p in labels)
    assert all(r.element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体" for p in labels for r in p.runs)


# ---------------------------------------------------------------- DOCX: 公文 format


def test_docx_page_is_a4_with_gongwen_margins(seed_docx):
    s = seed_docx.sections[0]
    assert (round(s.page_width.cm, 1), round(s.page_height.cm, 1)) == (21.0, 29.7)
    assert [round(x.cm, 1) for x in (s.top_margin, s.bottom_margin, s.left_margin, s.right_margin)] == [
        3.7, 3.5, 2.8, 2.6
    ]


def test_docx_sets_east_asian_fonts_on_every_run_and_on_normal(seed_docx):
    normal = seed_docx.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "仿宋_GB2312"
    runs = [r for p in seed_docx.paragraphs for r in p.runs if r.text]
    runs += [r for t in seed_docx.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs]
    assert runs and all(r.element.rPr.rFonts.get(qn("w:eastAsia")) for r in runs)

    def font_of(text):
        p = next(p for p in seed_docx.paragraphs if p.text == text)
        return p.runs[0].element.rPr.rFonts.get(qn("w:eastAsia")), p.runs[0].font.size.pt

    assert font_of("七月份工作简报") == ("方正小标宋简体", 22)
    assert font_of("一、工作概况") == ("黑体", 16)
    assert font_of("诉求类型统计表")[0] == "黑体"
    assert font_of("（四）自然资源和规划局、人力资源和社会保障局、城市管理局未按规定完成人员派驻工作。") == ("仿宋_GB2312", 16)


def test_docx_body_has_two_character_indent_and_fixed_line_pitch(seed_docx):
    p = next(p for p in seed_docx.paragraphs if p.text.startswith("（一）本级登记事项"))
    assert p.paragraph_format.first_line_indent.pt == 32
    normal = seed_docx.styles["Normal"].paragraph_format
    assert 28 <= normal.line_spacing.pt <= 29
    assert normal.line_spacing_rule == 4  # EXACTLY


def test_docx_footer_has_a_page_field(seed_docx):
    footer = seed_docx.sections[0].footer.paragraphs[0]
    instr = [e.text for e in footer._p.iter(qn("w:instrText"))]
    assert [i.strip() for i in instr] == ["PAGE"]
    assert footer.text.startswith("— ") and footer.text.endswith(" —")


def test_docx_core_properties():
    doc = Document(io.BytesIO(render_docx(seed_briefing())))
    assert doc.core_properties.title == "汝州市12345民呼必应热线七月份工作简报"
    assert doc.core_properties.author == "汝州市人民政府办公室"


def test_docx_embeds_charts_when_given():
    data = seed_briefing(charts={"appeal_types": tiny_png(), "hotspots": tiny_png(), "daily": tiny_png()})
    doc = Document(io.BytesIO(render_docx(data)))
    assert len(doc.inline_shapes) == 3
    assert len(Document(io.BytesIO(render_docx(seed_briefing()))).inline_shapes) == 0


# ---------------------------------------------------------------- HTML


def test_html_has_the_same_tables_and_sentences():
    page = render_html(seed_briefing())
    assert page.startswith('<article class="hl-briefing"')
    for row in EXPECTED_TYPE_TABLE[1:] + EXPECTED_HOTSPOT_TABLE[1:]:
        assert f'<td>{row[0]}</td><td class="hl-b-center">{row[1]}</td><td class="hl-b-center">{row[2]}</td>' in page
    assert "<td>温泉镇</td><td class=\"hl-b-center\">90.57</td><td class=\"hl-b-center\">12</td>" in page
    assert "（一）本级登记事项4707件。其中，协调办理3285件，交办处理1422件。" in page
    assert "平顶山市“民呼必应”平台交办事项287件" in page
    assert "2023年8月22日印" in page


def test_html_is_self_contained_and_scoped():
    page = render_html(seed_briefing(charts={"hotspots": tiny_png()}))
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert 'src="data:image/png;base64,' in page
    style = page.split("<style>")[1].split("</style>")[0]
    selectors = [rule.split("{")[0].strip() for rule in style.split("}") if "{" in rule]
    assert selectors and all(s.startswith(".hl-briefing") for sel in selectors for s in sel.split(","))


def test_html_escapes_unit_names():
    evil = "<script>alert(1)</script>镇"
    page = render_html(seed_briefing(
        worst_units=[evil],
        annexes=[AnnexTable("七月份乡镇街道考核表", [AnnexRow(evil, Decimal("77"), 1)], "")],
    ))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;镇" in page


# ---------------------------------------------------------------- snapshot


def test_json_round_trip_preserves_everything():
    data = seed_briefing(charts={"daily": tiny_png()})
    snapshot = json.loads(json.dumps(data.to_dict(), ensure_ascii=False))
    again = BriefingData.from_dict(snapshot)
    assert again == data
    assert dict(again.charts) == {"daily": tiny_png()}
    assert again.annexes[0].rows[11].score == Decimal("90.57")
    assert snapshot["annexes"][1]["rows"][0] == ["住房和城乡建设局", "101.5", 1]
    assert render_docx(again) and render_html(again) == render_html(data)


def test_briefing_data_is_frozen_and_lists_become_tuples():
    data = seed_briefing()
    assert isinstance(data.best_units, tuple) and isinstance(data.annexes[0].rows, tuple)
    with pytest.raises(AttributeError):
        data.month = 8  # type: ignore[misc]
    with pytest.raises(ValueError):
        seed_briefing(charts={"pie": b""})


# ---------------------------------------------------------------- narrative edge cases


def test_month_names_and_dates():
    assert [narrative.month_label(m) for m in (1, 7, 10, 11, 12)] == ["一月份", "七月份", "十月份", "十一月份", "十二月份"]
    assert narrative.chinese_date(date(2023, 8, 2)) == "2023年8月2日"
    assert narrative.format_score(Decimal("99.50")) == "99.5"
    assert narrative.format_score(Decimal("100")) == "100"
    assert narrative.format_score(Decimal("90.57")) == "90.57"


def test_no_bad_units_and_no_good_units():
    assert narrative.units_sentence(["杨楼镇人民政府"], []) == "（三）办理较好的单位有杨楼镇人民政府。本月无办理较差的单位。"
    assert "无突出较好或较差" in narrative.units_sentence([], [])


def test_all_units_stationed():
    assert narrative.stationing_summary([]) == "（四）各单位均已按规定完成人员派驻工作。"
    assert narrative.stationing_paragraph([], POLICY) == f"各单位均已按{POLICY}要求完成人员派驻工作。"
    body = texts(Document(io.BytesIO(render_docx(seed_briefing(stationing_noncompliant=[])))))
    assert "特此通报" not in "".join(body)


def test_one_upstream_platform_and_none():
    assert narrative.upstream_sentence(49, [PlatformCount("河南政务服务平台", 49)]) == (
        "（二）上级交办事项49件，均为河南政务服务平台交办事项。"
    )
    assert narrative.upstream_sentence(0, []) == "（二）本月无上级交办事项。"


def test_zero_calls_and_an_empty_month():
    data = seed_briefing(call_volume=0, local_total=0, coordinated=0, dispatched=0, upstream_total=0,
                         upstream_by_platform=[], grand_total=0)
    assert narrative.lead_sentence(data) == "七月份，汝州市12345民呼必应热线未接到群众来电，未办理登记事项和上级交办事项。"
    assert narrative.local_sentence(0, 0, 0) == "（一）本月无本级登记事项。"
    assert narrative.lead_sentence(seed_briefing(call_volume=None)).startswith("七月份，汝州市12345民呼必应热线办理本级")
    # Shares of an empty month are 0.00%, not a division error.
    assert cells(Document(io.BytesIO(render_docx(data))).tables[0])[1] == ["咨询类", "2049", "0.00%"]


def test_empty_sections_are_left_out_and_headings_renumbered():
    body = texts(Document(io.BytesIO(render_docx(seed_briefing(hot_problems=[], typical_cases=[])))))
    assert "三、业务工作" in body and "四、派驻工作" in body
    assert not any("典型案例" in t or "热点问题" == t[2:] for t in body)


def test_single_annex_is_not_numbered():
    assert narrative.annex_list_lines(["七月份乡镇街道考核表"]) == ["附件：七月份乡镇街道考核表"]


# ---------------------------------------------------------------- PDF


def test_pdf_or_a_helpful_refusal(tmp_path):
    docx_bytes = render_docx(seed_briefing())
    if pdf_available():
        assert docx_to_pdf(docx_bytes).startswith(b"%PDF")
    else:
        with pytest.raises(PdfUnavailable, match="libreoffice-writer fonts-noto-cjk"):
            docx_to_pdf(docx_bytes)


def test_pdf_refusal_message_when_libreoffice_is_missing(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert pdf_available() is False
    with pytest.raises(PdfUnavailable) as excinfo:
        docx_to_pdf(b"")
    assert "LibreOffice" in str(excinfo.value) and "apt-get install libreoffice-writer fonts-noto-cjk" in str(excinfo.value)


def test_seed_page_is_a4_in_cm():
    # A guard for the helper constants: the text width that tab stops use is 15.6 cm.
    from hotline.briefing.render_docx import TEXT_WIDTH

    assert round(TEXT_WIDTH / Cm(1), 1) == 15.6


def test_docx_page_one_keeps_its_analysis_table_and_the_daily_chart_follows_it():
    """Page 1 was 40% blank: the type table's last row kept with the chart after it, so heading,
    title, table and chart had to share a page. The chain now ends at the table, and the month's
    daily chart comes right after it under 二、数据分析, not at the end of the section."""
    data = seed_briefing(charts={"daily": tiny_png(), "appeal_types": tiny_png(), "hotspots": tiny_png()})
    blocks = narrative.compose(data)
    heading = next(i for i, b in enumerate(blocks) if isinstance(b, narrative.Heading) and "数据分析" in b.text)
    assert isinstance(blocks[heading + 1], narrative.Table) and blocks[heading + 1].title == "诉求类型统计表"
    assert blocks[heading + 2] == narrative.Chart("daily", "七月份每日工单量")
    doc = Document(io.BytesIO(render_docx(data)))
    first = doc.tables[0]
    keeps = [r.cells[0].paragraphs[0].paragraph_format.keep_with_next for r in first.rows]
    # Header and first row with the title, the last two together, the rest free to break.
    assert keeps[:2] == [True, True] and keeps[-2:] == [True, False] and not all(keeps)


def test_hot_problems_are_one_paragraph_each():
    blocks = narrative.compose(seed_briefing())
    heading = next(i for i, b in enumerate(blocks) if isinstance(b, narrative.Heading) and "热点问题" in b.text)
    problems = seed_briefing().hot_problems
    paragraphs = blocks[heading + 1: heading + 1 + len(problems)]
    assert [p.text[:2] for p in paragraphs] == [f"{i}、" for i in range(1, len(problems) + 1)]
