"""Registering through the JSON API: what one order costs, its number, and the cached reference rows.

The story: operator 李 registers orders from 杨楼镇 on Monday 2023-07-03, one after another or
several at once from different desks. Every order gets the month's next number (RZ2307-000001,
-000002 … no gaps, none twice), its register event and its receipt SMS in the outbox (with the task
that sends it) in one transaction; the
appeal type, category and town it names come from a per-process copy of those small tables.
Runs on SQLite and PostgreSQL (DATABASE_URL=postgres://…); the concurrency test needs PostgreSQL.
"""

import threading

import pytest
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult

from hotline.catalog.models import Category
from hotline.notify.models import Delivery
from hotline.notify.tasks import deliver_due
from hotline.workorders import lookups
from hotline.workorders.models import Event, NumberSequence, WorkOrder
from hotline.workorders.workflow import WorkflowError
from tests.conftest import at

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL locks")

ROAD = {"title": "村内道路破损", "content": "杨楼镇某村主路破损严重，雨天积水。", "town": "杨楼镇",
        "category": "农村管理—人居环境", "appeal_type": "problem", "caller_phone": "13812341234"}


@pytest.fixture
def li(client, people):
    client.force_login(people["operator_li"])
    return client


def post(client, **overrides):
    return client.post("/api/orders/", {**ROAD, **overrides}, content_type="application/json")


def test_an_api_registration_costs_a_fixed_handful_of_queries(li, settings, django_assert_max_num_queries,
                                                              monkeypatch):
    from hotline.workorders import sla

    settings.HOTLINE_NOTIFY = {**settings.HOTLINE_NOTIFY, "KANNEL_SENDSMS_URL": "http://127.0.0.1:9/sendsms"}
    # The SLA copy's version is compared at most once a second (one read then): on a slow machine
    # the second post could come more than a second after the first and count it.
    monkeypatch.setattr(sla, "CHECK_SECONDS", 3600.0)
    assert post(li).status_code == 201  # loads the reference rows of this process once
    # session, user, (order id), event, receipt SMS, its task, number, order — plus BEGIN and COMMIT
    with django_assert_max_num_queries(10):
        response = post(li)

    assert response.status_code == 201, response.content
    order = WorkOrder.objects.get(pk=response.json()["id"])
    assert order.town.short_name == "杨楼镇" and order.category.full_name == "农村管理—人居环境"
    assert Event.objects.filter(order=order, action="register").count() == 1
    assert Delivery.objects.filter(order=order, kind="receipt").count() == 1
    assert DBTaskResult.objects.filter(task_path=deliver_due.module_path).count() == 2


def test_numbers_run_on_without_gaps_and_a_refused_order_takes_none(li, new_order):
    first = new_order()
    with transaction.atomic():
        second = new_order()
        transaction.set_rollback(True)  # an import's dry run: its number goes back
    third = new_order()
    refused = post(li, title="")

    assert refused.status_code == 400
    assert [first.number, second.number, third.number] == ["RZ2307-000001", "RZ2307-000002", "RZ2307-000002"]
    assert NumberSequence.objects.get(period="2307").last == 2
    assert new_order(at=at(2023, 8, 1, 8, 0)).number == "RZ2308-000001"


def test_a_refused_registration_leaves_the_callers_transaction_usable(new_order):
    with transaction.atomic():
        with pytest.raises(WorkflowError):
            new_order(title="")
        kept = new_order()

    assert WorkOrder.objects.get().number == kept.number == "RZ2307-000001"


def test_a_category_changed_in_this_process_is_seen_at_once(li):
    assert post(li).status_code == 201
    leaf = Category.objects.get(full_name="农村管理—人居环境")
    leaf.active = False
    leaf.save()

    refused = post(li)
    assert refused.status_code == 400 and "启用" in refused.json()["error"]


def test_a_category_added_elsewhere_is_usable_at_once_and_a_change_within_a_minute(li, monkeypatch):
    assert post(li).status_code == 201
    parent = Category.objects.get(full_name="农村管理")
    # Written by another process: no signal reaches this one.
    Category.objects.bulk_create([Category(code="ZZ01", name="新分类", parent=parent, level=2,
                                           full_name="农村管理—新分类")])
    assert post(li, category="农村管理—新分类").status_code == 201  # found in the database
    assert post(li, category="农村管理—新分类").status_code == 201  # now in a new copy

    Category.objects.filter(code="ZZ01").update(active=False)
    assert post(li, category="农村管理—新分类").status_code == 201  # the copy is at most MAX_AGE old
    monkeypatch.setattr(lookups, "MAX_AGE", 0.0)
    assert post(li, category="农村管理—新分类").status_code == 400
    assert post(li, category="没有这个分类").json()["error"] == "未知的热点分类：没有这个分类"


def test_lookups_hand_out_copies(ruzhou):
    town = lookups.find(lookups.Unit, "杨楼镇")
    town.short_name = "改了"
    assert lookups.find(lookups.Unit, "杨楼镇").short_name == "杨楼镇"
    assert lookups.find(lookups.Unit, town.pk).pk == town.pk


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_desks_registering_at_once_get_consecutive_numbers(people, new_order):
    errors = []

    def desk():
        try:
            for _ in range(5):
                new_order()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=desk) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors
    numbers = sorted(WorkOrder.objects.values_list("number", flat=True))
    assert numbers == [f"RZ2307-{n:06d}" for n in range(1, 21)]
    assert Event.objects.filter(action="register").count() == 20
    assert connection.vendor == "postgresql"
