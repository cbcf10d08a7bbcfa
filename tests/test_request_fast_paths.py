"""The statements every registration runs, built once (hotline.lib.compiled): they must write
exactly what the ORM did.

The story: operator 李 registers orders; what she registers is stored column for column as
Django's ``save()`` stored it.
"""

import pytest
from django.db.models.signals import post_save, pre_save

from hotline.lib import compiled
from hotline.workorders.models import Event, WorkOrder
from tests.conftest import at


def test_nothing_listens_for_the_saves_the_fast_insert_skips():
    for model in (WorkOrder, Event):
        assert not pre_save.has_listeners(model) and not post_save.has_listeners(model), model


def _row(model, pk):
    values = model.objects.filter(pk=pk).values().get()
    return {k: v for k, v in values.items() if k not in ("id", "number", "order_id", "updated_at")}


@pytest.mark.parametrize("confidential", [False, True])
def test_a_registration_stores_the_same_order_and_event_as_save_did(new_order, monkeypatch, confidential):
    when = at(2023, 7, 3, 9, 0)
    fast = new_order(at=when, confidential=confidential, address="杨楼镇某村", note="来电")

    def orm_insert(obj, using="default"):
        obj.save(force_insert=True, using=using)

    monkeypatch.setattr(compiled, "insert", orm_insert)
    slow = new_order(at=when, confidential=confidential, address="杨楼镇某村", note="来电")

    assert fast.pk != slow.pk and not fast._state.adding and fast._state.db == "default"
    assert _row(WorkOrder, fast.pk) == _row(WorkOrder, slow.pk)
    fast_event, slow_event = Event.objects.get(order=fast), Event.objects.get(order=slow)
    assert _row(Event, fast_event.pk) == _row(Event, slow_event.pk)
    # The instances the action returns hold what was stored.
    stored = WorkOrder.objects.get(pk=fast.pk)
    for field in WorkOrder._meta.concrete_fields:
        if field.attname != "updated_at":
            assert getattr(fast, field.attname) == getattr(stored, field.attname), field.name


def test_an_upstream_order_with_its_platform_and_deadline_is_stored_whole(new_order):
    from hotline.directory.models import UpstreamPlatform

    platform = UpstreamPlatform.objects.first() or UpstreamPlatform.objects.create(code="pds", name="平顶山市民呼必应平台")
    order = new_order(source="upstream", upstream_platform=platform, upstream_number="PDS-1",
                      upstream_deadline=at(2023, 7, 5, 18, 0), latitude="34.167000", longitude="112.845000")
    stored = WorkOrder.objects.get(pk=order.pk)
    assert (stored.upstream_platform_id, stored.upstream_number, stored.upstream_deadline) == (
        platform.pk, "PDS-1", at(2023, 7, 5, 18, 0))
    assert str(stored.latitude) == "34.167000" and stored.handle_deadline == order.handle_deadline
