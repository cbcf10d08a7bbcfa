"""``hotline.lib.bulk`` writes the rows ``bulk_create`` writes, on SQLite and on PostgreSQL.

The SLA sweep's catch-up writes its events, reminders, notifications and outbox rows through it;
here the same rows go once through ``bulk_create`` and once through ``insert_rows`` and are read
back column by column: texts with Chinese and quotes, JSON with floats, nesting and non-ASCII,
times with and without microseconds in two time zones, NULLs, booleans, defaults of the columns
left out, and a unique constraint that ``ignore_conflicts`` must respect.
"""

import datetime as dt
import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from hotline.lib.bulk import any_of, insert_rows, instances, reserve_ids
from hotline.notify.models import Channel, Delivery, Kind, Notification
from hotline.workorders.models import Event, Reminder
from tests.conftest import at


def _columns(model, row, skip=("id",)):
    return tuple(getattr(row, f.attname) for f in model._meta.concrete_fields if f.attname not in skip)


def _read(model, pks):
    return sorted((_columns(model, row) for row in model.objects.filter(pk__in=pks)), key=repr)


@pytest.fixture
def order(new_order):
    return new_order()


EVENT_NAMES = ("order_id", "at", "action", "actor_id", "actor_role", "actor_unit_id", "from_status", "to_status",
               "note", "data")


def _event_rows(order, people, unit):
    zhao = people["handler_zhao"]
    return [
        (order.pk, at(2026, 3, 3, 9, 5), "near_due", None, "system", None, "handling", "handling",
         "距办理时限还剩 5.0 小时", {"handle_deadline": "2026-03-03T06:05:00+00:00", "unit_id": unit("杨楼镇").pk,
                                "hours_left": 5.0}),
        (order.pk, at(2026, 3, 3, 9, 5, 0) + dt.timedelta(microseconds=123456), "remind", zhao.pk, "handler",
         zhao.unit_id, "dispatched", "handling", '引号"与\\反斜杠\n换行', {"nested": {"a": [1, 2.5, None]},
                                                                        "unit": "杨楼镇", "automatic": True}),
        (order.pk, dt.datetime(2026, 3, 3, 1, 5, tzinfo=dt.UTC), "overdue", None, "system", None, "replied",
         "replied", "", {}),
    ]


