"""The JSON API over work orders: thin views that parse, authorize, call one action and answer JSON.

Authentication is the console's session (log in at /accounts/login/, send the ``csrftoken``
cookie back as ``X-CSRFToken``), so any app process behind the load balancer serves any request.
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from hotline.accounts.access import audit_order_view, shield_text
from hotline.catalog.models import AppealType, Category
from hotline.directory.models import Unit
from hotline.lib import clock, parsing
from hotline.lib.clientip import client_ip
from hotline.lib.text import TextError, clean_text, scrub_data
from hotline.workorders import actions, lookups, queries
from hotline.workorders.visibility import access_work_order_by_id
from hotline.workorders.workflow import WorkflowError

TEXT_FIELDS = ("title", "content", "urgency", "source", "caller_name", "caller_phone", "address", "note")
MULTILINE_FIELDS = {"content", "note"}
FIELD_LABELS = {"title": "标题", "content": "诉求内容", "caller_name": "来电人", "caller_phone": "联系电话",
                "address": "详细地址", "note": "说明", "urgency": "紧急程度", "source": "来源"}


def text_fields(data: dict) -> dict:
    """The order's text fields through the one text boundary (hotline.lib.text); NUL is refused
    with the field named (``WorkflowError``, a 400)."""
    fields = {}
    for name in TEXT_FIELDS:
        if data.get(name) in (None, ""):
            continue
        try:
            fields[name] = clean_text(str(data[name]), single_line=name not in MULTILINE_FIELDS)
        except TextError as exc:
            raise WorkflowError(f"{FIELD_LABELS[name]}{exc}") from None
    return fields


MAX_BODY_BYTES = 256 * 1024


def _error(message: str, status: int, field: str = "") -> JsonResponse:
    return _json({"error": message, "field": field} if field else {"error": message}, status)


def _json(data: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(scrub_data(data), status=status, json_dumps_params={"ensure_ascii": False})


def _text(data: dict, name: str) -> str:
    """A text field of the body; a number is read as its digits, anything else is refused."""
    value = data.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise parsing.ParseError(name, "须为文本")
    return str(value)


def _ref(data: dict, name: str) -> int | str | None:
    """A reference row named by its id (a JSON number) or its name or code (text)."""
    value = data.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return parsing.parse_int(value, name, minimum=1, maximum=2**63 - 1)
    if not isinstance(value, str):
        raise parsing.ParseError(name, "须为名称、编码或编号")
    return value


def _lookup(model, value, what: str):
    if value in (None, ""):
        return None
    found = lookups.find(model, value)
    if found is None:
        raise WorkflowError(f"未知的{what}：{parsing.shown(value)}")
    return found


def order_json(order, *, overdue_at: dt.datetime | None = None) -> dict:
    """The order as the API returns it; ``overdue_at``: its overdue stamp (``queries.overdue_stamp``)."""
    return {
        "id": order.pk,
        "number": order.number,
        "status": order.status,
        "title": order.title,
        # With the center's offset (+08:00), as the console shows them, not the database's UTC.
        "received_at": clock.local(order.received_at).isoformat(),
        "handle_deadline": clock.local(order.handle_deadline).isoformat() if order.handle_deadline else None,
        "overdue_at": clock.local(overdue_at).isoformat() if overdue_at else None,
    }


@parsing.reads_raw_body
@require_POST
def orders(request):
    """POST /api/orders/ — register an order; 201 with its number, 400 with the reason it was refused."""
    if not request.user.is_authenticated:
        return _error("请先登录", 401)
    try:
        data = parsing.parse_json(request.body or b"{}", max_bytes=MAX_BODY_BYTES)
        if not isinstance(data, dict):
            raise parsing.ParseError("请求体", "应为 JSON 对象")
        fields = text_fields({name: _text(data, name) for name in TEXT_FIELDS})
        fields["appeal_type"] = _lookup(AppealType, _ref(data, "appeal_type") or "problem", "诉求类型")
        fields["category"] = _lookup(Category, _ref(data, "category"), "热点分类")
        fields["town"] = _lookup(Unit, _ref(data, "town"), "乡镇街道")
        fields["confidential"] = bool(parsing.parse_bool(data.get("confidential"), "confidential"))
        fields.setdefault("title", "")
        fields.setdefault("content", "")
        # The receipt SMS is queued in the outbox with the order: an acknowledged order always gets it.
        order = actions.register_order(acting_user=request.user, **fields)
    except parsing.ParseError as exc:
        return _error(str(exc), exc.status, field=exc.field)
    except WorkflowError as exc:
        return _error(str(exc), 400)
    return _json(order_json(order), 201)


@require_GET
def order_detail(request, key: str):
    """GET /api/orders/<id or number>/ — 404 alike for a missing order and someone else's."""
    if not request.user.is_authenticated:
        return _error("请先登录", 401)
    try:
        order = access_work_order_by_id(request.user, key)
    except Http404:
        return _error("工单不存在或无权查看", 404)
    audit_order_view(request.user, order, ip=client_ip(request), via="api")
    data = order_json(order, overdue_at=queries.overdue_stamp(order))
    data["title"] = shield_text(request.user, order, order.title)
    return _json(data)
