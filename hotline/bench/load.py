"""Bulk loader for benchmarks: millions of orders in the shape of a real month, fast.

Not the demo generator: ``hotline.demo.generate`` walks every order through the action
functions (right for a demo month, hours for millions). This loader writes rows directly:

* orders, assignments, callbacks and return requests are generated in Python in chunks and
  streamed with ``COPY`` (psycopg 3 ``cursor.copy()``) on PostgreSQL, or ``executemany`` INSERTs
  on SQLite (small scales only);
* events are *derived* from those rows in the database with one ``INSERT … SELECT`` per kind of
  event (register, dispatch, sign, reply, callback, overdue …), so the timeline always agrees
  with the order's columns and 40 million events cost no Python time;
* texts come from a pool of a few thousand appeals composed by ``hotline.demo.corpus`` and
  reused at random (composing 10 million unique texts would take longer than loading them);
* on PostgreSQL the secondary indexes and foreign keys of the big tables can be dropped before
  a load and rebuilt after it (``rebuild=True``) — docs/performance.md has the measured choice;
* the character index's keys (hotline.workorders.textindex) are written for each chunk in one
  ``INSERT … SELECT`` beside its ``COPY``, the insert trigger that would write them row by row
  switched off for that transaction only.

Shape: about 93 % local orders (70 % answered by the center, 30 % dispatched to a unit) and 7 %
from upstream platforms; lead units follow the catalog's routing; recent orders are mostly open,
older ones closed except a small tail, so about 10 % of all orders are open with deadlines spread
around ``now``. The data is what a server that ran its SLA sweep every five minutes looks like,
its last sweep on the scheduler's slot ``SWEEP_LAG`` before ``now`` (``last_sweep``): orders past
their deadline by then are stamped overdue (their ``overdue`` event; the others are on the sweep's
watch list, ``OverdueWatch``), orders that entered the near-due window have their near-due notice
and, where a unit works them and the policy asks, the automatic 催办 (the reminder row, the
``remind`` event and its notifications), each at the sweep that would have written it
(``sweep_after``). So the first sweep after a load has only what came due since.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction

from hotline.catalog import data as catalog_data
from hotline.directory.models import Unit
from hotline.notify import emit
from hotline.notify.models import Kind, Notification
from hotline.notify.templates import render
from hotline.workorders import actions, sla, tasks, textindex
from hotline.workorders.models import (
    Assignment,
    Callback,
    Event,
    NumberSequence,
    OverdueWatch,
    Reminder,
    Request,
    WorkOrder,
)
from hotline.workorders.textindex import search_units_with

UTC = dt.UTC
# The sweep's period (``tasks.schedule_sweep``) and how long before ``now`` its last run was: the
# first sweep after a load has a little to do, as a running server's next one has.
SWEEP_EVERY = dt.timedelta(minutes=5)
SWEEP_LAG = dt.timedelta(minutes=10)
HELD = tuple(tasks.SWEPT_STATUSES)  # the statuses in which a unit holds the order
TEXT_POOL = 3000
REPLY_POOL = 400
CHUNK = 50_000
# Hour-of-day weights of incoming calls (0-23 h, local time): the hotline's day.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 15, 13, 9, 10, 13, 14, 13, 11, 8, 6, 5, 4, 2, 1]
SHANGHAI_OFFSET = dt.timedelta(hours=8)

ORDER_COLS = (
    "id", "number", "source", "upstream_platform_id", "upstream_number", "caller_name", "caller_phone",
    "confidential", "town_id", "address", "title", "content", "appeal_type_id", "category_id", "urgency",
    "status", "disposition", "transfer_target", "is_repeat", "registered_by_id", "received_at", "dispatched_at",
    "lead_unit_id", "sign_deadline", "handle_deadline", "deadline_note", "replied_at", "closed_at",
    "answer", "is_true", "is_solved", "satisfaction", "callback_solved", "callback_at", "rework_count",
    "supervised", "excluded_from_assessment", "updated_at", "search_units",
)
ASSIGNMENT_COLS = (
    "id", "order_id", "unit_id", "role", "round", "active", "dispatched_at", "dispatched_by_id", "sign_deadline",
    "signed_at", "signed_by_id", "replied_at", "replied_by_id", "reply_public", "reply_internal", "reply_is_true",
    "reply_solved", "contacted_at", "ended_at", "end_reason", "order_open",
)
CALLBACK_COLS = ("order_id", "at", "by_id", "reached", "satisfaction", "solved", "reasonable", "outcome", "note")
REQUEST_COLS = ("order_id", "assignment_id", "kind", "state", "reason", "basis", "requested_at", "requested_by_id",
                "decided_at", "decided_by_id", "decision_note")
WATCH_COLS = ("order_id", "handle_deadline", "status")
# The overdue stamp is the order's ``overdue`` event (actions.mark_overdue), by the system.
STAMP_COLS = ("order_id", "at", "action", "actor_id", "actor_role", "actor_unit_id", "from_status", "to_status",
              "note", "data")
REMINDER_COLS = ("order_id", "kind", "unit_id", "at", "by_id", "notice", "failed", "assignment_id", "automatic",
                 "response")


def last_sweep(now: dt.datetime) -> dt.datetime:
    """The last sweep the loaded data has seen: the scheduler's slot ``SWEEP_LAG`` before ``now``."""
    return tasks.slot_of(now - SWEEP_LAG, SWEEP_EVERY)


