"""Many clients at once on PostgreSQL: nothing lost, nothing doubled, no merge cycle, no server error.

Eleven clients — two operators, two dispatchers, a supervisor, five unit handlers (two each in
杨楼镇 and 寄料镇, one in 住建局) and a citizen on the portal — each on its own thread with its own
database connection (the citizen also with its own web session, through the real portal views),
perform at least 5,000 actions against a small pool of live orders. Each round picks two "hot"
orders and every client starts its action on them at the same instant (a barrier), so they race:
dispatchers dispatch the same order to different units, two handlers of one unit reply while the
other asks for an extension or a return, approvals race rejections, two callback staff and the
citizen's rating close the same order. Every tenth round is a merge triangle: three fresh orders
and the merges A→B, B→C, C→A, B→A, A→C started at once.

Afterwards every order is audited:

* **lost**: an acknowledged action missing from the log; an open order nobody holds (a unit
  state without an active lead assignment, a return under review with no pending return); a
  merged order whose target is merged too (a chain); a pending request whose assignment ended;
* **doubled**: an event no client was told succeeded; callbacks, requests or assignments beyond
  what the log records;
* **cycles** in ``merged_into``;
* **server errors**: any exception other than a refusal (``WorkflowError``) and any 5xx page;
* and every order's log, in timeline order, is replayed through the transition table
  (``workflow.replay``): it must explain the order's state and its pending requests, and the
  timeline order must be the commit order (ids, drawn under the order's lock, in the same order).

Needs real row locks and real concurrent connections, so it runs on PostgreSQL only (.ci/run runs
the suite on both); SQLite covers each rule in tests/test_locking.py.
"""

from __future__ import annotations

import collections
import datetime as dt
import queue
import random
import threading
import time
import traceback
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from hotline.accounts.models import User
from hotline.catalog.models import AppealType, Category
from hotline.directory.models import Unit
from hotline.portal.models import CitizenRating
from hotline.workorders import actions, workflow
from hotline.workorders.models import (
    SATISFIED_LEVELS,
    Assignment,
    Callback,
    Event,
    Request,
    Satisfaction,
    WorkOrder,
)
from hotline.workorders.workflow import Role, Status, UnitScope, WorkflowError

pytestmark = [pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locks"),
              pytest.mark.django_db(transaction=True)]

ACTIONS = 5000
POOL = 24  # live orders the clients work on at a time
TRIANGLE_EVERY = 10

CLIENTS = [("op1", "operator", None), ("op2", "operator", None), ("disp1", "dispatcher", None),
           ("disp2", "dispatcher", None), ("sup1", "supervisor", None), ("yl1", "handler", "杨楼镇"),
           ("yl2", "handler", "杨楼镇"), ("jl1", "handler", "寄料镇"), ("jl2", "handler", "寄料镇"),
           ("zj1", "handler", "住房和城乡建设局"), ("citizen", "portal", None)]
UNITS = ("杨楼镇", "寄料镇", "住房和城乡建设局")
# Facts about an order that no client is acknowledged for (written by the actions themselves).
UNACKED = {workflow.CANCEL_REQUEST, "near_due", "overdue", "receipt_sent"}
# Actions the clients leave out: notes and decisions that do not race anything here.
# ``reopen`` is taken only inside repeat_closed under the "reopen" policy (the default is "linked").
SKIP = {"annotate", "exclude_from_assessment", "report_back", "reopen"}
WEIGHTS = {"remind": 0.15, "supervise": 0.15, "acknowledge_reminder": 0.2, "respond_supervision": 0.2,
           "transfer": 0.1, "inform": 0.1, "not_accept": 0.1, "merge": 0.5, "repeat_rework": 0.3,
           "direct_answer": 0.5, "coordinate": 0.5, "callback": 2, "dispatch": 2, "reply": 1.5}


def key_of(action: str) -> str:
    """What a client is told it did: one callback, whichever way it went."""
    return "callback" if action.startswith("callback_") else action


@dataclass
class Seen:
    """An order as the clients saw it when the round began (it may change under them)."""

    pk: int
    number: str
    phone: str
    status: str
    deadline: dt.datetime | None
    units: dict[int, set[str]] = field(default_factory=dict)  # unit id → roles of its active assignments


