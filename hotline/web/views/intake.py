"""Intake (登记): the operator's form, caller pop-up (来电弹屏), repeats, knowledge-base search."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from hotline.accounts import access
from hotline.catalog.models import Category
from hotline.knowledge import queries as kb_queries
from hotline.lib import clock
from hotline.triage import services
from hotline.web.forms import IntakeForm
from hotline.web.views.common import render_page, require_role
from hotline.workorders import actions, queries
from hotline.workorders.workflow import Role, WorkflowError

INTAKE_ROLES = (Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR)


def _dispose(order, user, disposition: str, d: dict):
    """Call the disposition's action right after registration (same transaction)."""
    note = (d.get("answer") or "").strip()
    if disposition == "direct_answer":
        return actions.direct_answer(order, acting_user=user, answer=note, article=d.get("kb_article"))
    if disposition == "coordinate":
        return actions.coordinate(order, acting_user=user, answer=note)
    if disposition == "submit_for_dispatch":
        return actions.submit_for_dispatch(order, acting_user=user, note=note)
    if disposition == "transfer":
        return actions.transfer(order, acting_user=user, target=d.get("transfer_target") or "", note=note)
    if disposition == "inform":
        return actions.inform(order, acting_user=user, note=note)
    if disposition == "not_accept":
        return actions.not_accept(order, acting_user=user, note=note)
    if disposition == "merge":
        target = queries.merge_target(user, d.get("merge_into") or "")
        if target is None:
            raise WorkflowError("请填写要并入的工单号（须为已登记的工单）")
        return actions.merge(order, acting_user=user, into=target, note=note)
    if disposition == "repeat_rework":
        target = queries.merge_target(user, d.get("repeat_of") or "")
        if target is None:
            raise WorkflowError("请填写重复诉求对应的已办结工单号")
        return actions.repeat_closed(order, acting_user=user, of=target, note=note)
    raise WorkflowError("请选择处置方式")


@login_required
def intake(request):
    r = require_role(request, *INTAKE_ROLES)
    error = None
    if request.method == "POST":
        form = IntakeForm(request.POST, request.FILES, role=r)
        if form.is_valid():
            try:
                # Registration and disposition are one decision: a refused disposition leaves no order.
                with transaction.atomic():
                    order = actions.register_order(acting_user=request.user, **form.register_fields())
                    order = _dispose(order, request.user, form.cleaned_data["disposition"], form.cleaned_data)
            except WorkflowError as exc:
                error = str(exc)
            else:
                # One confirmation: the banner above the empty form names the number (a flash message
                # besides it said the same thing twice).
                return redirect(f"{reverse('intake')}?saved={order.number}")
    else:
        form = IntakeForm(role=r, initial={"disposition": "submit_for_dispatch"})
    return render_page(request, "web/intake.html", {
        "form": form, "error": error, "saved": request.GET.get("saved", ""),
        "categories": Category.objects.classifiable().order_by("code").only("code", "full_name"),
    })


@login_required
def intake_lookup(request):
    """Caller history and possible repeats for what the operator has typed so far (htmx)."""
    require_role(request, *INTAKE_ROLES)
    phone = request.GET.get("caller_phone", "")
    town = request.GET.get("town") or None
    category = IntakeForm.base_fields["category"]
    try:
        category_obj = category.clean(request.GET.get("category", ""))
    except Exception:  # a half-typed category is not an error while the operator types
        category_obj = None
    now = timezone.now()
    history = queries.caller_history(request.user, phone)
    repeats = queries.possible_repeats(request.user, phone=phone, town_id=town if str(town).isdigit() else None,
                                       category_id=category_obj.pk if category_obj else None, now=now)
    window = actions.repeat_window()
    # Same words, not only the same phone or place: the recent orders whose text is nearly what the
    # operator typed (the triage module's near-duplicate index, any number of orders), closed ones included —
    # a call about an order closed within the window is its 重办, never a merge into it.
    shown = {o.pk for o in repeats}
    similar = [(o, score) for o, score in services.similar_orders(
        request.user, request.GET.get("title", "")[:200], request.GET.get("content", "")[:4000], now=now,
        days=window.days + 30, scope=queries.repeat_scope(request.user)) if o.pk not in shown]
    for o in repeats:
        o.handling = queries.repeat_handling(o, now, window)
    for o, score in similar:
        o.handling, o.score = queries.repeat_handling(o, now, window), score
    return render_page(request, "web/intake_lookup.html", {"history": history, "repeats": repeats,
                                                             "similar": [o for o, _ in similar], "phone": phone,
                                                             "window_days": window.days})


@login_required
def kb_search(request):
    """Knowledge-base articles beside the intake form (htmx), each one usable as the direct answer:
    the offered ones ranked by relevance to the appeal typed so far and the words typed in the
    search box (``hotline.knowledge.ranking``)."""
    if not access.may_read_knowledge(request.user):
        raise PermissionDenied("无权访问知识库")
    appeal = f"{request.GET.get('title', '')[:200]}\n{request.GET.get('content', '')[:4000]}"
    articles = kb_queries.rank_offered(clock.today(), appeal=appeal, query=request.GET.get("kb", "")[:200])
    return render_page(request, "web/kb_results.html", {"articles": articles, "pick": True})
