"""``hotline briefing check``: the arithmetic checker, on the July 2023 seed briefing and on .docx.

The seed is the real 汝州市12345 七月份工作简报 as a PDF-to-text dump. Its hotspot table (热点问题统计表)
prints three shares and a 合计 share that its counts do not give; everything else in it adds up.
Expected values here are worked out from the counts with integer arithmetic, not with the rule
under test.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import docx
import pytest

# The project is not installed into the venv; make `hotline` importable under plain pytest.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotline.briefing.check import (
    BriefingCheckError,
    CheckReport,
    Finding,
    check_docx,
    check_file,
    check_text,
    format_report,
    inspect_docx,
    inspect_text,
    main,
)
from hotline.lib.shares import format_share, share

SEED_PATH = Path(__file__).parent / "data" / "seed_briefing_2023_07.txt"
SEED = SEED_PATH.read_text(encoding="utf-8")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def percent_half_up(count: int, total: int) -> str:
    """count/total as a percentage, two decimals, half-up, by integer arithmetic."""
    hundredths = (count * 10000 * 2 + total) // (2 * total)
    return f"{hundredths // 100}.{hundredths % 100:02d}%"


# The hotspot table as printed in the seed: label, count, printed share. Denominator: 5043, the
# type table's 合计 (= 本级 4707 + 上级 336).
HOTSPOTS = [
    ("政务服务—网点服务", 770, "15.27%"),
    ("民主法制—政策咨询", 404, "8.01%"),
    ("公共服务—水电气暖", 203, "4.02%"),
    ("农村管理—人居环境", 182, "3.61%"),
    ("文体科教—教育管理", 162, "3.21%"),
    ("工资薪金—拖欠工资", 157, "3.11%"),
    ("政务服务—行政效能", 135, "2.68%"),
    ("社会保险—医疗保险", 128, "2.54%"),
    ("市场管理—消费纠纷", 110, "2.22%"),
    ("市政管理—市容市貌", 103, "2.00%"),
    ("合计", 2354, "46.67%"),
]


def triples(findings: list[Finding]) -> set[tuple[str, str, str, str]]:
    return {(f.kind, f.where, f.printed, f.expected) for f in findings}


# --------------------------------------------------------------------------- the seed


def test_hand_computation_of_the_seed_hotspots():
    """Guard the hand arithmetic itself: ten rows, 合计 the sum, four shares off."""
    assert sum(count for _, count, _ in HOTSPOTS[:-1]) == 2354
    wrong = {label: percent_half_up(c, 5043) for label, c, p in HOTSPOTS if percent_half_up(c, 5043) != p}
    assert wrong == {
        "公共服务—水电气暖": "4.03%",  # 203/5043 = 4.0254…
        "市场管理—消费纠纷": "2.18%",  # 110/5043 = 2.1812…
        "市政管理—市容市貌": "2.04%",  # 103/5043 = 2.0424…
        "合计": "46.68%",  # 2354/5043 = 46.678…
    }


def test_seed_finds_exactly_the_hotspot_shares_that_do_not_match_their_counts():
    expected = {
        ("share", f"热点问题统计表 · {label}", printed, percent_half_up(count, 5043))
        for label, count, printed in HOTSPOTS
        if percent_half_up(count, 5043) != printed
    }
    assert len(expected) == 4
    assert triples(check_text(SEED)) == expected


def test_seed_messages_name_row_printed_value_and_the_counts():
    messages = [f.message for f in check_text(SEED)]
    assert "热点问题统计表 · 市场管理—消费纠纷：印出 2.22%，按 110/5043 应为 2.18%。" in messages
    total = next(m for m in messages if "· 合计" in m)
    assert "印出 46.67%，按 2354/5043 应为 46.68%" in total
    assert "各行印出占比之和" in total  # the printed 46.67% is the sum of the printed rows


def test_seed_consistent_parts_are_checked_and_pass():
    report = inspect_text(SEED)
    assert [(t.title, t.kind, t.rows) for t in report.tables] == [
        ("诉求类型统计表", "share", 6),
        ("热点问题统计表", "share", 11),
        ("七月份乡镇街道考核表", "rank", 21),
        ("七月份市直单位考核表", "rank", 24),
    ]
    assert not [f for f in report.findings if f.kind != "share" or "诉求类型" in f.where]
    # The type table measures itself; the top-10 table is measured against the grand total.
    assert "分母 5043（取自本表合计）" in report.tables[0].basis
    assert "分母 5043（取自诉求类型统计表 · 合计）" in report.tables[1].basis
    statements = "\n".join(report.statements)
    assert "本级登记事项 4707 件 = 协调办理 3285 件 + 交办处理 1422 件" in statements  # across a line break
    assert (
        "上级交办事项 336 件 = 平顶山市“民呼必应”平台交办事项 287 件 + 河南政务服务平台交办事项 49 件"
        in statements
    )
    assert (
        "办理本级登记事项 4707 件 + 办理上级交办事项 336 件 = 5043 件，对照诉求类型统计表合计 5043 件"
        in statements
    )


def test_seed_report_counts_what_it_checked():
    text = format_report(inspect_text(SEED), source="seed_briefing_2023_07.txt")
    assert "共核对 4 张表（62 行）、3 处正文数字关系" in text
    assert "发现 4 处不一致" in text
    assert "热点问题统计表 · 公共服务—水电气暖：印出 4.02%，按 203/5043 应为 4.03%。" in text


SEED_FINDINGS = triples(check_text(SEED))


@pytest.mark.parametrize(
    ("printed", "altered", "new_findings"),
    [
        pytest.param(
            "商务局 97.5 5",
            "商务局 97.5 6",
            {("rank", "七月份市直单位考核表 · 商务局", "6", "5")},
            id="wrong-rank",
        ),
        pytest.param(
            "钟楼街道 88.5 13",
            "钟楼街道 88.5 14",
            {("rank", "七月份乡镇街道考核表 · 钟楼街道", "14", "13")},
            id="tie-not-shared",
        ),
        pytest.param(
            "协调办理3285件",
            "协调办理3258件",
            {("subtotal", "正文 · 本级登记事项", "4707", "4680")},
            id="wrong-part",
        ),
        pytest.param(
            "办处理1422件",
            "办处理1423件",  # the phrase the PDF breaks across two lines
            {("subtotal", "正文 · 本级登记事项", "4707", "4708")},
            id="wrong-part-across-line-break",
        ),
        pytest.param(
            "河南政务服务平台交办事项49件",
            "河南政务服务平台交办事项48件",
            {("subtotal", "正文 · 上级交办事项", "336", "335")},
            id="wrong-upstream-part",
        ),
        pytest.param(
            "办理上级交办事项336件。",
            "办理上级交办事项337件。",
            {("subtotal", "开篇 · 诉求类型统计表合计", "5044", "5043")},
            id="opening-parts-against-table-total",
        ),
        pytest.param(
            "合计 5043 100%",
            "合计 5042 100%",
            {
                ("total", "诉求类型统计表 · 合计", "5042", "5043"),
                ("subtotal", "开篇 · 诉求类型统计表合计", "5043", "5042"),
            },
            id="wrong-table-total",
        ),
        pytest.param(
            "咨询类 2049 40.63%",
            "咨询类 2049 40.36%",
            {("share", "诉求类型统计表 · 咨询类", "40.36%", "40.63%")},
            id="wrong-share-in-complete-table",
        ),
        pytest.param(
            "合计 5043 100%",
            "合计 5043 99.99%",
            {("share", "诉求类型统计表 · 合计", "99.99%", "100.00%")},
            id="complete-table-not-100",
        ),
    ],
)
def test_an_error_injected_into_the_seed_is_found(printed, altered, new_findings):
    assert SEED.count(printed) == 1
    found = triples(check_text(SEED.replace(printed, altered)))
    assert found - SEED_FINDINGS == new_findings


def test_table_broken_by_a_page_break_is_checked_as_one():
    """PDF dumps put the running header and page number between the rows of a long table."""
    broken = SEED.replace(
        "医疗保障局 97 7\n", "医疗保障局 97 7\n - 5 -\n 汝州市人民政府办公室 2023年8月22日\n"
    )
    report = inspect_text(broken)
    assert [(t.title, t.rows) for t in report.tables][-1] == ("七月份市直单位考核表", 24)
    assert triples(list(report.findings)) == SEED_FINDINGS


def test_hotspot_denominator_survives_a_wrong_type_total():
    """A misadded 合计 (5042) must not become the top-10 table's denominator: the rows say 5043."""
    report = inspect_text(SEED.replace("合计 5043 100%", "合计 5042 100%"))
    assert "分母 5043" in report.tables[1].basis
    assert {f.expected for f in report.findings if f.where.startswith("热点")} == {
        "4.03%",
        "2.18%",
        "2.04%",
        "46.68%",
    }


