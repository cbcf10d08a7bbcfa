"""Near-duplicates at scale (issue 15): MinHash LSH keys of every order's text, written with the
registration, looked up at intake, and a nightly pass that links the day's near-duplicates.

李 registers 张三丰's complaint about the broken road in 杨楼镇; a second caller tells the same
thing in other words. 钱 of 寄料镇 must never be shown 杨楼镇's orders, nor anyone a confidential
caller through a candidate.
"""

import datetime as dt
import io
import random

import numpy as np
import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from hotline.bench.paraphrase import paraphrase
from hotline.triage import dupindex, neardup
from hotline.triage.models import NearDupKey, NearDuplicate, NearDupState
from tests.conftest import at

ROAD = ("村内道路破损坑洼", "来电人反映：杨楼镇某村主路破损严重，雨天积水，车辆无法通行，老人孩子出行不便，"
        "已向村委会反映多次无人处理，希望相关部门尽快维修。")
SAME_IN_OTHER_WORDS = ("再次反映村内道路破损", "市民反映：杨楼镇某村主路破损严重，一下雨就积水，老人孩子出行不便，车辆无法通行，"
                       "此前已经反映过一次，已向村委会反映多次无人处理，希望有关部门尽快维修。")
UNRELATED = ("咨询社保卡补办", "来电人咨询社会保障卡丢失后如何补办，需要带哪些材料，去哪个窗口办理，多长时间可以拿到新卡。")


# ---------------------------------------------------------------------------------------------
# The engine (no database)

def test_a_paraphrase_shares_keys_and_an_unrelated_text_does_not():
    road, again, other = (neardup.shingles(*t) for t in (ROAD, SAME_IN_OTHER_WORDS, UNRELATED))
    assert neardup.jaccard(road, again) > 0.4 > 0.05 > neardup.jaccard(road, other)
    keys = [set(neardup.keys_of(*t)) for t in (ROAD, SAME_IN_OTHER_WORDS, UNRELATED)]
    assert len(keys[0]) == neardup.BANDS
    assert keys[0] & keys[1] and not keys[0] & keys[2]
    sigs = neardup.signatures([road, again])
    assert abs(neardup.estimated_jaccard(*sigs) - neardup.jaccard(road, again)) < 0.2


def test_spelling_does_not_matter_but_words_do():
    """Full-width digits, punctuation, spaces and invisible characters are not words."""
    assert neardup.keys_of("路灯不亮", "１２号楼前，路灯 不亮。") == neardup.keys_of("路灯不亮", "12号楼前路灯\u200b不亮")
    assert neardup.keys_of("路灯不亮", "12号楼前路灯不亮") != neardup.keys_of("路灯不亮", "13号楼前路灯不亮")
    assert neardup.keys_of("", "") == [] and neardup.keys_of("，。", "！") == []
    assert len(neardup.keys_of("灯", "")) == neardup.BANDS  # one character is one shingle


def test_signatures_are_pinned_across_processes_and_versions():
    """The keys are stored for millions of orders: a change of the hash functions must raise
    FORMAT_VERSION. These numbers were computed once; Python's salted hash() is not used."""
    assert neardup.FORMAT_VERSION == 1
    assert neardup.signature(*ROAD)[:6].tolist() == PINNED_SIGNATURE
    assert neardup.keys_of(*ROAD)[:3] == PINNED_KEYS
    one = neardup.signatures([neardup.shingles(*ROAD)])
    many = neardup.signatures([neardup.shingles(*UNRELATED), neardup.shingles(*ROAD), np.empty(0, np.uint64)],
                              chunk=10)
    assert (many[1] == one[0]).all()  # batched or alone, the same signature
    assert (many[2] == np.iinfo(np.uint32).max).all()


