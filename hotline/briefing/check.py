"""Arithmetic checker for a work briefing (工作简报): ``hotline briefing check FILE``.

A monthly briefing is assembled by hand, and its tables often carry shares that their counts do
not give. This engine reads a briefing as plain text (including PDF-to-text dumps, where lines
break mid-sentence and page breaks show as lines starting with a space) or as .docx, and reports
every arithmetic inconsistency it can find:

* count + share tables: the 合计 row against the sum of the rows, each printed share against
  ``share(count, denominator)``; the denominator is whichever known total (the table's own 合计,
  another table's 合计, the opening paragraph's parts) makes most printed shares consistent, so a
  top-N table is measured against the briefing's grand total;
* ranking tables (unit, score, rank): competition ranking (1, 1, 3) from the scores;
* sums in the prose: "A 4707件。其中，B 3285件，C 1422件" and the opening paragraph's parts against
  the 合计 of the complete table.

It is pure: no Django, no database. Shares follow the project's one rounding rule
(:func:`hotline.lib.shares.share`); a share printed with fewer decimals ("100%") is compared at
the printed precision, half-up.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import IO

from hotline.lib.shares import parse_share, share

__all__ = [
    "BriefingCheckError",
    "CheckReport",
    "Finding",
    "TableSummary",
    "check_docx",
    "check_file",
    "check_text",
    "format_report",
    "inspect_docx",
    "inspect_file",
    "inspect_text",
    "main",
]


class BriefingCheckError(Exception):
    """The file cannot be read as a briefing; the message is Chinese and meant for the user."""


@dataclass(frozen=True)
class Finding:
    """One arithmetic inconsistency: what is printed where, and what the numbers give."""

    kind: str  # "share", "total", "rank", "subtotal"
    where: str  # "热点问题统计表 · 市场管理—消费纠纷"
    printed: str
    expected: str
    message: str


@dataclass(frozen=True)
class TableSummary:
    """A table the checker recognised and checked, so "no findings" never means "found nothing"."""

    title: str
    kind: str  # "share" (件数+占比), "percent" (只有占比), "count" (只有件数), "rank" (得分+排名)
    rows: int  # rows checked, the 合计 row included
    basis: str  # Chinese: the denominator used and where it came from, or the ranking rule


@dataclass(frozen=True)
class CheckReport:
    """Everything one check produced: the findings and what was checked to find them."""

    findings: tuple[Finding, ...] = ()
    tables: tuple[TableSummary, ...] = ()
    statements: tuple[str, ...] = ()  # sums checked in the prose, in Chinese

    @property
    def tables_checked(self) -> int:
        return len(self.tables)

    @property
    def rows_checked(self) -> int:
        return sum(table.rows for table in self.tables)

    @property
    def nothing_checked(self) -> bool:
        return not self.tables and not self.statements


# --------------------------------------------------------------------------- reading the layout

_FULLWIDTH = str.maketrans("０１２３４５６７８９％．", "0123456789%.")
_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?%?")
_TOTAL_LABEL = re.compile(r"^(?:合\s*计|总\s*计|共\s*计|总\s*数)$")
_SUBTOTAL_LABEL = re.compile(r"^小\s*计$")
_RANK_HEADER = re.compile(r"排名|名次|排序")
_SHARE_HEADER = re.compile(r"占比|比例|比重|百分比")
_SECTION_HEADING = re.compile(r"^[一二三四五六七八九十]+、")
_PARAGRAPH_START = re.compile(r"^(?:[（(][一二三四五六七八九十]+[)）]|[一二三四五六七八九十]+、)")
_SENTENCE_PUNCT = "，。；：！？,;"


@dataclass
class _Row:
    label: str
    values: tuple[str, ...]  # one or two numeric cells, as printed


@dataclass
class _RawTable:
    title: str
    header: tuple[str, ...]
    rows: list[_Row] = field(default_factory=list)


@dataclass(frozen=True)
class _Grid:
    """A real table (from .docx): rows of cell texts, header first."""

    rows: tuple[tuple[str, ...], ...]


@dataclass
class _Layout:
    tables: list[_RawTable]
    prose: str  # all prose joined; "\n" only where a paragraph surely ends
    opening: str  # the prose before the first section heading (一、)


def _is_number(token: str) -> bool:
    return bool(_NUMBER.fullmatch(token))


def _plausible_label(label: str) -> bool:
    if not label or len(label) > 40 or any(ch in label for ch in _SENTENCE_PUNCT):
        return False
    return any(ch.isalpha() for ch in label)


def _row_from_tokens(tokens: list[str], *, joiner: str) -> _Row | None:
    """ "label … number [number]" as a row; None when it is not a table row."""
    tokens = [t for t in tokens if t]
    values: list[str] = []
    while tokens and len(values) < 2 and _is_number(tokens[-1]):
        values.insert(0, tokens.pop())
    if not values or not tokens:
        return None
    if tokens[0].isdigit() and len(tokens) > 1:  # a leading 序号 column
        tokens = tokens[1:]
    label_parts: list[str] = []
    for token in tokens:  # merged .docx cells repeat their text
        if not label_parts or label_parts[-1] != token:
            label_parts.append(token)
    label = joiner.join(label_parts)
    return _Row(label=label, values=tuple(values)) if _plausible_label(label) else None


def _tidy(text: str) -> str:
    return re.sub(r"(\d)\s+%", r"\1%", text.translate(_FULLWIDTH)).strip()


def _split_row(cells: Sequence[str]) -> _Row | None:
    """A .docx table row: label cells (a 大类 and 小类 become "大类—小类"), then numbers."""
    return _row_from_tokens([_tidy(c) for c in cells], joiner="—")


def _row_from_line(line: str) -> _Row | None:
    """A text line "咨询类 2049 40.63%" or "杨楼镇 99.5 1"."""
    return _row_from_tokens(_tidy(line).split(), joiner=" ")


def _looks_like_header(line: str) -> bool:
    tokens = line.split()
    return (
        len(tokens) >= 2
        and len(line) <= 40
        and not any(ch.isdigit() for ch in line)
        and not any(ch in line for ch in "，。；")
    )


def _looks_like_title(line: str) -> bool:
    return 0 < len(line) <= 40 and line[-1] not in _SENTENCE_PUNCT + "。"


def _header_and_title(previous: list[str], table_number: int) -> tuple[tuple[str, ...], str]:
    """Header and title of a table from the non-blank lines just before its first row."""
    lines = list(previous[-3:])
    header: tuple[str, ...] = ()
    if lines and _looks_like_header(lines[-1]):
        header = tuple(lines.pop().split())
    title = ""
    for line in reversed(lines):
        if line.endswith("表"):
            title = line
            break
    if not title and lines and _looks_like_title(lines[-1]):
        title = lines[-1]
    return header, title or f"第{table_number}张表"


def _layout(items: Iterable[str | _Grid], *, joiner: str) -> _Layout:
    """Separate tables from prose.

    ``items`` are lines (text) or grids (.docx tables). Consecutive lines shaped like
    "label number [number]" form a table; blank lines inside a table are skipped, and a repeated
    header after a page break is ignored.
    """
    tables: list[_RawTable] = []
    prose_lines: list[str] = []
    previous: list[str] = []  # non-blank non-row lines since the last table, for title lookup
    current: _RawTable | None = None
    arity = 0
    opening_end: int | None = None

    def close() -> None:
        nonlocal current
        if current is not None and len(current.rows) >= 2:
            tables.append(current)
        elif current is not None:  # a lone "label number" line is prose after all
            prose_lines.extend(f"{r.label} {' '.join(r.values)}" for r in current.rows)
        current = None

    for item in items:
        if isinstance(item, _Grid):
            close()
            grid_rows = [r for r in item.rows if any(c.strip() for c in r)]
            if len(grid_rows) < 2:
                continue
            title = previous[-1] if previous and _looks_like_title(previous[-1]) else ""
            table = _RawTable(title=title or f"第{len(tables) + 1}张表", header=tuple(grid_rows[0]))
            for cells in grid_rows[1:]:
                row = _split_row(cells)
                if row is not None:
                    table.rows.append(row)
            if len(table.rows) >= 2:
                tables.append(table)
            previous = []
            continue
        line = item.translate(_FULLWIDTH).strip()  # a leading space marks a PDF page break
        if not line:
            continue
        row = _row_from_line(line)
        if row is not None:
            if current is not None and len(row.values) == arity:
                current.rows.append(row)
                continue
            close()
            header, title = _header_and_title(previous, len(tables) + 1)
            last = tables[-1] if tables else None
            if (
                last is not None
                and not header
                and not title.endswith("表")
                and len(previous) <= 2
                and len(last.rows[0].values) == len(row.values)
                and not any(_TOTAL_LABEL.match(r.label) for r in last.rows)
            ):
                # A page break (running header, page number) inside a table: carry on with it.
                current = tables.pop()
                current.rows.append(row)
            else:
                current = _RawTable(title=title, header=header, rows=[row])
            arity = len(row.values)
            previous = []
            continue
        if current is not None and tuple(line.split()) == current.header:
            continue
        close()
        previous.append(line)
        if opening_end is None and _SECTION_HEADING.match(line):
            opening_end = len(prose_lines)
        prose_lines.append(line)
    close()

    def join(lines: list[str]) -> str:
        if joiner == "\n":
            return "\n".join(lines)
        # PDF text: lines break mid-sentence, so join them; keep breaks around headings and
        # short title-like lines, which are surely paragraph ends.
        out: list[str] = []
        for line in lines:
            standalone = len(line) <= 20 and line[-1] not in _SENTENCE_PUNCT + "。"
            if out and (standalone or _PARAGRAPH_START.match(line)):
                out.append("\n")
            out.append(line)
            if standalone:
                out.append("\n")
        return "".join(out)

    opening = join(prose_lines[:opening_end]) if opening_end is not None else ""
    return _Layout(tables=tables, prose=join(prose_lines), opening=opening)


# --------------------------------------------------------------------------- numbers


def _to_decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", "").rstrip("%"))
    except InvalidOperation:
        return None


def _to_int(text: str) -> int | None:
    value = _to_decimal(text)
    if value is None or "%" in text or value != value.to_integral_value():
        return None
    return int(value)


def _places(printed: str) -> int:
    number = printed.strip().rstrip("%").strip()
    return len(number.split(".", 1)[1]) if "." in number else 0


def _share_at(count: int, total: int, places: int) -> Decimal:
    """The share at the printed precision; two decimals is the project's rule itself."""
    if places == 2 or total <= 0:
        return share(count, total)
    exact = Decimal(count) * 100 / Decimal(total)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _fmt_share(value: Decimal, places: int) -> str:
    return f"{value:.{places}f}%"