def sweep_after(t: dt.datetime) -> dt.datetime:
    """The first scheduled sweep that finds what became due at ``t``: the next slot strictly after it
    (an order is overdue once its deadline is in the past, near due once it is less than the window away)."""
    return tasks.slot_of(t, SWEEP_EVERY) + SWEEP_EVERY


def chased_at(deadline: dt.datetime, dispatched_at: dt.datetime, *, window: dt.timedelta,
              last: dt.datetime) -> dt.datetime | None:
    """When the sweep wrote the near-due notice and the automatic 催办 of an order of a unit since
    ``dispatched_at`` (the first sweep that saw it held with its deadline less than ``window`` away,
    ``actions.near_due``), or None if no sweep up to ``last`` did."""
    trigger = max(deadline - window, dispatched_at)
    if trigger >= last:
        return None
    at = sweep_after(trigger)
    return at if at <= deadline else None

# Open states an order can be in, with weights, for orders still open at ``now``.
OPEN_STATES = (("awaiting_dispatch", 3), ("dispatched", 14), ("handling", 52), ("return_requested", 2),
               ("suspended", 3), ("replied", 8), ("awaiting_callback", 18))
SATISFACTION = (("very_satisfied", 55), ("satisfied", 25), ("basically_satisfied", 10), ("dissatisfied", 7),
                ("very_dissatisfied", 3))


@dataclass
class Refs:
    """The reference rows every generated order points at (ids only)."""

    towns: dict[str, int]
    units: dict[str, int]
    categories: dict[str, int]  # leaf code -> id
    appeal_types: dict[str, int]
    platforms: list[int]
    operators: list[int]
    dispatchers: list[int]
    handlers: dict[int, int]  # unit id -> a handler's user id
    texts: list[tuple[str, str, str, str, str]]  # (title, content, leaf code, town, place)
    replies: list[str]


@dataclass
class LoadReport:
    orders: int = 0
    assignments: int = 0
    callbacks: int = 0
    requests: int = 0
    events: int = 0
    open_orders: int = 0
    reminders: int = 0
    notifications: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def prepare_refs(seed: int = 1) -> Refs:
    """Load Ruzhou's defaults and people if missing; build the text pools."""
    from hotline.accounts.models import User
    from hotline.catalog.models import AppealType, Category
    from hotline.demo import corpus
    from hotline.demo.defaults import load_defaults
    from hotline.demo.people import ensure_people, unit_handler
    from hotline.directory.models import Unit, UpstreamPlatform

    load_defaults()
    if not User.objects.filter(username="operator_li").exists():
        ensure_people()
    units = {u.short_name: u for u in Unit.objects.all()}
    handlers = {u.pk: unit_handler(u).pk for u in units.values() if u.kind != "center"}
    towns = {name: units[name].pk for name in catalog_data.TOWNS if name in units}
    rng = random.Random(seed)
    leaves = list(catalog_data.LEAF_CODES)
    texts = []
    for _ in range(TEXT_POOL):
        leaf, town = rng.choice(leaves), rng.choice(list(towns))
        place = corpus.place_in_town(rng, town)
        title, content = corpus.compose_appeal(leaf, rng, town=town, place=place)
        texts.append((title, content, leaf, town, place))
    replies = [corpus.compose_reply(rng.choice(leaves), rng, unit="承办单位", solved=rng.random() < 0.8)
               for _ in range(REPLY_POOL)]
    return Refs(
        towns=towns, units={k: v.pk for k, v in units.items()},
        categories={c.code: c.pk for c in Category.objects.filter(level=2)},
        appeal_types={t.code: t.pk for t in AppealType.objects.all()},
        platforms=list(UpstreamPlatform.objects.order_by("position").values_list("pk", flat=True)),
        operators=list(User.objects.filter(role="operator").values_list("pk", flat=True)),
        dispatchers=list(User.objects.filter(role="dispatcher").values_list("pk", flat=True)),
        handlers=handlers, texts=texts, replies=replies,
    )


# ---------------------------------------------------------------------------------------------
# Generating rows


