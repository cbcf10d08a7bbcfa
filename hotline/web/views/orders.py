"""Order page, its actions, search and export, contact reveal, home."""

from __future__ import annotations

import copy
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from hotline.accounts import access
from hotline.catalog import history
from hotline.catalog.models import AppealType, Category, Source
from hotline.directory.models import Unit
from hotline.lib import clock, parsing, xlsx
from hotline.lib.pages import safe_next
from hotline.web.forms import ACTION_FORMS
from hotline.web.views.common import client_ip, console_actions, is_htmx, render_page, role
from hotline.workorders import attachments, queries, visibility
from hotline.workorders.models import STATUS_CHOICES, Assignment, Callback, Reminder
from hotline.workorders.workflow import STATUS_LABELS, Role, WorkflowError

HOME_BY_ROLE = {Role.OPERATOR: "intake", Role.DISPATCHER: "dispatch", Role.HANDLER: "inbox",
                Role.SUPERVISOR: "supervision"}


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
def home(request):
    return render_page(request, "web/home.html", {
        "summary": queries.summary_for(request.user, timezone.now()),
        "workbench": HOME_BY_ROLE.get(role(request)),
    })


@login_required
def order_detail(request, key):
    order = visibility.access_work_order_by_id(request.user, key)
    context = queries.order_page(request.user, order)
    context["actions"] = console_actions(request.user, order, context["assignments"])
    for e in context["events"]:
        e.label = queries.action_label(e.action)
        e.status_label = STATUS_LABELS.get(e.to_status, "") if e.to_status != e.from_status else ""
    context["reminders"] = list(Reminder.objects.filter(order=order).select_related("unit", "by").order_by("at"))
    context["callbacks"] = list(Callback.objects.filter(order=order).select_related("by").order_by("at"))
    context["attachments"] = attachments.visible(request.user, order)
    context["print"] = request.GET.get("print") == "1"
    access.audit_order_view(request.user, order, ip=client_ip(request), via="print" if context["print"] else "page")
    _shield(request.user, order, context)
    if order.merged_into_id:
        context["merged_into_number"] = order.merged_into.number
    context["kb_followup"] = _kb_followup(request.user, order, context["assignments"])
    context["near_duplicates"] = _near_duplicates(request.user, order)
    return render_page(request, "web/order_detail.html", context)


def _near_duplicates(user, order) -> list:
    """Orders the nightly pass found nearly the same as this one (疑似重复件), those the user may
    see, titles as the user may read them; shown to decide on a merge or 重办, never merged here."""
    from hotline.triage import dupindex

    shown = []
    for other, score in dupindex.linked(user, order):
        other.shown_title, other.score = access.shield_text(user, other, other.title), score
        shown.append(other)
    return shown


def _kb_followup(user, order, assignments) -> dict | None:
    """A consultation (咨询类) the user's unit answered as lead: the unit keeps its knowledge base
    current from it — its articles in the order's category to revise, or a new one drafted from
    the reply (GB/T 44191: units update after consultation orders)."""
    from hotline.catalog.models import KnowledgeArticle

    if access.role_of(user) != Role.HANDLER or order.appeal_type.code != "consult":
        return None
    if not any(a.unit_id == user.unit_id and a.role == Assignment.Role.LEAD and a.replied_at for a in assignments):
        return None
    articles = KnowledgeArticle.objects.filter(owner_unit_id=user.unit_id, active=True)
    if order.category_id:
        articles = articles.filter(category_id=order.category_id)
    return {"articles": list(articles.order_by("title")[:3])}