def _fmt_number(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# --------------------------------------------------------------------------- the checks


@dataclass(frozen=True)
class _Total:
    value: int
    source: str  # Chinese: where this total was printed
    table: int | None = None  # index of the table it comes from, if any


@dataclass
class _Checker:
    findings: list[Finding] = field(default_factory=list)
    tables: list[TableSummary] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)

    def add(self, kind: str, where: str, printed: str, expected: str, message: str) -> None:
        self.findings.append(Finding(kind, where, printed, expected, message))

    def report(self) -> CheckReport:
        return CheckReport(tuple(self.findings), tuple(self.tables), tuple(self.statements))


def _classify(table: _RawTable) -> str | None:
    header = " ".join(table.header)
    values = [r.values for r in table.rows]
    if len(values[0]) == 2:
        if _RANK_HEADER.search(header) and not _SHARE_HEADER.search(header):
            if all(_to_decimal(a) is not None and _to_int(b) is not None for a, b in values):
                return "rank"
            return None
        if all(_to_int(a) is not None for a, _ in values) and (
            all(b.endswith("%") for _, b in values) or _SHARE_HEADER.search(header)
        ):
            return "share"
        if all(_to_int(b) is not None for _, b in values) and not any(
            _TOTAL_LABEL.match(r.label) for r in table.rows
        ):
            ranks = sorted(_to_int(b) or 0 for _, b in values)
            if ranks[0] == 1 and ranks[-1] <= len(ranks):
                return "rank"
        return None
    has_total = any(_TOTAL_LABEL.match(r.label) for r in table.rows)
    if not has_total:
        return None
    if all(v[0].endswith("%") for v in values):
        return "percent"
    if all(_to_int(v[0]) is not None for v in values):
        return "count"
    return None