class _Gen:
    """Generates one chunk's rows; ids are assigned here so children can point at their order."""

    def __init__(self, refs: Refs, now: dt.datetime, rng: random.Random):
        self.refs, self.now, self.rng = refs, now, rng
        self.type_codes = ["consult", "problem", "complaint", "suggestion", "other"]
        self.type_weights = [38, 18, 22, 1, 21]
        self.open_states = [s for s, _ in OPEN_STATES]
        self.open_weights = [w for _, w in OPEN_STATES]
        self.sat = [s for s, _ in SATISFACTION]
        self.sat_w = [w for _, w in SATISFACTION]
        self.unit_ids = sorted(set(refs.handlers))
        self.next_asg = 1
        self.window = dt.timedelta(hours=settings.HOTLINE["NEAR_DUE_HOURS"])
        self.last = last_sweep(now)
        self._auto_remind: dict[tuple, bool] = {}

    def auto_remind(self, appeal_type_id: int, urgency: str, source: str) -> bool:
        """The policy's switch (``sla.auto_remind``), looked up once per kind of order."""
        key = (appeal_type_id, urgency, source)
        if key not in self._auto_remind:
            self._auto_remind[key] = sla.auto_remind(*key)
        return self._auto_remind[key]

    def lead_for(self, leaf: str, town: str) -> int:
        route = catalog_data.LEAF_ROUTING.get(leaf) or [catalog_data.TOWN]
        first = route[0] if self.rng.random() < 0.8 else self.rng.choice(route)
        if first == catalog_data.TOWN:
            return self.refs.towns[town]
        return self.refs.units.get(first) or self.refs.towns[town]

    def received_times(self, lo: dt.datetime, hi: dt.datetime, n: int) -> list[dt.datetime]:
        """``n`` sorted instants in [lo, hi), shaped like the hotline's day (rejection sampling by hour)."""
        rng, span, top = self.rng, (hi - lo).total_seconds(), max(HOUR_WEIGHTS)
        out = []
        while len(out) < n:
            t = lo + dt.timedelta(seconds=rng.random() * span)
            if rng.random() * top < HOUR_WEIGHTS[(t.hour + 8) % 24]:
                out.append(t)
        out.sort()
        return out

    def chunk(self, first_id: int, times: list[dt.datetime], numbers: dict[str, int]):
        """Rows of orders ``first_id``… received at ``times``; assignment ids continue from ``self.next_asg``."""
        rng, refs, now = self.rng, self.refs, self.now
        H = dt.timedelta(hours=1)
        orders, assignments, callbacks, requests, reminders, watch, stamps = [], [], [], [], [], [], []
        for i, received in enumerate(times):
            oid = first_id + i
            first_assignment = len(assignments)
            lead_asg = None  # (id, dispatched at) of the active lead assignment
            title, content, leaf, town, place = refs.texts[rng.randrange(len(refs.texts))]
            period = (received + SHANGHAI_OFFSET).strftime("%y%m")
            numbers[period] = numbers.get(period, 0) + 1
            number = f"{settings.HOTLINE['NUMBER_PREFIX']}{period}-{numbers[period]:06d}"
            upstream = rng.random() < 0.07
            source = "upstream" if upstream else ("phone" if rng.random() < 0.85 else rng.choice(
                ("web", "wechat", "app", "letter")))
            platform = refs.platforms[0 if rng.random() < 0.85 else -1] if upstream else None
            atype = rng.choices(self.type_codes, self.type_weights)[0]
            urgency = "normal" if rng.random() < 0.97 else "urgent"
            age = now - received
            is_open = rng.random() < (0.9 if age < dt.timedelta(days=10) else 0.055)
            state = rng.choices(self.open_states, self.open_weights)[0] if is_open else "closed"
            dispatch = upstream or rng.random() < (0.55 if atype in ("problem", "complaint") else 0.12)
            if state in ("dispatched", "handling", "return_requested", "suspended", "replied"):
                dispatch = True
            operator = refs.operators[oid % len(refs.operators)]
            row = dict(dispatched_at=None, lead=None, sign_deadline=None, handle_deadline=None, replied_at=None,
                       closed_at=None, overdue_at=None, answer="", is_true="", is_solved=None, satisfaction="",
                       callback_solved=None, callback_at=None, rework=0, disposition="", transfer=None)
            if state == "awaiting_dispatch":
                dispatch = False
            elif dispatch:
                row["disposition"] = "dispatch"
                lead = self.lead_for(leaf, town)
                d_at = received + H * rng.uniform(0.2, 3)
                limit = dt.timedelta(days=2 if atype == "consult" else 7)
                if urgency == "urgent":
                    limit = dt.timedelta(days=2)
                row.update(dispatched_at=d_at, lead=lead, sign_deadline=d_at + 24 * H, handle_deadline=d_at + limit)
                rounds = [(lead, d_at)]
                returned = rng.random() < 0.025
                if returned:  # approved return, redispatched to another unit
                    other = rng.choice(self.unit_ids)
                    d2 = d_at + H * rng.uniform(4, 30)
                    rounds = [(lead, d_at), (other, d2)]
                    row.update(lead=other, dispatched_at=d_at, sign_deadline=d2 + 24 * H, handle_deadline=d2 + limit)
                for rnd, (unit, at) in enumerate(rounds, start=1):
                    last = rnd == len(rounds)
                    handler = refs.handlers.get(unit)
                    signed = replied = None
                    if not last or state != "dispatched":
                        signed = at + H * (rng.uniform(26, 60) if rng.random() < 0.08 else rng.uniform(0.1, 6))
                    if last and state in ("replied", "awaiting_callback", "closed"):
                        late = rng.random() < 0.12
                        replied = (row["handle_deadline"] + H * rng.uniform(1, 72) if late
                                   else at + (row["handle_deadline"] - at) * rng.uniform(0.15, 0.95))
                        if replied > now:
                            replied = now - H * rng.uniform(0.1, 3)
                        if signed and signed > replied:
                            signed = at + (replied - at) * 0.5
                    if signed and signed > now:
                        signed = None
                    if rnd == 1:
                        first_asg = self.next_asg
                    if last:
                        lead_asg = (self.next_asg, at)
                    self.next_asg += 1
                    assignments.append((
                        self.next_asg - 1, oid, unit, "lead", rnd, last, at, refs.dispatchers[oid % len(refs.dispatchers)],
                        at + 24 * H, signed, handler if signed else None, replied, handler if replied else None,
                        refs.replies[oid % len(refs.replies)] if replied else "", "", "true" if replied else "",
                        (rng.random() < 0.8) if replied else None, signed, None if last else rounds[rnd][1],
                        "" if last else "returned"))
                    if not last:
                        requests.append((oid, first_asg, "return", "approved", "不属于本单位职责", "三定方案",
                                         at + H * 2, handler or operator, rounds[rnd][1] - H, refs.dispatchers[0], "改派"))
                    if replied:
                        row.update(replied_at=replied, answer=refs.replies[oid % len(refs.replies)],
                                   is_true="true", is_solved=rng.random() < 0.8)
                if rng.random() < 0.01 and state != "dispatched":  # a rejected return request
                    requests.append((oid, first_asg, "return", "rejected", "不属于本单位职责", "", d_at + H, operator,
                                     d_at + 3 * H, refs.dispatchers[0], "职责明确，不予退回"))
                if rng.random() < 0.05 and state not in ("dispatched",):
                    co = rng.choice(self.unit_ids)
                    if co != row["lead"]:
                        co_signed = d_at + H * rng.uniform(1, 10)
                        co_signed = co_signed if co_signed < now else None
                        self.next_asg += 1
                        assignments.append((self.next_asg - 1, oid, co, "co", len(rounds), True, d_at, refs.dispatchers[0],
                                            d_at + 24 * H, co_signed, refs.handlers.get(co) if co_signed else None,
                                            None, None, "", "", "", None, None, None, ""))
            else:
                kind = rng.random()
                answer_at = received + dt.timedelta(minutes=rng.uniform(3, 90))
                if answer_at > now:
                    answer_at = now
                if kind < 0.85:
                    row.update(disposition="direct_answer", replied_at=answer_at,
                               answer=refs.replies[oid % len(refs.replies)])
                elif kind < 0.95:
                    row.update(disposition="coordinate", replied_at=answer_at + H * rng.uniform(0.5, 30),
                               answer=refs.replies[oid % len(refs.replies)])
                    if row["replied_at"] > now:
                        row["replied_at"] = now
                else:
                    disp = rng.choice(("transfer", "inform", "not_accepted"))
                    row.update(disposition=disp, closed_at=answer_at,
                               transfer=rng.choice(("110", "119", "120", "122")) if disp == "transfer" else None)
                    state = "closed"
                if state not in ("closed", "awaiting_callback") and row["disposition"] != "":
                    state = "awaiting_callback"
            if row["handle_deadline"] and state in HELD:
                # The sweep's definition (``WorkOrderQuerySet.overdue``): held by a unit past the
                # deadline, replied or not.
                if row["handle_deadline"] < self.last:
                    row["overdue_at"] = sweep_after(row["handle_deadline"])
            elif row["handle_deadline"] and row["replied_at"] and row["replied_at"] > row["handle_deadline"]:
                row["overdue_at"] = sweep_after(row["handle_deadline"])
            if row["overdue_at"] is not None:
                stamps.append((oid, row["overdue_at"], "overdue", None, "system", None, "handling", "handling", "",
                               "{}"))
            elif row["handle_deadline"] and state in HELD:
                watch.append((oid, row["handle_deadline"], state))  # OverdueWatch: held, not stamped yet
            # The automatic 催办 (``actions.near_due``): the order's status now stands for its status
            # then, as for the overdue stamps, so an order a unit works now was worked when it came
            # near due, whether or not it is overdue since.
            reminded = None
            if (state in actions.CHASED and lead_asg
                    and self.auto_remind(refs.appeal_types[atype], urgency, source)):
                reminded = chased_at(row["handle_deadline"], lead_asg[1], window=self.window, last=self.last)
                if reminded:
                    reminders.append((oid, Reminder.Kind.REMINDER.value, row["lead"], reminded, None,
                                      actions.automatic_reminder_notice(row["handle_deadline"], reminded), False,
                                      lead_asg[0], True, ""))
            if state == "closed" and row["disposition"] in ("direct_answer", "coordinate", "dispatch"):
                cb_at = (row["replied_at"] or received) + H * rng.uniform(2, 60)
                if cb_at > now:
                    cb_at = now - H * rng.uniform(0, 1)
                reached = rng.random() < 0.92
                sat = rng.choices(self.sat, self.sat_w)[0] if reached else ""
                solved = (rng.random() < 0.85) if reached else None
                if dispatch and rng.random() < 0.03:
                    row["rework"] = 1
                    callbacks.append((oid, cb_at - H * 30, operator, True, "dissatisfied", False, True,
                                      "rework", "未解决，重办"))
                callbacks.append((oid, cb_at, operator, reached, sat, solved, True, "close", ""))
                row.update(closed_at=cb_at, satisfaction=sat, callback_solved=solved,
                           callback_at=cb_at)
            if state == "awaiting_dispatch":
                row["disposition"] = ""
            # Each assignment says whether its order ended open (Assignment.order_open).
            assignments[first_assignment:] = [(*a, state not in ("closed", "merged"))
                                              for a in assignments[first_assignment:]]
            orders.append((
                oid, number, source, platform, f"UP{oid}" if upstream else "", "市民", _phone(rng),
                False, refs.towns[town], place, title, content, refs.appeal_types[atype], refs.categories.get(leaf),
                urgency, state, row["disposition"], row["transfer"] or "", False, operator, received,
                row["dispatched_at"], row["lead"], row["sign_deadline"], row["handle_deadline"], "",
                row["replied_at"], row["closed_at"], row["answer"], row["is_true"],
                row["is_solved"], row["satisfaction"], row["callback_solved"], row["callback_at"], row["rework"],
                False, False,
                max(t for t in (received, row["closed_at"], row["replied_at"], reminded) if t is not None),
                search_units_with("", [a[2] for a in assignments[first_assignment:]])))
        return orders, assignments, callbacks, requests, reminders, watch, stamps


