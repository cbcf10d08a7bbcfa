"""A center's own export as training or test data: a CSV file with a header (pure, no Django).

Centers export from their old systems in UTF-8 (with or without a BOM) or GB18030 (what Chinese
Excel and WPS write by default); the file is tried in that order. Everything else — an Excel
workbook, UTF-16 "Unicode text", a binary file — is refused with a Chinese message that says what
to do, as are a missing column (the message lists the columns the file has), an empty file, one
class only and classes with too few rows. Cells go through the platform's text boundary
(``hotline.lib.text.scrub``).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from hotline.lib.text import scrub
from hotline.triage.engine import TriageError

ENCODINGS = ("utf-8-sig", "gb18030")
MIN_PER_CLASS = 3  # a held-out split and a 3-fold calibration need three rows of each class


class CsvError(TriageError):
    """The file cannot be read as the data asked for; the message is for the person who gave it."""


@dataclass
class Table:
    """The columns asked for, as lists of cleaned strings, and how the file was read."""

    columns: dict[str, list[str]]
    header: list[str]
    encoding: str
    n_rows: int


@dataclass
class Labelled:
    texts: list[str]
    labels: list[str]
    titles: list[str] | None
    encoding: str
    skipped: int  # rows without text or label


def decode(data: bytes, name: str = "文件") -> tuple[str, str]:
    """The file's text and its encoding (``utf-8-sig`` or ``gb18030``), or a ``CsvError``."""
    if not data.strip():
        raise CsvError(f"{name}是空的：需要一个第一行为列名的 CSV 文件")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise CsvError(f"{name}是 Excel 工作簿，不是 CSV：请在 Excel / WPS 中“另存为”CSV（UTF-8 或 GB18030 编码）")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvError(f"{name}是 UTF-16 编码（Excel 的“Unicode 文本”）：请另存为 CSV UTF-8")
    if b"\x00" in data:
        raise CsvError(f"{name}含有空字节，不是文本文件：请导出为 CSV（UTF-8 或 GB18030 编码）")
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise CsvError(f"{name}的编码无法识别（既不是 UTF-8 也不是 GB18030）：请导出为 CSV UTF-8")


def read_table(source: str | Path | bytes, columns: list[str], *, name: str | None = None) -> Table:
    """The named columns of a CSV file (path or bytes) with a header row."""
    if isinstance(source, bytes):
        data, name = source, name or "文件"
    else:
        path = Path(source)
        name = name or f"文件 {path.name} "
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CsvError(f"找不到{name.strip()}") from None
        except IsADirectoryError:
            raise CsvError(f"{name.strip()}是一个目录，不是 CSV 文件") from None
    text, encoding = decode(data, name)
    csv.field_size_limit(10 * 1024 * 1024)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        rows = list(reader)
    except csv.Error as exc:
        raise CsvError(f"{name}不是有效的 CSV：{exc}") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise CsvError(f"{name}是空的：需要一个第一行为列名的 CSV 文件")
    header = [scrub(cell, single_line=True).strip() for cell in rows[0]]
    missing = [c for c in columns if c not in header]
    if missing:
        shown = "、".join(f"“{h}”" for h in header[:30] if h) or "（无）"
        if len(header) > 30:
            shown += f" 等 {len(header)} 列"
        raise CsvError(f"{name}中找不到列 {'、'.join(f'“{c}”' for c in missing)}。文件第一行（列名）是：{shown}。"
                       "第一行必须是列名；请用 --text-column / --label-column 指定其中的列")
    body = rows[1:]
    if not body:
        raise CsvError(f"{name}只有列名，没有数据行")
    index = {c: header.index(c) for c in columns}
    out = {c: [scrub(row[i]).strip() if i < len(row) else "" for row in body] for c, i in index.items()}
    return Table(columns=out, header=header, encoding=encoding, n_rows=len(body))