def _split_total(table: _RawTable) -> tuple[list[_Row], _Row | None, list[_Row]]:
    """Data rows, the 合计 row (if any), and 小计 rows (neither summed nor a total)."""
    rows, subtotals, total = [], [], None
    for row in table.rows:
        if _TOTAL_LABEL.match(row.label):
            total = row
        elif _SUBTOTAL_LABEL.match(row.label):
            subtotals.append(row)
        else:
            rows.append(row)
    return rows, total, subtotals


def _own_totals(table: _RawTable) -> list[_Total]:
    rows, total, _ = _split_total(table)
    found = []
    if total is not None:
        found.append(_Total(_to_int(total.values[0]) or 0, f"取自本表{total.label}"))
    found.append(_Total(sum(_to_int(r.values[0]) or 0 for r in rows), "取自本表各行之和"))
    return found


def _check_total_count(checker: _Checker, table: _RawTable, rows: list[_Row], total: _Row | None) -> bool:
    """The 合计 row's count against the sum of the rows; True when consistent."""
    if total is None:
        return True
    printed = _to_int(total.values[0]) or 0
    expected = sum(_to_int(r.values[0]) or 0 for r in rows)
    if printed == expected:
        return True
    where = f"{table.title} · {total.label}"
    checker.add(
        "total",
        where,
        str(printed),
        str(expected),
        f"{where}：印出 {printed}，各行件数相加应为 {expected}。",
    )
    return False


