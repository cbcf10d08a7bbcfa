"""The near-duplicate index on the database: LSH keys of every order's text, their lookup, the
backfill, and the nightly pass that records near-duplicate pairs.

The engine (``hotline.triage.neardup``) is pure; this module reads and writes
``NearDupKey`` / ``NearDupState`` / ``NearDuplicate``. Keys are written with the registration, in
its transaction (``on_order_registering``, connected in ``TriageConfig.ready``): the work orders send
``order_registering`` and never import triage (DESIGN.md §5). Orders that come in without an action
(the benchmark's bulk loader, a restored dump of an older version) are indexed by ``backfill``,
which the nightly pass runs first and ``hotline triage neardup`` runs by hand.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction

from hotline.lib import compiled
from hotline.triage import neardup
from hotline.triage.models import NearDupKey, NearDuplicate, NearDupState
from hotline.workorders.models import WorkOrder
from hotline.workorders.workflow import Status

# A lookup reads at most this many orders per key, the newest first. A key shared by tens of
# thousands of orders (a stock phrase: "咨询社保卡办理") would otherwise make one query read them all;
# a real repeat shares several keys with its order, so losing it in one crowded key rarely loses it.
PER_KEY = 300
# The orders sharing most keys with the text are verified (exact Jaccard of the shingles): the
# number of shared keys grows with the similarity, so the true repeats are among the first.
VERIFY = 60


def index_orders(rows: Iterable[tuple[int, str, str]], *, copy: bool = False) -> int:
    """Write the keys and state of ``(order id, title, content)`` rows; returns the key rows written.

    ``copy`` (PostgreSQL, the backfill): stream the keys with COPY instead of INSERT.
    """
    rows = list(rows)
    if not rows:
        return 0
    grams = [neardup.shingles(title, content) for _, title, content in rows]
    keys = neardup.band_keys(neardup.signatures(grams)).tolist()
    pairs = []
    for (pk, _, _), order_grams, order_keys in zip(rows, grams, keys, strict=True):
        if len(order_grams):
            pairs.extend((key, pk) for key in dict.fromkeys(order_keys))
    keys_table, state_table = NearDupKey._meta.db_table, NearDupState._meta.db_table
    ids = [pk for pk, _, _ in rows]
    # Prepared once per connection on PostgreSQL (the registration's statement; COPY is not
    # affected).
    with compiled.cursor(connection) as cursor:
        if copy and connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {keys_table} (key, order_id) FROM STDIN") as out:
                for pair in pairs:
                    out.write_row(pair)
            cursor.execute(f"INSERT INTO {state_table} (order_id, version) SELECT unnest(%s::bigint[]), %s",
                           [ids, neardup.FORMAT_VERSION])
        elif connection.vendor == "postgresql":
            # Every registration comes through here: one statement for the key rows and the state
            # row. Through the ORM (20 model instances and two bulk_create) it cost 1.3 ms of CPU
            # per order, a fifth of the whole API registration, where this costs a tenth of that.
            # The arrays go as PostgreSQL array literals: psycopg dumps a list of ints element by
            # element, 0.28 ms of CPU for this statement against 0.19 ms for the text.
            cursor.execute(f"WITH state AS (INSERT INTO {state_table} (order_id, version) "
                           f"SELECT unnest(%s::bigint[]), %s) "
                           f"INSERT INTO {keys_table} (key, order_id) SELECT unnest(%s::bigint[]), unnest(%s::bigint[])",
                           [_array(ids), neardup.FORMAT_VERSION, _array(k for k, _ in pairs),
                            _array(pk for _, pk in pairs)])
        else:
            cursor.executemany(f"INSERT INTO {keys_table} (key, order_id) VALUES (%s, %s)", pairs)
            cursor.executemany(f"INSERT INTO {state_table} (order_id, version) VALUES (%s, %s)",
                               [(pk, neardup.FORMAT_VERSION) for pk in ids])
    return len(pairs)


def _array(numbers: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers: ``{1,2,3}``."""
    return "{" + ",".join(str(int(n)) for n in numbers) + "}"


