"""Knowledge base (知识库): browse and search for everyone; edit for center staff and admin."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect

from hotline.catalog.models import Category, KnowledgeArticle
from hotline.web.forms import KnowledgeForm
from hotline.web.views.common import render_page, require_role, role
from hotline.web.views.intake import search_knowledge
from hotline.workorders.workflow import Role

EDITORS = (Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR)


def _may_edit(request) -> bool:
    return role(request) in (*EDITORS, Role.ADMIN)


@login_required
def kb_list(request):
    q = request.GET.get("q", "")
    return render_page(request, "web/kb_list.html", {"articles": search_knowledge(q, limit=100), "q": q,
                                                       "may_edit": _may_edit(request)})


@login_required
def kb_detail(request, pk):
    article = get_object_or_404(KnowledgeArticle.objects.select_related("category", "owner_unit"), pk=pk)
    return render_page(request, "web/kb_detail.html", {"article": article, "may_edit": _may_edit(request)})


@login_required
def kb_edit(request, pk=None):
    require_role(request, *EDITORS)
    article = get_object_or_404(KnowledgeArticle, pk=pk) if pk else None
    form = KnowledgeForm(request.POST or None, instance=article)
    if request.method == "POST" and form.is_valid():
        article = form.save()
        messages.success(request, f"知识库条目“{article.title}”已保存")
        return redirect("kb_detail", pk=article.pk)
    return render_page(request, "web/kb_form.html", {
        "form": form, "article": article,
        "categories": Category.objects.classifiable().only("full_name")})
