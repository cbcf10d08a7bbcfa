"""The knowledge base's figures of a period (指标口径 in ``definitions.KNOWLEDGE_COUNTS``):
articles updated, articles overdue for review at the period's end, direct answers given from it."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from hotline.catalog.models import KnowledgeArticle, KnowledgeRevision
from hotline.lib import clock
from hotline.workorders.models import Disposition, WorkOrder


def knowledge_counts(start: dt.date, end: dt.date, *, using: str, orders=None) -> dict[str, int]:
    """``orders``: the period's orders (registered in it) when the caller has them narrowed."""
    lo, hi = clock.day_start(start), clock.day_start(end + dt.timedelta(days=1))
    updated = (KnowledgeRevision.objects.using(using)
               .filter(state=KnowledgeRevision.State.APPROVED, decided_at__gte=lo, decided_at__lt=hi,
                       proposed_by__isnull=False).values("article").distinct().count())
    overdue = (KnowledgeArticle.objects.using(using).filter(active=True, version__gt=0, review_date__lte=end)
               .filter(Q(expires_on__isnull=True) | Q(expires_on__gt=end)).count())
    if orders is None:
        orders = WorkOrder.objects.using(using).filter(received_at__gte=lo, received_at__lt=hi)
    answers = orders.filter(disposition=Disposition.DIRECT_ANSWER, kb_article__isnull=False).count()
    return {"kb_updated": updated, "kb_review_overdue": overdue, "kb_answers": answers}
