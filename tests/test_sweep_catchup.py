"""The first SLA sweep after a day of downtime (issue #16, "Beijing scale").

The story: the hotline's server was down for a day. Hundreds of open orders of Ruzhou's units
passed their deadline meanwhile or entered the near-due window; some were already warned or
chased automatically before the outage, one appeal type's SLA policy does not ask for the
automatic 催办, and a few 督办 went unanswered past their ``respond_by`` (one was answered in time,
one was addressed to a unit that no longer holds its order). 杨楼镇 has a WeCom and a DingTalk
robot and wants only DingTalk for near-due notices.

The catch-up writes in batches, set-based; what it writes must be what the per-order rules say,
order by order: each overdue stamp and its event, each near-due notice with the hours left, one
automatic 催办 per lead assignment (reminder row, ``remind`` event), each failed 督办, and
each notification and outbox row to the right people — computed here from the orders' rows before
the sweep, independently of the sweep's code. A second sweep then finds nothing to do.
Runs on SQLite and on PostgreSQL (DATABASE_URL=postgres://…).
"""

import datetime as dt
import threading

import pytest
import time_machine
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from hotline.accounts.models import User
from hotline.catalog.models import AppealType, SlaPolicy
from hotline.directory.models import Unit
from hotline.lib import clock
from hotline.notify.models import Channel, Delivery, Kind, Notification, Preference, UnitContact
from hotline.workorders import actions, sla, tasks
from hotline.workorders.actions import CHASED
from hotline.workorders.models import Assignment, Event, OverdueWatch, Reminder, WorkOrder
from tests.conftest import at

LOADED = at(2026, 3, 2, 9, 0)  # when the server went down (a Monday), its sweeps up to date
BACK = LOADED + dt.timedelta(days=1, minutes=5)  # the server is back and the sweep runs
KIND = {"overdue": Kind.OVERDUE, "near_due": Kind.NEAR_DUE, "remind": Kind.REMINDER,
        "supervision_failed": Kind.SUPERVISION_FAILED}


def _clone(instance):
    """A new, unsaved row with the same column values."""
    return type(instance)(**{f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields})


def _iso(value):
    return value.isoformat() if value else None


def _hours_left(deadline):
    return round((deadline - BACK).total_seconds() / 3600, 1)


ORDERS = 240
STATUSES = ("dispatched", "handling", "handling", "replied", "return_requested")
UNITS = ("杨楼镇", "寄料镇", "住房和城乡建设局", "城市管理局", "交通运输局", "国网汝州市供电公司")


