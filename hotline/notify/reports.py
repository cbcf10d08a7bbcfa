"""Delivery reports (状态报告) from Kannel: what became of an SMS after the gateway took it."""

from __future__ import annotations

import datetime as dt
import hmac

from django.db import transaction

from hotline.lib import clock
from hotline.notify.channels import dlr_token
from hotline.notify.models import Delivery

Status = Delivery.Status

# Kannel's report types: 1 delivered to the phone, 2 not delivered, 4 queued at the SMSC,
# 8 accepted by the SMSC, 16 rejected by the SMSC.
REPORT_LABELS = {1: "已送达手机", 2: "未送达手机", 4: "短信中心排队", 8: "短信中心已接收", 16: "短信中心拒收"}
DELIVERED, UNDELIVERED, QUEUED, ACCEPTED, REJECTED = 1, 2, 4, 8, 16


FORBIDDEN = "令牌无效"


class ReportError(Exception):
    pass


def record_report(delivery_id: str, token: str, report_type: str, *, reply: str = "", foreign_id: str = "",
                  at: dt.datetime | None = None) -> Delivery:
    """Record one delivery report. A report proves the gateway has the message, so a row a dead
    worker left ``sending`` becomes ``sent`` here; a final report (delivered, undeliverable,
    rejected) sets the row's end state; an earlier one arriving late never undoes a later one."""
    # Nothing is read from a request that does not prove it comes from our own report URL.
    try:
        pk = int(delivery_id)
    except (TypeError, ValueError):
        raise ReportError(FORBIDDEN) from None
    if not hmac.compare_digest(dlr_token(pk), token or ""):
        raise ReportError(FORBIDDEN)
    try:
        kind = int(report_type)
    except (TypeError, ValueError):
        raise ReportError("状态报告类型无效") from None
    if kind not in REPORT_LABELS:
        raise ReportError("未知的状态报告类型")
    now = at or clock.now()
    with transaction.atomic():
        row = Delivery.objects.select_for_update().filter(pk=pk).first()
        if row is None:
            raise ReportError("消息不存在")
        fields = {"report_status": REPORT_LABELS[kind], "report_at": now}
        if foreign_id and not row.gateway_id:
            fields["gateway_id"] = foreign_id[:100]
        if row.status in (Status.SENDING, Status.PENDING) and kind in (QUEUED, ACCEPTED):
            fields.update(status=Status.SENT, sent_at=row.sent_at or now, lease_until=None)
        if kind == DELIVERED and row.status != Status.DELIVERED:
            fields.update(status=Status.DELIVERED, sent_at=row.sent_at or now, lease_until=None)
        elif kind in (UNDELIVERED, REJECTED) and row.status != Status.DELIVERED:
            fields.update(status=Status.FAILED, lease_until=None,
                          last_error=f"状态报告：{REPORT_LABELS[kind]}（{reply[:100]}）" if reply else
                          f"状态报告：{REPORT_LABELS[kind]}")
        if row.status == Status.DELIVERED:  # final: later reports only noted, status stays
            fields = {k: v for k, v in fields.items() if k in ("report_at", "gateway_id")}
        for name, value in fields.items():
            setattr(row, name, value)
        row.save(update_fields=sorted(fields))
    return row