def test_share_printed_with_fewer_decimals_is_compared_at_that_precision():
    text = "来源统计表\n来源 数量（件） 占比\n电话 1 33%\n网络 2 67%\n合计 3 100%\n"
    assert check_text(text) == []
    findings = check_text(text.replace("电话 1 33%", "电话 1 34%"))
    assert triples(findings) == {("share", "来源统计表 · 电话", "34%", "33%")}


def test_table_ranked_lowest_first_is_recognised():
    text = "超期率排名表\n单位 超期率 排名\n杨楼镇 0.5 1\n寄料镇 0.5 1\n临汝镇 2 3\n蟒川镇 3 4\n"
    report = inspect_text(text)
    assert report.findings == ()
    assert "从低到高" in report.tables[0].basis


def test_text_with_nothing_to_check_says_so():
    report = inspect_text("七月份，热线运行平稳。\n")
    assert report.nothing_checked
    assert "未找到可核对的表格或数字" in format_report(report, source="x.txt")


def test_format_report_without_findings():
    text = format_report(CheckReport(), source="x.txt")
    assert "未找到可核对" in text
    assert "未发现不一致" in format_report([], source="x.txt")


# --------------------------------------------------------------------------- .docx


TYPES = [("咨询类", 2049), ("问题处理类", 831), ("投诉举报类", 1019), ("建议类", 30), ("其他", 1114)]
TOP3 = [("政务服务—网点服务", 770), ("民主法制—政策咨询", 404), ("公共服务—水电气暖", 203)]
TOWNSHIPS = [("杨楼镇", "99.5", "1"), ("临汝镇", "99.5", "1"), ("蟒川镇", "98", "3"), ("寄料镇", "77", "4")]