def _shield(user, order, context) -> None:
    """Mask identities for a unit in every free text of the page and its print sheet (contents,
    notes and replies often repeat the caller's name and number; on a confidential order they are
    hidden); the objects are only displayed, never saved."""
    if access.sees_identities(user):
        return

    def hide(obj, *fields):
        for field in fields:
            setattr(obj, field, access.shield_text(user, order, getattr(obj, field) or ""))

    hide(order, "title", "content", "answer", "address")
    for e in context["events"]:
        hide(e, "note")
    for a in context["assignments"]:
        hide(a, "reply_public", "reply_internal")
    for r in context["requests"]:
        hide(r, "reason", "basis", "decision_note")
    for r in context["reminders"]:
        hide(r, "notice", "response")
    for c in context["callbacks"]:
        hide(c, "note")
    for a in context["attachments"]:
        hide(a, "name")  # "张三丰家门口.jpg"


@login_required
def order_action(request, key, action):
    """GET: the form of one workflow action (htmx fragment or page). POST: perform it.

    Only actions the workflow table offers this user now are served; a refused action shows the
    action function's message and changes nothing.
    """
    order = visibility.access_work_order_by_id(request.user, key)
    entry = ACTION_FORMS.get(action)
    assignments = list(Assignment.objects.filter(order=order))
    offered = {t.action: t for t in console_actions(request.user, order, assignments)}
    if entry is None or action not in offered:
        raise Http404("该操作当前不可用")
    transition = offered[action]
    form_class, perform = entry
    back = safe_next(request, reverse("order_detail", args=[order.number]))
    error = None
    if request.method == "POST":
        form = form_class(request.POST, request.FILES, transition=transition, order=order)
        if form.is_valid():
            try:  # the action owns its transaction: a deadlock is retried there, not refused here
                perform(order, request.user, form.cleaned_data)
            except WorkflowError as exc:
                error = str(exc)
            else:
                messages.success(request, f"{order.number}：{transition.label}成功")
                if is_htmx(request):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = back
                    return response
                return redirect(back)
    else:
        form = form_class(transition=transition, order=order)
    shown = copy.copy(order)  # displayed only: the action above worked on the real order
    shown.title = access.shield_text(request.user, order, order.title)
    return render_page(request, "web/action_form.html", {
        "order": shown, "transition": transition, "form": form, "error": error, "next": back,
    })


@login_required
@require_POST
def reveal_contact(request, key):
    order = visibility.access_work_order_by_id(request.user, key)
    name, phone = access.reveal_contact(request.user, order, ip=client_ip(request))
    return HttpResponse(format_html('<span class="revealed" id="caller">{} <a href="tel:{}">{}</a></span>',
                                    name, phone, phone))


def _filter_choices():
    return {
        "statuses": STATUS_CHOICES,
        "sources": Source.choices,
        "units": Unit.objects.filter(active=True).exclude(kind=Unit.Kind.CENTER).order_by("position", "code"),
        "towns": Unit.objects.filter(active=True, kind__in=Unit.LOCALITY_KINDS).order_by("position", "code"),
        "categories": Category.objects.classifiable().order_by("code"),
        "appeal_types": AppealType.objects.filter(active=True),
        "sorts": [("received", "登记时间（新→旧）"), ("received_asc", "登记时间（旧→新）"),
                  ("deadline", "办理时限（近→远）"), ("deadline_desc", "办理时限（远→近）")],
    }


MAX_ID = 2**63 - 1
ID_FILTERS = {"lead_unit": "承办单位", "town": "乡镇街道", "category": "热点分类", "appeal_type": "诉求类型"}
DATE_FILTERS = {"from": "开始日期", "to": "结束日期"}


def _valid_cursor(cursor: str) -> bool:
    stamp, _, pk = cursor.partition("_")
    try:
        seconds = parsing.parse_decimal(stamp, "翻页位置", minimum=0, maximum=4102444800)  # before 2100
        parsing.parse_int(pk, "翻页位置", minimum=1, maximum=MAX_ID)
    except parsing.ParseError:
        return False
    return seconds is not None


