"""The only writers of the knowledge base: propose a change, approve or reject it.

A change is a ``KnowledgeRevision``; nothing reaches operators or citizens until the center
approves it (GB/T 44191-2024: the owning unit maintains, the center reviews). Each function
locks the article row, checks who may act, and writes in one transaction; refusals are
``KnowledgeError`` with a Chinese message and change nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from hotline.accounts.access import may_edit_knowledge, may_review_knowledge, role_of
from hotline.accounts.roles import Role
from hotline.catalog.models import Category, KnowledgeArticle, KnowledgeRevision
from hotline.lib import clock
from hotline.lib.text import scrub

# A published article is confirmed again a year after its last approval unless the proposal says
# otherwise (a policy that changes every year-end, a fee valid until a date).
DEFAULT_REVIEW_DAYS = 365


class KnowledgeError(Exception):
    """A refused knowledge-base change (Chinese message for people)."""


FIELDS = ("title", "body", "keywords", "category", "public", "review_date", "expires_on")


def _clean(values: dict) -> dict:
    title = scrub(values.get("title") or "", single_line=True).strip()
    body = scrub(values.get("body") or "").strip()
    if not title or not body:
        raise KnowledgeError("标题和内容不能为空")
    if len(title) > 120:
        raise KnowledgeError("标题不能超过 120 个字符")
    keywords = scrub(values.get("keywords") or "", single_line=True).strip()[:200]
    category = values.get("category")
    if category is not None and not isinstance(category, Category):
        raise KnowledgeError("分类无效")
    review, expires = values.get("review_date"), values.get("expires_on")
    if review and expires and expires < review:
        raise KnowledgeError("失效日期不能早于复核日期")
    return {"title": title, "body": body, "keywords": keywords, "category": category,
            "public": bool(values.get("public")), "review_date": review, "expires_on": expires}


@transaction.atomic
def propose(article: KnowledgeArticle | None, *, acting_user, owner_unit=None, note: str = "",
            at: dt.datetime | None = None, **values) -> KnowledgeRevision:
    """A change to ``article`` (or a new article, owned by ``owner_unit`` — a unit's handler always
    proposes for their own unit) awaiting the center's review. One pending proposal per article."""
    clean = _clean(values)
    at = at or clock.now()
    if article is None:
        if role_of(acting_user) == Role.HANDLER:
            owner_unit = acting_user.unit
        if not may_edit_knowledge(acting_user, owner_unit.pk if owner_unit else None):
            raise KnowledgeError("无权新增该单位的知识库条目")
        article = KnowledgeArticle.objects.create(title=clean["title"], body=clean["body"], owner_unit=owner_unit,
                                                  keywords=clean["keywords"], category=clean["category"],
                                                  active=True, version=0)
    else:
        article = KnowledgeArticle.objects.select_for_update().get(pk=article.pk)
        if not may_edit_knowledge(acting_user, article.owner_unit_id):
            raise KnowledgeError("只有维护单位和热线中心可以修改该条目")
    pending = article.revisions.filter(state=KnowledgeRevision.State.PENDING).first()
    if pending is not None:
        raise KnowledgeError(f"该条目已有 {pending.proposed_at:%m-%d} 提交的修改待审核，请待中心审核后再改")
    return KnowledgeRevision.objects.create(
        article=article, base_version=article.version, note=scrub(note or "", single_line=True).strip()[:200],
        proposed_by=acting_user, proposed_unit_id=getattr(acting_user, "unit_id", None), proposed_at=at, **clean)


def _pending(revision: KnowledgeRevision) -> tuple[KnowledgeArticle, KnowledgeRevision]:
    article = KnowledgeArticle.objects.select_for_update().get(pk=revision.article_id)
    revision = KnowledgeRevision.objects.select_for_update().get(pk=revision.pk)
    if revision.state != KnowledgeRevision.State.PENDING:
        raise KnowledgeError(f"该修改已{revision.get_state_display()}，不能再审核")
    return article, revision


@transaction.atomic
def approve(revision: KnowledgeRevision, *, acting_user, note: str = "", at: dt.datetime | None = None
            ) -> KnowledgeArticle:
    """The center publishes the proposal: it becomes the article's next version."""
    if not may_review_knowledge(acting_user):
        raise KnowledgeError("只有热线中心（派单员、督办、管理员）可以审核知识库")
    article, revision = _pending(revision)
    if revision.proposed_by_id == acting_user.pk:
        raise KnowledgeError("不能审核自己提交的修改，请由中心其他人员审核")
    at = at or clock.now()
    article.version += 1
    for field in FIELDS:
        setattr(article, field, getattr(revision, field))
    today = clock.local_date(at)
    article.review_date = revision.review_date or today + dt.timedelta(days=DEFAULT_REVIEW_DAYS)
    article.reviewed_at, article.reminded_on, article.active = at, None, True
    article.save()
    revision.state, revision.number = KnowledgeRevision.State.APPROVED, article.version
    revision.decided_by, revision.decided_at = acting_user, at
    revision.decision_note = scrub(note or "", single_line=True).strip()[:200]
    revision.save(update_fields=["state", "number", "decided_by", "decided_at", "decision_note"])
    return article


@transaction.atomic
def reject(revision: KnowledgeRevision, *, acting_user, note: str, at: dt.datetime | None = None
           ) -> KnowledgeRevision:
    """The center sends the proposal back with its reason; the published text stays."""
    if not may_review_knowledge(acting_user):
        raise KnowledgeError("只有热线中心（派单员、督办、管理员）可以审核知识库")
    note = scrub(note or "", single_line=True).strip()
    if not note:
        raise KnowledgeError("退回修改须填写审核意见")
    _, revision = _pending(revision)
    revision.state, revision.decided_by, revision.decided_at = KnowledgeRevision.State.REJECTED, acting_user, at or clock.now()
    revision.decision_note = note[:200]
    revision.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    return revision


@transaction.atomic
def load_published(*, title: str, at: dt.datetime | None = None, **values) -> tuple[KnowledgeArticle, bool]:
    """An article agreed before it reached the platform (the defaults, an import): published as
    version 1 with its revision approved by nobody. Looked up by title; (article, created)."""
    found = KnowledgeArticle.objects.filter(title=title).first()
    if found is not None:
        return found, False
    at = at or clock.now()
    owner = values.pop("owner_unit", None)
    clean = _clean({"title": title, **values})
    article = KnowledgeArticle.objects.create(owner_unit=owner, version=1, reviewed_at=at, active=True, **clean)
    KnowledgeRevision.objects.create(article=article, number=1, state=KnowledgeRevision.State.APPROVED,
                                     proposed_at=at, decided_at=at, note="初始版本", **clean)
    return article, True
