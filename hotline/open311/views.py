"""Open311 GeoReport v2 over work orders: services are the level-2 hotspot categories, service
requests are work orders. Reading needs no key and shows no personal data (no caller name, phone,
street address or free text with phone numbers); creating needs an active ``Open311Client`` key
and registers the order through ``actions.register_order`` as the system actor, source "app".
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.db import transaction
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from hotline.accounts.access import outside_text
from hotline.catalog.models import AppealType, Category, Source
from hotline.lib import clock, parsing
from hotline.lib.text import TextError, clean_text
from hotline.open311.georeport import CONTENT_TYPES, error_list, to_json, to_xml
from hotline.open311.models import Open311Client
from hotline.workorders import actions
from hotline.workorders.models import WorkOrder
from hotline.workorders.workflow import TERMINAL, WorkflowError

DESCRIPTION_CHARS = 60
DEFAULT_DAYS = 90  # GeoReport v2: without dates, the last 90 days
MAX_REQUESTS = 1000  # GeoReport v2 suggests 1000 as the page ceiling
MAX_LIST_ITEMS = 200  # comma-separated ids or codes in one filter
CLOSED_STATUSES = [s.value for s in TERMINAL]


class Open311Error(Exception):
    def __init__(self, code: int, description: str):
        super().__init__(description)
        self.code, self.description = code, description


def _respond(fmt: str, root: str, data, status: int = 200) -> HttpResponse:
    body = to_json(data) if fmt == "json" else to_xml(root, data)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def _error(fmt: str, exc: Open311Error) -> HttpResponse:
    return _respond(fmt, "errors", error_list(exc.code, exc.description), exc.code)


def _w3c(value: dt.datetime | None) -> str | None:
    return clock.local(value).isoformat(timespec="seconds") if value else None


# ---------------------------------------------------------------------------------------------
# Services


def _services():
    return (Category.objects.classifiable().filter(parent__active=True)
            .select_related("parent").order_by("code"))


def service_json(category: Category) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.full_name,
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join(category.full_name.split("—")),
        "group": category.full_name.split("—")[0],  # the level-1 name, for a level-3 category too
    }


@require_GET
def services(request, fmt: str):
    return _respond(fmt, "services", [service_json(c) for c in _services()])


def definition_json(category: Category) -> dict:
    appeal_types = AppealType.objects.filter(active=True).order_by("position")
    return {
        "service_code": category.code,
        "attributes": [{
            "variable": True,
            "code": "appeal_type",
            "datatype": "singlevaluelist",
            "required": False,
            "datatype_description": "诉求类型，缺省为问题处理类",
            "order": 1,
            "description": "诉求类型",
            "values": [{"key": t.code, "name": t.name} for t in appeal_types],
        }],
    }


@require_GET
def service_definition(request, code: str, fmt: str):
    category = _services().filter(code=code).first()
    if category is None:
        return _error(fmt, Open311Error(404, f"未知的服务代码：{parsing.shown(code)}"))
    return _respond(fmt, "service_definition", definition_json(category))


# ---------------------------------------------------------------------------------------------
# Service requests


def _public_status(order: WorkOrder) -> str:
    return "closed" if order.status in CLOSED_STATUSES else "open"


def _coordinate(value) -> float | None:
    # Three decimals (about 100 m): enough to put the problem on a map, not to find a doorstep.
    return round(float(value), 3) if value is not None else None


def public_summary(order: WorkOrder) -> str:
    """The order's title, not its content: contents quote callers by name and address. Every
    identity in the title is masked, as in every public output (hotline.accounts.access.outside_text)."""
    text = outside_text(order, order.title)
    return text[:DESCRIPTION_CHARS] + ("…" if len(text) > DESCRIPTION_CHARS else "")


def request_json(order: WorkOrder) -> dict:
    """One work order as a GeoReport service request, with nothing that identifies the caller."""
    confidential = order.confidential
    text = public_summary(order)
    category = order.category
    return {
        "service_request_id": order.number,
        "status": _public_status(order),
        "status_notes": "",
        "service_name": category.full_name if category else "",
        "service_code": category.code if category else "",
        "description": "（保密）" if confidential else text,
        "agency_responsible": order.lead_unit.name if order.lead_unit_id else "",
        "service_notice": "",
        "requested_datetime": _w3c(order.received_at),
        "updated_datetime": _w3c(order.updated_at),
        "expected_datetime": _w3c(order.handle_deadline) if order.status not in CLOSED_STATUSES else None,
        # Only the town: the street address of a county hotline order is usually the caller's home.
        "address": order.town.short_name if order.town_id else "",
        "address_id": "",
        "zipcode": "",
        "lat": None if confidential else _coordinate(order.latitude),
        "long": None if confidential else _coordinate(order.longitude),
        "media_url": "",
    }


# ``+08:00`` sent unencoded in a query string arrives as `` 08:00``: a space before an offset at
# the end of a datetime was a plus sign.
_SPACE_OFFSET = re.compile(r"(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


def _parse_date(value: str, name: str) -> dt.datetime:
    value = _SPACE_OFFSET.sub(r"\1+\2", value.strip())
    try:
        return parsing.parse_datetime(value, name, required=True)
    except parsing.ParseError as e:
        raise Open311Error(400, f"{e}（W3C 日期时间，如 2023-07-01T00:00:00+08:00）") from None


def _list(params, name: str) -> list[str]:
    items = [i.strip() for i in params.get(name, "").split(",") if i.strip()]
    if len(items) > MAX_LIST_ITEMS:
        raise Open311Error(400, f"{name}：最多 {MAX_LIST_ITEMS} 个，以逗号分隔")
    return items


def _requests_queryset(params):
    qs = WorkOrder.objects.select_related("category", "lead_unit", "town")
    ids = _list(params, "service_request_id")
    if ids:
        return qs.filter(number__in=ids)
    start = _parse_date(params["start_date"], "start_date") if params.get("start_date") else None
    end = _parse_date(params["end_date"], "end_date") if params.get("end_date") else None
    if start and end and start > end:
        raise Open311Error(400, "start_date 不能晚于 end_date")
    if start is None and end is None:
        start = clock.now() - dt.timedelta(days=DEFAULT_DAYS)
    if start:
        qs = qs.filter(received_at__gte=start)
    if end:
        qs = qs.filter(received_at__lte=end)
    statuses = set(_list(params, "status"))
    if statuses - {"open", "closed"}:
        raise Open311Error(400, "status 只能是 open 或 closed")
    if statuses == {"open"}:
        qs = qs.exclude(status__in=CLOSED_STATUSES)
    elif statuses == {"closed"}:
        qs = qs.filter(status__in=CLOSED_STATUSES)
    codes = _list(params, "service_code")
    if codes:
        qs = qs.filter(category__code__in=codes)
    return qs.order_by("-received_at", "-id")[:MAX_REQUESTS]


@csrf_exempt  # machine clients authenticate with api_key, not a session cookie
@require_http_methods(["GET", "POST"])
def requests(request, fmt: str):
    try:
        if request.method == "POST":
            return _create(request, fmt)
        orders = _requests_queryset(request.GET)
    except Open311Error as exc:
        return _error(fmt, exc)
    return _respond(fmt, "service_requests", [request_json(o) for o in orders])


@require_GET
def request_detail(request, number: str, fmt: str):
    order = WorkOrder.objects.select_related("category", "lead_unit", "town").filter(number=number).first()
    if order is None:
        return _error(fmt, Open311Error(404, f"未找到服务请求：{parsing.shown(number)}"))
    return _respond(fmt, "service_requests", [request_json(order)])


def _client(key: str) -> Open311Client:
    client = Open311Client.objects.filter(key=key, active=True).first() if key else None
    if client is None:
        raise Open311Error(403, "api_key 缺失或无效")
    return client


def _decimal(value: str, name: str, low: int, high: int) -> Decimal | None:
    try:
        return parsing.parse_decimal(value, name, minimum=low, maximum=high, places=6)
    except parsing.ParseError as e:
        raise Open311Error(400, str(e)) from None


def _text(data, name: str, *, single_line: bool = True) -> str:
    """A posted text through the one text boundary (hotline.lib.text): NUL is a 400 naming it."""
    try:
        return clean_text(data.get(name, ""), single_line=single_line).strip()
    except TextError as exc:
        raise Open311Error(400, f"{name} {exc}") from None


def _create(request, fmt: str) -> HttpResponse:
    data = {name: _text(request.POST, name, single_line=name != "description")
            for name in ("api_key", "service_code", "description", "lat", "long", "address_string",
                         "attribute[appeal_type]", "last_name", "first_name", "phone")}
    client = _client(data.get("api_key", "").strip())
    code = data.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, "缺少 service_code")
    category = _services().filter(code=code).first()
    if category is None:
        raise Open311Error(404, f"未知的服务代码：{parsing.shown(code)}")
    description = data.get("description", "").strip()
    if not description:
        raise Open311Error(400, "缺少 description（诉求内容）")
    if len(description) > 4000:
        raise Open311Error(400, "description 不能超过4000字")
    lat = _decimal(data.get("lat", ""), "lat", -90, 90)
    long = _decimal(data.get("long", ""), "long", -180, 180)
    address = data.get("address_string", "").strip()[:200]
    if (lat is None) != (long is None):
        raise Open311Error(400, "lat 和 long 须同时提供")
    if lat is None and not address:
        raise Open311Error(400, "须提供位置：lat/long 或 address_string")
    type_code = data.get("attribute[appeal_type]", "").strip() or "problem"
    appeal_type = AppealType.objects.filter(code=type_code, active=True).first()
    if appeal_type is None:
        raise Open311Error(400, f"未知的诉求类型：{parsing.shown(type_code)}")
    # Chinese order: family name first.
    name = (data.get("last_name", "").strip() + data.get("first_name", "").strip())[:40]
    phone = "".join(ch for ch in data.get("phone", "") if ch.isdigit() or ch == "-")[:30]
    title = f"{category.name}：{description.splitlines()[0]}"[:60]
    try:
        with transaction.atomic():
            order = actions.register_order(
                acting_user=None, source=Source.APP, title=title, content=description, appeal_type=appeal_type,
                category=category, caller_name=name, caller_phone=phone, address=address, latitude=lat,
                longitude=long, note=f"Open311 客户端：{client.name}")
    except WorkflowError as exc:
        raise Open311Error(400, str(exc)) from None
    body = [{"service_request_id": order.number, "service_notice": "已受理，可凭编号查询进度", "account_id": None}]
    return _respond(fmt, "service_requests", body, status=201)


