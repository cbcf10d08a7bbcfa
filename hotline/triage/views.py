"""The console's suggestion chips (htmx): categories beside the intake form, units in the dispatch form;
the review queue of the nightly pass's near-duplicate pairs (疑似重复件核实)."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from hotline.accounts import access
from hotline.lib import clock
from hotline.lib.pages import render_page, safe_next
from hotline.triage import actions, dupindex, services
from hotline.triage.models import Kind, NearDuplicate
from hotline.workorders import visibility
from hotline.workorders.workflow import STATUS_LABELS, Role, Status, WorkflowError, allowed

SUGGEST_ROLES = {Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}


@login_required
@require_GET
def suggest(request):
    """``?title=&content=`` → top-3 categories; ``?order=<number>`` → top-3 lead units (stored)."""
    role = access.role_of(request.user)
    if role not in SUGGEST_ROLES:
        raise Http404("页面不存在")
    number = (request.GET.get("order") or "").strip()
    if number:
        order = visibility.access_work_order_by_id(request.user, number)
        kind = Kind.UNIT
        chips = services.suggest_and_record_units(order)
    else:
        kind = Kind.CATEGORY
        chips = services.suggest_category(request.GET.get("title", "")[:200], request.GET.get("content", "")[:4000])
    trained = bool(chips) or services.active_model(kind) is not None  # a model that cannot load is none
    return render(request, "triage/suggest.html", {
        # Without a model the chips are simply absent: a command line means nothing to an operator or
        # a dispatcher (the demo trains its models during setup); only an admin is told how to train.
        "kind": kind, "chips": chips, "trained": trained, "hint": services.NO_MODEL_HINT if role == Role.ADMIN else "",
        "typed": bool((request.GET.get("title") or request.GET.get("content") or "").strip()),
    })


# -- 疑似重复件核实 -----------------------------------------------------------------------------------

DECISIONS = {"dismiss": (actions.dismiss, "不是重复"), "repeat": (actions.link_as_repeat, "标为重办")}


def _side(user, order, tz) -> dict:
    """One order of a pair as the row shows it: its title as this user may read it (the one
    masking function), its unit (the lead unit, else the place)."""
    return {"number": order.number, "url": reverse("order_detail", args=[order.number]),
            "title": access.shield_text(user, order, order.title),
            "received": order.received_at.astimezone(tz).strftime("%m-%d %H:%M"),
            "status": order.status, "status_label": STATUS_LABELS[Status(order.status)],
            "unit": (order.lead_unit.short_name if order.lead_unit_id else "")
            or (order.town.short_name if order.town_id else "")}


@login_required
@require_GET
def duplicates(request):
    """疑似重复件核实: the nightly pass's pairs awaiting a decision, newest first, 50 a page."""
    return _queue(request)


def _queue(request, *, error: str = "", status: int = 200):
    access.require_role(request, Role.DISPATCHER, Role.SUPERVISOR)
    user, tz = request.user, clock.tz()
    page = dupindex.review_queue(user, cursor=request.GET.get("cursor"))
    reviewer = actions.may_review(user)
    role = access.role_of(user)
    # 标为重办 is the work orders' repeat action: offered when the table lets this role take it
    # from the later order's state and the earlier one is closed (the window is the action's to judge).
    repeatable = {s for s in Status if any(t.action == "repeat_rework" for t in allowed(s, role))} if reviewer else set()
    # After a refused POST the page is drawn at the action's address: its forms go back to the queue.
    here = safe_next(request, reverse("triage_duplicates")) if request.method == "POST" else request.get_full_path()
    rows = []
    for pair, later, earlier in page.rows:
        rows.append({"pk": pair.pk, "jaccard": pair.jaccard, "found_on": pair.found_on,
                     "later": _side(user, later, tz), "earlier": _side(user, earlier, tz),
                     "repeat": later.status in repeatable and earlier.status == Status.CLOSED})
    q = request.GET.copy()
    q.pop("cursor", None)
    base = f"?{q.urlencode()}&" if q else "?"
    urls = {"next_url": f"{base}cursor={quote(page.next_cursor)}" if page.next_cursor else "",
            "first_url": (base.rstrip("&?") or "?") if request.GET.get("cursor") else ""}
    page.urls = urls
    return render_page(request, "triage/duplicates.html", {
        "page": page, "rows": rows, "reviewer": reviewer, "here": here, "error": error,
    }, status=status)


@login_required
@require_POST
def review(request, pk: int, decision: str):
    """Decide one pair (``dismiss`` or ``repeat``) through its action; a refusal shows the queue
    again with the action's message and changes nothing."""
    access.require_role(request, Role.DISPATCHER, Role.SUPERVISOR)
    if decision not in DECISIONS:
        raise Http404("该操作不存在")
    if not NearDuplicate.objects.filter(pk=pk).exists():
        raise Http404("该疑似重复记录不存在")
    act, label = DECISIONS[decision]
    try:
        pair = act(pk, acting_user=request.user)  # the page offers no note: the action writes its own
    except WorkflowError as exc:
        return _queue(request, error=str(exc), status=409)
    later, earlier = NearDuplicate.objects.filter(pk=pair.pk).values_list("order__number", "similar_to__number").get()
    messages.success(request, f"{later} 与 {earlier}：已核实为“{label}”")
    return redirect(safe_next(request, reverse("triage_duplicates")))
