"""Work queues: dispatch and review (派单/审核), the unit inbox (承办), callbacks (回访), supervision (督办)."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.urls import reverse
from django.utils import timezone

from hotline.accounts import access
from hotline.lib import clock
from hotline.web.views.common import render_page, require_role
from hotline.workorders import queries
from hotline.workorders.models import Assignment, Request
from hotline.workorders.preconditions import pending_kinds, possible
from hotline.workorders.workflow import MAX_DISPATCH_ROUNDS, RequestKind, Role, Situation, Status, allowed


def _can(r, status, *names) -> dict[str, str]:
    """Which of ``names`` the workflow table lets role ``r`` take from ``status``: {action: label}."""
    offered = {t.action: t.label for t in allowed(status, r)}
    return {n: offered[n] for n in names if n in offered}


def _links(request) -> dict[str, str]:
    """URL pieces for the rows' links, built once per page instead of two ``{% url %}`` per row and
    button; fill in ``n`` with ``quote(number)``."""
    return {"detail": reverse("order_detail", args=["NUMBER"]).replace("NUMBER", "{n}"),
            "action": reverse("order_action", args=["NUMBER", "ACTION"]).replace("NUMBER", "{n}").replace("ACTION", "{a}"),
            "next": "?next=" + quote(request.get_full_path(), safe="/")}


def _section_urls(request, param: str, page) -> dict:
    """Links of a queue's pager: its next page and its first page, the other queues' cursors kept."""
    def with_cursor(cursor):
        q = request.GET.copy()
        q.pop(param, None)
        q.pop("part", None)
        if cursor:
            q[param] = cursor
        return f"?{q.urlencode()}" if q else "?"
    return {"next_url": with_cursor(page.next_cursor) if page.next_cursor else "",
            "first_url": with_cursor(None) if request.GET.get(param) else ""}


def _hm(value, tz) -> str:
    """"07-03 09:30" in local time ``tz``: the tables' date format, done here once per cell rather
    than by the template's ``date`` filter (which looks the time zone and format up each time)."""
    return value.astimezone(tz).strftime("%m-%d %H:%M") if value else ""


TIME_COLUMNS = ("received_at", "handle_deadline", "replied_at", "requested_at", "requested_deadline",
                "order__handle_deadline", "at", "respond_by", "acknowledged_at", "upstream_deadline")


def _link_rows(page, links: dict, tz, now, can: dict[str, str]) -> None:
    """A queue page's rows as its table reads them: the order's link, local times, whether it is
    late (past its handling deadline, unless the query said), and the buttons ``can`` offers."""
    for row in page.rows:
        number = quote(row.get("number") or row["order__number"], safe="")
        row["url"] = links["detail"].format(n=number)
        row.update({f"{c}_hm": _hm(row[c], tz) for c in TIME_COLUMNS if c in row})
        deadline = row.get("handle_deadline") or row.get("order__handle_deadline")
        row.setdefault("late", bool(deadline and deadline < now))
        row["buttons"] = [(a, label, links["action"].format(n=number, a=a) + links["next"])
                          for a, label in can.items()]


@login_required
def dispatch_board(request):
    r = require_role(request, Role.DISPATCHER, Role.SUPERVISOR)
    user, g = request.user, request.GET
    pages = {
        "dispatch": queries.dispatch_queue(user, cursor=g.get("dispatch")),
        "replies": queries.replies_awaiting_review(user, cursor=g.get("replies")),
        "returns": queries.pending_requests(user, Request.Kind.RETURN, cursor=g.get("returns")),
        "extensions": queries.pending_requests(user, Request.Kind.EXTENSION, cursor=g.get("extensions")),
        "suspensions": queries.pending_requests(user, Request.Kind.SUSPENSION, cursor=g.get("suspensions")),
    }
    links, tz, now = _links(request), clock.tz(), timezone.now()
    can = {"dispatch": _can(r, Status.AWAITING_DISPATCH, "dispatch", "merge"),
           "returns": _can(r, Status.RETURN_REQUESTED, "approve_return", "reject_return"),
           "extensions": _can(r, Status.HANDLING, "approve_extension", "reject_extension"),
           "suspensions": _can(r, Status.HANDLING, "approve_suspension", "reject_suspension"),
           "replies": _can(r, Status.REPLIED, "approve_reply", "send_back")}
    for key, page in pages.items():
        _link_rows(page, links, tz, now, can[key])
        page.urls = _section_urls(request, key, page)
    return render_page(request, "web/dispatch.html", {**pages, "now": now, "duplicates_label": _duplicates_label()})


def _duplicates_label() -> str:
    """How many near-duplicate pairs await review (疑似重复件核实), capped like the queues' counts."""
    from hotline.triage.dupindex import pending_count

    n, capped = pending_count()
    return f"{n}+" if capped else str(n)


# The dispositions an operator takes an order in with, in the order the buttons show.
INTAKE_ACTIONS = ("submit_for_dispatch", "direct_answer", "coordinate", "transfer", "inform", "not_accept", "merge")