def build_briefing(path: Path, *, edit=None) -> Path:
    """A briefing the way python-docx lays it out: title paragraphs, then real tables."""
    grand = sum(n for _, n in TYPES)
    cells: dict[str, list[list[str]]] = {
        "types": [["类型", "数量（件）", "占比"]]
        + [[label, str(n), format_share(share(n, grand))] for label, n in TYPES]
        + [["合计", str(grand), format_share(share(grand, grand))]],
        "top": [["类型", "数量（件）", "占比"]]
        + [[label, str(n), format_share(share(n, grand))] for label, n in TOP3]
        + [["合计", str(sum(n for _, n in TOP3)), format_share(share(sum(n for _, n in TOP3), grand))]],
        "ranks": [["单位", "考核总分", "排名"]] + [list(row) for row in TOWNSHIPS],
    }
    if edit:
        edit(cells)
    document = docx.Document()
    document.add_heading("汝州市12345民呼必应热线", level=1)
    document.add_paragraph("八月份工作简报")
    document.add_paragraph(f"八月份，办理本级登记事项4707件，办理上级交办事项{grand - 4707}件。")
    document.add_paragraph("一、工作概况")
    document.add_paragraph("（一）本级登记事项4707件。其中，协调办理3285件，交办处理1422件。")
    for title, key in [("诉求类型统计表", "types"), ("热点问题统计表", "top"), ("乡镇街道考核表", "ranks")]:
        document.add_paragraph(title)
        table = document.add_table(rows=len(cells[key]), cols=3)
        for r, row in enumerate(cells[key]):
            for c, value in enumerate(row):
                table.cell(r, c).text = value
    document.save(path)
    return path