def _phone(rng: random.Random) -> str:
    # A pool of ~3 million callers: repeat callers exist, as in life.
    return f"1{rng.choice('3578')}{rng.randrange(3_000_000):09d}"


# ---------------------------------------------------------------------------------------------
# Writing rows


def _table(model) -> str:
    return model._meta.db_table


def _copy(cursor, model, cols, rows) -> None:
    with cursor.copy(f"COPY {_table(model)} ({', '.join(cols)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _aware(value) -> dt.datetime:
    """A datetime read with a raw cursor: SQLite's may come back as text, or without its zone (UTC)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _sqlite_value(value):
    if isinstance(value, dt.datetime):
        return str(value.astimezone(UTC).replace(tzinfo=None))
    return value


def _insert_many(cursor, model, cols, rows) -> None:
    sql = f"INSERT INTO {_table(model)} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
    cursor.executemany(sql, [tuple(_sqlite_value(v) for v in row) for row in rows])


def _max_id(cursor, model) -> int:
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_table(model)}")
    return cursor.fetchone()[0]


BIG_TABLES = (WorkOrder, Assignment, Event, Callback, Request)


def drop_secondary(cursor) -> list[str]:
    """Drop every index but the primary keys, and the foreign keys, of the big tables (PostgreSQL).

    Returns the statements that recreate them. Foreign keys are deferrable in Django's schema, so
    a COPY with them in place queues one trigger check per row until commit: dropping them for the
    load and adding them back (one validating join each) is much faster.
    """
    tables = [_table(m) for m in BIG_TABLES] + [textindex.TABLE]  # the side table: its GIN index
    cursor.execute("""
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype
        FROM pg_constraint c WHERE c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('f', 'u')""", [tables])
    constraints = cursor.fetchall()
    cursor.execute("""
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""", [tables])
    indexes = cursor.fetchall()
    recreate = [sql for _, sql in indexes]
    recreate += [f'ALTER TABLE {t} ADD CONSTRAINT "{name}" {definition}' for t, name, definition, kind in
                 sorted(constraints, key=lambda c: c[3] != "u")]  # unique first: FKs may need them
    for table, name, _, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return recreate


def load(orders: int, *, start: dt.datetime, end: dt.datetime, now: dt.datetime, refs: Refs | None = None,
         seed: int = 1, rebuild: bool | None = None, chunk: int = CHUNK, progress=None) -> LoadReport:
    """Add ``orders`` orders received in [start, end) with their assignments, callbacks and events.

    May be called again for another window (older months): ids and numbers continue.
    ``rebuild`` (PostgreSQL): drop secondary indexes and foreign keys first and rebuild them after;
    default: rebuild when the tables are empty.
    """
    report = LoadReport()
    tick = time.perf_counter()
    refs = refs or prepare_refs(seed)
    report.seconds["prepare"] = time.perf_counter() - tick
    pg = connection.vendor == "postgresql"
    rng = random.Random(seed * 7919 + int(start.timestamp()))
    gen = _Gen(refs, now, rng)
    with connection.cursor() as cursor:
        first_id = _max_id(cursor, WorkOrder) + 1
        if rebuild is None:
            rebuild = pg and first_id == 1
        recreate = []
        if pg:
            cursor.execute("SET synchronous_commit = off")
            cursor.execute("SET maintenance_work_mem = '1GB'")
            if rebuild:
                recreate = drop_secondary(cursor)
    numbers = dict(NumberSequence.objects.values_list("period", "last"))
    span = end - start
    done = 0
    tick = time.perf_counter()
    gen_seconds = keys_seconds = 0.0
    with connection.cursor() as cursor:
        asg_from = _max_id(cursor, Assignment) + 1
        cb_from = _max_id(cursor, Callback) + 1
    gen.next_asg = asg_from
    while done < orders:
        n = min(chunk, orders - done)
        lo = start + span * (done / orders)
        hi = start + span * ((done + n) / orders)
        g0 = time.perf_counter()
        rows = gen.chunk(first_id + done, gen.received_times(lo, hi, n), numbers)
        gen_seconds += time.perf_counter() - g0
        with transaction.atomic(), connection.cursor() as cursor:
            write = (lambda *a: _copy(cursor.cursor, *a)) if pg else (lambda *a: _insert_many(cursor, *a))
            if pg:
                # In this transaction only (ALTER TABLE is transactional), so a load that fails
                # never leaves the trigger off; other writers wait for the commit (the lock).
                cursor.execute(f"ALTER TABLE {_table(WorkOrder)} DISABLE TRIGGER {textindex.INSERT_TRIGGER}")
            write(WorkOrder, ORDER_COLS, rows[0])
            if pg:
                k0 = time.perf_counter()
                cursor.execute(textindex.fill("o.id BETWEEN %s AND %s"), [first_id + done, first_id + done + n - 1])
                keys_seconds += time.perf_counter() - k0
                # With the foreign keys in place (rebuild=False) the COPY queued their deferred
                # checks, and PostgreSQL refuses to ALTER a table with checks pending: run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"ALTER TABLE {_table(WorkOrder)} ENABLE TRIGGER {textindex.INSERT_TRIGGER}")
            write(Assignment, ASSIGNMENT_COLS, rows[1])
            write(Callback, CALLBACK_COLS, rows[2])
            write(Request, REQUEST_COLS, rows[3])
            write(Reminder, REMINDER_COLS, rows[4])
            write(OverdueWatch, WATCH_COLS, rows[5])
            write(Event, STAMP_COLS, rows[6])
        report.orders += n
        report.assignments += len(rows[1])
        report.callbacks += len(rows[2])
        report.requests += len(rows[3])
        report.reminders += len(rows[4])
        report.events += len(rows[6])
        done += n
        if progress:
            progress(done, orders, time.perf_counter() - tick)
    report.seconds["generate (python)"] = gen_seconds
    report.seconds["write rows"] = time.perf_counter() - tick - gen_seconds - keys_seconds
    if pg:
        report.seconds["search keys (sql)"] = keys_seconds
    tick = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        report.events += derive_events(cursor, first_id, first_id + orders - 1, asg_from, cb_from, now, pg)
        report.notifications = reminder_notifications(cursor, first_id, first_id + orders - 1)
    report.seconds["derive events (sql)"] = time.perf_counter() - tick
    tick = time.perf_counter()
    with connection.cursor() as cursor:
        for period, last in numbers.items():
            cursor.execute(f"UPDATE {_table(NumberSequence)} SET last = %s WHERE period = %s AND last < %s",
                           [last, period, last])
            cursor.execute(f"INSERT INTO {_table(NumberSequence)} (period, last) SELECT %s, %s WHERE NOT EXISTS "
                           f"(SELECT 1 FROM {_table(NumberSequence)} WHERE period = %s)", [period, last, period])
        if pg:
            for model in (*BIG_TABLES,):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{_table(model)}', 'id'), "
                               f"(SELECT COALESCE(MAX(id), 1) FROM {_table(model)}))")
            for sql in recreate:
                cursor.execute(sql)
    if recreate:
        report.seconds["rebuild indexes + FKs"] = time.perf_counter() - tick
        tick = time.perf_counter()
    with connection.cursor() as cursor:
        if pg:
            for table in (*map(_table, (*BIG_TABLES, Reminder, OverdueWatch, Notification)), textindex.TABLE):
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        else:
            cursor.execute("ANALYZE")
        cursor.execute(f"SELECT COUNT(*) FROM {_table(WorkOrder)} WHERE id >= %s AND status NOT IN ('closed', 'merged')",
                       [first_id])
        report.open_orders = cursor.fetchone()[0]
    report.seconds["vacuum analyze"] = time.perf_counter() - tick
    return report


def derive_events(cursor, lo: int, hi: int, asg_from: int, cb_from: int, now: dt.datetime, pg: bool) -> int:
    """Write the timeline of orders ``lo``..``hi`` from their rows, one INSERT … SELECT per kind."""
    wo, asg, cb, req, ev, rem, unit = (_table(m) for m in (WorkOrder, Assignment, Callback, Request, Event, Reminder,
                                                           Unit))
    data = "'{}'::jsonb" if pg else "'{}'"
    # What ``actions.near_due`` records with an automatic 催办 (the deadline is the order's).
    reminded = ("jsonb_build_object('automatic', true, 'unit', u.short_name, 'unit_id', r.unit_id)" if pg else
                "json_object('automatic', json('true'), 'unit', u.short_name, 'unit_id', r.unit_id)")
    cols = "order_id, at, action, actor_id, actor_role, actor_unit_id, from_status, to_status, note, data"
    rng = "o.id BETWEEN %s AND %s"
    statements = [
        # registered
        (f"SELECT o.id, o.received_at, 'register', o.registered_by_id, 'operator', NULL, '', 'received', '', {data} "
         f"FROM {wo} o WHERE {rng}", [lo, hi]),
        # center dispositions
        (f"SELECT o.id, COALESCE(o.replied_at, o.closed_at), CASE o.disposition WHEN 'not_accepted' THEN 'not_accept' "
         f"ELSE o.disposition END, o.registered_by_id, 'operator', NULL, 'received', "
         f"CASE WHEN o.disposition IN ('direct_answer', 'coordinate') THEN 'awaiting_callback' ELSE 'closed' END, '', "
         f"{data} FROM {wo} o WHERE {rng} AND o.disposition NOT IN ('', 'dispatch')", [lo, hi]),
        # submitted for dispatch
        (f"SELECT o.id, o.received_at, 'submit_for_dispatch', o.registered_by_id, 'operator', NULL, 'received', "
         f"'awaiting_dispatch', '', {data} FROM {wo} o WHERE {rng} "
         f"AND (o.disposition = 'dispatch' OR o.status = 'awaiting_dispatch')", [lo, hi]),
        # dispatch (each lead round)
        (f"SELECT a.order_id, a.dispatched_at, 'dispatch', a.dispatched_by_id, 'dispatcher', NULL, "
         f"CASE WHEN a.round = 1 THEN 'awaiting_dispatch' ELSE 'return_requested' END, 'dispatched', '', {data} "
         f"FROM {asg} a WHERE a.id >= %s AND a.role = 'lead'", [asg_from]),
        (f"SELECT a.order_id, a.signed_at, CASE a.role WHEN 'lead' THEN 'sign' ELSE 'co_sign' END, a.signed_by_id, "
         f"'handler', a.unit_id, 'dispatched', 'handling', '', {data} FROM {asg} a "
         f"WHERE a.id >= %s AND a.signed_at IS NOT NULL", [asg_from]),
        (f"SELECT r.order_id, r.requested_at, 'request_return', r.requested_by_id, 'handler', NULL, 'handling', "
         f"'return_requested', r.reason, {data} FROM {req} r WHERE r.order_id BETWEEN %s AND %s", [lo, hi]),
        (f"SELECT r.order_id, r.decided_at, CASE r.state WHEN 'approved' THEN 'approve_return' "
         f"ELSE 'reject_return' END, r.decided_by_id, 'dispatcher', NULL, 'return_requested', "
         f"CASE r.state WHEN 'approved' THEN 'awaiting_dispatch' ELSE 'handling' END, r.decision_note, {data} "
         f"FROM {req} r WHERE r.order_id BETWEEN %s AND %s", [lo, hi]),
        (f"SELECT a.order_id, a.replied_at, 'reply', a.replied_by_id, 'handler', a.unit_id, 'handling', 'replied', "
         f"'', {data} FROM {asg} a WHERE a.id >= %s AND a.replied_at IS NOT NULL", [asg_from]),
        # approval of the reply: the same instant as the reply (timelines order ties by id)
        (f"SELECT o.id, o.replied_at, 'approve_reply', NULL, 'dispatcher', NULL, 'replied', 'awaiting_callback', '', "
         f"{data} FROM {wo} o WHERE {rng} AND o.disposition = 'dispatch' AND o.replied_at IS NOT NULL "
         f"AND o.status IN ('awaiting_callback', 'closed')", [lo, hi]),
        (f"SELECT c.order_id, c.at, CASE c.outcome WHEN 'close' THEN 'callback_close' ELSE 'callback_rework' END, "
         f"c.by_id, 'operator', NULL, 'awaiting_callback', CASE c.outcome WHEN 'close' THEN 'closed' "
         f"ELSE 'handling' END, c.note, {data} FROM {cb} c WHERE c.id >= %s", [cb_from]),
        # the automatic 催办, by the system, in the status the order is in (a unit works it)
        (f"SELECT r.order_id, r.at, 'remind', NULL, 'system', NULL, o.status, o.status, r.notice, {reminded} "
         f"FROM {rem} r JOIN {wo} o ON o.id = r.order_id LEFT JOIN {unit} u ON u.id = o.lead_unit_id "
         f"WHERE r.order_id BETWEEN %s AND %s AND r.automatic", [lo, hi]),
    ]
    total = 0
    for select, params in statements:
        cursor.execute(f"INSERT INTO {ev} ({cols}) {select}", params)
        total += cursor.rowcount
    total += _near_due_notices(cursor, lo, hi, now, pg)
    return total


def _near_due_notices(cursor, lo: int, hi: int, now: dt.datetime, pg: bool) -> int:
    """The notices the sweep already sent: open orders inside the near-due window at its last run,
    each at the sweep that sent it (the one that issued the order's automatic 催办, if any)."""
    window = dt.timedelta(hours=settings.HOTLINE["NEAR_DUE_HOURS"])
    last = last_sweep(now)
    wo, asg, ev = _table(WorkOrder), _table(Assignment), _table(Event)
    cursor.execute(f"SELECT o.id, o.handle_deadline, o.status, a.dispatched_at FROM {wo} o JOIN {asg} a "
                   f"ON a.order_id = o.id AND a.active AND a.role = 'lead' WHERE o.id BETWEEN %s AND %s "
                   f"AND o.status IN ({', '.join(['%s'] * len(HELD))}) "
                   f"AND o.handle_deadline >= %s AND o.handle_deadline < %s",
                   [lo, hi, *HELD, *((last, last + window) if pg else map(_sqlite_value, (last, last + window)))])
    rows = []
    for oid, deadline, status, dispatched in cursor.fetchall():
        deadline, dispatched = _aware(deadline), _aware(dispatched)
        at = chased_at(deadline, dispatched, window=window, last=last)
        if at is None:
            continue
        note = f"距办理时限还剩 {round((deadline - at).total_seconds() / 3600, 1)} 小时"
        rows.append((oid, at if pg else _sqlite_value(at), "near_due", "system", status, status, note, "{}"))
    cursor.executemany(f"INSERT INTO {ev} (order_id, at, action, actor_role, from_status, to_status, note, data) "
                       f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
    return len(rows)


def _as_sql(text: str, fields: dict[str, str]) -> tuple[str, list[str]]:
    """``text`` rendered with \\x00name\\x00 marks as one SQL string expression: the marks become
    ``fields``' expressions, the rest parameters, joined with ``||`` (PostgreSQL and SQLite)."""
    pieces, params = [], []
    for i, part in enumerate(text.split("\x00")):
        if i % 2:
            pieces.append(f"({fields[part]})")
        elif part:
            pieces.append("%s")
            params.append(part)
    return " || ".join(pieces) or "''", params


def reminder_notifications(cursor, lo: int, hi: int) -> int:
    """The bell's notices of the automatic 催办 of orders ``lo``..``hi``, one per active handler of the
    lead unit, as ``hotline.notify.emit`` writes them for a fresh ``remind`` event (rule: REMINDER
    to LEAD_UNIT), unread, with the template's title and text built in SQL from ``render``'s output.

    No outbox rows: the real path queues messages only on a configured gateway (Kannel, SMTP) or a
    unit's robot webhook, and the bench's database has neither, so a running sweep queued none.
    """
    mark = {name: f"\x00{name}\x00" for name in ("number", "title", "unit", "note")}
    path = emit.ORDER_PATH.format(number=mark["number"])
    title, body = render(Kind.REMINDER, **mark, hotline=settings.HOTLINE["NAME"],
                         link=settings.HOTLINE_NOTIFY["PUBLIC_URL"].rstrip("/") + path)
    fields = {"number": "o.number", "title": "substr(o.title, 1, 30)", "unit": "COALESCE(u.short_name, '')",
              # ``_fields``: the note to 200 characters and a full stop
              "note": "CASE WHEN e.note = '' THEN '' ELSE substr(e.note, 1, 200) || '。' END"}
    (title_sql, title_params), (body_sql, body_params), (url_sql, url_params) = (
        _as_sql(text, fields) for text in (title, body, path))
    from django.contrib.auth import get_user_model

    wo, ev, unit, user = _table(WorkOrder), _table(Event), _table(Unit), _table(get_user_model())
    cursor.execute(
        f"INSERT INTO {_table(Notification)} (recipient_id, order_id, event_id, kind, title, body, url, created_at) "
        f"SELECT p.id, e.order_id, e.id, %s, {title_sql}, {body_sql}, {url_sql}, e.at "
        f"FROM {ev} e JOIN {wo} o ON o.id = e.order_id LEFT JOIN {unit} u ON u.id = o.lead_unit_id "
        f"JOIN {user} p ON p.unit_id = o.lead_unit_id AND p.role = 'handler' AND p.is_active "
        f"WHERE e.order_id BETWEEN %s AND %s AND e.action = 'remind' AND e.actor_role = 'system'",
        [Kind.REMINDER.value, *title_params, *body_params, *url_params, lo, hi])
    return cursor.rowcount