def test_planted_paraphrases_are_found_among_generated_orders():
    """The bench's paraphrases (reordered clauses, filler, synonyms, typing slips) of 60 generated
    appeals share keys with their original; an in-memory index of 3,000 appeals finds them."""
    from hotline.catalog.data import LEAF_CODES, TOWNS
    from hotline.demo import corpus

    rng = random.Random(7)
    texts = []
    for _ in range(3000):
        town = rng.choice(TOWNS)
        texts.append(corpus.compose_appeal(rng.choice(LEAF_CODES), rng, town=town,
                                           place=corpus.place_in_town(rng, town)))
    keys = neardup.band_keys(neardup.signatures([neardup.shingles(*t) for t in texts]))
    index: dict[int, set[int]] = {}
    for i, row in enumerate(keys.tolist()):
        for key in row:
            index.setdefault(key, set()).add(i)
    found = 0
    for i in range(60):
        query = paraphrase(*texts[i], rng)
        hits = set().union(*(index.get(key, set()) for key in neardup.keys_of(*query)))
        found += i in hits
        assert len(hits) < 300  # a lookup reads few orders, not all 3,000
    assert found >= 55


PINNED_SIGNATURE = [64111726, 121847103, 150400994, 50215857, 62880316, 7363355]
PINNED_KEYS = [8246775560225881572, 2503990048366301239, 9095171333674609271]


# ---------------------------------------------------------------------------------------------
# The index on the database

NOW = at(2023, 7, 12, 10, 0)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def _keys(order) -> set[int]:
    return set(NearDupKey.objects.filter(order=order).values_list("key", flat=True))


def test_registration_writes_the_keys_in_its_transaction(db, new_order):
    road = new_order(title=ROAD[0], content=ROAD[1])
    assert _keys(road) == set(neardup.keys_of(road.title, road.content))
    assert NearDupState.objects.get(order=road).version == neardup.FORMAT_VERSION

    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction.atomic():
        gone = new_order(title=UNRELATED[0], content=UNRELATED[1])
        assert len(_keys(gone)) == neardup.BANDS
        raise Refused  # the disposition failed: registration and its keys go together
    assert not NearDupState.objects.exclude(order=road).exists()
    assert NearDupKey.objects.count() == neardup.BANDS



def test_deleting_an_order_deletes_its_keys(db, new_order):
    """The keys carry no foreign key in the database (a registration would check 20 at commit):
    the ORM's cascade is what removes them with their order, and a lookup never meets a key whose
    order is gone."""
    road, other = new_order(title=ROAD[0], content=ROAD[1]), new_order(title=ROAD[0], content=ROAD[1] + "。")
    keys = _keys(road)
    assert keys and dupindex.lookup(sorted(keys))[road.pk] == len(keys)
    road.delete()
    assert not NearDupKey.objects.filter(order_id=road.pk).exists()
    assert not NearDupState.objects.filter(order_id=road.pk).exists()
    assert _keys(other)  # the other order's keys stay
    assert road.pk not in dupindex.lookup(sorted(keys))

def _lookup(client, user, title, content):
    client.force_login(user)
    return client.get(reverse("intake_lookup"), {"caller_phone": "13600001111", "title": title,
                                                 "content": content}).content.decode()


def test_the_intake_offers_the_order_told_in_other_words(frozen, client, new_order, people, unit):
    """李 types the second caller's words (another phone): the first order is offered to merge into,
    the unrelated one is not, and a handler of another town sees nothing of 杨楼镇."""
    from hotline.workorders.models import WorkOrder

    road = new_order(at=at(2023, 7, 10, 9, 0), title=ROAD[0], content=ROAD[1])
    other = new_order(at=at(2023, 7, 11, 9, 0), title=UNRELATED[0], content=UNRELATED[1], caller_phone="13700007777")
    page = _lookup(client, people["operator_li"], *SAME_IN_OTHER_WORDS)
    assert "内容相似的近期工单" in page and f'data-merge-into="{road.number}"' in page
    assert other.number not in page
    found = dupindex.find(*SAME_IN_OTHER_WORDS, WorkOrder.objects.all())
    assert [pk for pk, _ in found] == [road.pk] and found[0][1] == pytest.approx(
        neardup.jaccard(neardup.shingles(*ROAD), neardup.shingles(*SAME_IN_OTHER_WORDS)))


