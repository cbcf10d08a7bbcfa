"""Excel (xlsx) imports: upstream platforms' order exports and the telephony system's call records.

Both importers work in two passes over a streamed sheet (openpyxl's read-only mode: one row in
memory at a time, never the whole workbook): every row is checked first and every problem
reported with its row number and column (in Chinese, as staff see the sheet); then, only if no
row is bad, all rows are written in one transaction, so an import is all or nothing.
``skip_bad`` imports the good rows instead and keeps the bad ones so the command can write them
to an error workbook to fix and import again. Importing the same file twice adds nothing: orders
already registered under their upstream number and calls already recorded (same time, same
caller) are skipped and counted.

Limits (checked before any row is looked at; docs/integrations.md):

- at most ``MAX_ROWS`` (20,000) data rows, and at most ``MAX_SHEET_ROWS`` (100,000) rows
  including blank ones; a sheet declaring more than that is refused on upload without reading
  its rows (``check_file``), any other is refused after reading no further than the row that
  breaks a cap, before a single row is checked;
- at most ``MAX_COLUMNS`` columns are read; the archive's parts are capped before openpyxl opens
  them (a small zip can unpack to gigabytes);
- at most ``MAX_ERRORS_LISTED`` errors are kept for display; the rest are counted.

Values are read by :mod:`hotline.lib.parsing`, the parser every other entry uses.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from openpyxl import Workbook, load_workbook

from hotline.catalog.models import AppealType, Category, Urgency
from hotline.directory.models import Unit, UpstreamPlatform
from hotline.intake.models import Call
from hotline.intake.upstream import Lookups, UpstreamError, order_fields, register_upstream, same_order
from hotline.lib import clock, parsing, xlsx
from hotline.workorders.models import WorkOrder
from hotline.workorders.workflow import WorkflowError

MAX_ROWS = 20_000
MAX_SHEET_ROWS = 100_000
MAX_COLUMNS = 64
MAX_ERRORS_LISTED = 100
# Parts of the xlsx archive, uncompressed: the first sheet is streamed, so it may be large; the
# shared strings are held in memory whole by openpyxl; every other part is small in a real file.
MAX_SHEET_BYTES = 400 * 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 48 * 1024 * 1024
MAX_OTHER_PART_BYTES = 16 * 1024 * 1024
MAX_PARTS = 1000
LOOKUP_CHUNK = 1000  # values per IN (…) query

Progress = Callable[[str, int, int], None]  # (phase "check" or "write", rows done, rows in all)


class ImportFileError(Exception):
    """The file as a whole cannot be imported (not an xlsx, missing columns, over a limit)."""


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    required: bool = False
    help: str = ""


ORDER_COLUMNS = [
    Column("上级工单号", "upstream_number", True, "上级平台的工单编号，同一平台内唯一"),
    Column("上级平台", "platform", True, "平台名称、简称或代码，如 平顶山市民呼必应 / pds"),
    Column("标题", "title", True, "不超过 120 字"),
    Column("诉求内容", "content", True, ""),
    Column("诉求类型", "appeal_type", True, "咨询类、问题处理类、投诉举报类、建议类、其他"),
    Column("热点分类", "category", False, "二级分类，格式“一级—二级”，如 农村管理—人居环境；或分类编码"),
    Column("所在乡镇街道", "town", False, "如 杨楼镇"),
    Column("详细地址", "address", False, ""),
    Column("来电人", "caller_name", False, ""),
    Column("联系电话", "caller_phone", False, "手机号或带区号的固定电话，可含空格、连字符"),
    Column("办理时限", "upstream_deadline", False, "上级平台的办结时限，如 2023-07-10 18:00；只写日期表示当天 23:59"),
    Column("登记时间", "received_at", False, "上级平台登记时间，如 2023-07-03 08:55；空白为导入时间"),
    Column("紧急程度", "urgency", False, "一般、紧急、特急；空白为一般"),
    Column("是否保密", "confidential", False, "是/否；空白为否"),
]

CALL_COLUMNS = [
    Column("来电时间", "started_at", True, "如 2023-07-03 08:01:15"),
    Column("主叫号码", "caller_phone", True, ""),
    Column("排队时长", "wait_seconds", False, "秒数，或 分:秒 / 时:分:秒"),
    Column("通话时长", "talk_seconds", False, "秒数，或 分:秒 / 时:分:秒"),
    Column("是否接通", "answered", False, "是/否；空白时按通话时长判断"),
    Column("结果", "result", False, "登记工单、咨询解答未建单、查询进度、未接通/放弃、无效来电"),
    Column("工单编号", "order_number", False, "来电登记的工单编号（可空）"),
]

KINDS = {"orders": ORDER_COLUMNS, "calls": CALL_COLUMNS}


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def __str__(self):
        where = f"第 {self.row} 行" + (f"“{self.column}”列" if self.column else "")
        return f"{where}：{self.message}"


@dataclass
class ImportResult:
    """What an import did or would do. ``errors`` lists the first ``MAX_ERRORS_LISTED`` problems;
    ``error_count`` and ``bad_row_count`` count them all. ``bad_rows`` (row number, original
    values, every problem of the row) is kept only with ``skip_bad``, for the error workbook."""

    kind: str
    rows: int = 0
    imported: list[str] = field(default_factory=list)  # order numbers, or call times
    skipped: list[str] = field(default_factory=list)  # already there
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    bad_row_count: int = 0
    bad_rows: list[tuple[int, list, str]] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    dry_run: bool = False
    keep_bad_rows: bool = False

    @property
    def ok(self) -> bool:
        return not self.error_count

    @property
    def unlisted_errors(self) -> int:
        return self.error_count - len(self.errors)

    def add_bad_row(self, number: int, values: list, errors: list[RowError]) -> None:
        self.bad_row_count += 1
        self.error_count += len(errors)
        room = MAX_ERRORS_LISTED - len(self.errors)
        if room > 0:
            self.errors += errors[:room]
        if self.keep_bad_rows:
            self.bad_rows.append((number, values, "；".join(str(e) for e in errors)))

    def summary(self) -> str:
        what = "工单" if self.kind == "orders" else "来电记录"
        verb = "可导入" if self.dry_run else "已导入"
        parts = [f"共 {self.rows} 行", f"{verb}{what} {len(self.imported)} 条"]
        if self.skipped:
            parts.append(f"已存在跳过 {len(self.skipped)} 条")
        if self.error_count:
            parts.append(f"有错误的行 {self.bad_row_count} 行")
        return "，".join(parts)

    def as_dict(self, numbers: int = 200) -> dict:
        """A summary small enough to store with a background job: counts, the listed errors and
        the first ``numbers`` imported order numbers."""
        return {"kind": self.kind, "rows": self.rows, "summary": self.summary(), "ok": self.ok,
                "dry_run": self.dry_run, "imported": len(self.imported), "skipped": len(self.skipped),
                "imported_numbers": self.imported[:numbers] if self.kind == "orders" else [],
                "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in self.errors],
                "error_count": self.error_count, "bad_row_count": self.bad_row_count}


class _Ticker:
    """Calls ``progress`` every ``every`` rows and at the end of a phase."""

    def __init__(self, progress: Progress | None, total: int, every: int = 200):
        self.progress, self.total, self.every = progress, total, every

    def __call__(self, phase: str, done: int, *, final: bool = False) -> None:
        if self.progress and (final or done % self.every == 0):
            self.progress(phase, done, self.total)


# ---------------------------------------------------------------------------------------------
# Reading the sheet


def _header_key(text) -> str:
    return re.sub(r"[\s*＊（(].*$", "", str(text or "").strip()) if text else ""


def source_name(path) -> str:
    """The file's name for messages and notes: a path, or an uploaded file object's ``name``."""
    return Path(str(getattr(path, "name", None) or path)).name


def _check_archive(source) -> None:
    """Refuse archives whose parts would unpack beyond the limits, before openpyxl opens them.
    The sizes are the ones the zip declares; zipfile stops reading a member at its declared size,
    so a member cannot unpack to more than it says."""
    try:
        with zipfile.ZipFile(source) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
        raise ImportFileError(f"不是有效的 Excel（.xlsx）文件：{source_name(source)}") from None
    except OSError as e:
        raise ImportFileError(f"无法读取文件 {source_name(source)}：{e.strerror or e}") from None
    finally:
        if hasattr(source, "seek"):
            source.seek(0)
    if len(parts) > MAX_PARTS:
        raise ImportFileError(f"文件结构异常（压缩包内有 {len(parts)} 个部件），不是常规的 Excel 文件")
    for part in parts:
        name = part.filename.lower()
        if name.startswith("xl/worksheets/sheet"):
            limit = MAX_SHEET_BYTES
        elif name == "xl/sharedstrings.xml":
            limit = MAX_SHARED_STRINGS_BYTES
        else:
            limit = MAX_OTHER_PART_BYTES
        if part.file_size > limit:
            raise ImportFileError(f"文件内容过大（{part.filename} 解压后 {part.file_size // 1024 // 1024} MB，"
                                  f"上限 {limit // 1024 // 1024} MB），请拆分后导入")


class Sheet:
    """The first worksheet of an xlsx, read in streaming mode: its headers, a row count that stops
    at the cap, and its non-empty rows as ``(row number, {key: value}, original values)``."""

    def __init__(self, source, columns: list[Column]):
        self.source, self.columns = source, columns
        _check_archive(source)
        try:
            self.workbook = load_workbook(source, read_only=True, data_only=True)
        except ImportFileError:
            raise
        except OSError as e:
            raise ImportFileError(f"无法读取文件 {source_name(source)}：{e.strerror or e}") from None
        except Exception as e:  # openpyxl raises many kinds on a damaged or forged file
            raise ImportFileError(f"不是有效的 Excel（.xlsx）文件：{source_name(source)}"
                                  f"（{e.__class__.__name__}）") from None
        try:
            self._read_header()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.workbook.close()

    def __enter__(self) -> Sheet:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _read_header(self) -> None:
        if not self.workbook.worksheets:
            raise ImportFileError("文件中没有工作表")
        self.worksheet = self.workbook.worksheets[0]
        # The sheet's own <dimension>: what it says it holds. Reading then ignores it (openpyxl
        # would otherwise stop at a dimension that says too little, or pad up to one that says
        # too much) and counts the rows that are really there.
        self.declared_rows = self.worksheet.max_row
        self.worksheet.reset_dimensions()
        header = next(self._stream(min_row=1, max_row=1, max_col=MAX_COLUMNS), None)
        if not header or not any(v not in (None, "") for v in header):
            raise ImportFileError("第 1 行须为列名（表头），文件为空或缺少表头")
        self.headers = [str(h).strip() if h is not None else "" for h in header]
        while self.headers and not self.headers[-1]:
            self.headers.pop()
        by_header = {c.header: c for c in self.columns}
        self.index: dict[str, int] = {}
        for i, h in enumerate(self.headers):
            column = by_header.get(_header_key(h))
            if column and column.key not in self.index:
                self.index[column.key] = i
        missing = [c.header for c in self.columns if c.required and c.key not in self.index]
        if missing:
            raise ImportFileError(f"缺少必填列：{'、'.join(missing)}（第 1 行须为列名，可下载导入模板对照）")

    def _stream(self, **bounds) -> Iterator[tuple]:
        """openpyxl's rows; whatever it raises on a damaged file becomes ``ImportFileError``."""
        number = bounds.get("min_row", 1)
        try:
            for values in self.worksheet.iter_rows(values_only=True, **bounds):
                yield values
                number += 1
        except ImportFileError:
            raise
        except Exception as e:  # a forged cell (bad shared-string index, bad number, broken XML)
            raise ImportFileError(f"第 {number} 行附近的内容无法读取，文件可能已损坏（{e.__class__.__name__}）") from None

    def _data_rows(self) -> Iterator[tuple[int, tuple]]:
        """Non-empty rows after the header with their numbers; refuses a sheet over the caps as soon
        as the row that breaks one is reached."""
        seen = 0
        for number, values in enumerate(self._stream(min_row=2, max_col=max(len(self.headers), 1)), start=2):
            if number > MAX_SHEET_ROWS + 1:
                raise ImportFileError(f"工作表超过 {MAX_SHEET_ROWS:,} 行（含空行），请删除多余的行或拆分文件后导入")
            if not any(v not in (None, "") and str(v).strip() for v in values):
                continue
            seen += 1
            if seen > MAX_ROWS:
                raise ImportFileError(f"超过单次导入上限 {MAX_ROWS:,} 行（第 {number:,} 行仍有数据），"
                                      "请拆分为多个文件分别导入")
            yield number, values

    def count(self) -> int:
        """The number of data rows; raises ``ImportFileError`` past the caps (without reading on)."""
        return sum(1 for _ in self._data_rows())

    def rows(self) -> Iterator[tuple[int, dict, list]]:
        width = len(self.headers)
        for number, values in self._data_rows():
            values = list(values[:width])
            record = {key: (values[i] if i < len(values) else None) for key, i in self.index.items()}
            yield number, record, values


