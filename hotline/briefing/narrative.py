"""The briefing's default wording and order, shared by every renderer.

Sentence functions turn numbers into the seed's sentences ("七月份，汝州市12345民呼必应热线总话务量
约9000人次，……"), saying something proper when a list is empty or a count is zero. ``compose()``
lays the whole body out as a sequence of blocks (headings, paragraphs, tables with their shares
already computed, charts, annexes), so the DOCX and the HTML preview cannot drift apart in wording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from hotline.briefing.data import BriefingData, PlatformCount, TitledText
from hotline.lib.shares import format_share, share

_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1..99 in Chinese numerals as used for headings: 一, 十, 十一, 二十三."""
    if not 0 < n < 100:
        raise ValueError(f"out of range for a heading numeral: {n}")
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _DIGITS[ones]
    head = "十" if tens == 1 else _DIGITS[tens] + "十"
    return head + (_DIGITS[ones] if ones else "")


def month_label(month: int) -> str:
    """'七月份'; '十一月份'."""
    if not 1 <= month <= 12:
        raise ValueError(f"not a month: {month}")
    return f"{chinese_number(month)}月份"


def chinese_date(d: date) -> str:
    """'2023年8月22日' (Arabic numerals, no leading zeros, as 公文 dates are written)."""
    return f"{d.year}年{d.month}月{d.day}日"


def join_names(names: Sequence[str]) -> str:
    return "、".join(names)


def format_score(score: Decimal) -> str:
    """Scores print as the seed prints them: 99.5, 90.57, 98, 101.5 (no trailing zeros)."""
    text = format(Decimal(score).normalize(), "f")
    return text


# ---------------------------------------------------------------- sentences


def lead_sentence(data: BriefingData) -> str:
    """The opening paragraph under the title."""
    parts = []
    if data.call_volume is not None:
        if data.call_volume > 0:
            parts.append(f"总话务量约{data.call_volume}人次")
        else:
            parts.append("未接到群众来电")
    if data.local_total or data.upstream_total:
        parts.append(f"办理本级登记事项{data.local_total}件")
        parts.append(f"办理上级交办事项{data.upstream_total}件")
    else:
        parts.append("未办理登记事项和上级交办事项")
    return f"{data.period_label}，{data.hotline_name}" + "，".join(parts) + "。"


def local_sentence(total: int, coordinated: int, dispatched: int) -> str:
    """'（一）本级登记事项4707件。其中，协调办理3285件，交办处理1422件。'"""
    if total == 0:
        return "（一）本月无本级登记事项。"
    head = f"（一）本级登记事项{total}件。"
    if coordinated == total:
        return head + "均为协调办理。"
    if dispatched == total:
        return head + "均为交办处理。"
    parts = []
    if coordinated:
        parts.append(f"协调办理{coordinated}件")
    if dispatched:
        parts.append(f"交办处理{dispatched}件")
    return head + ("其中，" + "，".join(parts) + "。" if parts else "")


def upstream_sentence(total: int, by_platform: Sequence[PlatformCount]) -> str:
    """'（二）上级交办事项336件。其中，平顶山市“民呼必应”平台交办事项287件；河南政务服务平台交办事项49件。'"""
    if total == 0:
        return "（二）本月无上级交办事项。"
    platforms = [p for p in by_platform if p.count]
    if len(platforms) == 1 and platforms[0].count == total:
        return f"（二）上级交办事项{total}件，均为{platforms[0].platform}交办事项。"
    head = f"（二）上级交办事项{total}件。"
    if not platforms:
        return head
    return head + "其中，" + "；".join(f"{p.platform}交办事项{p.count}件" for p in platforms) + "。"


def units_sentence(best: Sequence[str], worst: Sequence[str]) -> str:
    """'（三）办理较好的单位有…。办理较差的单位有…。'"""
    if not best and not worst:
        return "（三）本月各单位办理情况总体平稳，无突出较好或较差的单位。"
    text = "（三）"
    text += f"办理较好的单位有{join_names(best)}。" if best else "本月无突出的办理较好单位。"
    text += f"办理较差的单位有{join_names(worst)}。" if worst else "本月无办理较差的单位。"
    return text


def stationing_summary(noncompliant: Sequence[str]) -> str:
    """'（四）自然资源和规划局、…未按规定完成人员派驻工作。'"""
    if not noncompliant:
        return "（四）各单位均已按规定完成人员派驻工作。"
    return f"（四）{join_names(noncompliant)}未按规定完成人员派驻工作。"


def stationing_paragraph(noncompliant: Sequence[str], policy: str) -> str:
    """The 六、派驻工作 paragraph, citing the policy document."""
    basis = f"按{policy}要求" if policy else "按规定"
    if not noncompliant:
        return f"各单位均已{basis}完成人员派驻工作。"
    return f"{join_names(noncompliant)}未{basis}派驻人员，特此通报。"


def numbered_items(items: Sequence[TitledText]) -> list[str]:
    """'1、驾驶员考试问题。因车管所……'; a title already ending in punctuation is left alone."""
    out = []
    for i, item in enumerate(items, start=1):
        title = item.title
        if title and title[-1] not in "。！？；：":
            title += "。"
        out.append(f"{i}、{title}{item.text}")
    return out


