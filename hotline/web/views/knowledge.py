"""Knowledge base (知识库, GB/T 44191-2024): browse and search for staff; the owning unit and the
center propose changes, the center reviews them before they are published; versions with diffs,
the review-due list and usage counts. Thin: the rules are in ``hotline.knowledge``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from hotline.accounts import access
from hotline.catalog.models import Category, KnowledgeArticle, KnowledgeRevision
from hotline.knowledge import actions as kb
from hotline.knowledge import queries
from hotline.lib import clock
from hotline.web.forms import KnowledgeForm
from hotline.web.views.common import render_page, role
from hotline.workorders.workflow import Role


def _staff(request):
    if not access.may_read_knowledge(request.user):
        raise PermissionDenied("无权访问知识库")


def _unit_of(request) -> int | None:
    return request.user.unit_id if role(request) == Role.HANDLER else None


@login_required
def kb_list(request):
    _staff(request)
    q, today = request.GET.get("q", ""), clock.today()
    articles = queries.search(queries.with_usage(KnowledgeArticle.objects.filter(active=True)), q, limit=100)
    for a in articles:
        a.expired = bool(a.expires_on and a.expires_on <= today)
        a.review_overdue = bool(a.review_date and a.review_date < today)
        a.may_edit = access.may_edit_knowledge(request.user, a.owner_unit_id)
    unit_id = _unit_of(request)
    return render_page(request, "web/kb_list.html", {
        "articles": articles, "q": q, "today": today,
        "may_create": role(request) in (*access.KB_CENTER_EDITORS, Role.HANDLER),
        "may_review": access.may_review_knowledge(request.user),
        "pending": list(queries.pending_revisions(unit_id=unit_id)[:50]),
        "due": list(queries.review_due(today, unit_id=unit_id)[:50]),
    })


@login_required
def kb_detail(request, pk):
    _staff(request)
    article = get_object_or_404(queries.with_usage(KnowledgeArticle.objects.select_related("category", "owner_unit")),
                                pk=pk)
    revisions = list(article.revisions.select_related("proposed_by", "decided_by", "proposed_unit")
                     .order_by("-proposed_at", "-pk"))
    pending = next((r for r in revisions if r.state == KnowledgeRevision.State.PENDING), None)
    for r in revisions:
        r.changes = queries.revision_diff(r)
    return render_page(request, "web/kb_detail.html", {
        "article": article, "revisions": revisions, "pending": pending,
        "may_edit": access.may_edit_knowledge(request.user, article.owner_unit_id) and pending is None,
        "may_review": access.may_review_knowledge(request.user) and pending is not None
                      and pending.proposed_by_id != request.user.pk,
        "today": clock.today(),
    })


@login_required
def kb_edit(request, pk=None):
    """Propose a change (or a new article); it is published when the center approves it."""
    _staff(request)
    article = get_object_or_404(KnowledgeArticle, pk=pk) if pk else None
    if article is not None and not access.may_edit_knowledge(request.user, article.owner_unit_id):
        raise PermissionDenied("只有维护单位和热线中心可以修改该条目")
    center = role(request) in access.KB_CENTER_EDITORS
    initial = None
    if article is None and request.method == "GET" and request.GET.get("from"):
        initial = _from_order(request)
    form = KnowledgeForm(request.POST or None, article=article, may_choose_owner=center,
                         **({"initial": initial} if initial else {}))
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            revision = kb.propose(article, acting_user=request.user, owner_unit=form.cleaned_data.get("owner_unit"),
                                  note=form.cleaned_data.get("note", ""), **form.values())
        except kb.KnowledgeError as exc:
            error = str(exc)
        else:
            messages.success(request, f"“{revision.title}”的修改已提交，热线中心审核后发布")
            return redirect("kb_detail", pk=revision.article_id)
    return render_page(request, "web/kb_form.html", {
        "form": form, "article": article, "error": error,
        "categories": Category.objects.classifiable().only("full_name")})


def _from_order(request) -> dict | None:
    """A new article drafted from a consultation order the unit answered (?from=<number>)."""
    from hotline.workorders import visibility

    order = visibility.access_work_order_by_id(request.user, request.GET["from"])
    reply = order.answer or (order.assignments.filter(active=True, role="lead").values_list("reply_public", flat=True)
                             .first() or "")
    return {"title": order.title, "body": reply, "category": order.category.full_name if order.category_id else ""}


@login_required
@require_POST
def kb_review(request, pk):
    """Approve (publish) or reject the article's pending revision."""
    if not access.may_review_knowledge(request.user):
        raise PermissionDenied("只有热线中心可以审核知识库")
    revision = get_object_or_404(KnowledgeRevision, article_id=pk, state=KnowledgeRevision.State.PENDING)
    try:
        if request.POST.get("decision") == "approve":
            kb.approve(revision, acting_user=request.user, note=request.POST.get("note", ""))
            messages.success(request, f"已审核发布“{revision.title}”")
        else:
            kb.reject(revision, acting_user=request.user, note=request.POST.get("note", ""))
            messages.success(request, f"已退回“{revision.title}”的修改")
    except kb.KnowledgeError as exc:
        messages.error(request, str(exc))
    return redirect("kb_detail", pk=pk)
