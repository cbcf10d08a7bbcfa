"""What the console, the portal and the statistics read about the knowledge base."""

from __future__ import annotations

import datetime as dt
import difflib
import threading

from django.db.models import Count, Max, Q

from hotline.catalog.models import KnowledgeArticle, KnowledgeRevision
from hotline.knowledge import ranking
from hotline.workorders.models import Disposition

# Articles whose review date falls within this many days are listed as due (复核临期).
DUE_SOON_DAYS = 30


def offered(today: dt.date):
    """Articles operators may answer from: published, active, not expired."""
    return KnowledgeArticle.objects.filter(active=True, version__gt=0).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gt=today))


def public(today: dt.date):
    """What citizens find in the portal: the offered articles marked public."""
    return offered(today).filter(public=True)


def search(qs, text: str, *, limit: int):
    text = (text or "").strip()
    qs = qs.select_related("category", "owner_unit")
    if not text:
        return list(qs.order_by("-updated_at")[:limit])
    cond = Q()
    for word in text.split()[:5]:
        cond &= Q(title__icontains=word) | Q(body__icontains=word) | Q(keywords__icontains=word)
    return list(qs.filter(cond).order_by("title")[:limit])


_index_lock = threading.Lock()
_index: dict = {}  # {"stamp": …, "index": ArticleIndex}: the offered articles', one per process


def _offered_index(today: dt.date) -> ranking.ArticleIndex:
    """The ranking index of the articles offered today, rebuilt when they change.

    The stamp is read from the database on every search (one aggregate query), so a change made
    in another process is seen at once: ``actions.approve`` saves the article (``updated_at``
    moves and the published text is what the index reads), a new article adds a row, the admin's
    启用 saves the row, and an expiry date passing changes ``today``. Pending and rejected
    revisions are other rows and never reach the index.
    """
    qs = offered(today)
    stamp = (today, *qs.aggregate(n=Count("pk"), changed=Max("updated_at"), last=Max("pk")).values())
    with _index_lock:
        if _index.get("stamp") != stamp:
            rows = qs.order_by("pk").values_list("pk", "title", "keywords", "body")
            _index["index"] = ranking.ArticleIndex([ranking.Article(*row) for row in rows])
            _index["stamp"] = stamp
        return _index["index"]


def rank_offered(today: dt.date, *, appeal: str = "", query: str = "", limit: int = 8) -> list[KnowledgeArticle]:
    """Offered articles ranked by relevance to the appeal (title and content as typed) and the typed
    words, best first (``hotline.knowledge.ranking``); each carries its ``score``. Without either,
    the most recently updated."""
    qs = offered(today).select_related("category", "owner_unit")
    if not (appeal or "").strip() and not (query or "").strip():
        return list(qs.order_by("-updated_at")[:limit])
    ranked = _offered_index(today).rank(appeal, query, limit=limit)
    found = qs.in_bulk([article.key for article, _ in ranked])
    out = []
    for article, score in ranked:
        row = found.get(article.key)
        if row is not None:  # withdrawn since the stamp was read: left out rather than shown
            row.score = score
            out.append(row)
    return out


def with_usage(qs):
    """Each article's usage count: the direct answers given from it (``answers``)."""
    return qs.annotate(answers=Count("answered_orders", filter=Q(answered_orders__disposition=Disposition.DIRECT_ANSWER)))


def review_due(today: dt.date, *, unit_id: int | None = None):
    """Active articles whose review date is past (overdue) or within ``DUE_SOON_DAYS``, the
    earliest first; a unit sees its own."""
    qs = KnowledgeArticle.objects.filter(active=True, review_date__lte=today + dt.timedelta(days=DUE_SOON_DAYS))
    if unit_id is not None:
        qs = qs.filter(owner_unit_id=unit_id)
    return qs.select_related("owner_unit", "category").order_by("review_date", "pk")


def pending_revisions(*, unit_id: int | None = None):
    qs = KnowledgeRevision.objects.filter(state=KnowledgeRevision.State.PENDING)
    if unit_id is not None:
        qs = qs.filter(article__owner_unit_id=unit_id)
    return qs.select_related("article", "article__owner_unit", "proposed_by").order_by("proposed_at", "pk")


def diff(old: str, new: str) -> list[tuple[str, str]]:
    """Line diff of two texts as (kind, line): kind "same", "add" or "del" — Chinese text has no
    spaces, so a changed sentence shows as its line removed and added."""
    out = []
    for line in difflib.ndiff((old or "").splitlines(), (new or "").splitlines()):
        tag, text = line[:2], line[2:]
        if tag == "? ":
            continue
        out.append(({"  ": "same", "+ ": "add", "- ": "del"}[tag], text))
    return out


def revision_diff(revision: KnowledgeRevision) -> dict:
    """What a revision changes against the version it was made from (title, body, keywords)."""
    base = None
    if revision.base_version:
        base = revision.article.revisions.filter(number=revision.base_version).first()
    return {"title": (base.title if base else "", revision.title),
            "keywords": (base.keywords if base else "", revision.keywords),
            "body": diff(base.body if base else "", revision.body)}