def annex_list_lines(titles: Sequence[str]) -> list[str]:
    """['附件：1．七月份乡镇街道考核表', '2．七月份市直单位考核表']; one annex has no number."""
    if not titles:
        return []
    if len(titles) == 1:
        return [f"附件：{titles[0]}"]
    return [("附件：" if i == 1 else "") + f"{i}．{t}" for i, t in enumerate(titles, start=1)]


def closing_line(issuer: str, issue_date: date) -> str:
    """'汝州市人民政府办公室 2023年8月22日印'."""
    return f"{issuer} {chinese_date(issue_date)}印"


# ---------------------------------------------------------------- layout


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str
    # body: indented 仿宋; annex_list: 附件 line with hanging indent; disclosure: (本简报……)
    kind: str = "body"


@dataclass(frozen=True)
class Table:
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    total_row: tuple[str, ...] | None = None
    # per column: "left" for names, "center" for numbers, shares and ranks
    align: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Chart:
    key: str
    alt: str


@dataclass(frozen=True)
class Annex:
    label: str  # 附件1
    table: Table


Block = Heading | Paragraph | Table | Chart | Annex


def appeal_type_table(data: BriefingData) -> Table:
    rows = tuple(
        (r.name, str(r.count), format_share(share(r.count, data.grand_total))) for r in data.appeal_type_rows
    )
    total = sum(r.count for r in data.appeal_type_rows)
    return Table(
        title="诉求类型统计表",
        header=("类型", "数量（件）", "占比"),
        rows=rows,
        total_row=("合计", str(total), format_share(share(total, data.grand_total))),
        align=("left", "center", "center"),
    )


def hotspot_table(data: BriefingData) -> Table:
    rows = tuple(
        (r.label, str(r.count), format_share(share(r.count, data.grand_total))) for r in data.hotspot_rows
    )
    total = sum(r.count for r in data.hotspot_rows)
    return Table(
        title="热点问题统计表",
        header=("类型", "数量（件）", "占比"),
        rows=rows,
        total_row=("合计", str(total), format_share(share(total, data.grand_total))),
        align=("left", "center", "center"),
    )


def annex_table(annex) -> Table:
    return Table(
        title=annex.title,
        header=("单位", "考核总分", "排名"),
        rows=tuple((r.unit, format_score(r.score), str(r.rank)) for r in annex.rows),
        align=("left", "center", "center"),
        note=annex.note,
    )


def compose(data: BriefingData) -> list[Block]:
    """The body after the masthead, in the seed's order. Empty sections are left out and the
    remaining headings renumbered, so a month without a typical case still reads 一、二、三……"""
    sections: list[tuple[str, list[Block]]] = []
    sections.append((
        "工作概况",
        [
            Paragraph(local_sentence(data.local_total, data.coordinated, data.dispatched)),
            Paragraph(upstream_sentence(data.upstream_total, data.upstream_by_platform)),
            Paragraph(units_sentence(data.best_units, data.worst_units)),
            Paragraph(stationing_summary(data.stationing_noncompliant)),
        ],
    ))
    analysis: list[Block] = []
    # The seed opens the section with its type table (short: it fits under the heading on page 1);
    # the month's daily volume follows at once, under 二、数据分析 where a reader looks for it,
    # then the breakdowns with their charts.
    if data.appeal_type_rows:
        analysis.append(appeal_type_table(data))
    if "daily" in data.charts:
        analysis.append(Chart("daily", f"{data.period_label}每日工单量"))
    if data.appeal_type_rows and "appeal_types" in data.charts:
        analysis.append(Chart("appeal_types", "诉求类型分布"))
    if data.hotspot_rows:
        analysis.append(hotspot_table(data))
        if "hotspots" in data.charts:
            analysis.append(Chart("hotspots", "热点问题分布"))
    sections.append(("数据分析", analysis))
    if data.hot_problems:
        # One paragraph per problem, as the editor takes them (one per line): five problems run
        # together were hard to read and to cite.
        sections.append(("热点问题", [Paragraph(t) for t in numbered_items(data.hot_problems)]))
    sections.append(("典型案例", [Paragraph(t) for t in data.typical_cases]))
    sections.append(("业务工作", [Paragraph(t) for t in numbered_items(data.business_work)]))
    sections.append((
        "派驻工作",
        [Paragraph(stationing_paragraph(data.stationing_noncompliant, data.stationing_policy))],
    ))

    blocks: list[Block] = [Paragraph(lead_sentence(data))]
    number = 0
    for name, body in sections:
        if not body:
            continue
        number += 1
        blocks.append(Heading(f"{chinese_number(number)}、{name}"))
        blocks.extend(body)

    blocks.extend(Paragraph(line, kind="annex_list") for line in annex_list_lines([a.title for a in data.annexes]))
    if data.disclosure_note:
        blocks.append(Paragraph(data.disclosure_note, kind="disclosure"))
    for i, annex in enumerate(data.annexes, start=1):
        label = "附件" if len(data.annexes) == 1 else f"附件{i}"
        blocks.append(Annex(label, annex_table(annex)))
    return blocks