def _check_share_table(checker: _Checker, table: _RawTable, external: list[_Total]) -> None:
    rows, total, subtotals = _split_total(table)
    total_ok = _check_total_count(checker, table, rows, total)
    shared = [*rows, *subtotals] + ([total] if total is not None else [])
    pairs = [
        (_to_int(r.values[0]) or 0, r.values[1] if r.values[1].endswith("%") else r.values[1] + "%")
        for r in shared
    ]

    def consistent(denominator: int) -> int:
        return sum(
            1
            for count, printed in pairs
            if _share_at(count, denominator, _places(printed)) == parse_share(printed)
        )

    candidates: list[_Total] = []
    support: dict[int, int] = {}  # how many places print this total
    for candidate in [*_own_totals(table), *external]:
        if candidate.value <= 0:
            continue
        if candidate.value not in support:
            candidates.append(candidate)
        support[candidate.value] = support.get(candidate.value, 0) + 1
    if not candidates:
        return
    # The denominator is the total that makes most printed shares hold; between equals, the one
    # the briefing prints in more places, then the table's own total (max keeps the first).
    best = max(candidates, key=lambda c: (consistent(c.value), support[c.value]))
    denominator, hits = best.value, consistent(best.value)
    sum_printed = sum((parse_share(p) for _, p in pairs[: len(rows)]), Decimal(0))

    for row, (count, printed) in zip(shared, pairs, strict=True):
        if row is total and not total_ok:
            continue  # the count is already wrong; its share would only repeat that
        places = _places(printed)
        expected = _share_at(count, denominator, places)
        if expected == parse_share(printed):
            continue
        where = f"{table.title} · {row.label}"
        note = ""
        if row is total and rows and sum_printed == parse_share(printed):
            note = f"（印出值恰为各行印出占比之和 {_fmt_share(sum_printed, places)}，疑为逐行相加所得）"
        checker.add(
            "share",
            where,
            printed,
            _fmt_share(expected, places),
            f"{where}：印出 {printed}，按 {count}/{denominator} 应为 {_fmt_share(expected, places)}{note}。",
        )
    checker.tables.append(
        TableSummary(
            table.title,
            "share",
            len(shared),
            f"分母 {denominator}（{best.source}）；{len(pairs)} 个占比中 {hits} 个按此分母成立",
        )
    )


def _check_count_table(checker: _Checker, table: _RawTable) -> None:
    rows, total, _ = _split_total(table)
    _check_total_count(checker, table, rows, total)
    checker.tables.append(TableSummary(table.title, "count", len(table.rows), "合计行与各行件数之和相比"))


def _check_percent_table(checker: _Checker, table: _RawTable) -> None:
    rows, total, _ = _split_total(table)
    if total is None:
        return
    printed_total = parse_share(total.values[0])
    places = max(_places(r.values[0]) for r in table.rows)
    summed = sum((parse_share(r.values[0]) for r in rows), Decimal(0))
    # Each printed share may be off by half a unit of its last place; only a gap beyond that
    # accumulated rounding is an inconsistency.
    slack = Decimal(len(rows) + 1) * Decimal(5) * Decimal(1).scaleb(-places - 1)
    if abs(summed - printed_total) > slack:
        where = f"{table.title} · {total.label}"
        checker.add(
            "total",
            where,
            total.values[0],
            _fmt_share(summed, places),
            f"{where}：印出 {total.values[0]}，各行印出占比相加为 {_fmt_share(summed, places)}，"
            f"超出四舍五入所能解释的误差。",
        )
    checker.tables.append(TableSummary(table.title, "percent", len(table.rows), "合计占比与各行占比之和相比"))