@login_required
def intake_queue(request):
    """待受理: orders registered by the portal, Open311, the API (or left without a disposition)
    that an operator must take in, each with the dispositions the workflow table allows."""
    r = require_role(request, Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR)
    page = queries.intake_queue(request.user, cursor=request.GET.get("queue"))
    links, tz = _links(request), clock.tz()
    can = _can(r, Status.RECEIVED, *INTAKE_ACTIONS)
    for row in page.rows:
        number = quote(row["number"], safe="")
        row["url"] = links["detail"].format(n=number)
        row.update({f"{c}_hm": _hm(row[c], tz) for c in TIME_COLUMNS if c in row})
        row["buttons"] = [(a, label, links["action"].format(n=number, a=a) + links["next"])
                          for a, label in can.items()]
    page.urls = _section_urls(request, "queue", page)
    return render_page(request, "web/intake_queue.html", {"queue": page})


GROUP_LABELS = [("to_sign", "待签收"), ("sent_back", "被退回重办"), ("overdue", "已超期"), ("near_due", "临期"),
                ("handling", "办理中")]
# Which of the workflow table's unit actions each part of an order offers in the inbox.
SCOPE = {"lead": {"sign", "reply", "request_return", "request_extension", "request_suspension"},
         "co": {"co_sign", "co_reply"}}


def _inbox_actions(row, now, pending: set[str]) -> list:
    """The unit's buttons on one row: the table's actions for its part, without those
    ``workflow.refusal`` would refuse now (a request already pending, 申请延期 when overdue…)."""
    acts = [t for t in allowed(row.status, Role.HANDLER) if t.action in SCOPE[row.role]]
    if row.role == "co" and row.replied:  # answered already; a second opinion is not asked for here
        acts = [t for t in acts if t.action != "co_reply"]
    situation = Situation(pending=frozenset(RequestKind(k) for k in pending),
                          overdue=bool(row.handle_deadline and now > row.handle_deadline),
                          last_round=row.role == "lead" and row.round >= MAX_DISPATCH_ROUNDS,
                          has_lead=True, co_signed=row.role == "co" and row.signed)
    return possible(acts, situation)


@login_required
def inbox(request):
    require_role(request, Role.HANDLER)
    now = timezone.now()
    cursors = {key: request.GET[key] for key, _ in GROUP_LABELS if request.GET.get(key)}
    pages = queries.unit_inbox(request.user, now, cursors=cursors)
    links, tz = _links(request), clock.tz()
    pending = pending_kinds([row.id for page in pages.values() for row in page.rows])
    sections = []
    for key, label in GROUP_LABELS:
        page = pages[key]
        for row in page.rows:
            row.title = access.shield_text(request.user, row, row.title)  # displayed only
            number = quote(row.number, safe="")
            row.url = links["detail"].format(n=number)
            row.dispatched_hm, row.sign_deadline_hm = _hm(row.dispatched_at, tz), _hm(row.sign_deadline, tz)
            row.handle_deadline_hm = _hm(row.handle_deadline, tz)
            row.late = bool(row.handle_deadline and row.handle_deadline < now)
            # Not yet signed for after the sign-for limit: late too, though the handling clock still runs.
            row.sign_late = bool(not row.signed and row.sign_deadline and row.sign_deadline < now)
            row.buttons = [(t.action, t.label, t.needs_note, links["action"].format(n=number, a=t.action)
                            + links["next"]) for t in _inbox_actions(row, now, pending[row.id])]
        sections.append({"key": key, "label": label, "page": page, **_section_urls(request, key, page)})
    return render_page(request, "web/inbox.html", {"sections": sections, "now": now})


@login_required
def callbacks(request):
    r = require_role(request, Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR)
    page = queries.callback_queue(request.user, cursor=request.GET.get("queue"))
    # Rework goes to the active lead unit, otherwise back to dispatch: ``workflow.refusal`` picks the
    # one reopen path per row, as it does on the order page and in the action itself.
    with_lead = set(Assignment.objects.filter(order__in=[row["id"] for row in page.rows], active=True,
                                              role=Assignment.Role.LEAD)
                    .order_by().values_list("order_id", flat=True))  # the default order joins the orders
    offered = [t for t in allowed(Status.AWAITING_CALLBACK, r)
               if t.action in ("callback_close", "callback_rework", "callback_redispatch")]
    links, tz = _links(request), clock.tz()
    for row in page.rows:
        number = quote(row["number"], safe="")
        row["url"] = links["detail"].format(n=number)
        row["replied_at_hm"] = _hm(row["replied_at"], tz)
        row["buttons"] = [(t.action, t.label, t.needs_note, links["action"].format(n=number, a=t.action) + links["next"])
                          for t in possible(offered, Situation(has_lead=row["id"] in with_lead))]
    page.urls = _section_urls(request, "queue", page)
    return render_page(request, "web/callbacks.html", {"queue": page})


@login_required
def supervision(request):
    r = require_role(request, Role.SUPERVISOR, Role.DISPATCHER)
    user, now = request.user, timezone.now()
    cursors = {key: request.GET[key] for key in queries.SUPERVISION_QUEUES if request.GET.get(key)}
    pages = queries.supervision_queues(user, now, cursors=cursors)
    links, tz = _links(request), clock.tz()
    # 催办 and 督办 on every order row, as the workflow table offers them on an order being handled.
    can = _can(r, Status.HANDLING, "remind", "supervise")
    for key, page in pages.items():
        _link_rows(page, links, tz, now, can if key in ("overdue", "near_due", "overdue_chased") else {})
        page.urls = _section_urls(request, key, page)
    return render_page(request, "web/supervision.html", {
        **pages, "per_unit": queries.per_unit_counts(user, now), "now": now,
        "duplicates_label": _duplicates_label(),
    })
