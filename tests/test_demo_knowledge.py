"""The demo's direct answers name the knowledge-base article they read out, as the intake records
it, so the month's 知识库直接答复 figure is not zero in the demo (a third of a month: 400 orders)."""

import datetime as dt

import pytest

from hotline.catalog.knowledge_seed import KNOWLEDGE_ARTICLES

pytestmark = pytest.mark.django_db


def test_the_demos_direct_answers_carry_their_article_and_count():
    from hotline.analytics.stats import period_statistics
    from hotline.demo.generate import generate_month
    from hotline.workorders.models import Event, WorkOrder

    generate_month(2023, 7, seed=2023, orders=400)
    with_article = {a["leaf_code"] for a in KNOWLEDGE_ARTICLES}
    answers = list(WorkOrder.objects.filter(disposition="direct_answer")
                   .select_related("kb_article__category", "category"))
    named = [o for o in answers if o.kb_article_id]
    assert len(answers) > 20 and len(named) > 10
    for order in answers:
        if order.category.code in with_article:
            # An article of the order's own category, its text the answer read out, published.
            article = order.kb_article
            assert article is not None, order.number
            assert article.category_id == order.category_id and article.body in order.answer
            assert article.active and article.version >= 1
        else:
            assert order.kb_article_id is None, order.number  # a general answer names no article
    # The intake's path: the direct-answer event names the article too.
    event = Event.objects.get(order=named[0], action="direct_answer")
    assert event.data["article"] == named[0].kb_article_id
    july = period_statistics(dt.date(2023, 7, 1), dt.date(2023, 7, 31))
    assert july.knowledge["kb_answers"] == len(named) > 0
