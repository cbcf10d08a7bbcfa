"""Excel (xlsx) imports: upstream platforms' order exports and the telephony system's call records.

Both importers work in two passes: every row is checked first and every problem reported with
its row number and column (in Chinese, as staff see the sheet); then, only if no row is bad, all
rows are written in one transaction. ``skip_bad`` imports the good rows instead and returns the
bad ones so the command can write them to an error workbook to fix and import again. Importing
the same file twice adds nothing: orders already registered under their upstream number and
calls already recorded (same time, same caller) are skipped and counted.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException

from hotline.catalog.models import AppealType, Category, Urgency
from hotline.directory.models import Unit, UpstreamPlatform
from hotline.intake.models import Call
from hotline.intake.upstream import (
    Lookups,
    UpstreamError,
    order_fields,
    parse_bool,
    parse_datetime,
    register_upstream,
    same_order,
)
from hotline.lib import clock, xlsx
from hotline.workorders.models import WorkOrder
from hotline.workorders.workflow import WorkflowError


class ImportFileError(Exception):
    """The file as a whole cannot be imported (not an xlsx, missing columns)."""


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
    Column("联系电话", "caller_phone", False, "数字和连字符"),
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
    kind: str
    rows: int = 0
    imported: list[str] = field(default_factory=list)  # order numbers, or call times
    skipped: list[str] = field(default_factory=list)  # already there
    errors: list[RowError] = field(default_factory=list)
    bad_rows: list[tuple[int, list]] = field(default_factory=list)  # (row number, original values)
    headers: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        what = "工单" if self.kind == "orders" else "来电记录"
        verb = "可导入" if self.dry_run else "已导入"
        parts = [f"共 {self.rows} 行", f"{verb}{what} {len(self.imported)} 条"]
        if self.skipped:
            parts.append(f"已存在跳过 {len(self.skipped)} 条")
        if self.errors:
            parts.append(f"有错误的行 {len({e.row for e in self.errors})} 行")
        return "，".join(parts)


# ---------------------------------------------------------------------------------------------
# Reading the sheet


def _header_key(text) -> str:
    return re.sub(r"[\s*＊（(].*$", "", str(text or "").strip()) if text else ""


def source_name(path) -> str:
    """The file's name for messages and notes: a path, or an uploaded file object's ``name``."""
    return Path(str(getattr(path, "name", None) or path)).name


def read_sheet(path, columns: list[Column]) -> tuple[list[str], list[tuple[int, dict, list]]]:
    """Headers and ``(row number, {key: value}, original values)`` of the first sheet's non-empty rows."""
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as e:
        raise ImportFileError(f"不是有效的 Excel（.xlsx）文件：{source_name(path)}（{e.__class__.__name__}）") from None
    except OSError as e:
        raise ImportFileError(f"无法读取文件 {path}：{e.strerror or e}") from None
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if not header or not any(header):
            raise ImportFileError("第 1 行须为列名（表头），文件为空或缺少表头")
        headers = [str(h).strip() if h is not None else "" for h in header]
        by_header = {c.header: c for c in columns}
        index: dict[str, int] = {}
        for i, h in enumerate(headers):
            column = by_header.get(_header_key(h))
            if column and column.key not in index:
                index[column.key] = i
        missing = [c.header for c in columns if c.required and c.key not in index]
        if missing:
            raise ImportFileError(f"缺少必填列：{'、'.join(missing)}（第 1 行须为列名，可下载导入模板对照）")
        out = []
        for number, values in enumerate(rows, start=2):
            values = list(values)
            if not any(v not in (None, "") and str(v).strip() for v in values):
                continue
            record = {key: (values[i] if i < len(values) else None) for key, i in index.items()}
            out.append((number, record, values))
        return headers, out
    finally:
        wb.close()


def write_error_workbook(result: ImportResult, path: str | Path) -> None:
    """The bad rows as they were, with a last column 错误说明, ready to be fixed and imported again."""
    by_row: dict[int, list[str]] = {}
    for e in result.errors:
        by_row.setdefault(e.row, []).append(str(e))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("错误行")
    xlsx.append(ws, [*result.headers, "错误说明", "原行号"])
    for number, values in result.bad_rows:
        padded = list(values) + [None] * (len(result.headers) - len(values))
        xlsx.append(ws, [*padded[:len(result.headers)], "；".join(by_row.get(number, [])), number])
    _save(wb, path)