def _competition_ranks(scores: list[Decimal], *, descending: bool) -> list[int]:
    if descending:
        return [1 + sum(1 for other in scores if other > s) for s in scores]
    return [1 + sum(1 for other in scores if other < s) for s in scores]


def _check_rank_table(checker: _Checker, table: _RawTable) -> None:
    rows = [r for r in table.rows if not _TOTAL_LABEL.match(r.label) and "平均" not in r.label]
    scores = [_to_decimal(r.values[0]) or Decimal(0) for r in rows]
    printed = [_to_int(r.values[1]) or 0 for r in rows]
    down = _competition_ranks(scores, descending=True)
    up = _competition_ranks(scores, descending=False)
    # Most tables rank the highest score first; a table ranked the other way (a rate where lower
    # is better) is recognised by its printed ranks fitting that order better.
    hits_down = sum(p == c for p, c in zip(printed, down, strict=True))
    hits_up = sum(p == c for p, c in zip(printed, up, strict=True))
    descending = hits_down >= hits_up
    computed = down if descending else up
    score_name = table.header[-2] if len(table.header) >= 3 else "得分"
    for row, p, c in zip(rows, printed, computed, strict=True):
        if p != c:
            where = f"{table.title} · {row.label}"
            checker.add(
                "rank",
                where,
                str(p),
                str(c),
                f"{where}：印出排名 {p}，按{score_name} {_fmt_number(_to_decimal(row.values[0]) or Decimal(0))}"
                f" 应为第 {c} 名。",
            )
    order = "从高到低" if descending else "从低到高"
    checker.tables.append(
        TableSummary(
            table.title,
            "rank",
            len(rows),
            f"按{score_name}{order}排名，并列同名次，其后名次顺延（1、1、3）",
        )
    )


# Prose: "本级登记事项4707件。其中，协调办理3285件，交办处理1422件。"
_UNIT = r"(?P<unit>件|起|宗|条)"
_WHOLE_BEFORE_QIZHONG = re.compile(
    rf"(?P<label>[^，。；：！？、\n]*?)(?<![\d.])(?P<num>\d[\d,]*)\s*{_UNIT}\s*[，。；,;]?\s*其中\s*[，,：:]?"
    r"(?P<parts>[^。\n]*)"
)
_FIGURE = re.compile(
    rf"(?P<label>[^，。；：！？、\n]*?)(?<![\d.])(?P<num>\d[\d,]*)\s*{_UNIT}"
    r"(?:\s*[，,（(]?\s*占(?:比)?\s*(?P<pct>\d+(?:\.\d+)?%))?"
)
_ENUMERATOR = re.compile(r"^(?:[（(][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十\d]+[、.])\s*")
_APPROXIMATE = re.compile(r"(?:约|近|超过|超|逾|达)$")


def _clean_label(label: str) -> str:
    return _ENUMERATOR.sub("", label.strip()).strip()


@dataclass(frozen=True)
class _Whole:
    label: str
    value: int
    span: tuple[int, int]


def _check_qizhong(checker: _Checker, prose: str) -> list[_Whole]:
    """ "A n件。其中，B b件，C c件": the parts must add up to the whole (at most the whole if one)."""
    wholes = []
    for match in _WHOLE_BEFORE_QIZHONG.finditer(prose):
        label, value, unit = _clean_label(match["label"]), int(match["num"].replace(",", "")), match["unit"]
        parts = [p for p in _FIGURE.finditer(match["parts"]) if p["unit"] == unit]
        if not parts:
            continue
        wholes.append(_Whole(label, value, match.span()))
        names = [(_clean_label(p["label"]), int(p["num"].replace(",", ""))) for p in parts]
        summed = sum(n for _, n in names)
        listing = " + ".join(f"{name} {n} {unit}" for name, n in names)
        where = f"正文 · {label}"
        if len(names) >= 2 and summed != value:
            checker.add(
                "subtotal",
                where,
                str(value),
                str(summed),
                f"{where}：印出 {value} {unit}，其中各项（{listing}）相加应为 {summed} {unit}，两者不符。",
            )
        elif len(names) == 1 and summed > value:
            checker.add(
                "subtotal",
                where,
                str(value),
                f"≥{summed}",
                f"{where}：印出 {value} {unit}，小于其中所列{listing}。",
            )
        relation = "=" if len(names) >= 2 else "≥"
        checker.statements.append(f"正文：{label} {value} {unit} {relation} {listing}")
        for part, (name, n) in zip(parts, names, strict=True):
            if part["pct"]:
                _check_text_share(checker, f"正文 · {name}", n, value, part["pct"])
    return wholes


