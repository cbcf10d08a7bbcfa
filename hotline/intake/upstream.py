"""Upstream platforms in and out: orders pushed down to us, results reported back up (回复上级).

In: an upstream platform POSTs an order as JSON to ``/intake/upstream/<platform code>/orders``,
signed with the platform's shared secret (``UpstreamCredential``)::

    X-Hotline-Timestamp: 1688353200                      (Unix seconds, within ±5 minutes)
    X-Hotline-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

The timestamp is part of what is signed, so a captured request cannot be replayed later with a
new timestamp; inside the window a replay is harmless because pushes are idempotent on the
upstream number (the same number returns the order already registered).

Out: ``report_back_upstream(order_id)`` POSTs the result of an upstream order once its answer is
approved (not after the local callback), signed the same way, to the platform's
``report_back_url``; a 2xx answer is recorded with
``actions.report_back``. Every attempt is a ``ReportBackAttempt`` row; a failed one raises so the
task shows as failed, and ``hotline upstream retry`` sends it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_tasks import TaskResultStatus, task

from hotline.catalog.models import AppealType, Category, Source, Urgency
from hotline.directory.models import Unit, UpstreamPlatform
from hotline.intake.models import ReportBackAttempt, UpstreamCredential
from hotline.lib import clock, parsing
from hotline.lib.text import TextError, clean_text, scrub_data
from hotline.workorders import actions
from hotline.workorders.models import WorkOrder
from hotline.workorders.workflow import Status, WorkflowError

logger = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Hotline-Timestamp"
SIGNATURE_HEADER = "X-Hotline-Signature"
MAX_SKEW = dt.timedelta(minutes=5)
MAX_BODY_BYTES = 256 * 1024
REPORT_TIMEOUT_SECONDS = 15


class UpstreamError(Exception):
    """A refused push: an HTTP status and a Chinese message (and the offending fields, if any)."""

    def __init__(self, status: int, message: str, field: str = "", errors: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field
        self.errors = errors or ([(field, message)] if field else [])

    def as_json(self) -> dict:
        out = {"error": self.message}
        if self.field:
            out["field"] = self.field
        if len(self.errors) > 1:
            out["errors"] = [{"field": f, "error": m} for f, m in self.errors]
        return out


# ---------------------------------------------------------------------------------------------
# Signing (both directions)


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``: ``sha256=<hex>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, now: dt.datetime | None = None) -> dict[str, str]:
    timestamp = str(int((now or timezone.now()).timestamp()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body),
            "Content-Type": "application/json; charset=utf-8"}


def verify(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: dt.datetime) -> None:
    """Raise ``UpstreamError(403)`` unless ``signature`` signs ``body`` at a ``timestamp`` near ``now``."""
    if not timestamp or not signature:
        raise UpstreamError(403, f"缺少签名：请求须带 {TIMESTAMP_HEADER} 和 {SIGNATURE_HEADER} 请求头")
    try:
        sent = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise UpstreamError(403, f"{TIMESTAMP_HEADER} 须为 Unix 时间戳（秒）") from None
    if abs(now - sent) > MAX_SKEW:
        raise UpstreamError(403, "请求时间戳与本平台时间相差超过 5 分钟，已拒绝（防重放）；请校准时钟后重新签名发送")
    if not hmac.compare_digest(sign(secret, timestamp, body), signature.strip()):
        raise UpstreamError(403, "签名校验失败：请用本平台分配的密钥对“时间戳.请求体”做 HMAC-SHA256 签名")


# ---------------------------------------------------------------------------------------------
# In: parsing a pushed order


@dataclass
class Lookups:
    """Appeal types, categories and towns by every name an upstream platform may use for them."""

    appeal_types: dict[str, AppealType]
    categories: dict[str, Category]
    towns: dict[str, Unit]
    platforms: dict[str, UpstreamPlatform]

    @classmethod
    def load(cls) -> Lookups:
        appeal_types = {}
        for a in AppealType.objects.filter(active=True):
            appeal_types[a.code] = appeal_types[a.name] = a
            appeal_types[a.name.removesuffix("类")] = a
        categories = {}
        for c in Category.objects.classifiable().select_related("parent"):
            categories[c.code] = categories[normalize_category(c.full_name)] = c
        towns = {}
        for u in Unit.objects.filter(active=True, kind__in=Unit.LOCALITY_KINDS):
            towns[u.name] = towns[u.short_name] = u
        platforms = {}
        for p in UpstreamPlatform.objects.filter(active=True):
            for key in (p.code, p.name, p.short_name):
                if key:
                    platforms[key] = p
        return cls(appeal_types, categories, towns, platforms)


def normalize_category(text: str) -> str:
    """``政务服务-网点服务``, ``政务服务／网点服务``, ``政务服务 — 网点服务`` all mean ``政务服务—网点服务``."""
    text = "".join(str(text).split())
    for dash in ("－", "-", "–", "——", "/", "／", "\\", ">"):
        text = text.replace(dash, "—")
    while "——" in text:
        text = text.replace("——", "—")
    return text


CONFIDENTIAL_WORDS, OPEN_WORDS = {"保密"}, {"不保密", "公开", "none"}


URGENCY_WORDS = {**{label: value for value, label in Urgency.choices}, **{v: v for v in Urgency.values}}


def order_fields(data: dict, lookups: Lookups, field_names: dict[str, str] | None = None) -> dict:
    """Check one pushed or imported order and return ``actions.register_order`` keyword arguments.

    ``data`` uses the push API's keys; ``field_names`` maps them to the names shown in errors (the
    Excel column headers). Every bad field is reported: ``UpstreamError(400)`` carries them all in
    ``errors`` as (field, message), the first one in ``field``/``message``.
    """
    names = field_names or {}
    errors: list[tuple[str, str]] = []

    def bad(key: str, message: str) -> None:
        label = names.get(key, key)
        errors.append((label, f"字段“{label}”{message}"))

    def text(key: str, *, required: bool = False, max_length: int | None = None, single_line: bool = True) -> str:
        value = data.get(key)
        if value is None:
            value = ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, str | int):
            bad(key, "须为文本")
            return ""
        try:  # the one text boundary (hotline.lib.text): NUL refused, controls removed
            value = clean_text(str(value), single_line=single_line).strip()
        except TextError as e:
            bad(key, str(e))
            return ""
        if required and not value:
            bad(key, "不能为空")
        if max_length and len(value) > max_length:
            bad(key, f"超过 {max_length} 个字符")
        return value

    fields = {
        "upstream_number": text("upstream_number", required=True, max_length=40),
        "title": text("title", required=True, max_length=120),
        "content": text("content", required=True, single_line=False),
        "address": text("address", max_length=200),
        "caller_name": text("caller_name", max_length=40),
        "caller_phone": text("caller_phone", max_length=30),
    }
    try:
        fields["caller_phone"] = parsing.parse_phone(fields["caller_phone"], "caller_phone")
    except parsing.ParseError as e:
        bad("caller_phone", e.message)
    appeal = text("appeal_type", required=True)
    if appeal and appeal not in lookups.appeal_types:
        known = "、".join(sorted({a.name for a in lookups.appeal_types.values()}))
        bad("appeal_type", f"“{parsing.shown(appeal)}”不是已启用的诉求类型（{known}）")
    fields["appeal_type"] = lookups.appeal_types.get(appeal)
    category = text("category")
    if category:
        fields["category"] = lookups.categories.get(category) or lookups.categories.get(normalize_category(category))
        if fields["category"] is None:
            bad("category", f"“{parsing.shown(category)}”不是已启用的二级或三级热点分类（格式：一级—二级[—三级]，或分类编码）")
    town = text("town")
    if town:
        fields["town"] = lookups.towns.get(town)
        if fields["town"] is None:
            bad("town", f"“{parsing.shown(town)}”不是本市的乡镇街道")
    urgency = text("urgency") or Urgency.NORMAL
    if urgency not in URGENCY_WORDS:
        bad("urgency", f"“{parsing.shown(urgency)}”不是一般、紧急或特急")
    fields["urgency"] = URGENCY_WORDS.get(urgency, Urgency.NORMAL)
    try:
        fields["confidential"] = bool(parsing.parse_bool(
            data.get("confidential"), names.get("confidential", "confidential"),
            true_words=CONFIDENTIAL_WORDS, false_words=OPEN_WORDS))
    except parsing.ParseError as e:
        bad("confidential", e.message)
    for key, end_of_day in (("upstream_deadline", True), ("received_at", False)):
        try:
            fields[key] = parsing.parse_datetime(data.get(key), names.get(key, key), end_of_day=end_of_day)
        except parsing.ParseError as e:
            bad(key, e.message)
    if errors:
        raise UpstreamError(400, errors[0][1], errors[0][0], errors)
    return fields


def same_order(order: WorkOrder, fields: dict) -> bool:
    return order.title == fields["title"][:120] and order.content == fields["content"]


def register_upstream(platform: UpstreamPlatform, fields: dict, *, at: dt.datetime | None = None,
                      note: str = "", acting_user=None) -> tuple[WorkOrder, bool]:
    """Register an upstream order and put it in the dispatch queue; ``(order, created)``.

    The same upstream number again returns the order already registered (``created`` False) when
    it is the same appeal, and is refused when the content differs: the number is the upstream
    platform's key and may not be reused. A concurrent push of the same number loses on the
    ``wo_upstream_number_unique`` constraint and is answered the same way.
    """
    fields = dict(fields)
    received_upstream = fields.pop("received_at", None)
    number = fields["upstream_number"]

    def existing() -> WorkOrder | None:
        order = WorkOrder.objects.filter(source=Source.UPSTREAM, upstream_platform=platform,
                                         upstream_number=number).first()
        if order is not None and not same_order(order, fields):
            raise UpstreamError(409, f"上级工单号 {number} 已登记为 {order.number}，但本次内容不同；"
                                     "上级工单号不能重复使用", "upstream_number")
        return order

    found = existing()
    if found is not None:
        return found, False
    if not note:
        note = f"{platform.name}推送"
        if received_upstream:
            note += f"，上级登记时间 {clock.local(received_upstream):%Y-%m-%d %H:%M}"
    try:
        with transaction.atomic():
            order = actions.register_order(acting_user=acting_user, at=at, source=Source.UPSTREAM,
                                           upstream_platform=platform, note=note, **fields)
            order = actions.submit_for_dispatch(order, acting_user=acting_user, at=at, note="上级交办，进入待派单")
    except IntegrityError:
        found = existing()
        if found is None:
            raise
        return found, False
    except WorkflowError as e:
        if "已登记" in str(e):
            found = existing()
            if found is not None:
                return found, False
        raise UpstreamError(400, str(e)) from None
    return order, True


def receive_push(platform_code: str, body: bytes, headers, now: dt.datetime | None = None) -> tuple[int, dict]:
    """Handle one push; return ``(HTTP status, JSON body)``. Nothing is written unless it is accepted."""
    now = now or timezone.now()
    try:
        credential = (UpstreamCredential.objects.select_related("platform")
                      .filter(platform__code=platform_code, active=True, platform__active=True).first())
        if credential is None:
            # Unknown platform and disabled interface look the same: no hint what codes exist.
            raise UpstreamError(403, "该上级平台未开通推送接口，或平台代码有误")
        if len(body) > MAX_BODY_BYTES:
            raise UpstreamError(413, f"请求体过大（上限 {MAX_BODY_BYTES // 1024} KB）")
        verify(credential.secret, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER), body, now)
        try:
            data = parsing.parse_json(body, max_bytes=MAX_BODY_BYTES)
        except parsing.ParseError as e:
            raise UpstreamError(e.status, str(e)) from None
        if not isinstance(data, dict):
            raise UpstreamError(400, "请求体须为一个 JSON 对象")
        fields = order_fields(data, Lookups.load())
        order, created = register_upstream(credential.platform, fields, at=now)
    except UpstreamError as e:
        logger.warning("upstream push %s refused: %s %s", platform_code, e.status, e.message)
        return e.status, e.as_json()
    UpstreamCredential.objects.filter(pk=credential.pk).update(last_seen=now)
    return (201 if created else 200), {"number": order.number, "upstream_number": order.upstream_number,
                                       "status": order.status, "created": created}


# ---------------------------------------------------------------------------------------------
# Out: reporting the result back


class ReportBackFailed(Exception):
    """The upstream platform did not accept the report; the attempt is recorded, the task retried."""


def report_payload(order: WorkOrder) -> dict:
    return {
        "upstream_number": order.upstream_number,
        "number": order.number,
        "status": order.status,
        "answer": order.answer,
        "is_solved": order.is_solved if order.is_solved is not None else order.callback_solved,
        "satisfaction": order.satisfaction,
        "satisfaction_label": order.get_satisfaction_display() if order.satisfaction else "",
        "closed_at": order.closed_at.isoformat() if order.closed_at else None,
    }


# The result is due upstream once the center has approved the answer (审核通过), not after the
# local callback: the upstream platform's deadline runs on the answer, and it calls the citizen
# back itself. A local callback that reopens the order (重办) is reported again only by hand.
REPORTABLE = (Status.AWAITING_CALLBACK, Status.CLOSED)


def due_for_report():
    """Answered (approved or closed) upstream orders not yet reported back, on platforms with a
    report-back address."""
    return (WorkOrder.objects.filter(source=Source.UPSTREAM, status__in=[s.value for s in REPORTABLE],
                                     reported_back_at__isnull=True)
            .exclude(upstream_platform__report_back_url=""))


def _post(url: str, body: bytes, headers: dict) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=REPORT_TIMEOUT_SECONDS) as response:
            return response.status, response.read(2000).decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read(2000).decode("utf-8", "replace")


@task()
def report_back_upstream(order_id: int) -> str:
    """Report one answered upstream order's result to its platform; idempotent.

    Returns what happened (``reported``, ``already``, ``not_due``); raises ``ReportBackFailed``
    after recording a failed attempt, so the task result shows the failure.
    """
    order = WorkOrder.objects.select_related("upstream_platform").filter(pk=order_id).first()
    if order is None or not order.is_upstream or order.status not in REPORTABLE:
        return "not_due"
    if order.reported_back_at:
        return "already"
    platform = order.upstream_platform
    url = platform.report_back_url
    credential = UpstreamCredential.objects.filter(platform=platform).first()
    started = time.monotonic()
    attempt = ReportBackAttempt(order=order, at=timezone.now(), url=url)
    try:
        if not url:
            raise ReportBackFailed(f"{platform.name}未配置回复接口地址")
        if credential is None:
            raise ReportBackFailed(f"{platform.name}未配置接口密钥，无法签名")
        body = json.dumps(scrub_data(report_payload(order)), ensure_ascii=False).encode()
        try:
            status, text = _post(url, body, signed_headers(credential.secret, body))
        except (OSError, ValueError) as e:  # refused, timed out, DNS, bad URL
            raise ReportBackFailed(f"连接{platform.name}失败：{e}") from None
        attempt.http_status = status
        if not 200 <= status < 300:
            raise ReportBackFailed(f"{platform.name}返回 HTTP {status}：{text[:200]}")
    except ReportBackFailed as e:
        attempt.error = str(e)
        attempt.duration_ms = int((time.monotonic() - started) * 1000)
        attempt.save(force_insert=True)
        logger.warning("report back %s failed: %s", order.number, e)
        raise
    attempt.ok = True
    attempt.duration_ms = int((time.monotonic() - started) * 1000)
    with transaction.atomic():
        attempt.save(force_insert=True)
        try:
            actions.report_back(order, acting_user=None, at=attempt.at,
                                note=f"已通过接口回复{platform.name}（HTTP {attempt.http_status}）")
        except WorkflowError:
            # A concurrent run reported it first; the platform got the same payload twice, which
            # it must accept (it is keyed by upstream_number).
            return "already"
    return "reported"


def _queued_order_ids() -> set[int]:
    """Orders that already have a report-back task waiting or running (database queue only)."""
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    if not isinstance(report_back_upstream.get_backend(), DatabaseBackend):
        return set()
    rows = DBTaskResult.objects.filter(
        task_path=report_back_upstream.module_path,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
    ).values_list("args_kwargs", flat=True)
    return {row.get("kwargs", {}).get("order_id") for row in rows}


def enqueue_reports(*, retry: bool = False, failed_before: dt.datetime | None = None) -> list[str]:
    """Enqueue ``report_back_upstream`` for closed upstream orders not reported back; their numbers.

    Without ``retry`` only orders never attempted are taken (what the scheduler runs every few
    minutes); with ``retry`` also those whose attempts failed, if the last one is older than
    ``failed_before``. An order whose task is already queued is skipped, so running this twice
    enqueues nothing new.
    """
    candidates = due_for_report()
    attempted = ReportBackAttempt.objects.filter(order=OuterRef("pk"))
    if not retry:
        candidates = candidates.filter(~Exists(attempted))
    elif failed_before is not None:
        candidates = candidates.filter(~Exists(attempted.filter(at__gte=failed_before)))
    queued = _queued_order_ids()
    numbers = []
    for pk, number in candidates.order_by("closed_at", "pk").values_list("pk", "number"):
        if pk in queued:
            continue
        report_back_upstream.enqueue(order_id=pk)
        numbers.append(number)
    return numbers


def schedule_reports(now: dt.datetime | None = None, retry_after: dt.timedelta = dt.timedelta(minutes=10)) -> list[str]:
    """What a scheduler tick calls: new reports, plus failed ones whose last attempt is older than
    ``retry_after``. Safe to call from several schedulers: an order already queued is skipped, and
    a report that still ends up sent twice is answered ``already`` by the second run (the platform
    may get the same payload twice, keyed by ``upstream_number``)."""
    return enqueue_reports(retry=True, failed_before=(now or timezone.now()) - retry_after)