@pytest.fixture
def outage(new_order, people, unit):
    """Two hundred and forty open orders of six units, dispatched by 王 before the outage, with deadlines
    from 30 hours before the server came back to 30 hours after; then the facts that make the
    catch-up's cases: earlier stamps, notices and reminders, 督办, a policy switched off."""
    template = new_order(at=LOADED - dt.timedelta(days=3))
    actions.submit_for_dispatch(template, acting_user=people["operator_li"], at=LOADED - dt.timedelta(days=3))
    actions.dispatch(template, acting_user=people["dispatcher_wang"], lead_unit=unit("杨楼镇"),
                     handle_deadline=LOADED + dt.timedelta(days=5), at=LOADED - dt.timedelta(days=3))
    template.refresh_from_db()
    lead = Assignment.objects.get(order=template)
    units = [unit(name) for name in UNITS]
    types = list(AppealType.objects.order_by("position"))
    orders = []
    for i in range(ORDERS):
        order = _clone(template)
        order.pk, order.number = None, f"{template.number}-{i:03d}"
        order.status, order.lead_unit = STATUSES[i % len(STATUSES)], units[i % len(units)]
        order.appeal_type = types[i % len(types)]
        order.handle_deadline = BACK + dt.timedelta(hours=-30 + 60 * i / ORDERS, minutes=i % 7)
        orders.append(order)
    orders = WorkOrder.objects.bulk_create(orders)
    # Stamped before the outage (the sweep that ran then): not again. 催办 by hand, none to three.
    Event.objects.bulk_create(
        Event(order=o, at=LOADED - dt.timedelta(hours=1), action="overdue", actor_role="system",
              from_status=o.status, to_status=o.status)
        for i, o in enumerate(orders) if o.handle_deadline < LOADED and i % 4 == 0)
    Reminder.objects.bulk_create(
        Reminder(order=o, kind=Reminder.Kind.REMINDER, unit=o.lead_unit, at=LOADED - dt.timedelta(hours=5),
                 by=people["dispatcher_wang"], notice="请尽快办理")
        for i, o in enumerate(orders) for _ in range(i % 3))
    # The rows were written around the actions: the watch list as the actions would keep it.
    OverdueWatch.objects.bulk_create(OverdueWatch(order_id=pk, handle_deadline=d, status=s) for pk, d, s in
                                     actions.watched_orders().exclude(pk__in=OverdueWatch.objects.values("order_id"))
                                     .values_list("pk", "handle_deadline", "status"))
    leads = []
    for order in orders:
        clone = _clone(lead)
        clone.pk, clone.order, clone.unit = None, order, order.lead_unit
        leads.append(clone)
    Assignment.objects.bulk_create(leads)
    window = dt.timedelta(hours=settings.HOTLINE["NEAR_DUE_HOURS"])
    near = [o for o in orders if o.status in CHASED and BACK <= o.handle_deadline < BACK + window]
    # Warned within the window before the outage: no second notice. Chased automatically already
    # (this lead assignment): no second 催办.
    for order in near[:3]:
        Event.objects.create(order=order, at=BACK - dt.timedelta(hours=2), action="near_due", actor_role="system",
                             from_status=order.status, to_status=order.status)
    for order in near[3:6]:
        chased = Assignment.objects.get(order=order, active=True, role="lead")
        Reminder.objects.create(order=order, kind=Reminder.Kind.REMINDER, unit_id=chased.unit_id,
                                at=BACK - dt.timedelta(hours=3), notice="临期自动催办", assignment=chased,
                                automatic=True)
    # One appeal type's policies do not ask for the automatic 催办.
    off = near[6].appeal_type
    SlaPolicy.objects.filter(appeal_type=off).update(auto_remind=False)
    sla._invalidate()
    # 督办 due during the outage: six unanswered, one answered in time, one to a unit that no
    # longer holds the order (its assignment ended).
    held = list(Assignment.objects.filter(active=True, role="lead", order__in=orders[::29]).order_by("order_id")[:8])
    for i, chased in enumerate(held):
        Reminder.objects.create(order_id=chased.order_id, kind=Reminder.Kind.SUPERVISION, unit_id=chased.unit_id,
                                at=LOADED - dt.timedelta(days=2), notice="请于期限内书面反馈",
                                respond_by=LOADED + dt.timedelta(hours=i + 1), assignment=chased,
                                responded_at=LOADED if i == 6 else None, response="已整改" if i == 6 else "")
    Assignment.objects.filter(pk=held[7].pk).update(active=False)
    yangl = unit("杨楼镇")
    UnitContact.objects.create(unit=yangl, sms_phone="13900001111", wecom_webhook="https://qyapi.example/robot?key=1",
                               dingtalk_webhook="https://oapi.example/robot?access_token=1")
    Preference.objects.create(unit=yangl, kind=Kind.NEAR_DUE, dingtalk=True)
    # 赵 wants overdue orders of his unit on his own phone as well.
    zhao = people["handler_zhao"]
    zhao.phone = "13700002222"
    zhao.save(update_fields=["phone"])
    Preference.objects.create(user=zhao, kind=Kind.OVERDUE, sms=True)
    return {"near": near, "off": off, "held": held}


@pytest.fixture(autouse=True)
def sms_on(settings):
    settings.HOTLINE_NOTIFY = {**settings.HOTLINE_NOTIFY, "KANNEL_SENDSMS_URL": "http://127.0.0.1:13013/cgi-bin/sendsms"}