def search_params(request):
    """The search form's fields with malformed values dropped (and named, with the reason), so that
    a hand-edited URL narrows nothing instead of failing: ids are whole numbers, dates real days
    in range (hotline.lib.parsing), the cursor in range."""
    params = request.GET.copy()
    dropped = []
    for name, label in ID_FILTERS.items():
        if params.get(name):
            try:
                params[name] = str(parsing.parse_int(params[name], label, minimum=1, maximum=MAX_ID))
            except parsing.ParseError as e:
                params.pop(name)
                dropped.append(str(e))
    for name, label in DATE_FILTERS.items():
        if params.get(name):
            try:
                params[name] = parsing.parse_date(params[name], label).isoformat()
            except parsing.ParseError as e:
                params.pop(name)
                dropped.append(str(e))
    if params.get("cursor") and not _valid_cursor(params["cursor"]):
        params.pop("cursor")
        dropped.append("翻页位置：无效")
    return params, dropped


@login_required
def order_list(request):
    clean, dropped = search_params(request)
    if dropped:
        messages.error(request, f"以下查询条件格式不正确，已忽略：{'；'.join(dropped)}")
    page = queries.search_orders(request.user, clean)
    category_names = history.category_names()
    for o in page.orders:
        o.title = access.shield_text(request.user, o, o.title)  # displayed only
        o.category_label = category_names(o.category_id, o.received_at, leaf=True)  # as registered
    params = clean.copy()
    params.pop("cursor", None)
    return render_page(request, "web/order_list.html", {
        "page": page, "params": clean, "query": params.urlencode(), "now": timezone.now(),
        **_filter_choices(),
    })


EXPORT_LIMIT = 10000
# Columns whose values run longer than their header (a write-only sheet cannot measure its rows).
EXPORT_WIDTHS = {"工单编号": 20, "登记时间": 18, "联系电话": 15, "标题": 32, "诉求内容": 60, "热点分类": 30,
                 "主办单位": 16, "办理时限": 18, "答复内容": 50}
EXPORT_COLUMNS = ["工单编号", "登记时间", "来源", "来电人", "联系电话", "所在乡镇街道", "标题", "诉求内容", "诉求类型",
                  "热点分类", "紧急程度", "状态", "主办单位", "办理时限", "答复内容", "满意度"]


@login_required
def order_export(request):
    """The filtered list as an Excel workbook: audited; contacts in full only for center staff who may export them."""
    from openpyxl import Workbook

    clean, _dropped = search_params(request)
    qs = (queries.with_text_keys(queries.filter_orders(request.user, clean), request.user, clean)
          .order_by("-received_at", "-id")[:EXPORT_LIMIT])
    wb = Workbook(write_only=True)
    ws = xlsx.table(wb, "工单", EXPORT_COLUMNS, widths=EXPORT_WIDTHS)
    count = 0
    user = request.user
    category_names = history.category_names()  # each order's category as the tree stood on its day
    for o in qs.iterator(chunk_size=1000):
        if access.may_export_contacts(user) and access.may_reveal_contact(user, o):
            name, phone = o.caller_name, o.caller_phone
        else:
            name, phone = access.caller_for(user, o)
        o.title, o.content, o.answer = (access.shield_text(user, o, t) for t in (o.title, o.content, o.answer))
        xlsx.append(ws, [o.number, clock.local(o.received_at).strftime("%Y-%m-%d %H:%M"), o.get_source_display(),
                   name, phone, str(o.town or ""), o.title, o.content, str(o.appeal_type),
                   category_names(o.category_id, o.received_at),
                   o.get_urgency_display(), o.get_status_display(), str(o.lead_unit or ""),
                   clock.local(o.handle_deadline).strftime("%Y-%m-%d %H:%M") if o.handle_deadline else "",
                   o.answer, o.get_satisfaction_display()])
        count += 1
    access.audit(request.user, "export", object_type="workorders.workorder", object_id="search",
                 ip=client_ip(request), rows=count,
                 filters={k: v for k, v in clean.items() if k != "cursor" and v})
    buf = io.BytesIO()
    wb.save(buf)
    response = HttpResponse(buf.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.xlsx"'
    return response


__all__ = ["healthz", "home", "order_detail", "order_action", "reveal_contact", "order_list", "order_export"]
