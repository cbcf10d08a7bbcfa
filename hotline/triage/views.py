"""The console's suggestion chips (htmx): categories beside the intake form, units in the dispatch form."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hotline.accounts import access
from hotline.triage import services
from hotline.triage.models import Kind
from hotline.workorders import visibility
from hotline.workorders.workflow import Role

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