def expected_outcomes():
    """What the sweep at ``BACK`` must write, order by order, from the rows as they are before it."""
    window = dt.timedelta(hours=settings.HOTLINE["NEAR_DUE_HOURS"])
    names = dict(Unit.objects.values_list("pk", "short_name"))
    leads = {a.order_id: a for a in Assignment.objects.filter(active=True, role="lead")}
    chased_already = set(Reminder.objects.filter(automatic=True).values_list("assignment_id", flat=True))
    warned = set(Event.objects.filter(action="near_due", at__gte=BACK - window).values_list("order_id", flat=True))
    events, reminders = set(), set()
    counts = {}
    before = reminder_counts()
    stamped = Event.objects.filter(action="overdue").values("order_id")
    for o in WorkOrder.objects.filter(status__in=tasks.SWEPT_STATUSES).exclude(pk__in=stamped):
        d = o.handle_deadline
        if d < BACK:
            events.add((o.pk, "overdue", o.status, "", (("handle_deadline", _iso(d)),)))
            continue
        if d >= BACK + window:
            continue
        if o.pk not in warned:
            data = {"handle_deadline": _iso(d), "unit_id": o.lead_unit_id, "hours_left": _hours_left(d)}
            events.add((o.pk, "near_due", o.status, f"距办理时限还剩 {_hours_left(d)} 小时",
                        tuple(sorted((k, v) for k, v in data.items() if v is not None))))
        lead = leads.get(o.pk)
        if (o.status in CHASED and lead and lead.pk not in chased_already
                and sla.auto_remind(o.appeal_type_id, o.urgency, o.source)):
            notice = f"工单临近办理时限（剩余 {_hours_left(d)} 小时），请抓紧办理并按时回复"
            data = {"automatic": True, "unit": names.get(o.lead_unit_id), "unit_id": lead.unit_id,
                    "handle_deadline": _iso(d)}
            events.add((o.pk, "remind", o.status, notice, tuple(sorted((k, v) for k, v in data.items() if v))))
            reminders.add((o.pk, lead.unit_id, lead.pk, notice))
            counts[o.pk] = before.get(o.pk, 0) + 1
    failed = set()
    for r in Reminder.objects.filter(kind="supervision", responded_at__isnull=True, failed=False,
                                     respond_by__lt=BACK).select_related("order"):
        if not Assignment.objects.filter(order_id=r.order_id, unit_id=r.unit_id, active=True).exists():
            continue
        failed.add(r.pk)
        local = r.respond_by.astimezone(dt.timezone(dt.timedelta(hours=8)))
        data = {"reminder": r.pk, "respond_by": _iso(r.respond_by), "unit": names[r.unit_id], "unit_id": r.unit_id}
        events.add((r.order_id, "supervision_failed", r.order.status,
                    f"督办未在 {local:%Y-%m-%d %H:%M} 前书面反馈，认定督办未落实", tuple(sorted(data.items()))))
    return events, reminders, counts, failed


def reminder_counts(pks=None) -> dict[int, int]:
    """Each order's 催办 (by hand and automatic), of the orders ``pks`` or all."""
    rows = Reminder.objects.filter(kind="reminder")
    if pks is not None:
        rows = rows.filter(order_id__in=pks)
    return dict(rows.values("order_id").annotate(n=Count("id")).values_list("order_id", "n"))


def watch_list() -> dict[int, tuple]:
    return {pk: (d, s) for pk, d, s in OverdueWatch.objects.values_list("order_id", "handle_deadline", "status")}


def watch_by_definition() -> dict[int, tuple]:
    return {pk: (d, s) for pk, d, s in actions.watched_orders().values_list("pk", "handle_deadline", "status")}


def expected_messages(events):
    """Who hears of each event (the rules: a unit's handlers, supervisors for a failed 督办) and
    which outbound channels 杨楼镇's and 赵's settings send it to (SMS for a 催办 by default)."""
    handlers = {}
    for pk, unit_id in User.objects.filter(role="handler", is_active=True).values_list("pk", "unit_id"):
        handlers.setdefault(unit_id, set()).add(pk)
    supervisors = set(User.objects.filter(role="supervisor", is_active=True).values_list("pk", flat=True))
    lead_units = dict(WorkOrder.objects.values_list("pk", "lead_unit_id"))
    yangl = Unit.objects.get(short_name="杨楼镇").pk
    notes, robots = set(), set()
    for order_id, action, _, _, data in events:
        unit_id = dict(data)["unit_id"] if action == "supervision_failed" else lead_units[order_id]
        people = handlers.get(unit_id, set()) | (supervisors if action == "supervision_failed" else set())
        notes |= {(order_id, action, user_id, KIND[action]) for user_id in people}
        if unit_id == yangl:
            channels = {Channel.DINGTALK} if action == "near_due" else {Channel.WECOM, Channel.DINGTALK}
            if action == "remind":
                channels.add(Channel.SMS)
            robots |= {(order_id, action, channel, "13900001111" if channel == Channel.SMS else "unit")
                       for channel in channels}
            if action == "overdue":
                robots.add((order_id, action, Channel.SMS, "13700002222"))
    return notes, robots