def _check_text_share(checker: _Checker, where: str, count: int, total: int, printed: str) -> None:
    places = _places(printed)
    expected = _share_at(count, total, places)
    checker.statements.append(f"正文：{where.removeprefix('正文 · ')} 占比 {printed} 按 {count}/{total}")
    if expected != parse_share(printed):
        checker.add(
            "share",
            where,
            printed,
            _fmt_share(expected, places),
            f"{where}：印出 {printed}，按 {count}/{total} 应为 {_fmt_share(expected, places)}。",
        )


def _opening_total(opening: str) -> tuple[_Total, str] | None:
    """The grand total the opening paragraph states: a 其中 whole, or the sum of its figures."""
    if not opening:
        return None
    qizhong = list(_WHOLE_BEFORE_QIZHONG.finditer(opening))
    if qizhong:
        m = qizhong[0]
        label, value = _clean_label(m["label"]), int(m["num"].replace(",", ""))
        return _Total(value, f"取自开篇{label}"), f"开篇：{label} {value} {m['unit']}"
    figures = [
        (_clean_label(m["label"]), int(m["num"].replace(",", "")), m["unit"])
        for m in _FIGURE.finditer(opening)
        if m["unit"] == "件" and not _APPROXIMATE.search(m["label"])
    ]
    if not figures:
        return None
    value = sum(n for _, n, _ in figures)
    listing = " + ".join(f"{name} {n} 件" for name, n, _ in figures)
    if len(figures) == 1:
        return _Total(value, f"取自开篇{figures[0][0]}"), f"开篇：{listing}"
    return _Total(value, f"取自开篇 {listing}"), f"开篇：{listing} = {value} 件"


def _check(layout: _Layout) -> CheckReport:
    checker = _Checker()
    kinds = [(table, _classify(table)) for table in layout.tables]
    wholes = _check_qizhong(checker, layout.prose)
    opening = _opening_total(layout.opening)

    # Totals a top-N table's shares may be measured against, in order of preference.
    grand: list[_Total] = []
    complete: list[tuple[_RawTable, int]] = []
    for index, (table, kind) in enumerate(kinds):
        if kind not in ("share", "count"):
            continue
        rows, total, _ = _split_total(table)
        summed = sum(_to_int(r.values[0]) or 0 for r in rows)
        if total is None:
            continue
        value = _to_int(total.values[0]) or 0
        if value != summed:  # a wrong 合计 should not outvote the rows it misadds
            grand.append(_Total(summed, f"取自{table.title}各行之和", index))
        grand.append(_Total(value, f"取自{table.title} · {total.label}", index))
        printed_share = total.values[1] if kind == "share" else "100%"
        if parse_share(printed_share if printed_share.endswith("%") else printed_share + "%") == 100:
            complete.append((table, value))
    if opening is not None:
        grand.append(opening[0])
    grand.extend(_Total(w.value, f"取自正文{w.label}") for w in wholes)

    for index, (table, kind) in enumerate(kinds):
        if kind == "share":
            _check_share_table(checker, table, [t for t in grand if t.table != index])
        elif kind == "count":
            _check_count_table(checker, table)
        elif kind == "percent":
            _check_percent_table(checker, table)
        elif kind == "rank":
            _check_rank_table(checker, table)

    if opening is not None:
        total, listing = opening
        for table, value in complete:
            if "件" not in " ".join(table.header) and table.header:
                continue  # a complete table of something else (calls, visits) is not comparable
            checker.statements.append(f"{listing}，对照{table.title}合计 {value} 件")
            if total.value != value:
                where = f"开篇 · {table.title}合计"
                checker.add(
                    "subtotal",
                    where,
                    str(total.value),
                    str(value),
                    f"{where}：{listing.removeprefix('开篇：')}，与{table.title}合计 {value} 件不符。",
                )
    return checker.report()


# --------------------------------------------------------------------------- public API


