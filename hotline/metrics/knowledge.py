"""The knowledge base's figures of a period (指标口径 in ``definitions.KNOWLEDGE_COUNTS``):
articles updated, articles overdue for review at the period's end, direct answers given from it."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q

from hotline.catalog.models import KnowledgeArticle, KnowledgeRevision
from hotline.lib import clock
from hotline.workorders.models import Disposition, WorkOrder


def answer_aggregates() -> dict:
    """知识库直接答复 as an aggregate over the period's orders: the statistics add it to their one
    pass over the period (``hotline.analytics.stats``) instead of reading the period again."""
    return {"kb_answers": Count("id", filter=Q(disposition=Disposition.DIRECT_ANSWER, kb_article__isnull=False))}


def knowledge_counts(start: dt.date, end: dt.date, *, using: str, orders=None, answers: int | None = None) -> dict[str, int]:
    """``orders``: the period's orders (registered in it) when the caller has them narrowed;
    ``answers``: their ``answer_aggregates`` when the caller has counted it already."""
    lo, hi = clock.day_start(start), clock.day_start(end + dt.timedelta(days=1))
    updated = (KnowledgeRevision.objects.using(using)
               .filter(state=KnowledgeRevision.State.APPROVED, decided_at__gte=lo, decided_at__lt=hi,
                       proposed_by__isnull=False).values("article").distinct().count())
    overdue = (KnowledgeArticle.objects.using(using).filter(active=True, version__gt=0, review_date__lte=end)
               .filter(Q(expires_on__isnull=True) | Q(expires_on__gt=end)).count())
    if answers is None:
        if orders is None:
            orders = WorkOrder.objects.using(using).filter(received_at__gte=lo, received_at__lt=hi)
        answers = orders.aggregate(**answer_aggregates())["kb_answers"]
    return {"kb_updated": updated, "kb_review_overdue": overdue, "kb_answers": answers}