def _save(wb: Workbook, path: str | Path) -> None:
    """Write next to the target and rename: a reader never sees half a workbook."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    wb.save(tmp)
    tmp.replace(path)


# ---------------------------------------------------------------------------------------------
# Orders


def import_orders(path, *, dry_run: bool = False, skip_bad: bool = False, now: dt.datetime | None = None,
                  acting_user=None, name: str = "") -> ImportResult:
    """Import an upstream platform's order export: each row registered and put in the dispatch queue.

    ``path`` is a file name or a binary file object; ``acting_user`` (default: the system) is who
    registers the orders, a dispatcher or supervisor when imported from the console.
    """
    now = now or timezone.now()
    headers, rows = read_sheet(path, ORDER_COLUMNS)
    result = ImportResult("orders", rows=len(rows), headers=headers, dry_run=dry_run)
    lookups = Lookups.load()
    names = {c.key: c.header for c in ORDER_COLUMNS}
    good: list[tuple[int, UpstreamPlatform, dict, list]] = []
    seen: dict[tuple[int, str], int] = {}
    for number, record, values in rows:
        errors: list[RowError] = []
        platform_name = str(record.get("platform") or "").strip()
        platform = lookups.platforms.get(platform_name)
        if not platform_name:
            errors.append(RowError(number, "上级平台", "不能为空"))
        elif platform is None:
            known = "、".join(p.name for p in UpstreamPlatform.objects.filter(active=True))
            errors.append(RowError(number, "上级平台", f"“{platform_name}”不是已启用的上级平台（{known}）"))
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
        if errors:
            result.errors += errors
            result.bad_rows.append((number, values))
        else:
            good.append((number, platform, fields, values))
    if result.errors and not skip_bad:
        return result

    # Already registered under the same upstream number: skipped (same appeal) or refused (other content).
    existing = {(o.upstream_platform_id, o.upstream_number): o for o in WorkOrder.objects.filter(
        source="upstream", upstream_number__in=[f["upstream_number"] for _, _, f, _ in good])}
    to_write = []
    for number, platform, fields, values in good:
        order = existing.get((platform.pk, fields["upstream_number"]))
        if order is None:
            to_write.append((number, platform, fields, values))
        elif same_order(order, fields):
            result.skipped.append(order.number)
        else:
            result.errors.append(RowError(number, "上级工单号", f"已登记为 {order.number}，但内容不同；上级工单号不能重复使用"))
            result.bad_rows.append((number, values))
    if result.errors and not skip_bad:
        return result

    source = name or source_name(path)
    with transaction.atomic():
        for number, platform, fields, values in to_write:
            try:
                with transaction.atomic():
                    order, created = register_upstream(platform, fields, at=fields.get("received_at") or now,
                                                       note=f"Excel 导入：{source} 第 {number} 行",
                                                       acting_user=acting_user)
            except (UpstreamError, WorkflowError) as e:
                result.errors.append(RowError(number, getattr(e, "field", "") or "", getattr(e, "message", str(e))))
                result.bad_rows.append((number, values))
                if not skip_bad:
                    break
                continue
            (result.imported if created else result.skipped).append(order.number)
        if dry_run or (result.errors and not skip_bad):
            transaction.set_rollback(True)
            if result.errors and not skip_bad:
                result.imported = []
    result.bad_rows.sort()
    return result


# ---------------------------------------------------------------------------------------------
# Calls


RESULT_WORDS = {**{label: value for value, label in Call.Result.choices}, **{v: v for v in Call.Result.values},
                "未接通": Call.Result.ABANDONED, "放弃": Call.Result.ABANDONED, "呼损": Call.Result.ABANDONED,
                "建单": Call.Result.ORDER, "咨询": Call.Result.ANSWERED, "无效": Call.Result.INVALID}


def parse_seconds(value) -> int:
    """Seconds from 35, 35.0, "35", "35秒", "1:05", "00:01:05", or an Excel time/duration cell."""
    if value in (None, ""):
        return 0
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, dt.time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second
    elif isinstance(value, bool):
        raise ValueError
    elif isinstance(value, int | float):
        seconds = value
    else:
        text = str(value).strip().removesuffix("秒").strip()
        if ":" in text:
            parts = [int(p) for p in text.split(":")]
            if len(parts) > 3 or any(p < 0 for p in parts):
                raise ValueError
            seconds = 0
            for part in parts:
                seconds = seconds * 60 + part
        else:
            seconds = float(text)
    if seconds < 0:
        raise ValueError
    return int(round(seconds))


def import_calls(path, *, dry_run: bool = False, skip_bad: bool = False, now: dt.datetime | None = None,
                 batch_size: int = 1000, acting_user=None, name: str = "") -> ImportResult:
    """Import a CDR export into ``Call`` rows, in bulk."""
    now = now or timezone.now()
    headers, rows = read_sheet(path, CALL_COLUMNS)
    result = ImportResult("calls", rows=len(rows), headers=headers, dry_run=dry_run)
    numbers = {str(r["order_number"]).strip() for _, r, _ in rows if r.get("order_number")}
    orders = dict(WorkOrder.objects.filter(number__in=numbers).values_list("number", "pk")) if numbers else {}
    calls: list[tuple[int, Call]] = []
    for number, record, values in rows:
        errors = []

        def bad(column, message, number=number, errors=errors):
            errors.append(RowError(number, column, message))

        started = None
        try:
            started = parse_datetime(record.get("started_at"))
        except (TypeError, ValueError):
            bad("来电时间", f"“{record.get('started_at')}”不是有效的时间")
        if started is None and not errors:
            bad("来电时间", "不能为空")
        elif started is not None and started > now:
            bad("来电时间", "不能晚于现在")
        phone = record.get("caller_phone")
        phone = str(int(phone)) if isinstance(phone, float) and phone.is_integer() else str(phone or "").strip()
        if not phone:
            bad("主叫号码", "不能为空")
        elif len(phone) > 30 or not phone.replace("-", "").replace("+", "").isdigit():
            bad("主叫号码", f"“{phone}”不是有效的电话号码")
        durations = {}
        for key, column in (("wait_seconds", "排队时长"), ("talk_seconds", "通话时长")):
            try:
                durations[key] = parse_seconds(record.get(key))
            except (TypeError, ValueError):
                bad(column, f"“{record.get(key)}”不是有效的时长（秒数，或 分:秒）")
        answered_cell = record.get("answered")
        try:
            answered = (parse_bool(answered_cell) if answered_cell not in (None, "")
                        else durations.get("talk_seconds", 0) > 0)
        except ValueError:
            bad("是否接通", f"“{answered_cell}”不是是/否")
            answered = False
        order_number = str(record.get("order_number") or "").strip()
        if order_number and order_number not in orders:
            bad("工单编号", f"工单 {order_number} 不存在")
        result_text = str(record.get("result") or "").strip()
        if result_text:
            outcome = RESULT_WORDS.get(result_text)
            if outcome is None:
                bad("结果", f"“{result_text}”不是可用的结果（{'、'.join(Call.Result.labels)}）")
        else:
            outcome = (Call.Result.ORDER if order_number else
                       Call.Result.ANSWERED if answered else Call.Result.ABANDONED)
        if errors:
            result.errors += errors
            result.bad_rows.append((number, values))
            continue
        calls.append((number, Call(started_at=started, caller_phone=phone, answered=answered, result=outcome,
                                   order_id=orders.get(order_number), **durations)))
    if result.errors and not skip_bad:
        return result

    # The same call (time and caller) already recorded, or twice in the file: skipped.
    fresh: list[Call] = []
    if calls:
        times = [c.started_at for _, c in calls]
        known = set(Call.objects.filter(started_at__gte=min(times), started_at__lte=max(times))
                    .values_list("started_at", "caller_phone"))
        for _, call in calls:
            key = (call.started_at, call.caller_phone)
            if key in known:
                result.skipped.append(f"{clock.local(call.started_at):%Y-%m-%d %H:%M:%S}")
                continue
            known.add(key)
            fresh.append(call)
    result.imported = [f"{clock.local(c.started_at):%Y-%m-%d %H:%M:%S}" for c in fresh]
    if not dry_run:
        with transaction.atomic():
            Call.objects.bulk_create(fresh, batch_size=batch_size)
    return result


# ---------------------------------------------------------------------------------------------
# Templates


def template_workbook(kind: str) -> Workbook:
    """An empty import sheet with the right headers, plus a 说明 sheet: columns and allowed values."""
    columns = KINDS[kind]
    wb = Workbook()
    ws = wb.active
    ws.title = "工单" if kind == "orders" else "来电记录"
    ws.append([c.header for c in columns])
    for i, c in enumerate(columns, start=1):
        ws.cell(row=1, column=i).font = Font(bold=c.required)
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = max(12, len(c.header) * 3)
    ws.freeze_panes = "A2"
    notes = wb.create_sheet("说明")
    notes.append(["列名", "必填", "说明"])
    for c in columns:
        xlsx.append(notes, [c.header, "是" if c.required else "", c.help])
    notes.append([])
    notes.append(["第一张工作表的第 1 行为列名，从第 2 行起每行一条；列的顺序不限，多余的列忽略。"])
    notes.append(["任一行有错时整个文件不导入，并列出每个错误的行号和列名；可用 --skip-bad 只导入正确的行。"])
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
    ws = wb.create_sheet(title)
    lists = [list(values) for _, values in columns]
    xlsx.append(ws, [name for name, _ in columns])
    for i in range(max((len(v) for v in lists), default=0)):
        xlsx.append(ws, [v[i] if i < len(v) else None for v in lists])


def write_template(kind: str, path: str | Path) -> None:
    if kind not in KINDS:
        raise ImportFileError(f"没有“{kind}”模板（可用：{'、'.join(KINDS)}）")
    _save(template_workbook(kind), path)