def on_order_registering(sender, order, **kwargs) -> None:
    """The receiver of ``order_registering``: a new order's keys and state, in the registration's
    transaction (rolled back with it) and, on PostgreSQL, before the month's number is drawn, so
    registrations do not queue on them. 20 key rows and one state row, in one statement on PostgreSQL."""
    index_orders([(order.pk, order.title, order.content)])


@dataclass
class BackfillReport:
    orders: int = 0
    keys: int = 0
    cleared: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def backfill(*, batch: int = 20_000, since: dt.datetime | None = None,
             progress: Callable[[int], None] | None = None) -> BackfillReport:
    """Index every order that is not (or not with this ``FORMAT_VERSION``), in id order.

    An index of another format version is cleared first: its keys would never match the new ones.
    ``since`` limits the work to orders received since then (the nightly pass: the recent days).
    """
    import time

    report = BackfillReport()
    if NearDupState.objects.exclude(version=neardup.FORMAT_VERSION).exists():
        report.cleared = clear()
    last = 0
    pending = WorkOrder.objects.filter(neardup__isnull=True)
    if since is not None:
        pending = pending.filter(received_at__gte=since)
    restore = _drop_constraints() if since is None and _empty_and_large(pending) else []
    t_read = t_write = 0.0
    try:
        while True:
            t = time.perf_counter()
            rows = list(pending.filter(pk__gt=last).order_by("pk").values_list("pk", "title", "content")[:batch])
            t_read += time.perf_counter() - t
            if not rows:
                break
            t = time.perf_counter()
            with transaction.atomic():
                report.keys += index_orders(rows, copy=True)
            t_write += time.perf_counter() - t
            report.orders += len(rows)
            last = rows[-1][0]
            if progress:
                progress(report.orders)
    finally:
        t = time.perf_counter()
        with connection.cursor() as cursor:
            for sql in restore:
                cursor.execute(sql)
        if restore:
            report.seconds["primary key"] = time.perf_counter() - t
    report.seconds.update({"read": t_read, "keys + write": t_write})
    return report


# A first build over this many orders or more (PostgreSQL, empty index) drops the keys' primary key
# and adds it back at the end: one sorted build instead of 20 random B-tree inserts per order. Lookups meanwhile read
# the table without its index (slow); the first build is an administrator's, at a quiet hour.
BULK_BUILD = 100_000


def _empty_and_large(pending) -> bool:
    return (connection.vendor == "postgresql" and not NearDupKey.objects.exists()
            and pending[BULK_BUILD - 1:BULK_BUILD].exists())


def _drop_constraints() -> list[str]:
    """Drop the key table's constraints; returns the statements that add them back."""
    table = NearDupKey._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
                       "WHERE conrelid = %s::regclass AND contype IN ('p', 'f')", [table])
        constraints = sorted(cursor.fetchall(), key=lambda c: c[2] != "p")  # the primary key first
        for name, _, _ in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for name, definition, _ in constraints]


def clear() -> int:
    """Empty the index (a new format version, ``hotline triage neardup --rebuild``)."""
    with transaction.atomic():
        n = NearDupState.objects.count()
        with connection.cursor() as cursor:
            for model in (NearDupKey, NearDupState):
                cursor.execute(f"DELETE FROM {model._meta.db_table}")
    return n


def lookup(keys: list[int], *, per_key: int = PER_KEY) -> Counter:
    """Orders sharing keys with a text: ``{order id: number of shared keys}``, reading at most
    ``per_key`` orders (the newest) per key. One query: a UNION ALL of one index range per key."""
    keys = list(dict.fromkeys(int(k) for k in keys))
    if not keys:
        return Counter()
    table = NearDupKey._meta.db_table
    part = f"SELECT order_id FROM (SELECT order_id FROM {table} WHERE key = %s ORDER BY order_id DESC LIMIT %s) AS k{{}}"
    sql = " UNION ALL ".join(part.format(i) for i in range(len(keys)))
    params = []
    for key in keys:
        params += [key, per_key]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return Counter(pk for (pk,) in cursor.fetchall())