def inspect_text(text: str) -> CheckReport:
    """Check a briefing given as plain text (a PDF-to-text dump is fine)."""
    return _check(_layout(text.splitlines(), joiner=""))


def check_text(text: str) -> list[Finding]:
    return list(inspect_text(text).findings)


def _docx_items(path_or_file: str | Path | IO[bytes]) -> list[str | _Grid]:
    import docx  # python-docx; imported here so text checks need nothing beyond the stdlib

    try:
        document = docx.Document(path_or_file)
        items: list[str | _Grid] = []
        for block in document.iter_inner_content():
            if hasattr(block, "rows"):
                items.append(_Grid(tuple(tuple(c.text.strip() for c in row.cells) for row in block.rows)))
            else:
                items.extend(block.text.splitlines() or [""])
    except Exception as exc:  # python-docx raises many kinds for a damaged package
        raise BriefingCheckError("无法读取 Word 文件：文件已损坏或不是 .docx 格式。") from exc
    return items


def inspect_docx(path_or_file: str | Path | IO[bytes]) -> CheckReport:
    """Check a .docx briefing: paragraphs as prose (or text-table rows), tables as tables."""
    return _check(_layout(_docx_items(path_or_file), joiner="\n"))


def check_docx(path_or_file: str | Path | IO[bytes]) -> list[Finding]:
    return list(inspect_docx(path_or_file).findings)


def _read_text_file(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data:
        raise BriefingCheckError(f"{path.name} 不是文本文件，无法核对。")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BriefingCheckError(f"{path.name} 的编码无法识别，请另存为 UTF-8 文本。")


def inspect_file(path: str | Path) -> CheckReport:
    """Check a .txt or .docx file; anything unreadable raises :class:`BriefingCheckError`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".txt", ".docx"):
        raise BriefingCheckError(f"不支持的文件类型“{suffix or '无扩展名'}”，请提供 .txt 或 .docx 文件。")
    if not path.is_file():
        raise BriefingCheckError(f"找不到文件 {path}。")
    if path.stat().st_size == 0:
        raise BriefingCheckError(f"{path.name} 是空文件，没有可核对的内容。")
    if suffix == ".docx":
        return inspect_docx(path)
    text = _read_text_file(path)
    if not text.strip():
        raise BriefingCheckError(f"{path.name} 是空文件，没有可核对的内容。")
    return inspect_text(text)


def check_file(path: str | Path) -> list[Finding]:
    return list(inspect_file(path).findings)


_KIND_NAMES = {"share": "占比表", "percent": "占比表", "count": "件数表", "rank": "排名表"}


def format_report(result: CheckReport | Sequence[Finding], *, source: str) -> str:
    """A Chinese report: the findings, then what was checked (tables, rows, prose sums)."""
    report = result if isinstance(result, CheckReport) else CheckReport(findings=tuple(result))
    lines = [f"工作简报数字核对：{source}"]
    if isinstance(result, CheckReport):
        if report.nothing_checked:
            lines.append("未找到可核对的表格或数字，未做任何核对。")
            return "\n".join(lines) + "\n"
        lines.append(
            f"共核对 {report.tables_checked} 张表（{report.rows_checked} 行）、"
            f"{len(report.statements)} 处正文数字关系。"
        )
    if report.findings:
        lines.append(f"发现 {len(report.findings)} 处不一致：")
        lines.extend(f"{i}. {f.message}" for i, f in enumerate(report.findings, 1))
    else:
        lines.append("未发现不一致。")
    if report.tables or report.statements:
        lines.append("已核对：")
        lines.extend(f"- {t.title}（{_KIND_NAMES[t.kind]}，{t.rows} 行）：{t.basis}。" for t in report.tables)
        lines.extend(f"- {s}。" for s in report.statements)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``hotline briefing check FILE``: 0 consistent, 1 findings, 2 unreadable or nothing to check."""
    parser = argparse.ArgumentParser(
        prog="hotline briefing check",
        description="核对工作简报（.txt 或 .docx）中的数字：占比、合计、排名与正文分项之和。",
    )
    parser.add_argument("file", metavar="FILE", help="简报文件（.txt 或 .docx）")
    args = parser.parse_args(argv)
    try:
        report = inspect_file(args.file)
    except BriefingCheckError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    print(format_report(report, source=args.file), end="")
    if report.nothing_checked:
        return 2
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