def check_file(source, kind: str) -> None:
    """What a web request checks of an upload before queueing it, without reading its rows: an
    xlsx within the archive limits, the required columns, and a sheet that does not declare more
    rows than ``MAX_SHEET_ROWS`` (every spreadsheet program writes that count at the top of the
    sheet). The exact count, against ``MAX_ROWS``, is the background job's first step."""
    with Sheet(source, KINDS[kind]) as sheet:
        if sheet.declared_rows and sheet.declared_rows > MAX_SHEET_ROWS + 1:
            raise ImportFileError(f"超过单次导入上限 {MAX_ROWS:,} 行（工作表共 {sheet.declared_rows - 1:,} 行），"
                                  "请拆分为多个文件分别导入")


def write_error_workbook(result: ImportResult, path: str | Path) -> None:
    """The bad rows as they were, with a last column 错误说明, ready to be fixed and imported again."""
    wb = Workbook(write_only=True)
    ws = xlsx.table(wb, "错误行", [*result.headers, "错误说明", "原行号"], widths={"错误说明": 50})
    width = len(result.headers)
    for number, values, messages in sorted(result.bad_rows, key=lambda r: r[0]):
        padded = list(values) + [None] * (width - len(values))
        xlsx.append(ws, [*padded[:width], messages, number])
    _save(wb, path)