@dataclass
class Job:
    action: str
    order_id: int | None
    perform: object  # () -> list of (order id, key) acknowledged on success
    prepare: object = None


@dataclass
class Outcome:
    client: str
    action: str
    order_id: int | None
    result: str  # ok | refused | error
    detail: str = ""
    acks: list = field(default_factory=list)


class Worker(threading.Thread):
    """One client: its own thread, hence its own database connection, running a job per round."""

    def __init__(self, name, role, user, unit_id, barrier, results):
        super().__init__(name=name, daemon=True)
        self.role, self.user, self.unit_id = role, user, unit_id
        self.barrier, self.results, self.jobs = barrier, results, queue.Queue()

    def run(self):
        try:
            while (job := self.jobs.get()) is not None:
                self.results.put(self.attempt(job))
        finally:
            connection.close()

    def attempt(self, job: Job) -> Outcome:
        outcome = Outcome(self.name, job.action, job.order_id, "ok")
        try:
            if job.prepare:
                job.prepare()
            self.barrier.wait(timeout=120)
            outcome.acks = job.perform() or []
        except WorkflowError as exc:
            outcome.result, outcome.detail = "refused", str(exc)
        except Exception:  # noqa: BLE001 - every other failure is a server error, reported by the test
            outcome.result, outcome.detail = "error", traceback.format_exc(limit=6)
        return outcome


class Citizen:
    """The portal in a browser: prove the order by number and phone, then rate it."""

    def __init__(self):
        self.client = Client(raise_request_exception=False)

    @staticmethod
    def address(order_id: int) -> str:
        # Every order is its own citizen, with its own address (the portal's limits count per address).
        return f"10.{order_id >> 16 & 255}.{order_id >> 8 & 255}.{order_id & 255}"

    def prove(self, seen: Seen) -> None:
        response = self.client.post("/portal/track/", {"number": seen.number, "phone": seen.phone},
                                    REMOTE_ADDR=self.address(seen.pk))
        if response.status_code != 302:
            raise RuntimeError(f"track answered {response.status_code}")

    def rate(self, seen: Seen, satisfaction: str, solved: bool) -> list:
        response = self.client.post(f"/portal/track/{seen.number}/rate/",
                                    {"satisfaction": satisfaction, "solved": "yes" if solved else "no"},
                                    REMOTE_ADDR=self.address(seen.pk))
        if response.status_code == 400:
            raise WorkflowError((response.context or {}).get("error") or "评价表单有误")
        if response.status_code != 302:
            raise RuntimeError(f"rate answered {response.status_code}")
        return [(seen.pk, "callback" if satisfaction in SATISFIED_LEVELS else "annotate")]


