"""The knowledge base per GB/T 44191-2024, as 杨楼镇 keeps its own article.

赵 of 杨楼镇 edits the article his unit owns (it was a 403); nothing changes for operators until
周 of the center approves it, which publishes version 2 with a diff and who did what. 钱 of
寄料镇 may not touch it. Articles due for review remind their unit; expired ones are no longer
offered; public ones are found by citizens in the portal; answers given from an article count.
"""

import datetime as dt

import pytest
from django.urls import reverse

from hotline.catalog.models import KnowledgeArticle, KnowledgeRevision
from hotline.knowledge import actions as kb
from hotline.knowledge import queries
from hotline.workorders import actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def article(unit):
    made, _ = kb.load_published(title="杨楼镇农村道路维修报修渠道", body="拨打镇村建办电话。\n工作日受理。",
                                keywords="道路 维修", owner_unit=unit("杨楼镇"), public=True,
                                review_date=dt.date(2023, 12, 31))
    return made


@pytest.fixture
def as_user(client, people):
    def login(username):
        client.force_login(people[username])
        return client
    return login


def test_the_owning_unit_edits_and_the_center_approves(as_user, people, article):
    zhao = as_user("handler_zhao")
    assert zhao.get(reverse("kb_edit", args=[article.pk])).status_code == 200  # was a 403
    r = zhao.post(reverse("kb_edit", args=[article.pk]), {
        "title": article.title, "body": "拨打镇村建办电话 0375-6000000。\n工作日受理。", "keywords": "道路 维修 坑洼",
        "public": "on", "note": "补充电话"})
    assert r.status_code == 302
    article.refresh_from_db()
    assert article.version == 1 and "0375" not in article.body  # nothing published yet
    pending = KnowledgeRevision.objects.get(article=article, state="pending")
    assert pending.proposed_by == people["handler_zhao"] and pending.proposed_unit.short_name == "杨楼镇"
    # The proposer cannot approve; 钱 of another town cannot edit at all.
    with pytest.raises(kb.KnowledgeError):
        kb.approve(pending, acting_user=people["handler_zhao"])
    assert as_user("handler_qian").get(reverse("kb_edit", args=[article.pk])).status_code == 403
    zhou = as_user("supervisor_zhou")
    page = zhou.get(reverse("kb_detail", args=[article.pk])).content.decode()
    assert "<ins>+ 拨打镇村建办电话 0375-6000000。</ins>" in page and "<del>- 拨打镇村建办电话。</del>" in page
    assert 'id="kb-approve"' in page
    zhou.post(reverse("kb_review", args=[article.pk]), {"decision": "approve", "note": "同意"})
    article.refresh_from_db()
    assert article.version == 2 and "0375-6000000" in article.body and article.keywords == "道路 维修 坑洼"
    approved = KnowledgeRevision.objects.get(article=article, number=2)
    assert approved.decided_by == people["supervisor_zhou"] and approved.state == "approved"
    assert article.review_date > dt.date(2023, 12, 31)  # confirmed: due again a year on


def test_a_second_proposal_waits_and_a_rejection_needs_a_reason(people, article):
    rev = kb.propose(article, acting_user=people["handler_zhao"], title=article.title, body="新内容")
    with pytest.raises(kb.KnowledgeError, match="待审核"):
        kb.propose(article, acting_user=people["operator_li"], title=article.title, body="另一版")
    with pytest.raises(kb.KnowledgeError, match="审核意见"):
        kb.reject(rev, acting_user=people["supervisor_zhou"], note="")
    kb.reject(rev, acting_user=people["supervisor_zhou"], note="电话号码有误")
    article.refresh_from_db()
    assert article.version == 1 and article.body.startswith("拨打镇村建办电话。")
    with pytest.raises(kb.KnowledgeError, match="不能为空"):
        kb.propose(article, acting_user=people["handler_zhao"], title=" ", body="x")


def test_answers_count_for_the_article_and_the_month(people, new_order, article):
    from hotline.analytics.stats import period_statistics

    order = new_order()
    actions.direct_answer(order, acting_user=people["operator_li"], answer=article.body, article=article)
    assert queries.with_usage(KnowledgeArticle.objects.filter(pk=article.pk)).get().answers == 1
    rev = kb.propose(article, acting_user=people["handler_zhao"], title=article.title, body="新内容",
                     at=dt.datetime(2023, 7, 5, 10, tzinfo=dt.UTC))
    kb.approve(rev, acting_user=people["supervisor_zhou"], at=dt.datetime(2023, 7, 6, 10, tzinfo=dt.UTC))
    stats = period_statistics(dt.date(2023, 7, 1), dt.date(2023, 7, 31))
    assert stats.knowledge["kb_answers"] == 1 and stats.knowledge["kb_updated"] == 1
    assert stats.knowledge["kb_review_overdue"] == 0  # reviewed 07-06: due a year later
    december = period_statistics(dt.date(2024, 12, 1), dt.date(2024, 12, 31))
    assert december.knowledge["kb_review_overdue"] >= 1


def test_review_due_reminds_the_owning_unit_once_a_week(people, article):
    from hotline.notify.knowledge import remind_reviews_due
    from hotline.notify.models import Kind, Notification

    assert article.pk in remind_reviews_due(dt.date(2023, 12, 28))
    note = Notification.objects.get(recipient=people["handler_zhao"], kind=Kind.KB_REVIEW_DUE)
    assert "杨楼镇农村道路维修报修渠道" in note.body
    assert not Notification.objects.filter(recipient=people["handler_qian"], kind=Kind.KB_REVIEW_DUE).exists()
    assert article.pk not in remind_reviews_due(dt.date(2023, 12, 30))  # told this week already
    assert article.pk in remind_reviews_due(dt.date(2024, 1, 5))
    due = list(queries.review_due(dt.date(2024, 1, 5), unit_id=article.owner_unit_id))
    assert article in due


def test_expired_articles_are_not_offered_and_public_ones_reach_the_portal(client, people, article):
    from hotline.lib import clock

    internal, _ = kb.load_published(title="内部答复口径：道路维修", body="仅供话务员参考。")
    page = client.get(reverse("portal:kb"), {"q": "道路"}).content.decode()
    assert article.title in page and internal.title not in page
    assert client.get(reverse("portal:kb_article", args=[internal.pk])).status_code == 404
    assert client.get(reverse("portal:kb_article", args=[article.pk])).status_code == 200
    assert article in queries.rank_offered(clock.today(), query="道路")
    KnowledgeArticle.objects.filter(pk=article.pk).update(expires_on=dt.date(2000, 1, 1))
    assert article not in queries.rank_offered(clock.today(), query="道路")
    assert article.title not in client.get(reverse("portal:kb"), {"q": "道路"}).content.decode()


def test_a_unit_is_asked_to_update_after_a_consultation(as_user, people, unit, new_order, article):
    from hotline.catalog.models import AppealType

    order = new_order(appeal_type=AppealType.objects.get(code="consult"), title="道路维修找谁")
    actions.submit_for_dispatch(order, acting_user=people["operator_li"])
    actions.dispatch(order, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))
    actions.sign(order, acting_user=people["handler_zhao"])
    actions.reply(order, acting_user=people["handler_zhao"], public_reply="请拨打镇村建办电话。", solved=True)
    zhao = as_user("handler_zhao")
    page = zhao.get(reverse("order_detail", args=[order.number])).content.decode()
    assert 'id="kb-followup"' in page and f"?from={order.number}" in page
    draft = zhao.get(reverse("kb_new") + f"?from={order.number}").content.decode()
    assert "请拨打镇村建办电话。" in draft