def _save(wb: Workbook, path: str | Path) -> None:
    """Write next to the target and rename: a reader never sees half a workbook."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    wb.save(tmp)
    tmp.replace(path)


def _chunks(items: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# ---------------------------------------------------------------------------------------------
# Orders


def import_orders(path, *, dry_run: bool = False, skip_bad: bool = False, now: dt.datetime | None = None,
                  acting_user=None, name: str = "", progress: Progress | None = None) -> ImportResult:
    """Import an upstream platform's order export: each row registered and put in the dispatch queue.

    ``path`` is a file name or a binary file object; ``acting_user`` (default: the system) is who
    registers the orders, a dispatcher or supervisor when imported from the console.
    ``progress(phase, done, total)`` hears how far the check and the write have come.
    """
    now = now or clock.now()
    with Sheet(path, ORDER_COLUMNS) as sheet:
        total = sheet.count()
        result = ImportResult("orders", rows=total, headers=sheet.headers, dry_run=dry_run, keep_bad_rows=skip_bad)
        tick = _Ticker(progress, total)
        lookups = Lookups.load()
        names = {c.key: c.header for c in ORDER_COLUMNS}
        good: list[tuple[int, UpstreamPlatform, dict, list]] = []
        seen: dict[tuple[int, str], int] = {}
        done = 0
        for number, record, values in sheet.rows():
            errors = _order_row_errors(number, record, lookups, names, now, seen, good, values)
            if errors:
                result.add_bad_row(number, values, errors)
            done += 1
            tick("check", done)
        tick("check", done, final=True)
    if result.error_count and not skip_bad:
        return result

    # Already registered under the same upstream number: skipped (same appeal) or refused (other content).
    existing = {}
    for chunk in _chunks([f["upstream_number"] for _, _, f, _ in good]):
        existing.update({(o.upstream_platform_id, o.upstream_number): o for o in WorkOrder.objects.filter(
            source="upstream", upstream_number__in=chunk)})
    to_write = []
    for number, platform, fields, values in good:
        order = existing.get((platform.pk, fields["upstream_number"]))
        if order is None:
            to_write.append((number, platform, fields, values))
        elif same_order(order, fields):
            result.skipped.append(order.number)
        else:
            result.add_bad_row(number, values, [RowError(
                number, "上级工单号", f"已登记为 {order.number}，但内容不同；上级工单号不能重复使用")])
    del good, existing
    if result.error_count and not skip_bad:
        return result

    source = name or source_name(path)
    with transaction.atomic():
        for done, (number, platform, fields, values) in enumerate(to_write, start=1):
            try:
                with transaction.atomic():
                    order, created = register_upstream(platform, fields, at=fields.get("received_at") or now,
                                                       note=f"Excel 导入：{source} 第 {number} 行",
                                                       acting_user=acting_user)
            except (UpstreamError, WorkflowError) as e:
                result.add_bad_row(number, values, [RowError(number, getattr(e, "field", "") or "",
                                                             getattr(e, "message", str(e)))])
                if not skip_bad:
                    break
                continue
            (result.imported if created else result.skipped).append(order.number)
            tick("write", done)
        tick("write", len(to_write), final=True)
        if dry_run or (result.error_count and not skip_bad):
            transaction.set_rollback(True)
            if result.error_count and not skip_bad:
                result.imported = []
    return result


def _order_row_errors(number, record, lookups, names, now, seen, good, values) -> list[RowError]:
    """Check one order row; a good row is appended to ``good``, a bad one's problems returned."""
    errors: list[RowError] = []
    platform_name = str(record.get("platform") or "").strip()
    platform = lookups.platforms.get(platform_name)
    if not platform_name:
        errors.append(RowError(number, "上级平台", "不能为空"))
    elif platform is None:
        known = "、".join(sorted({p.name for p in lookups.platforms.values()}))
        errors.append(RowError(number, "上级平台", f"“{parsing.shown(platform_name)}”不是已启用的上级平台（{known}）"))
    try:
        fields = order_fields(record, lookups, names)
    except UpstreamError as e:
        errors += [RowError(number, column, message.removeprefix(f"字段“{column}”"))
                   for column, message in e.errors]
        fields = None
    if fields and fields.get("received_at") and fields["received_at"] > now:
        errors.append(RowError(number, "登记时间", "不能晚于现在"))
    if fields and platform:
        key = (platform.pk, fields["upstream_number"])
        if key in seen:
            errors.append(RowError(number, "上级工单号", f"与第 {seen[key]} 行重复"))
        seen.setdefault(key, number)
    if not errors:
        good.append((number, platform, fields, values))
    return errors