class Run:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.units = {u.short_name: u for u in Unit.objects.filter(short_name__in=UNITS)}
        self.problem = AppealType.objects.get(code="problem")
        self.category = Category.objects.get(full_name="农村管理—人居环境")
        self.results: queue.Queue = queue.Queue()
        self.barrier = threading.Barrier(len(CLIENTS))
        self.workers = []
        for name, role, unit_name in CLIENTS:
            user = None
            if role != "portal":
                unit = self.units[unit_name] if unit_name else None
                user = User.objects.create(username=f"race_{name}", display_name=name, role=role, unit=unit)
            self.workers.append(Worker(name, role, user, user.unit_id if user else None, self.barrier, self.results))
        self.citizen = Citizen()
        self.pool: list[int] = []
        self.every: list[int] = []
        self.outcomes: list[Outcome] = []
        self.triangles: list[list[int]] = []
        self.triangle_faults: list[str] = []
        self.phones = iter(range(13900000000, 13999999999))

    # -- what the clients see ----------------------------------------------------------------

    def seen(self, ids) -> dict[int, Seen]:
        rows = {pk: Seen(pk, number, phone, status, deadline) for pk, number, phone, status, deadline in
                WorkOrder.objects.filter(pk__in=ids).values_list("pk", "number", "caller_phone", "status",
                                                                  "handle_deadline")}
        for order_id, unit_id, role in Assignment.objects.filter(order_id__in=ids, active=True).values_list(
                "order_id", "unit_id", "role"):
            rows[order_id].units.setdefault(unit_id, set()).add(role)
        return rows

    def options(self, worker: Worker, seen: Seen) -> list[tuple[str, float]]:
        if worker.role == "portal":
            return [("rate", 3 if seen.status == Status.AWAITING_CALLBACK else 0.1)]
        role, mine = Role(worker.role), seen.units.get(worker.unit_id, set())
        found = {}
        for t in workflow.allowed(seen.status, role):
            if t.action in SKIP:
                continue
            if role == Role.HANDLER and ((t.scope == UnitScope.LEAD and "lead" not in mine)
                                         or (t.scope == UnitScope.CO and "co" not in mine) or not mine):
                continue
            found[key_of(t.action)] = WEIGHTS.get(key_of(t.action), 1.0)
        return list(found.items())

    # -- jobs ----------------------------------------------------------------------------------

    def register(self, worker: Worker, count: int) -> Job:
        phones = [str(next(self.phones)) for _ in range(count)]

        def perform():
            made = [actions.register_order(acting_user=worker.user, title="村内道路破损", content="主路坑洼积水，希望维修。",
                                           appeal_type=self.problem, category=self.category,
                                           town=self.units["杨楼镇"], caller_phone=phone) for phone in phones]
            return [(order.pk, "register") for order in made]
        return Job("register", None, perform)

    def job(self, worker: Worker, action: str, seen: Seen, others: list[int]) -> Job:
        rng, pk, user = self.rng, seen.pk, worker.user
        done = [(pk, action)]
        if action == "rate":
            satisfaction = rng.choice(Satisfaction.values)
            solved = satisfaction in SATISFIED_LEVELS
            return Job("rate", pk, lambda: self.citizen.rate(seen, satisfaction, solved),
                       prepare=lambda: self.citizen.prove(seen))
        if action == "merge":
            target = rng.choice(others + [pk] * (len(others) // 8))
            return Job("merge", pk, lambda: actions.merge(pk, acting_user=user, into=target, note="重复来电")
                       and done + [(target, "merged_in")])
        if action == "repeat_rework":  # a repeat of another order: refused unless that one is closed
            target = rng.choice(others + [pk])
            return Job(action, pk, lambda: actions.repeat_closed(pk, acting_user=user, of=target, note="再次来电")
                       and done + [(target, "repeat_noted")])
        if action == "callback":
            if rng.random() < 0.15:  # not reached: a retry, or the last attempt closes as 无法联系
                return Job("callback", pk, lambda: actions.record_callback(pk, acting_user=user, reached=False)
                           and done)
            satisfaction = rng.choice(Satisfaction.values)
            happy = satisfaction in SATISFIED_LEVELS
            rework = not happy and rng.random() < 0.6
            return Job("callback", pk, lambda: actions.record_callback(
                pk, acting_user=user, satisfaction=satisfaction, solved=happy, rework=rework,
                note="回访：来电人表示仍未解决" if rework else "回访") and done)
        if action == "dispatch":
            lead = self.units[rng.choice(UNITS)]
            co = [self.units[rng.choice([u for u in UNITS if u != lead.short_name])]] if rng.random() < 0.2 else []
            return Job(action, pk, lambda: actions.dispatch(pk, acting_user=user, lead_unit=lead, co_units=co) and done)
        if action == "request_extension":
            wanted = (seen.deadline or timezone.now()) + dt.timedelta(days=rng.randint(1, 10))
            return Job(action, pk, lambda: actions.request_extension(pk, acting_user=user, new_deadline=wanted,
                                                                     reason="需协调施工队") and done)
        calls = {
            "direct_answer": lambda: actions.direct_answer(pk, acting_user=user, answer="可到市民之家办理"),
            "coordinate": lambda: actions.coordinate(pk, acting_user=user, answer="已协调村委会处理"),
            "transfer": lambda: actions.transfer(pk, acting_user=user, target="110"),
            "inform": lambda: actions.inform(pk, acting_user=user, note="请通过人民调解解决"),
            "not_accept": lambda: actions.not_accept(pk, acting_user=user, note="不属于受理范围"),
            "submit_for_dispatch": lambda: actions.submit_for_dispatch(pk, acting_user=user),
            "sign": lambda: actions.sign(pk, acting_user=user),
            "co_sign": lambda: actions.co_sign(pk, acting_user=user),
            "request_return": lambda: actions.request_return(pk, acting_user=user, reason="不属于本单位职责",
                                                             basis="三定方案"),
            "approve_return": lambda: actions.approve_return(pk, acting_user=user),
            "reject_return": lambda: actions.reject_return(pk, acting_user=user, note="属于本单位职责"),
            "approve_extension": lambda: actions.approve_extension(pk, acting_user=user),
            "reject_extension": lambda: actions.reject_extension(pk, acting_user=user, note="理由不充分"),
            "request_suspension": lambda: actions.request_suspension(pk, acting_user=user, reason="列入改造计划"),
            "approve_suspension": lambda: actions.approve_suspension(pk, acting_user=user),
            "reject_suspension": lambda: actions.reject_suspension(pk, acting_user=user, note="应尽快办理"),
            "resume": lambda: actions.resume(pk, acting_user=user),
            "reply": lambda: actions.reply(pk, acting_user=user, public_reply="已修复路面", solved=rng.random() < 0.8),
            "co_reply": lambda: actions.co_reply(pk, acting_user=user, public_reply="已配合处理"),
            "approve_reply": lambda: actions.approve_reply(pk, acting_user=user),
            "send_back": lambda: actions.send_back(pk, acting_user=user, note="答复不完整"),
            "remind": lambda: actions.remind(pk, acting_user=user, notice="请抓紧办理"),
            "supervise": lambda: actions.supervise(pk, acting_user=user, notice="请两个工作日内办结"),
            "acknowledge_reminder": lambda: actions.acknowledge_reminders(pk, acting_user=user),
            "respond_supervision": lambda: actions.respond_supervision(pk, acting_user=user,
                                                                       response="已组织整改，书面反馈如下"),
        }
        call = calls[action]
        return Job(action, pk, lambda: call() and done)

    def pick(self, worker: Worker, hot: list[Seen], others: list[int], mine: Seen | None = None) -> Job:
        choices = [(seen, action, weight) for seen in hot for action, weight in self.options(worker, seen)]
        if not choices and mine is not None:  # a handler with nothing among the hot orders: its unit's own
            choices = [(mine, action, weight) for action, weight in self.options(worker, mine)]
        if not choices:  # nothing this client may do here: it tries anyway, as a hostile client would
            seen = self.rng.choice(hot)
            action = "reply" if worker.role == "handler" else "dispatch"
            return self.job(worker, action, seen, others)
        seen, action, _ = self.rng.choices(choices, weights=[w for *_, w in choices])[0]
        return self.job(worker, action, seen, others)

    # -- rounds --------------------------------------------------------------------------------

    def round(self, jobs: list[Job]) -> list[Outcome]:
        for worker, job in zip(self.workers, jobs, strict=True):
            worker.jobs.put(job)
        outcomes = [self.results.get(timeout=300) for _ in self.workers]
        self.outcomes += [o for o in outcomes if o.action != "idle"]
        for outcome in outcomes:
            for pk, key in outcome.acks:
                if key == "register":
                    self.pool.append(pk)
                    self.every.append(pk)
        return outcomes

    def play(self, wanted: int) -> None:
        for worker in self.workers:
            worker.start()
        number = 0
        while len(self.outcomes) < wanted:
            number += 1
            states = self.seen(self.pool)
            self.pool = [pk for pk in self.pool if states[pk].status not in workflow.TERMINAL]
            live = [states[pk] for pk in self.pool]
            fresh = [s for s in live if s.status in (Status.RECEIVED, Status.AWAITING_DISPATCH)]
            if len(live) < POOL or (number % TRIANGLE_EVERY == 0 and len(fresh) < 3):
                self.round([self.register(w, 2) if w.role == "operator" else self.pick(w, live, self.pool)
                            if live else Job("idle", None, lambda: [(None, "idle")]) for w in self.workers])
                continue
            if number % TRIANGLE_EVERY == 0:
                self.triangle(self.rng.sample(fresh, 3), live)
                continue
            hot = self.rng.sample(live, 2)
            # Each unit's handlers share one order of their own this round: one may reply while the
            # other asks for an extension or a return.
            held = collections.defaultdict(list)
            for s in live:
                for unit_id, roles in s.units.items():
                    if "lead" in roles and s.status in workflow.UNIT_HOLDS | {Status.SUSPENDED}:
                        held[unit_id].append(s)
            unit_hot = {unit_id: self.rng.choice(orders) for unit_id, orders in held.items()}
            self.round([self.pick(w, hot, self.pool, unit_hot.get(w.unit_id)) for w in self.workers])
        for worker in self.workers:
            worker.jobs.put(None)
        for worker in self.workers:
            worker.join(60)

    def triangle(self, trio: list[Seen], live: list[Seen]) -> None:
        a, b, c = trio
        merges = iter([(a, b), (b, c), (c, a), (b, a), (a, c)])
        jobs = []
        for worker in self.workers:
            pair = next(merges, None) if worker.role in ("operator", "dispatcher", "supervisor") else None
            if pair:
                source, target = pair
                jobs.append(Job("merge", source.pk, lambda s=source.pk, t=target.pk, u=worker.user: actions.merge(
                    s, acting_user=u, into=t, note="同一诉求") and [(s, "merge"), (t, "merged_in")]))
            else:
                jobs.append(self.pick(worker, trio, self.pool))
        self.round(jobs)
        self.triangles.append([s.pk for s in trio])
        rows = {o.pk: o for o in WorkOrder.objects.filter(pk__in=[s.pk for s in trio])}
        merged = [o for o in rows.values() if o.status == Status.MERGED]
        if len(merged) == 3 or any(rows[o.merged_into_id].status == Status.MERGED for o in merged):
            self.triangle_faults.append(f"{[(o.number, o.status, o.merged_into_id) for o in rows.values()]}")


# ---------------------------------------------------------------------------------------------
# The audit


def audit(run: Run) -> dict:
    ids = run.every
    orders = {o.pk: o for o in WorkOrder.objects.filter(pk__in=ids)}
    logs = collections.defaultdict(list)
    for row in Event.objects.filter(order_id__in=ids).order_by("order_id", "at", "id").values_list(
            "order_id", "id", "action", "from_status", "to_status", "data"):
        logs[row[0]].append(row[1:])
    acked = collections.Counter()
    for outcome in run.outcomes:
        if outcome.result == "ok":
            acked.update((pk, key) for pk, key in outcome.acks if pk is not None)
    logged = collections.Counter((pk, key_of(e[1])) for pk, log in logs.items() for e in log if e[1] not in UNACKED)
    report = collections.defaultdict(list)
    for pair in set(acked) | set(logged):
        if acked[pair] > logged[pair]:
            report["lost"].append(f"{pair}: acknowledged {acked[pair]}, logged {logged[pair]}")
        elif logged[pair] > acked[pair]:
            report["doubled"].append(f"{pair}: acknowledged {acked[pair]}, logged {logged[pair]}")

    pending = collections.defaultdict(set)
    for order_id, kind, active in Request.objects.filter(order_id__in=ids, state="pending").values_list(
            "order_id", "kind", "assignment__active"):
        pending[order_id].add(kind)
        if not active:
            report["lost"].append(f"order {order_id}: pending {kind} of an ended assignment")
    leads = collections.Counter(Assignment.objects.filter(order_id__in=ids, active=True, role="lead")
                                .values_list("order_id", flat=True))
    for pk, order in orders.items():
        log = logs[pk]
        if [e[0] for e in log] != sorted(e[0] for e in log):
            report["out of commit order"].append(order.number)
        try:
            replayed = workflow.replay((action, src, dst, data) for _, action, src, dst, data in log)
        except WorkflowError as exc:
            report["unexplained"].append(f"{order.number}: {exc}")
        else:
            if replayed.status != order.status or set(replayed.pending) != pending[pk]:
                report["unexplained"].append(f"{order.number}: replayed {replayed}, is {order.status} {pending[pk]}")
        if order.status in workflow.UNIT_HOLDS | {Status.SUSPENDED} and leads[pk] != 1:
            report["lost"].append(f"{order.number}: {order.status} held by {leads[pk]} lead units")
        if order.status == Status.MERGED:
            target = orders.get(order.merged_into_id)
            if target is None or target.status == Status.MERGED:
                report["lost"].append(f"{order.number}: merged into {target and target.number} which is merged")
        seen, hop = set(), order
        while hop is not None and hop.merged_into_id is not None:
            if hop.pk in seen:
                report["cycles"].append(order.number)
                break
            seen.add(hop.pk)
            hop = orders.get(hop.merged_into_id)

    # Rows beside the log: one callback row per callback event, one request per request event,
    # one assignment per unit named by a dispatch.
    def by_order(rows):
        return collections.Counter(rows)
    callbacks = by_order(Callback.objects.filter(order_id__in=ids).values_list("order_id", flat=True))
    requests = by_order(Request.objects.filter(order_id__in=ids).values_list("order_id", "kind"))
    assignments = by_order(Assignment.objects.filter(order_id__in=ids).values_list("order_id", flat=True))
    for pk in orders:
        log = logs[pk]
        if callbacks[pk] != sum(e[1].startswith("callback_") for e in log):
            report["doubled"].append(f"order {pk}: {callbacks[pk]} callback rows")
        for kind in workflow.RequestKind:
            if requests[(pk, kind.value)] != sum(e[1] == f"request_{kind.value}" for e in log):
                report["doubled"].append(f"order {pk}: {requests[(pk, kind.value)]} {kind} rows")
        named = sum(1 + len(e[4].get("co", [])) for e in log if e[1] == "dispatch")
        if assignments[pk] != named:
            report["doubled"].append(f"order {pk}: {assignments[pk]} assignments for {named} named")
    ratings = CitizenRating.objects.filter(order_id__in=ids).values_list("order_id", "closed_order")
    closed_by_rating = [pk for pk, closed in ratings if closed]
    for pk in closed_by_rating:
        if sum(e[1] == "callback_close" for e in logs[pk]) != 1:
            report["doubled"].append(f"order {pk}: closed by the citizen and again")
    return report


def test_many_clients_race_and_every_order_is_accounted_for(people):
    started = time.monotonic()
    run = Run(random.Random(12345))
    run.play(ACTIONS)
    report = audit(run)

    results = collections.Counter(o.result for o in run.outcomes)
    errors = [o for o in run.outcomes if o.result == "error"]
    by_action = collections.Counter((o.action, o.result) for o in run.outcomes)
    refusals = collections.Counter(o.detail for o in run.outcomes if o.result == "refused")
    cancelled = Event.objects.filter(action=workflow.CANCEL_REQUEST).count()
    print(f"\n{len(CLIENTS)} clients, {len(run.outcomes)} actions in {time.monotonic() - started:.0f} s "
          f"({results['ok']} done, {results['refused']} refused), {len(run.every)} orders, "
          f"{len(run.triangles)} merge triangles, {cancelled} requests cancelled with their assignment")
    print("by action:", dict(sorted(by_action.items())))
    print("most frequent refusals:", refusals.most_common(8))
    lost, doubled, cycles = (len(report[k]) for k in ("lost", "doubled", "cycles"))
    print(f"{lost} lost, {doubled} doubled, {cycles + len(run.triangle_faults)} cycles, "
          f"{len(errors)} server errors, {len(report['unexplained'])} unexplained, "
          f"{len(report['out of commit order'])} out of commit order")

    assert not errors, errors[0].detail
    assert not run.triangle_faults, run.triangle_faults[:3]
    assert {k: v[:5] for k, v in report.items() if v} == {}
    # The races really happened.
    assert len(run.outcomes) >= ACTIONS and len(CLIENTS) >= 8
    assert len(run.triangles) >= 20
    assert by_action[("dispatch", "ok")] and by_action[("dispatch", "refused")]
    assert by_action[("callback", "ok")] and by_action[("callback", "refused")]
    assert by_action[("rate", "ok")] and by_action[("rate", "refused")]
    assert by_action[("reply", "ok")] and by_action[("request_extension", "ok")]
    assert by_action[("request_return", "ok")] and by_action[("approve_return", "ok")]
    assert cancelled > 0
    assert any("形成循环" in r or "是主工单" in r or "本身已并入" in r for r in refusals)