def written_since(first_event_id):
    new = Event.objects.filter(pk__gt=first_event_id)
    events = {(e.order_id, e.action, e.from_status, e.note, tuple(sorted(e.data.items())))
              for e in new if e.to_status == e.from_status and e.at == BACK and e.actor_id is None
              and e.actor_role == "system" and e.actor_unit_id is None}
    assert len(events) == new.count(), "every event of the sweep is a system fact at the sweep's time"
    notes = {(n.event.order_id, n.event.action, n.recipient_id, n.kind)
             for n in Notification.objects.filter(event__in=new).select_related("event")}
    robots = {(d.event.order_id, d.event.action, d.channel, d.address if d.channel == Channel.SMS else "unit")
              for d in Delivery.objects.filter(event__in=new).select_related("event")}
    return events, notes, robots


def test_a_day_of_downtime_is_caught_up_order_by_order(outage):
    events, reminders, counts, failed = expected_outcomes()
    notes, robots = expected_messages(events)
    actions_expected = {e[1] for e in events}
    assert actions_expected == {"overdue", "near_due", "remind", "supervision_failed"}
    assert len(events) > 200
    last_event = Event.objects.order_by("-pk").values_list("pk", flat=True).first()
    last_reminder = Reminder.objects.order_by("-pk").values_list("pk", flat=True).first()

    with time_machine.travel(BACK, tick=False), CaptureQueriesContext(connection) as queries:
        result = tasks.run_sweep(batch_size=50)  # a live sweep: the time is read after each batch's locks

    written, written_notes, written_robots = written_since(last_event)
    assert written == events
    assert result == {"at": BACK.isoformat(), "overdue": sum(e[1] == "overdue" for e in events),
                      "near_due": sum(e[1] == "near_due" for e in events),
                      "auto_remind": len(reminders), "supervision_failed": len(failed)}
    new = Reminder.objects.filter(pk__gt=last_reminder)
    assert {(r.order_id, r.unit_id, r.assignment_id, r.notice) for r in new} == reminders
    assert all(r.automatic and r.kind == "reminder" and r.at == BACK and r.by_id is None for r in new)
    assert reminder_counts(counts) == counts
    overdue = {e[0] for e in events if e[1] == "overdue"}
    # The stamped orders left the watch list, and it is still what the orders and events say.
    assert not overdue & set(watch_list())
    assert watch_list() == watch_by_definition()
    assert set(Reminder.objects.filter(failed=True, failed_at=BACK).values_list("pk", flat=True)) == failed
    assert written_notes == notes and written_robots == robots
    assert {r[2] for r in robots} == {Channel.SMS, Channel.WECOM, Channel.DINGTALK}
    assert {r[3] for r in robots} == {"unit", "13900001111", "13700002222"}
    # The cases the fixture planted were each decided as the rules say.
    near, held = outage["near"], outage["held"]
    assert not {(o.pk, "near_due") for o in near[:3]} & {e[:2] for e in events}
    assert not {o.pk for o in near[3:6]} & {r[0] for r in reminders}
    assert not [o for o in near if o.appeal_type_id == outage["off"].pk and o.pk in counts]
    assert [o for o in near if o.appeal_type_id != outage["off"].pk and o.pk in counts]
    assert Reminder.objects.get(order_id=held[6].order_id, kind="supervision").failed is False
    assert Reminder.objects.get(order_id=held[7].order_id, kind="supervision").failed is False
    # Set-based: a batch costs a bounded number of statements however many orders it stamps
    # (per order, 催办 and 督办 cost 9 statements or more each: 685 here instead of 151).
    batches = sum(-(-n // 50) for n in (result["overdue"], result["near_due"], result["auto_remind"],
                                          result["supervision_failed"]))
    statements = [q for q in queries.captured_queries if "pg_notify" not in q["sql"]]
    assert len(statements) <= 20 * batches + 30, len(statements)