# ---------------------------------------------------------------------------------------------
# Calls


RESULT_WORDS = {**{label: value for value, label in Call.Result.choices}, **{v: v for v in Call.Result.values},
                "未接通": Call.Result.ABANDONED, "放弃": Call.Result.ABANDONED, "呼损": Call.Result.ABANDONED,
                "建单": Call.Result.ORDER, "咨询": Call.Result.ANSWERED, "无效": Call.Result.INVALID}
ANSWERED_WORDS = {"接通", "已接通"}
UNANSWERED_WORDS = {"未接通"}
MAX_CALL_SECONDS = 86400  # a queue or a conversation of more than a day is a typo


def parse_seconds(value, column: str = "时长") -> int:
    """Seconds from 35, 35.0, "35", "35秒", "1:05", "00:01:05", or an Excel time/duration cell."""
    return parsing.parse_seconds(value, column, maximum=MAX_CALL_SECONDS)


def import_calls(path, *, dry_run: bool = False, skip_bad: bool = False, now: dt.datetime | None = None,
                 batch_size: int = 1000, acting_user=None, name: str = "",
                 progress: Progress | None = None) -> ImportResult:
    """Import a CDR export into ``Call`` rows, in bulk."""
    now = now or clock.now()
    with Sheet(path, CALL_COLUMNS) as sheet:
        total = sheet.count()
        result = ImportResult("calls", rows=total, headers=sheet.headers, dry_run=dry_run, keep_bad_rows=skip_bad)
        tick = _Ticker(progress, total)
        calls: list[Call] = []
        wanted: dict[str, list[tuple[int, list, Call]]] = {}  # order number -> rows naming it
        done = 0
        for number, record, values in sheet.rows():
            errors: list[RowError] = []
            call = _call_row(number, record, now, errors)
            if errors:
                result.add_bad_row(number, values, errors)
            else:
                calls.append(call)
                if call.order_number:
                    wanted.setdefault(call.order_number, []).append((number, values, call))
            done += 1
            tick("check", done)
        tick("check", done, final=True)
    for chunk in _chunks(list(wanted)):
        found = dict(WorkOrder.objects.filter(number__in=chunk).values_list("number", "pk"))
        for order_number in chunk:
            for number, values, call in wanted[order_number]:
                if order_number in found:
                    call.order_id = found[order_number]
                else:
                    result.add_bad_row(number, values, [RowError(number, "工单编号", f"工单 {order_number} 不存在")])
                    call.order_number = None  # marks it bad
    calls = [c for c in calls if c.order_number is not None]
    if result.error_count and not skip_bad:
        return result

    # The same call (time and caller) already recorded, or twice in the file: skipped.
    fresh: list[Call] = []
    known: set = set()
    for chunk in _chunks(calls):
        known |= set(Call.objects.filter(started_at__in={c.started_at for c in chunk})
                     .values_list("started_at", "caller_phone"))
        for call in chunk:
            key = (call.started_at, call.caller_phone)
            if key in known:
                result.skipped.append(f"{clock.local(call.started_at):%Y-%m-%d %H:%M:%S}")
                continue
            known.add(key)
            fresh.append(call)
    del calls, known
    result.imported = [f"{clock.local(c.started_at):%Y-%m-%d %H:%M:%S}" for c in fresh]
    if not dry_run:
        with transaction.atomic():
            for start in range(0, len(fresh), batch_size):
                Call.objects.bulk_create(fresh[start:start + batch_size], batch_size=batch_size)
                tick("write", min(start + batch_size, len(fresh)), final=True)
    tick("write", len(fresh), final=True)
    return result