def test_docx_briefing_whose_numbers_agree_has_no_findings(tmp_path):
    report = inspect_docx(build_briefing(tmp_path / "八月.docx"))
    assert report.findings == ()
    assert [(t.title, t.kind, t.rows) for t in report.tables] == [
        ("诉求类型统计表", "share", 6),
        ("热点问题统计表", "share", 4),
        ("乡镇街道考核表", "rank", 4),
    ]
    assert "取自诉求类型统计表 · 合计" in report.tables[1].basis
    assert len(report.statements) == 2  # 其中 sum, opening against the type table


def test_docx_with_one_wrong_share_cell_has_exactly_one_finding(tmp_path):
    def edit(cells):
        cells["top"][2][2] = "8.10%"  # 民主法制—政策咨询, 404/5043 = 8.01%

    findings = check_docx(build_briefing(tmp_path / "八月.docx", edit=edit))
    assert triples(findings) == {("share", "热点问题统计表 · 民主法制—政策咨询", "8.10%", "8.01%")}


def test_docx_with_one_wrong_rank_cell_has_exactly_one_finding(tmp_path):
    def edit(cells):
        cells["ranks"][3][2] = "2"  # 蟒川镇 follows a tie for first: third, not second

    findings = check_docx(build_briefing(tmp_path / "八月.docx", edit=edit))
    assert triples(findings) == {("rank", "乡镇街道考核表 · 蟒川镇", "2", "3")}


def test_docx_from_a_file_object(tmp_path):
    data = build_briefing(tmp_path / "八月.docx").read_bytes()
    assert check_docx(io.BytesIO(data)) == []


# --------------------------------------------------------------------------- files and the CLI


def test_check_file_dispatches_by_suffix(tmp_path):
    seed_copy = tmp_path / "七月.txt"
    seed_copy.write_bytes(SEED.encode("gb18030"))  # older exports are GB-encoded
    assert triples(check_file(seed_copy)) == SEED_FINDINGS
    assert check_file(build_briefing(tmp_path / "八月.docx")) == []


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("坏.docx", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, id="garbage-docx"),
        pytest.param("空.docx", b"", id="empty-docx"),
        pytest.param("空.txt", b"", id="empty-txt"),
        pytest.param("空白.txt", b"  \n\n", id="blank-txt"),
        pytest.param("二进制.txt", b"\x00\x01\x02binary", id="binary-txt"),
        pytest.param("简报.pdf", b"%PDF-1.4", id="unknown-suffix"),
        pytest.param("简报", b"text", id="no-suffix"),
    ],
)
def test_unreadable_input_raises_a_chinese_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BriefingCheckError) as excinfo:
        check_file(path)
    assert CHINESE.search(str(excinfo.value))


def test_missing_file_raises(tmp_path):
    with pytest.raises(BriefingCheckError, match="找不到文件"):
        check_file(tmp_path / "没有.txt")


def test_garbage_docx_file_object_raises():
    with pytest.raises(BriefingCheckError, match="无法读取 Word 文件"):
        check_docx(io.BytesIO(b"not a zip"))


def test_main_exit_codes(tmp_path, capsys):
    assert main([str(SEED_PATH)]) == 1
    assert "发现 4 处不一致" in capsys.readouterr().out

    assert main([str(build_briefing(tmp_path / "八月.docx"))]) == 0
    assert "未发现不一致" in capsys.readouterr().out

    (tmp_path / "坏.docx").write_bytes(b"garbage")
    assert main([str(tmp_path / "坏.docx")]) == 2
    assert "错误：" in capsys.readouterr().err

    (tmp_path / "空话.txt").write_text("本月热线运行平稳。\n", encoding="utf-8")
    assert main([str(tmp_path / "空话.txt")]) == 2
    assert "未找到可核对的表格或数字" in capsys.readouterr().out