def test_a_second_sweep_stamps_nothing(outage):
    with time_machine.travel(BACK, tick=False):
        first = tasks.run_sweep()
    assert min(first["overdue"], first["near_due"], first["auto_remind"], first["supervision_failed"]) > 0
    counts = (Event.objects.count(), Reminder.objects.count(), Notification.objects.count(),
              Delivery.objects.count(), watch_list())

    # The same period's sweep again (a task requeued after its worker died, a second scheduler),
    # live and as of the instant, in batches of every size.
    for batch_size in (1, 7, tasks.BATCH_SIZE):
        with time_machine.travel(BACK, tick=False):
            again = tasks.run_sweep(batch_size=batch_size)
        as_of = tasks.run_sweep(BACK, batch_size)
        assert again == as_of == {"at": BACK.isoformat(), "overdue": 0, "near_due": 0, "auto_remind": 0,
                                  "supervision_failed": 0}
    assert counts == (Event.objects.count(), Reminder.objects.count(), Notification.objects.count(),
                      Delivery.objects.count(), watch_list())


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_three_sweeps_at_once_write_each_fact_once(outage):
    """Three workers catch up at once (a requeued task, a second scheduler): each batch is locked,
    then re-read, so together they write exactly what one sweep would, each fact once."""
    events, reminders, counts, failed = expected_outcomes()
    notes, robots = expected_messages(events)
    last_event = Event.objects.order_by("-pk").values_list("pk", flat=True).first()
    barrier, results = threading.Barrier(3), []

    def sweep():
        try:
            barrier.wait()
            results.append(tasks.run_sweep(batch_size=20))
        finally:
            connections.close_all()

    with time_machine.travel(BACK, tick=False):
        threads = [threading.Thread(target=sweep) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert len(results) == 3
    assert written_since(last_event) == (events, notes, robots)
    assert sum(r["auto_remind"] for r in results) == len(reminders) == Reminder.objects.filter(at=BACK).count()
    assert sum(r["supervision_failed"] for r in results) == len(failed)
    assert reminder_counts(counts) == counts
    assert watch_list() == watch_by_definition()


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="side by side only on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_the_connections_side_by_side_write_what_one_writes_alone(outage, monkeypatch):
    """The catch-up's connections side by side, each taking the next batch of any pass (overdue
    stamps; near-due notices and automatic 催办; failed 督办), write row for row what one connection
    writes taking every batch in turn, live, each batch stamped when it holds its locks; every
    connection works, and a connection is not tied to one pass."""
    from hotline.bench.catchup import reset
    from hotline.lib import parallel

    first_event = Event.objects.order_by("-pk").values_list("pk", flat=True).first()
    first_reminder = Reminder.objects.order_by("-pk").values_list("pk", flat=True).first()
    ran = []  # (pass, thread, batch), in the order the batches started

    def recorded(name, write):
        def run(ids, **kwargs):
            ran.append((name, threading.get_ident(), tuple(ids)))
            return write(ids, **kwargs)
        return run

    for name in ("near_due", "mark_overdue", "mark_supervision_failed"):
        monkeypatch.setattr(actions, name, recorded(name, getattr(actions, name)))

    def sweep():
        ran.clear()
        with time_machine.travel(BACK, tick=False):
            result = tasks.run_sweep(batch_size=20)
        return result, _written(first_event, first_reminder), list(ran)

    assert parallel.can_run_side_by_side("default") and tasks.SWEEP_CONNECTIONS > 1
    together, written_together, batches = sweep()
    threads = {thread for _, thread, _ in batches}
    assert len(threads) == tasks.SWEEP_CONNECTIONS
    assert any(len({name for name, thread, _ in batches if thread == t}) > 1 for t in threads)
    # No order (no 督办) was handed to two batches.
    for name in ("near_due", "mark_overdue", "mark_supervision_failed"):
        ids = [pk for n, _, batch in batches if n == name for pk in batch]
        assert ids and len(ids) == len(set(ids)), name
    reset(BACK)
    monkeypatch.setattr(parallel, "can_run_side_by_side", lambda using: False)
    in_turn, written_in_turn, batches = sweep()
    assert {thread for _, thread, _ in batches} == {threading.get_ident()}

    counts = [together[k] for k in ("overdue", "near_due", "auto_remind", "supervision_failed")]
    assert together == in_turn and min(counts) > 0
    for table in written_in_turn:
        assert written_together[table] == written_in_turn[table], table
    assert len(written_together["events"]) == sum(counts)
    assert written_together["notifications"] and written_together["deliveries"]


# ---------------------------------------------------------------------------------------------
# The batch path against the per-order path it replaced


class _Undo(Exception):
    """Raised to roll a block back: each path runs on the same rows."""


def _per_order(overdue_ids, near_ids, remind_ids, supervision_ids, at):
    """What the sweep wrote before it was set-based: each order locked and written on its own, each
    event through ``Event.objects.create`` and its own ``event_recorded`` (notify then reads the
    order the event carries), each notification and outbox row through ``bulk_create``."""
    from hotline.notify import emit

    def orm_insert(model, names, rows, *, ignore_conflicts=False, using="default"):
        model.objects.bulk_create([model(**dict(zip(names, row, strict=True))) for row in rows],
                                  ignore_conflicts=ignore_conflicts)
        return len(rows)

    window = dt.timedelta(hours=settings.HOTLINE["NEAR_DUE_HOURS"])
    system = actions.SYSTEM
    saved, emit.insert_rows = emit.insert_rows, orm_insert
    try:
        for pk in sorted(overdue_ids):
            order = WorkOrder.objects.select_for_update().get(pk=pk)
            if (order.status in tasks.SWEPT_STATUSES and order.handle_deadline < at
                    and not Event.objects.filter(order=order, action="overdue").exists()):
                OverdueWatch.objects.filter(order=order).delete()
                actions._record(order, "overdue", system, at, from_status=order.status,
                                handle_deadline=_iso(order.handle_deadline))
        for pk in sorted(near_ids):
            order = WorkOrder.objects.select_for_update().get(pk=pk)
            d = order.handle_deadline
            if (order.status in tasks.SWEPT_STATUSES and at <= d < at + window
                    and not Event.objects.filter(order=order, action="near_due", at__gte=at - window).exists()):
                hours_left = round((d - at).total_seconds() / 3600, 1)
                actions.record_system_fact(order, "near_due", at=at, note=f"距办理时限还剩 {hours_left} 小时",
                                           handle_deadline=_iso(d), unit_id=order.lead_unit_id,
                                           hours_left=hours_left)
        for pk in sorted(remind_ids):
            order = WorkOrder.objects.select_for_update().get(pk=pk)
            d, lead = order.handle_deadline, actions._lead_of(order)
            if (order.status in CHASED and at <= d < at + window and lead is not None
                    and not Reminder.objects.filter(automatic=True, assignment=lead).exists()
                    and sla.auto_remind(order.appeal_type_id, order.urgency, order.source)):
                hours_left = round((d - at).total_seconds() / 3600, 1)
                notice = f"工单临近办理时限（剩余 {hours_left} 小时），请抓紧办理并按时回复"
                Reminder.objects.create(order=order, kind=Reminder.Kind.REMINDER, unit_id=lead.unit_id, at=at,
                                        notice=notice, assignment=lead, automatic=True)
                actions._record(order, "remind", system, at, from_status=order.status, note=notice,
                                automatic=True,
                                unit=order.lead_unit.short_name if order.lead_unit else None,
                                unit_id=lead.unit_id, handle_deadline=_iso(d))
        for pk in sorted(supervision_ids):
            r = Reminder.objects.select_related("unit").get(pk=pk)
            order = WorkOrder.objects.select_for_update().get(pk=r.order_id)
            if r.responded_at is None and not r.failed and r.respond_by < at:
                r.failed, r.failed_at = True, at
                r.save(update_fields=["failed", "failed_at"])
                actions._record(order, "supervision_failed", system, at, from_status=order.status,
                                note=f"督办未在 {clock.local(r.respond_by):%Y-%m-%d %H:%M} 前书面反馈，认定督办未落实",
                                reminder=r.pk, respond_by=_iso(r.respond_by), unit=r.unit.short_name,
                                unit_id=r.unit_id)
    finally:
        emit.insert_rows = saved


def _batch_path(overdue_ids, near_ids, remind_ids, supervision_ids, at):
    window = dt.timedelta(hours=settings.HOTLINE["NEAR_DUE_HOURS"])
    actions.mark_overdue(overdue_ids, at=at)
    actions.near_due(sorted(set(near_ids) | set(remind_ids)), at=at, window=window)
    actions.mark_supervision_failed(supervision_ids, at=at)


def _written(first_event, first_reminder):
    """Every row the sweep wrote or changed, without primary keys (an event is named by its order,
    action and data; notifications and outbox rows by their event)."""
    def key(model, row, skip=("id",)):
        return tuple(repr(getattr(row, f.attname)) for f in model._meta.concrete_fields if f.attname not in skip)

    events = {e.pk: key(Event, e) for e in Event.objects.filter(pk__gt=first_event)}
    return {
        "events": sorted(events.values()),
        "notifications": sorted((events[n.event_id], key(Notification, n, ("id", "event_id")))
                                for n in Notification.objects.filter(event_id__in=events)),
        "deliveries": sorted((events[d.event_id], key(Delivery, d, ("id", "event_id")))
                             for d in Delivery.objects.filter(event_id__in=events)),
        "reminders": sorted(key(Reminder, r) for r in Reminder.objects.filter(pk__gt=first_reminder)),
        "orders": sorted(WorkOrder.objects.values_list("pk", "updated_at")),
        "watch": sorted(OverdueWatch.objects.values_list("order_id", "handle_deadline", "status")),
        "failed": sorted(Reminder.objects.filter(failed=True).values_list("pk", "failed_at")),
    }


def test_the_batch_writes_what_the_per_order_path_wrote(outage, people, unit):
    """One batch of each pass, with the cases that make it skip rows: orders a concurrent sweep
    stamped or warned after this one read its candidates, orders warned or chased before the
    outage, orders with no lead unit, an appeal type whose policy asks for no automatic 催办, 督办
    answered in time or addressed to a unit that no longer holds the order. Run once the batch
    way and once order by order (rolled back in between): the same rows, column by column."""
    window = dt.timedelta(hours=settings.HOTLINE["NEAR_DUE_HOURS"])
    # Orders nobody leads (their dispatch was withdrawn): stamped and warned, told to nobody.
    supervised = {a.order_id for a in outage["held"]}
    orphans = [o for o in WorkOrder.objects.filter(status="handling").order_by("pk") if o.pk not in supervised][::8]
    WorkOrder.objects.filter(pk__in=[o.pk for o in orphans]).update(lead_unit=None)
    Assignment.objects.filter(order__in=orphans).update(active=False)
    overdue_ids = list(tasks.overdue_candidates(BACK).values_list("pk", flat=True))
    near_ids = list(tasks.near_due_candidates(BACK).values_list("pk", flat=True))
    remind_ids = list(tasks.auto_remind_candidates(BACK).values_list("pk", flat=True))
    supervision_ids = list(tasks.unanswered_supervisions(BACK).values_list("pk", flat=True))
    # One answered while this sweep read its candidates: the batch re-reads and leaves it.
    answered = Reminder.objects.get(pk=supervision_ids[0])
    answered.responded_at, answered.response = BACK - dt.timedelta(minutes=1), "已整改"
    answered.save(update_fields=["responded_at", "response"])
    # Another sweep, a minute earlier, got to some of them after this one read its candidates.
    actions.mark_overdue(overdue_ids[:4], at=BACK - dt.timedelta(minutes=1))
    actions.near_due(near_ids[-4:], at=BACK - dt.timedelta(minutes=1), window=window)
    first_event = Event.objects.order_by("-pk").values_list("pk", flat=True).first()
    first_reminder = Reminder.objects.order_by("-pk").values_list("pk", flat=True).first()
    cases = {o.pk for o in orphans}
    assert cases & set(overdue_ids) and cases & set(near_ids)
    assert {o.pk for o in outage["near"][:6]} <= set(near_ids) | set(remind_ids)

    paths = {}
    for name, path in (("batch", _batch_path), ("per order", _per_order)):
        try:
            with time_machine.travel(BACK, tick=False), transaction.atomic():
                path(overdue_ids, near_ids, remind_ids, supervision_ids, BACK)
                paths[name] = _written(first_event, first_reminder)
                raise _Undo
        except _Undo:
            pass

    batch, per_order = paths["batch"], paths["per order"]
    for table in batch:
        assert batch[table] == per_order[table], table
    # Each case was decided, not merely written the same way twice.
    events = {(int(e[0]), e[2].strip("'")) for e in batch["events"]}
    assert not {(pk, "overdue") for pk in overdue_ids[:4]} & events
    assert not {(pk, "near_due") for pk in near_ids[-4:]} & events
    assert {(o.pk, "near_due") for o in orphans} & events
    assert not {(o.pk, "remind") for o in orphans} & events
    assert {(o.pk, "overdue") for o in orphans} & events
    orphan_events = {e for e in batch["events"] if int(e[0]) in cases}
    assert orphan_events and not [n for n in batch["notifications"] if n[0] in orphan_events]
    assert len(batch["events"]) > 150 and len(batch["notifications"]) > 100 and batch["deliveries"]
    assert {pk for pk, _ in batch["failed"]} == set(supervision_ids[1:]) and len(supervision_ids) == 6


def test_a_batch_reads_its_orders_once(outage):
    """Each pass's batch reads its orders with its locks, and notify takes what it needs of them
    from there (``event_recorded``'s ``orders``): no second read of the same orders per batch."""
    window = dt.timedelta(hours=settings.HOTLINE["NEAR_DUE_HOURS"])
    overdue_ids = list(tasks.overdue_candidates(BACK).values_list("pk", flat=True))
    near_ids = list(tasks.near_due_work(BACK).values_list("pk", flat=True))
    supervision_ids = list(tasks.unanswered_supervisions(BACK).values_list("pk", flat=True))
    with time_machine.travel(BACK, tick=False), CaptureQueriesContext(connection) as queries:
        stamped = actions.mark_overdue(overdue_ids, at=BACK)
        noticed, reminded = actions.near_due(near_ids, at=BACK, window=window)
        failed = actions.mark_supervision_failed(supervision_ids, at=BACK)
    assert min(stamped, noticed, reminded, failed) > 0
    reads = [q["sql"] for q in queries.captured_queries
             if q["sql"].startswith("SELECT") and 'FROM "workorders_workorder"' in q["sql"]]
    assert len(reads) == 3, reads
    assert connection.vendor == "sqlite" or all("FOR UPDATE" in sql for sql in reads)  # SQLite locks the file
    # And what they were told is about the right orders: 赵's unit's overdue orders, by number.
    numbers = dict(WorkOrder.objects.values_list("pk", "number"))
    for note in Notification.objects.filter(event__action="overdue").select_related("event")[:20]:
        assert numbers[note.event.order_id] in note.title and note.url == f"/orders/{numbers[note.event.order_id]}/"


@pytest.mark.django_db(transaction=True)  # its reset VACUUMs, outside a transaction on PostgreSQL
def test_the_catch_up_bench_says_so_when_there_is_nothing_to_catch_up(new_order):
    """`python -m hotline.bench.catchup` on a database already swept past the catch-up's instant
    (here: only a registered order, which the sweep never stamps) ends with one Chinese line, not
    a division by zero; the reset it ran first undid nothing."""
    from hotline.bench import catchup

    new_order()
    with pytest.raises(SystemExit) as ended:
        catchup.measure(1, None)
    assert "没有要补打的" in str(ended.value)
    assert not Event.objects.filter(action__in=("overdue", "near_due", "remind")).exists()