def _call_row(number: int, record: dict, now: dt.datetime, errors: list[RowError]) -> Call | None:
    def bad(column, message):
        errors.append(RowError(number, column, message))

    started = None
    try:
        started = parsing.parse_datetime(record.get("started_at"), "来电时间", required=True)
    except parsing.ParseError as e:
        bad("来电时间", e.message)
    if started is not None and started > now:
        bad("来电时间", "不能晚于现在")
    phone = record.get("caller_phone")
    phone = str(int(phone)) if isinstance(phone, float) and phone.is_integer() and abs(phone) < 1e15 \
        else str(phone if phone is not None else "").strip()
    try:
        phone = parsing.parse_phone(phone, "主叫号码", required=True)
    except parsing.ParseError as e:
        bad("主叫号码", e.message)
    durations = {}
    for key, column in (("wait_seconds", "排队时长"), ("talk_seconds", "通话时长")):
        try:
            durations[key] = parse_seconds(record.get(key), column)
        except parsing.ParseError as e:
            bad(column, e.message)
    try:
        answered = parsing.parse_bool(record.get("answered"), "是否接通", true_words=ANSWERED_WORDS,
                                      false_words=UNANSWERED_WORDS)
    except parsing.ParseError as e:
        bad("是否接通", e.message)
        answered = False
    if answered is None:
        answered = durations.get("talk_seconds", 0) > 0
    order_number = str(record.get("order_number") or "").strip()
    if len(order_number) > 40:
        bad("工单编号", "过长（不超过 40 个字符）")
    result_text = str(record.get("result") or "").strip()
    if result_text:
        outcome = RESULT_WORDS.get(result_text)
        if outcome is None:
            bad("结果", f"“{parsing.shown(result_text)}”不是可用的结果（{'、'.join(Call.Result.labels)}）")
    else:
        outcome = (Call.Result.ORDER if order_number else
                   Call.Result.ANSWERED if answered else Call.Result.ABANDONED)
    if errors:
        return None
    call = Call(started_at=started, caller_phone=phone, answered=answered, result=outcome, **durations)
    call.order_number = order_number  # looked up for the whole file at once
    return call


