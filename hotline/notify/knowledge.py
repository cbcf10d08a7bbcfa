"""Review reminders of the knowledge base (GB/T 44191-2024: every article is confirmed again by
its owning unit): the unit's handlers hear in-app which of their articles are due, once a week
at most; the center's own articles go to the supervisors."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from hotline.catalog.models import KnowledgeArticle
from hotline.lib import clock
from hotline.notify.emit import notify_users
from hotline.notify.models import Kind
from hotline.notify.templates import render

REMIND_BEFORE_DAYS = 7  # a unit hears a week before the review date
REMIND_EVERY_DAYS = 7  # and again weekly while the article stays unreviewed


@transaction.atomic
def remind_reviews_due(today: dt.date | None = None) -> list[int]:
    """Remind the owners of articles due for review; returns the articles reminded (none: nothing
    to do, so the scheduler's per-period call costs one indexed query)."""
    today = today or clock.today()
    due = list(KnowledgeArticle.objects.select_for_update(skip_locked=True, of=("self",))
               .filter(active=True, review_date__lte=today + dt.timedelta(days=REMIND_BEFORE_DAYS))
               .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lte=today - dt.timedelta(days=REMIND_EVERY_DAYS)))
               .select_related("owner_unit").order_by("review_date", "pk"))
    by_unit = defaultdict(list)
    for article in due:
        by_unit[article.owner_unit].append(article)
    users = get_user_model().objects.filter(is_active=True)
    for unit, articles in by_unit.items():
        recipients = (users.filter(unit=unit, role="handler") if unit is not None else users.filter(role="supervisor"))
        titles = "、".join(f"“{a.title}”" for a in articles[:3]) + ("等" if len(articles) > 3 else "")
        title, body = render(Kind.KB_REVIEW_DUE, unit=unit.short_name if unit else "热线中心", count=len(articles),
                             days=REMIND_BEFORE_DAYS, titles=titles)
        notify_users(recipients.values_list("pk", flat=True), kind=Kind.KB_REVIEW_DUE, title=title, body=body,
                     url=reverse("kb_list"))
    KnowledgeArticle.objects.filter(pk__in=[a.pk for a in due]).update(reminded_on=today)
    return [a.pk for a in due]