def test_events_read_back_as_bulk_create_writes_them(order, people, unit):
    rows = _event_rows(order, people, unit)
    with transaction.atomic():
        orm = Event.objects.bulk_create([Event(**dict(zip(EVENT_NAMES, row, strict=True))) for row in rows])
        ids = reserve_ids(Event, len(rows))
        ours = [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
        insert_rows(Event, ("id", *EVENT_NAMES), ours)
    assert len(set(ids)) == 3 and not set(ids) & {e.pk for e in orm}
    assert _read(Event, ids) == _read(Event, [e.pk for e in orm])
    def data(values):
        return sorted(json.dumps(v, sort_keys=True, ensure_ascii=False) for v in values)

    assert data(row[-1] for row in _read(Event, ids)) == data(row[-1] for row in rows)
    # The instances handed to event_recorded are the rows as read from the database.
    handed = {e.pk: _columns(Event, e, skip=()) for e in instances(Event, ("id", *EVENT_NAMES), ours)}
    assert handed == {e.pk: _columns(Event, e, skip=()) for e in Event.objects.filter(pk__in=ids)}
    # A primary key drawn is never drawn again, and the table's own ids continue after them.
    later = Event.objects.create(order=order, at=at(2026, 3, 4, 9, 0), action="annotate", actor_role="system")
    assert later.pk > max(ids) and reserve_ids(Event, 1)[0] > later.pk


def test_defaults_and_ignored_conflicts_as_bulk_create(order, people, unit):
    zhao, qian = people["handler_zhao"], people["handler_qian"]
    event = Event.objects.create(order=order, at=at(2026, 3, 3, 9, 5), action="overdue", actor_role="system")
    now = at(2026, 3, 3, 9, 5)
    names = ("recipient_id", "order_id", "event_id", "kind", "title", "body", "url", "created_at")
    notes = [(zhao.pk, order.pk, event.pk, Kind.OVERDUE, "工单 1 已超期", "【12345】杨楼镇：……", "/orders/1/", now),
             (qian.pk, None, None, Kind.KB_REVIEW_DUE, "知识库待复核", "", "", now)]
    Notification.objects.bulk_create([Notification(**dict(zip(names, row, strict=True))) for row in notes])
    expected = _read(Notification, Notification.objects.values_list("pk", flat=True))
    Notification.objects.all().delete()
    insert_rows(Notification, names, notes, ignore_conflicts=True)
    # The same event's notification to 赵 again (a retried sweep): skipped, the rest written.
    insert_rows(Notification, names, [notes[0], (qian.pk, order.pk, event.pk, Kind.OVERDUE, "t", "b", "u", now)],
                ignore_conflicts=True)
    extra = (qian.pk, order.pk, event.pk, Kind.OVERDUE, "t", "b", "u", now, None)
    assert _read(Notification, Notification.objects.values_list("pk", flat=True)) == sorted([*expected, extra],
                                                                                            key=repr)

    dnames = ("event_id", "order_id", "kind", "channel", "recipient_kind", "unit_id", "user_id", "address",
              "subject", "body", "created_at", "next_attempt_at")
    deliveries = [(event.pk, order.pk, Kind.OVERDUE, Channel.SMS, "unit", unit("杨楼镇").pk, None, "13900001111",
                   "工单已超期", "正文", now, now + dt.timedelta(hours=8, microseconds=1))]
    Delivery.objects.bulk_create([Delivery(**dict(zip(dnames, row, strict=True))) for row in deliveries])
    expected = _read(Delivery, Delivery.objects.values_list("pk", flat=True))
    Delivery.objects.all().delete()
    assert insert_rows(Delivery, dnames, deliveries + deliveries, ignore_conflicts=True) == 2
    assert _read(Delivery, Delivery.objects.values_list("pk", flat=True)) == expected
    [delivery] = Delivery.objects.all()
    assert (delivery.status, delivery.attempts, delivery.claim_token, delivery.sent_at) == ("pending", 0, "", None)
    # Without ignore_conflicts the unique constraint holds.
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017 — IntegrityError, per vendor
        insert_rows(Delivery, dnames, deliveries)


def test_reminders_read_back_as_bulk_create_writes_them(order, people, unit):
    names = ("order_id", "kind", "unit_id", "at", "by_id", "notice", "assignment_id", "automatic")
    rows = [(order.pk, Reminder.Kind.REMINDER, unit("杨楼镇").pk, at(2026, 3, 3, 9, 5), None,
             "工单临近办理时限（剩余 5.0 小时），请抓紧办理并按时回复", None, True)]
    Reminder.objects.bulk_create([Reminder(**dict(zip(names, row, strict=True))) for row in rows])
    expected = _read(Reminder, Reminder.objects.values_list("pk", flat=True))
    Reminder.objects.all().delete()
    insert_rows(Reminder, names, rows)
    assert _read(Reminder, Reminder.objects.values_list("pk", flat=True)) == expected
    assert Reminder.objects.get().failed is False


def test_instances_are_what_from_db_makes(order, people, unit):
    """The events handed to ``event_recorded`` are made without ``__init__``: the same attributes and
    state as ``from_db`` gives (columns left out read as their defaults), and they behave as models."""
    rows = [(pk, *row) for pk, row in zip((901, 902, 903), _event_rows(order, people, unit), strict=True)]
    names = ("id", *EVENT_NAMES)
    ours = instances(Event, names, rows)
    position = {name: i for i, name in enumerate(names)}
    theirs = [Event.from_db("default", None, [row[position[f.attname]] for f in Event._meta.concrete_fields])
              for row in rows]
    for mine, made in zip(ours, theirs, strict=True):
        assert {k: v for k, v in vars(mine).items() if k != "_state"} == \
            {k: v for k, v in vars(made).items() if k != "_state"}
        assert (mine._state.adding, mine._state.db) == (made._state.adding, made._state.db) == (False, "default")
        assert mine.order == order and mine.order is mine.order  # the related order is read, then cached
        assert mine == made and hash(mine) == hash(made)
    # A column left out reads as its field's default (an event without data has ``{}``).
    [short] = instances(Event, ("id", "order_id", "action"), [(904, order.pk, "annotate")])
    assert (short.data, short.note, short.actor_id) == ({}, "", None)


def test_any_of_selects_and_updates_what_in_does(order, people, unit, new_order):
    """``any_of`` names the rows ``__in`` names, for any list (empty, with duplicates, with keys that
    do not exist); on PostgreSQL as one array parameter."""
    other = new_order(title="路灯不亮")
    events = list(Event.objects.filter(order__in=[order, other]).values_list("pk", flat=True))
    assert len(events) >= 2
    for ids in ([], [events[0]], events, [*events, events[0], 10**12], [10**12]):
        assert sorted(Event.objects.filter(any_of("pk", ids)).values_list("pk", flat=True)) == \
            sorted(Event.objects.filter(pk__in=ids).values_list("pk", flat=True))
        assert sorted(Event.objects.filter(any_of("order_id", [order.pk, *ids])).values_list("pk", flat=True)) == \
            sorted(Event.objects.filter(order_id__in=[order.pk, *ids]).values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        assert Event.objects.filter(any_of("pk", events)).update(note="已读") == len(events)
    assert set(Event.objects.filter(pk__in=events).values_list("note", flat=True)) == {"已读"}
    if connection.vendor == "postgresql":
        [update] = queries.captured_queries
        assert "= ANY(" in update["sql"] and " IN (" not in update["sql"]