# ---------------------------------------------------------------------------------------------
# Templates


def template_workbook(kind: str) -> Workbook:
    """An empty import sheet with the right headers, plus a 说明 sheet: columns and allowed values."""
    columns = KINDS[kind]
    wb = Workbook()
    wb.remove(wb.active)
    # Every header bold and frozen (the 说明 sheet says which are required), at least 12 wide to type in.
    xlsx.table(wb, "工单" if kind == "orders" else "来电记录", [c.header for c in columns],
               widths={c.header: max(12, xlsx.text_width(c.header) + 4) for c in columns})
    notes = xlsx.table(wb, "说明", ["列名", "必填", "说明"], widths={"列名": 16, "说明": 80})
    for c in columns:
        xlsx.append(notes, [c.header, "是" if c.required else "", c.help])
    notes.append([])
    notes.append(["第一张工作表的第 1 行为列名，从第 2 行起每行一条；列的顺序不限，多余的列忽略。"])
    notes.append(["任一行有错时整个文件不导入，并列出每个错误的行号和列名；可用 --skip-bad 只导入正确的行。"])
    notes.append([f"每个文件最多 {MAX_ROWS:,} 行数据，更多请拆分为几个文件分别导入。"])
    if kind == "orders":
        _values_sheet(wb, "可用取值", [
            ("上级平台", UpstreamPlatform.objects.filter(active=True).values_list("name", flat=True)),
            ("诉求类型", AppealType.objects.filter(active=True).values_list("name", flat=True)),
            ("热点分类", Category.objects.classifiable().values_list("full_name", flat=True)),
            ("所在乡镇街道", Unit.objects.filter(active=True, kind__in=Unit.LOCALITY_KINDS)
             .values_list("short_name", flat=True)),
            ("紧急程度", Urgency.labels),
        ])
    else:
        _values_sheet(wb, "可用取值", [("结果", Call.Result.labels), ("是否接通", ["是", "否"])])
    return wb


def _values_sheet(wb: Workbook, title: str, columns: list[tuple[str, Iterable[str]]]) -> None:
    lists = [list(values) for _, values in columns]
    ws = xlsx.table(wb, title, [name for name, _ in columns],
                    widths={name: max((xlsx.text_width(v) for v in values), default=0) + 2
                            for (name, _), values in zip(columns, lists, strict=True)})
    for i in range(max((len(v) for v in lists), default=0)):
        xlsx.append(ws, [v[i] if i < len(v) else None for v in lists])


def write_template(kind: str, path: str | Path) -> None:
    if kind not in KINDS:
        raise ImportFileError(f"没有“{kind}”模板（可用：{'、'.join(KINDS)}）")
    _save(template_workbook(kind), path)