def read_labelled(source: str | Path | bytes, *, text_column: str, label_column: str,
                  title_column: str | None = None, min_per_class: int = MIN_PER_CLASS,
                  require_classes: bool = True, name: str | None = None) -> Labelled:
    """Texts (and titles) with their labels, checked for training: two classes or more, each with
    at least ``min_per_class`` rows. Rows without a label or without any text are skipped."""
    wanted = [text_column, label_column] + ([title_column] if title_column else [])
    table = read_table(source, list(dict.fromkeys(wanted)), name=name)
    cols = table.columns
    texts, labels, titles = [], [], []
    skipped = 0
    for i in range(table.n_rows):
        text, label = cols[text_column][i], cols[label_column][i]
        title = cols[title_column][i] if title_column else ""
        if not label or not (text or title):
            skipped += 1
            continue
        texts.append(text)
        labels.append(label)
        titles.append(title)
    if not texts:
        raise CsvError(f"没有可用的数据行：“{text_column}”或“{label_column}”列全是空的")
    counts = Counter(labels)
    if not require_classes:  # evaluating: any labels will do
        return Labelled(texts=texts, labels=labels, titles=titles if title_column else None,
                        encoding=table.encoding, skipped=skipped)
    if len(counts) < 2:
        only = next(iter(counts))
        raise CsvError(f"“{label_column}”列只有一个类别（{only}，{counts[only]} 行）：至少需要两个类别才能训练分类模型")
    rare = sorted((c for c in counts.items() if c[1] < min_per_class), key=lambda c: (c[1], c[0]))
    if rare:
        shown = "、".join(f"{label}（{n} 行）" for label, n in rare[:10])
        more = f" 等 {len(rare)} 个类别" if len(rare) > 10 else ""
        raise CsvError(f"以下类别的样本太少（每类至少 {min_per_class} 行）：{shown}{more}。"
                       "请补充样本、把它们并入相近类别，或删除这些行")
    return Labelled(texts=texts, labels=labels, titles=titles if title_column else None,
                    encoding=table.encoding, skipped=skipped)


@dataclass
class Timed:
    """Rows with a time, for the hot-problem pass: texts (title first when asked), times, ids and
    the optional place and unit columns."""

    texts: list[str]
    times: list
    ids: list[str]
    places: list[str] | None
    units: list[str] | None
    encoding: str
    skipped: int  # rows without text or without a time


def read_timed(source: str | Path | bytes, *, text_column: str, time_column: str, id_column: str,
               title_column: str | None = None, place_column: str | None = None, unit_column: str | None = None,
               name: str | None = None) -> Timed:
    """Texts with their registration times (read by ``hotline.lib.parsing.parse_datetime``: ISO,
    ``2023/7/3 9:30``, ``2023年7月3日``…). A time that cannot be read refuses the file with its row
    number; a row without text or time is skipped and counted."""
    from hotline.lib.parsing import ParseError, parse_datetime

    optional = [c for c in (title_column, place_column, unit_column) if c]
    table = read_table(source, list(dict.fromkeys([text_column, time_column, id_column, *optional])), name=name)
    cols = table.columns
    out = Timed(texts=[], times=[], ids=[], places=[] if place_column else None,
                units=[] if unit_column else None, encoding=table.encoding, skipped=0)
    for i in range(table.n_rows):
        text = cols[text_column][i]
        if title_column and cols[title_column][i]:
            text = f"{cols[title_column][i]}。{text}"
        when = cols[time_column][i]
        if not text or not when:
            out.skipped += 1
            continue
        try:
            at = parse_datetime(when, time_column)
        except ParseError as exc:
            raise CsvError(f"第 {i + 2} 行的时间无法识别：{exc.message}") from None
        out.texts.append(text)
        out.times.append(at)
        out.ids.append(cols[id_column][i] or f"第{i + 2}行")
        if place_column:
            out.places.append(cols[place_column][i])
        if unit_column:
            out.units.append(cols[unit_column][i])
    if not out.texts:
        raise CsvError(f"没有可用的数据行：“{text_column}”或“{time_column}”列全是空的")
    return out
