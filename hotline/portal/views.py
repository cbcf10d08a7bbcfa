"""The citizen pages: submit a request, track it by number + phone, rate the answer.

Thin views: parse the form, check the rate limit, call one action, render. The citizen is not a
user: registration and rating act as the system actor (``acting_user=None``), and the only door
to an order is its number together with the phone it was registered with.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hotline.accounts import access
from hotline.catalog.models import Source
from hotline.lib.clientip import client_ip
from hotline.portal import actions as portal_actions
from hotline.portal import public
from hotline.portal.forms import RateForm, SubmitForm, TrackForm, category_choices
from hotline.portal.models import CitizenRating
from hotline.portal.ratelimit import hit
from hotline.workorders import actions, attachments
from hotline.workorders.models import WorkOrder
from hotline.workorders.workflow import Status, WorkflowError

NOT_FOUND = "未找到该工单，请核对编号和电话"
TOO_MANY = "查询过于频繁，请10分钟后再试"
LOOKUP_LIMIT, LOOKUP_WINDOW = 20, 600  # per IP: enough for a family, too few to guess phones
SUBMIT_LIMIT, SUBMIT_WINDOW = 10, 3600
SESSION_KEY = "portal_orders"  # numbers this browser has proved it may see (number + phone matched)


def find_own_order(number: str, phone: str) -> WorkOrder | None:
    """The order if ``phone`` is the one it was registered with; None alike for unknown and mismatch."""
    order = WorkOrder.objects.filter(number=number).first()
    given = public.normalize_phone(phone)
    stored = public.normalize_phone(order.caller_phone) if order else ""
    # Compare even when the order is missing, so timing does not tell the two cases apart.
    match = hmac.compare_digest(given.encode(), (stored or "\0").encode())
    return order if order is not None and stored and match else None


def _remember(request, number: str) -> None:
    seen = [n for n in request.session.get(SESSION_KEY, []) if n != number]
    request.session[SESSION_KEY] = (seen + [number])[-10:]


def _proved(request, number: str) -> WorkOrder | None:
    if number not in request.session.get(SESSION_KEY, []):
        return None
    return WorkOrder.objects.filter(number=number).first()


@require_GET
def index(request):
    return render(request, "portal/index.html")


@require_http_methods(["GET", "POST"])
def submit(request):
    form = SubmitForm(request.POST or None, request.FILES or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        if not hit(request, "submit", SUBMIT_LIMIT, SUBMIT_WINDOW):
            error = "提交过于频繁，请稍后再试或拨打12345热线"
        else:
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    order = actions.register_order(
                        acting_user=None, source=Source.WEB, title=data["title"], content=data["content"],
                        appeal_type=data["appeal_type"], category=data["category"], town=data["town"],
                        address=data["address"], caller_name=data["caller_name"],
                        caller_phone=data["caller_phone"], confidential=data["confidential"],
                        note="市民通过网站提交", attachments=data["photos"])
            except WorkflowError as exc:
                error = str(exc)
            else:
                _remember(request, order.number)
                request.session["portal_submitted"] = order.number
                return redirect("portal:submitted")
    conf = settings.HOTLINE_ATTACHMENTS
    return render(request, "portal/submit.html", {"form": form, "error": error, "max_mb": conf["MAX_MB"],
                                                  "max_files": conf["MAX_PER_UPLOAD"]})


@never_cache  # a citizen's order and phone must not stay in a shared computer's cache
@require_GET
def submitted(request):
    number = request.session.get("portal_submitted")
    if not number:
        return redirect("portal:submit")
    return render(request, "portal/submitted.html", {"number": number})


@require_GET
def category_options(request):
    """htmx: the level-2 options of one level-1 category."""
    group = request.GET.get("category_group", "")
    choices = category_choices(group if group.isdigit() else None)
    return render(request, "portal/_category_options.html", {"choices": choices})


@never_cache  # a citizen's order and phone must not stay in a shared computer's cache
@require_http_methods(["GET", "POST"])
def track(request):
    form = TrackForm(request.POST or None)
    error = ""
    if request.method == "POST":
        if not hit(request, "lookup", LOOKUP_LIMIT, LOOKUP_WINDOW):
            error = TOO_MANY
        elif form.is_valid():
            order = find_own_order(form.cleaned_data["number"], form.cleaned_data["phone"])
            if order is None:
                error = NOT_FOUND
            else:
                _remember(request, order.number)
                return redirect("portal:track_detail", number=order.number)
    status = 429 if error == TOO_MANY else 200
    return render(request, "portal/track.html", {"form": form, "error": error}, status=status)


def _detail_context(order: WorkOrder, rate_form=None) -> dict:
    rating = CitizenRating.objects.filter(order=order).first()
    return {
        "order": order,
        "title": public.public_title(order),
        "status_label": public.PUBLIC_STATUS[Status(order.status)],
        "steps": public.public_steps(order),
        "answer": public.public_answer(order),
        "evidence": public.public_evidence(order),
        "photos_sent": public.photos_sent(order),
        "rating": rating,
        "may_rate": order.status == Status.AWAITING_CALLBACK and rating is None,
        "rate_form": rate_form or RateForm(),
    }


@never_cache  # a citizen's order and phone must not stay in a shared computer's cache
@require_GET
def track_detail(request, number: str):
    order = _proved(request, number)
    if order is None:
        return redirect("portal:track")
    return render(request, "portal/track_detail.html", _detail_context(order))


@never_cache
@require_GET
def evidence_file(request, number: str, pk: str, thumbnail: bool = False):
    """A file of the unit's approved reply that the unit made public, to the browser that proved
    the number and phone; any other file, order or browser gets the same 404."""
    order = _proved(request, number)
    attachment = public.public_evidence(order).get(pk) if order is not None else None
    if attachment is None:
        raise Http404("附件不存在")
    if not thumbnail:
        access.audit(None, "download_attachment", obj=order, ip=client_ip(request), attachment=attachment.pk,
                     name=public.public_file_name(order, attachment), kind=attachment.kind, via="portal")
    return attachments.file_response(attachment, thumbnail=thumbnail, name=public.public_file_name(order, attachment))


@never_cache
@require_POST
def rate(request, number: str):
    """The citizen's rating: a satisfied one closes the order as a callback would; a dissatisfied
    one is noted for the callback staff, who call back and decide on rework (see models)."""
    order = _proved(request, number)
    if order is None:
        return redirect("portal:track")
    form = RateForm(request.POST)
    error = ""
    if not hit(request, "rate", LOOKUP_LIMIT, LOOKUP_WINDOW):
        error = TOO_MANY
    elif form.is_valid():
        data = form.cleaned_data
        try:
            portal_actions.record_rating(order, satisfaction=data["satisfaction"], solved=data["solved"],
                                         satisfaction_label=dict(form.fields["satisfaction"].choices)[data["satisfaction"]],
                                         comment=data["comment"], closes=form.satisfied)
        except WorkflowError as exc:
            error = str(exc)
        else:
            return redirect("portal:track_detail", number=order.number)
    order.refresh_from_db()
    context = _detail_context(order, form)
    context["error"] = error
    return render(request, "portal/track_detail.html", context, status=400 if error or form.errors else 200)


KB_LIMIT = 30


@require_GET
def kb_search(request):
    """The public knowledge base (公开的知识库条目): what the center answers most questions with,
    searchable before anyone has to call."""
    from hotline.knowledge import queries as kb_queries
    from hotline.lib import clock
    from hotline.lib.text import scrub

    q = scrub(request.GET.get("q", ""), single_line=True)[:100]
    articles = kb_queries.search(kb_queries.public(clock.today()), q, limit=KB_LIMIT)
    return render(request, "portal/kb.html", {"articles": articles, "q": q})


@require_GET
def kb_article(request, pk: int):
    from hotline.knowledge import queries as kb_queries
    from hotline.lib import clock

    article = kb_queries.public(clock.today()).filter(pk=pk).select_related("category").first()
    if article is None:
        raise Http404("该条目不存在或未公开")
    return render(request, "portal/kb_article.html", {"article": article})