def find(title: str, content: str, scope, *, since: dt.datetime | None = None, k: int = 5,
         threshold: float = neardup.THRESHOLD, exclude: Iterable[int] = (),
         verify: int = VERIFY) -> list[tuple[int, float]]:
    """Orders of ``scope`` (a WorkOrder queryset: the door has been applied) whose text is nearly
    this one: ``[(order id, exact Jaccard)]``, best first, at most ``k``, at least ``threshold``.

    The index gives the candidates; the ``verify`` sharing most keys are read (within ``scope``,
    received since ``since``, not merged away) and their exact Jaccard decides.
    """
    grams = neardup.shingles(title, content)
    if not len(grams):
        return []
    hits = lookup(neardup.band_keys(neardup.signatures([grams]))[0].tolist())
    for pk in exclude:
        hits.pop(pk, None)
    if not hits:
        return []
    ranked = sorted(hits.items(), key=lambda item: (-item[1], -item[0]))[:verify]
    rows = scope.filter(pk__in=[pk for pk, _ in ranked]).exclude(status=Status.MERGED)
    if since is not None:
        rows = rows.filter(received_at__gte=since)
    scored = []
    for pk, other_title, other_content in rows.values_list("pk", "title", "content"):
        score = neardup.jaccard(grams, neardup.shingles(other_title, other_content))
        if score >= threshold:
            scored.append((pk, score))
    scored.sort(key=lambda item: (-item[1], -item[0]))
    return scored[:k]


@dataclass
class NightlyReport:
    day: str
    orders: int = 0
    pairs: int = 0
    groups: int = 0
    backfilled: int = 0


def nightly(day: dt.date, *, days_back: int = 60, k: int = 10,
            threshold: float = neardup.NIGHTLY_THRESHOLD) -> NightlyReport:
    """Near-duplicate pairs among the orders received on ``day`` (center's time) and the orders
    of the ``days_back`` days before: each pair (later order → earlier one) recorded once in
    ``NearDuplicate`` for staff to see, never merged. Orders merged away are left out, and so is a
    pair the center has already linked (one is the 重办 of the other). Idempotent: a second run of
    the same day adds nothing. Orders not yet indexed (loaded in bulk) are indexed first."""
    from hotline.lib import clock

    start, end = clock.day_bounds(day)
    since = start - dt.timedelta(days=days_back)
    report = NightlyReport(day=day.isoformat())
    report.backfilled = backfill(since=since).orders
    todays = list(WorkOrder.objects.filter(received_at__gte=start, received_at__lt=end)
                  .exclude(status=Status.MERGED).order_by("pk").values_list("pk", "title", "content", "received_at"))
    received = {pk: at for pk, _, _, at in todays}
    scope = WorkOrder.objects.filter(received_at__lt=end)
    pairs: dict[tuple[int, int], float] = {}
    for pk, title, content, at in todays:
        report.orders += 1
        for other, score in find(title, content, scope, since=since, k=k, exclude=[pk], threshold=threshold):
            other_at = received.get(other)
            later_is_me = other_at is None or (other_at, other) < (at, pk)
            pair = (pk, other) if later_is_me else (other, pk)
            pairs[pair] = max(score, pairs.get(pair, 0.0))
    if pairs:
        ids = {a for a, _ in pairs} | {b for _, b in pairs}
        linked_by_staff = {(pk, other) for pk, other in WorkOrder.objects.filter(pk__in=ids, repeat_of__isnull=False)
                           .values_list("pk", "repeat_of_id")}
        pairs = {p: s for p, s in pairs.items() if p not in linked_by_staff and p[::-1] not in linked_by_staff}
        known = set(NearDuplicate.objects.filter(order_id__in={a for a, _ in pairs})
                    .values_list("order_id", "similar_to_id"))
        new = [NearDuplicate(order_id=a, similar_to_id=b, jaccard=round(s, 4), found_on=day)
               for (a, b), s in sorted(pairs.items()) if (a, b) not in known]
        NearDuplicate.objects.bulk_create(new, ignore_conflicts=True)
        report.pairs = len(new)
    report.groups = len(_groups(pairs))
    return report