def test_a_unit_is_never_offered_orders_it_cannot_see(frozen, client, new_order, people, unit):
    """钱 of 寄料镇 may not see 杨楼镇's order, nor a confidential one even of his own unit (the
    caller's words are the caller's): the same words typed find nothing for him."""
    from hotline.triage import services
    from hotline.workorders import actions, queries

    road = new_order(at=at(2023, 7, 10, 9, 0), title=ROAD[0], content=ROAD[1])
    actions.submit_for_dispatch(road, acting_user=people["operator_li"])
    actions.dispatch(road, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"))
    secret = new_order(at=at(2023, 7, 10, 10, 0), title=ROAD[0], content=ROAD[1],  # a neighbour, same words
                       town=unit("寄料镇"), confidential=True, caller_phone="13900003333")
    actions.submit_for_dispatch(secret, acting_user=people["operator_li"])
    actions.dispatch(secret, acting_user=people["dispatcher_wang"], lead_unit=unit("寄料镇"))
    qian, zhao = people["handler_qian"], people["handler_zhao"]
    for user, expected in ((qian, set()), (zhao, {road.pk}), (people["operator_li"], {road.pk, secret.pk})):
        found = services.similar_orders(user, *SAME_IN_OTHER_WORDS, now=NOW, scope=queries.repeat_scope(user))
        assert {o.pk for o, _ in found} == expected, user.username
    # The door alone (visible_to) would give 钱 the confidential order of his unit; the repeat scope does not.
    assert secret.pk in {o.pk for o, _ in services.similar_orders(qian, *SAME_IN_OTHER_WORDS, now=NOW)}
    # The intake's lookup itself is the center's: a unit handler is refused before anything is looked up.
    client.force_login(qian)
    refused = client.get(reverse("intake_lookup"), {"title": SAME_IN_OTHER_WORDS[0], "content": SAME_IN_OTHER_WORDS[1]})
    assert refused.status_code == 403 and road.number not in refused.content.decode()


def test_the_nightly_pass_links_yesterdays_near_duplicates_once(frozen, client, new_order, people, unit):
    """The pass over 07-11 links the repeat told in other words to the 07-10 order (later → earlier),
    not the unrelated order; run again, it adds nothing; a bulk-loaded order is indexed first; the
    order page shows the link to the center and nothing of it to 钱."""
    from hotline.triage.tasks import find_near_duplicates
    from hotline.workorders.models import WorkOrder

    road = new_order(at=at(2023, 7, 10, 9, 0), title=ROAD[0], content=ROAD[1])
    # The nightly pass is stricter than the intake (NIGHTLY_THRESHOLD): the same words again, and a
    # neighbour's call in other words that the intake would offer but the pass leaves alone.
    again = new_order(at=at(2023, 7, 11, 15, 0), title="村内道路破损坑洼仍未维修",
                      content="市民" + ROAD[1].removeprefix("来电人") + "上周已经打过电话，至今没有人来修。",
                      caller_phone="13600001111")
    neighbour = new_order(at=at(2023, 7, 11, 15, 30), title=SAME_IN_OTHER_WORDS[0], content=SAME_IN_OTHER_WORDS[1],
                          caller_phone="13600002222")
    assert neardup.THRESHOLD <= neardup.jaccard(neardup.shingles(*ROAD), neardup.shingles(*SAME_IN_OTHER_WORDS)) \
        < neardup.NIGHTLY_THRESHOLD
    new_order(at=at(2023, 7, 11, 16, 0), title=UNRELATED[0], content=UNRELATED[1], caller_phone="13700007777")
    # An order that came in without an action (the benchmark's loader, an old dump): not indexed yet.
    NearDupKey.objects.filter(order=road).delete()
    NearDupState.objects.filter(order=road).delete()
    result = find_near_duplicates.call(day="2023-07-11")
    assert result == {"day": "2023-07-11", "orders": 3, "pairs": 1, "groups": 1, "backfilled": 1}
    pair = NearDuplicate.objects.get()
    assert (pair.order, pair.similar_to, pair.found_on) == (again, road, dt.date(2023, 7, 11))
    assert pair.jaccard >= neardup.NIGHTLY_THRESHOLD
    assert not NearDuplicate.objects.filter(order=neighbour).exists()
    assert find_near_duplicates.call(day="2023-07-11")["pairs"] == 0 and NearDuplicate.objects.count() == 1
    assert WorkOrder.objects.get(pk=road.pk).status == "received"  # linked, never merged
    client.force_login(people["dispatcher_wang"])
    page = client.get(reverse("order_detail", args=[road.number])).content.decode()
    assert "疑似重复件（夜间文本比对）" in page and f'data-number="{again.number}"' in page
    assert [o for o, _ in dupindex.linked(people["dispatcher_wang"], again)] == [road]
    assert dupindex.linked(people["handler_qian"], again) == []  # the door: 杨楼镇's orders are not his


def test_the_scheduler_queues_the_nightly_pass_once_a_day(frozen, db):
    from django_tasks_db.models import DBTaskResult

    from hotline.triage.tasks import find_near_duplicates, schedule_near_duplicates

    out = io.StringIO()
    call_command("scheduler", "--once", stdout=out)
    assert "hotline.triage.tasks.schedule_near_duplicates: 已入队 1 项" in out.getvalue()
    assert schedule_near_duplicates() == []  # the day is claimed: a second scheduler adds nothing
    queued = DBTaskResult.objects.get(task_path=find_near_duplicates.module_path)
    assert queued.args_kwargs["kwargs"] == {"day": "2023-07-11"}
    assert schedule_near_duplicates(NOW + dt.timedelta(days=1)) == ["triage.find_near_duplicates 2023-07-12"]


def test_the_backfill_command_indexes_what_came_in_without_an_action(db, new_order):
    road = new_order(title=ROAD[0], content=ROAD[1])
    NearDupKey.objects.all().delete()
    NearDupState.objects.all().delete()
    out = io.StringIO()
    call_command("triage", "neardup", stdout=out)
    assert "1" in out.getvalue() and _keys(road) == set(neardup.keys_of(*ROAD))
    NearDupState.objects.update(version=0)  # an index of an older format is rebuilt
    call_command("triage", "neardup", stdout=out)
    assert NearDupState.objects.get().version == neardup.FORMAT_VERSION and _keys(road)


@pytest.mark.django_db(transaction=True)
def test_a_first_build_over_many_orders_drops_and_restores_the_constraints(new_order, monkeypatch):
    """On PostgreSQL a first build past ``BULK_BUILD`` orders loads without the primary key and
    adds it back (the same constraint, checked); elsewhere nothing is dropped. The key table has no
    foreign key (``NearDupKey.order``): the primary key is its only constraint."""
    from django.db import connection

    road = new_order(title=ROAD[0], content=ROAD[1])
    other = new_order(title=UNRELATED[0], content=UNRELATED[1])
    dupindex.clear()

    def constraints():
        if connection.vendor != "postgresql":
            return set()
        with connection.cursor() as cursor:
            cursor.execute("SELECT contype, pg_get_constraintdef(oid) FROM pg_constraint "
                           "WHERE conrelid = 'triage_neardupkey'::regclass")
            return set(cursor.fetchall())

    before = constraints()
    assert {kind for kind, _ in before} == ({"p"} if connection.vendor == "postgresql" else set())
    monkeypatch.setattr(dupindex, "BULK_BUILD", 2)
    report = dupindex.backfill()
    assert report.orders == 2 and _keys(road) == set(neardup.keys_of(*ROAD)) and _keys(other)
    assert constraints() == before
    assert ("primary key" in report.seconds) == (connection.vendor == "postgresql")