def _groups(pairs: Iterable[tuple[int, int]]) -> list[set[int]]:
    """Connected groups of orders linked by pairs (union-find)."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[root(a)] = root(b)
    out: dict[int, set[int]] = {}
    for x in parent:
        out.setdefault(root(x), set()).add(x)
    return list(out.values())


def linked(user, order: WorkOrder) -> list[tuple[WorkOrder, float]]:
    """The orders the nightly pass linked to ``order`` that ``user`` may see (the door), best first;
    not those the center has judged not to be repeats (``actions.dismiss``)."""
    from django.db.models import Q

    scores = {}
    for a, b, score in (NearDuplicate.objects.filter(Q(order=order) | Q(similar_to=order))
                        .exclude(state=NearDuplicate.State.DISMISSED).values_list("order_id", "similar_to_id", "jaccard")):
        scores[b if a == order.pk else a] = score
    if not scores:
        return []
    others = WorkOrder.objects.visible_to(user).filter(pk__in=scores).select_related("town", "category")
    return sorted(((o, scores[o.pk]) for o in others), key=lambda item: (-item[1], -item[0].pk))


# -- the review queue (疑似重复件核实) ---------------------------------------------------------------


@dataclass
class ReviewPage:
    """One page of the pairs awaiting review: ``rows`` of ``(pair, later order, earlier order)``,
    the cursor of the next page (None on the last), and the queue's size counted up to ``COUNT_CAP``."""

    rows: list[tuple[NearDuplicate, WorkOrder, WorkOrder]]
    next_cursor: str | None
    total: int
    capped: bool

    @property
    def count_label(self) -> str:
        from hotline.workorders.queries import COUNT_CAP

        return f"{COUNT_CAP}+" if self.capped else str(self.total)


REVIEW_PAGE = 50
ORDER_COLUMNS = ("id", "number", "title", "received_at", "status", "confidential", "caller_name", "caller_phone",
                 "lead_unit__short_name", "town__short_name")


def pending_count() -> tuple[int, bool]:
    """Pairs awaiting review, counted up to ``COUNT_CAP`` (one LIMITed read of the partial index):
    ``(count, capped)``."""
    from hotline.workorders.queries import COUNT_CAP

    n = NearDuplicate.objects.filter(state=NearDuplicate.State.PENDING).order_by().values("pk")[: COUNT_CAP + 1].count()
    return min(n, COUNT_CAP), n > COUNT_CAP


def review_queue(user, *, cursor: str | None = None, size: int = REVIEW_PAGE) -> ReviewPage:
    """The pairs awaiting review, newest first (the day the pass looked at, then the pair's id:
    the partial index ``triage_near_dup_pending_idx``), a keyset ``cursor`` to the next page.

    Three queries whatever the queue's length: the page of pairs, both sides' orders through the
    door (``visible_to``; a pair with an order the user may not see is left off the page, which
    for the center-wide roles that open the queue never happens), and the capped count.
    """
    from django.db.models import Q

    from hotline.workorders.queries import decode_cursor, encode_cursor

    pending = NearDuplicate.objects.filter(state=NearDuplicate.State.PENDING)
    qs = pending
    position = decode_cursor(cursor, 2, datetimes=0) if cursor else None
    if position is not None:
        day, pk = position
        try:
            day = dt.date.fromordinal(day)
        except (OverflowError, ValueError):  # a hand-edited cursor: the queue starts from the top
            day = None
        if day is not None:
            qs = qs.filter(Q(found_on__lt=day) | Q(found_on=day, id__lt=pk)).filter(found_on__lte=day)
    pairs = list(qs.order_by("-found_on", "-id")[: size + 1])
    nxt = encode_cursor((pairs[size - 1].found_on.toordinal(), pairs[size - 1].pk)) if len(pairs) > size else None
    pairs = pairs[:size]
    ids = {p.order_id for p in pairs} | {p.similar_to_id for p in pairs}
    orders = {o.pk: o for o in WorkOrder.objects.visible_to(user).filter(pk__in=ids)
              .select_related("lead_unit", "town").only(*ORDER_COLUMNS)} if ids else {}
    rows = [(p, orders[p.order_id], orders[p.similar_to_id]) for p in pairs
            if p.order_id in orders and p.similar_to_id in orders]
    total, capped = pending_count()
    return ReviewPage(rows, nxt, total, capped)
