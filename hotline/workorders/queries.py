"""Reads of work orders for pages and the API: visibility applied, bounded query counts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    Subquery,
)
from django.db.models.functions import Coalesce

from hotline.accounts import access
from hotline.catalog.history import roll_up
from hotline.lib import clock, parsing
from hotline.lib.planner import joins_by_key, planner_without
from hotline.lib.text import scrub
from hotline.workorders import textindex
from hotline.workorders.models import Assignment, Event, Reminder, Request, WorkOrder
from hotline.workorders.visibility import led_by_unit, on_unit_assignments
from hotline.workorders.workflow import (
    OPEN,
    STATUS_LABELS,
    UNIT_HOLDS,
    Role,
    Status,
    Transition,
    UnitScope,
    allowed,
)

PAGE_SIZE = 50


def near_due_window(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(hours=settings.HOTLINE["NEAR_DUE_HOURS"])


# The home page's counts are kept this long in the shared cache and not refreshed by actions: a
# page load within it reads them from there, and the page says when they were counted.
SUMMARY_SECONDS = 60
OPEN_STATUSES = sorted(s.value for s in OPEN)


def summary_for(user, now: dt.datetime, *, cached: bool = True) -> dict:
    """Counts for the home page over what the user may see, and ``at``, when they were counted.

    Kept ``SUMMARY_SECONDS`` per visibility scope: the center-wide roles share one entry, a unit's
    handlers one, each operator their own. ``cached=False`` counts afresh (the bench does).
    """
    return _kept("home-summary", user, lambda: _count_summary(user, now), cached=cached)


def _kept(name: str, user, count, *, cached: bool):
    """``count()``, kept ``SUMMARY_SECONDS`` in the shared cache under ``name`` per visibility scope
    (``_summary_scope``); counted afresh when not ``cached`` or for those who see nothing."""
    scope = _summary_scope(user)
    if not cached or scope is None:
        return count()
    key = f"{name}:{scope}"
    value = cache.get(key)
    if value is None:
        value = count()
        cache.set(key, value, SUMMARY_SECONDS)
    return value


def _summary_scope(user) -> str | None:
    """The cache key's scope: people who share one are answered the same orders by the door
    (hotline.accounts.access). None for those who see nothing, whose counts cost no query."""
    role = access.role_of(user)
    if role in access.ALL_ORDERS_ROLES:
        return "center"
    if role == Role.HANDLER and user.unit_id:
        return f"unit:{user.unit_id}"
    if role == Role.OPERATOR:
        return f"operator:{user.pk}"
    return None


def _count_summary(user, now: dt.datetime) -> dict:
    holds = [s.value for s in UNIT_HOLDS]
    counts = {
        "open": Count("id"),
        "overdue": Count("id", filter=Q(status__in=holds, handle_deadline__lt=now)),
        "near_due": Count("id", filter=Q(status__in=holds, handle_deadline__gte=now,
                                         handle_deadline__lt=near_due_window(now))),
        "awaiting_dispatch": Count("id", filter=Q(status=Status.AWAITING_DISPATCH)),
        "awaiting_callback": Count("id", filter=Q(status=Status.AWAITING_CALLBACK)),
    }
    # Open orders only, read from the open orders' indexes (migration 0008): the closed history is
    # never read, so the cost follows the open orders, not the years behind them.
    open_orders = WorkOrder.objects.filter(status__in=OPEN_STATUSES)
    parts = [(open_orders.visible_to(user), False)]  # (orders, joined by key)
    if access.role_of(user) == Role.HANDLER and user.unit_id:
        # Two parts, each what the door admits by construction, without its EXISTS (asking it
        # again hashed the unit's whole assignment history): the orders the unit leads, one range
        # of an index (``led_by_unit``); then those it co-handles or held before a return, led by
        # another unit or none, from its assignments other than its active lead ones (an active
        # lead assignment is always of an order the unit leads: dispatch sets both, a return ends
        # both). The second starts from the unit's assignments of open orders
        # (``Assignment.order_open``: the unit's others are mostly of closed orders and grow with
        # history, 13k for a large bureau at 10M orders), each looked up by key; left to itself,
        # PostgreSQL merged them with all million open orders in id order.
        others = Assignment.objects.filter(order_open=True).exclude(active=True, role=Assignment.Role.LEAD)
        parts = [(led_by_unit(open_orders, user), False),
                 (on_unit_assignments(open_orders, user, others).exclude(lead_unit_id=user.unit_id), True)]
    summary = dict.fromkeys(counts, 0)
    for part, by_key in parts:
        with joins_by_key(part.db) if by_key else nullcontext():
            found = part.aggregate(**counts)
        for name, n in found.items():
            summary[name] += n
    summary["at"] = now
    return summary


@dataclass
class Page:
    orders: list
    next_cursor: str | None
    has_previous: bool


def _cursor(order: WorkOrder) -> str:
    return f"{order.received_at.timestamp():.6f}_{order.pk}"


def filter_orders(user, params):
    """Visible orders narrowed by the search form's fields (shared by the list and its Excel export)."""
    qs = WorkOrder.objects.visible_to(user).select_related("appeal_type", "category", "lead_unit", "town")
    number = scrub(params.get("number"), single_line=True).strip()
    if number:
        qs = qs.filter(number__startswith=number)
    phone = scrub(params.get("phone"), single_line=True).strip()
    if phone:
        qs = qs.filter(caller_phone__in=parsing.phone_spellings(phone) or [phone])
    text = search_phrase(params.get("q"))
    if text:
        qs = qs.filter(text_match(user, text))
    if phone and not access.sees_identities(user):
        # A unit never finds a confidential order by its caller's number, whatever it guesses; and
        # it is left out of every phone search, so its absence tells nothing either.
        qs = qs.exclude(confidential=True)
    for field in ("status", "source", "urgency"):
        value = params.get(field)
        if value:
            qs = qs.filter(**{field: value})
    for field in ("lead_unit", "town", "category", "appeal_type"):
        value = params.get(field)
        if value and str(value).isdigit():
            qs = qs.filter(**{f"{field}_id": int(value)})
    if params.get("overdue"):
        qs = qs.overdue(clock.now())
    # Days are the center's days, as a range of the registration-time index.
    for field, lookup, bound in (("from", "received_at__gte", 0), ("to", "received_at__lt", 1)):
        value = params.get(field)
        if value:
            try:
                edge = clock.day_bounds(parsing.parse_date(value, field))[bound]
            except parsing.ParseError:
                continue  # the console names it (web.views.orders.search_params); here it narrows nothing
            qs = qs.filter(**{lookup: edge})
    return qs


def search_phrase(value) -> str:
    """The search box's phrase: one line, controls (NUL included) removed — a phrase is never refused."""
    return scrub(value, single_line=True).strip()


def text_match(user, text: str) -> Q:
    """Orders whose text holds ``text``, as ``user`` may read it.

    The center's staff read and search title and content as written. Everyone else reads them with
    identities masked (``access.shield_text``), so they search what they read: an order whose text
    names someone is matched on its ``masked_text`` alone, where the name and the numbers are
    masked (a confidential caller's hidden), and the others on their title and content (their
    ``masked_text`` is ""). A substring of a hidden name or number, or a phrase that runs into one
    (人司马, 话137), matches nothing. On PostgreSQL the character index narrows every arm
    (``textindex.holds_keys``: the keys are of title, content and ``masked_text`` together, so a
    hidden span's characters are keys too — they narrow, this condition decides).
    """
    if access.sees_identities(user):
        return Q(title__contains=text) | Q(content__contains=text)
    return ((Q(masked_text="") & (Q(title__contains=text) | Q(content__contains=text)))
            | (~Q(masked_text="") & Q(masked_text__contains=text)))


# sort key -> (field, descending)
SORTS = {"received": ("received_at", True), "received_asc": ("received_at", False),
         "deadline": ("handle_deadline", False), "deadline_desc": ("handle_deadline", True)}


def search_orders(user, params, *, page_size: int = PAGE_SIZE) -> Page:
    """Filter visible orders by the search form; keyset pagination on (sort field, id).

    Sorted by received time (newest first, default) or by deadline. No COUNT(*) over the table:
    a page knows only whether there is a next one.
    """
    qs = filter_orders(user, params)
    sort = params.get("sort") or "received"
    field, desc = SORTS.get(sort, SORTS["received"])
    if field == "handle_deadline":
        qs = qs.filter(handle_deadline__isnull=False)
    cursor = params.get("cursor")
    after = None  # the cursor's (time, id)
    if cursor:
        try:
            stamp, pk = cursor.split("_")
            from django.utils import timezone

            at = dt.datetime.fromtimestamp(float(stamp), tz=dt.UTC).astimezone(timezone.get_current_timezone())
            after = (at, int(pk))
            if desc:
                qs = qs.filter(Q(**{f"{field}__lt": at}) | Q(**{field: at}, id__lt=int(pk)))
            else:
                qs = qs.filter(Q(**{f"{field}__gt": at}) | Q(**{field: at}, id__gt=int(pk)))
        except (ValueError, OverflowError, OSError):
            cursor = None
    order_by = [f"-{field}", "-id"] if desc else [field, "id"]
    text = search_phrase(params.get("q"))
    if text and (field, desc) == ("received_at", True):
        rows = _text_newest_first(qs, after, page_size + 1, text=text, unit_id=_search_unit(user))
    else:
        rows = list(with_text_keys(qs, user, params).order_by(*order_by)[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    nxt = f"{getattr(rows[-1], field).timestamp():.6f}_{rows[-1].pk}" if more and rows else None
    return Page(rows, nxt, bool(cursor))


# How many of the newest orders a text search reads in order before it asks the text index.
TEXT_WINDOW = 50_000
# The window's first stretch: a phrase that fills a page there (水, 燃气 for the center) is done
# before the index is asked anything.
FIRST_STRETCH = 2_000
# A phrase whose orders the character index counts at most this many is read from the index
# alone: all of them, then sorted (about two pages from disk each when cold, read in block order).
FEW_CANDIDATES = 500


def with_text_keys(qs, user, params):
    """``qs`` (``filter_orders``'s) also asking the character index for the phrase, on PostgreSQL:
    for the paths that do not read the newest orders first (another sort, the Excel export), so
    the planner can start from the phrase's orders when they are few (or, when they are many,
    walk its own order and look each row's keys up by id). Not for ``search_orders``' default
    sort: there the newest stretch is read with the index switched off, and the condition would
    only add a look-up per row of the stretch."""
    text = search_phrase(params.get("q"))
    if not text or connections[qs.db].vendor != "postgresql":
        return qs
    return qs.filter(textindex.holds_keys(text, _search_unit(user)))


def _search_unit(user) -> int | None:
    """The unit whose key a search asks for beside the phrase's: a handler's own (the door,
    ``visible_to``, lets a handler see only orders its unit was assigned)."""
    return user.unit_id if access.role_of(user) == Role.HANDLER else None


def _text_newest_first(qs, after: tuple | None, limit: int, *, text: str, unit_id: int | None) -> list:
    """The first ``limit`` rows of a text search, newest first: the newest stretch, then the rest.

    PostgreSQL cannot tell how common a phrase is: pg_trgm's estimate for ``LIKE '%…%'`` is about
    the same for any phrase of the same length. For 拖欠工资 it expected 2 thousand matches in 10M
    orders and found 51 thousand, so it took them all from the trigram index, read every one of
    them from the table and sorted them by time (450 ms), where reading the newest orders in order
    finds a page after a few thousand rows. So the newest ``TEXT_WINDOW`` orders (after the
    cursor) are read in time order, the text indexes switched off: a bounded cost, enough for any
    phrase found in one order in a thousand. Only a page not filled there asks an index, for the
    older orders, where a phrase that rare is cheap to look up.

    But a phrase that does not fill a page in the window reads all of it, 50,000 wide rows: from
    disk, when the cache is cold, half a second or more whatever the table's size (docs/performance.md,
    "冷缓存下的罕见词语"). So the window is read in two stretches: the newest ``FIRST_STRETCH``
    orders, where a common phrase fills its page; then, on PostgreSQL, the character index is
    asked how many orders hold the phrase's keys (``textindex.orders_holding``: the unit's key
    too, for a unit) — when they are at most ``FEW_CANDIDATES``, those are read and sorted, and
    the rest of the window is never read. Otherwise the rest of the window, then the index.

    The index is the character index (hotline.workorders.textindex), for a phrase of any length;
    a unit's search asks for the unit's key beside the phrase's, so only the unit's matches are
    read from the table; if the window did not fill a page, they are fewer than a page per
    ``TEXT_WINDOW`` of the unit's share. (The trigram indexes that served the center's longer
    phrases are gone: migration 0022 says why.) SQLite has no such index and reads the older
    orders in time order. Every way reads the same condition (``qs``'s), and the keys only narrow
    it: the rows are those of the plain query, in its order.
    """
    db = qs.db
    postgres = connections[db].vendor == "postgresql"
    newest = WorkOrder.objects.using(db).order_by("-received_at", "-id")
    if after is not None:
        newest = newest.filter(_older_than(after))
    ordered = qs.order_by("-received_at", "-id")
    if unit_id is not None:
        # The door (visible_to) still decides; this lets it look only at the unit's own orders.
        ordered = ordered.filter(textindex.among_search_units(unit_id))
    rows: list = []
    start = None  # where the stretch being read begins: after its (time, id); None, at the cursor
    for size in (FIRST_STRETCH, TEXT_WINDOW):
        edge = list(newest.values_list("received_at", "id")[size - 1:size])
        if not edge:  # fewer orders than that left: one query for all of them
            rest = ordered if start is None else ordered.filter(_older_than(start))
            if postgres:
                rest = rest.filter(textindex.holds_keys(text, unit_id))
            return rows + list(rest[:limit - len(rows)])
        stretch = ordered.filter(_at_or_newer_than(edge[0]))
        if start is not None:
            stretch = stretch.filter(_older_than(start))
        # The text index is only ever read as a bitmap: planned without bitmaps, it is not read.
        with planner_without(db, "bitmapscan"):
            rows += list(stretch[:limit - len(rows)])
        start = edge[0]
        if len(rows) == limit:
            return rows
        if postgres and size == FIRST_STRETCH and _may_be_few(db, found=len(rows), read=size):
            few = textindex.orders_holding(text, unit_id, at_most=FEW_CANDIDATES, using=db)
            if few is not None:
                # Looked up by id in one bitmap, so the rows are read in block order (prefetched).
                with planner_without(db, "indexscan"):
                    return rows + list(ordered.filter(_older_than(start), id__in=few)[:limit - len(rows)])
    rest = ordered.filter(_older_than(start))
    if postgres:
        # Read from the index, never by walking the table in time order: the matches found
        # there are few (see above), and the sort of a few is cheap.
        with planner_without(db, "indexscan"):
            rows += list(rest.filter(textindex.holds_keys(text, unit_id))[:limit - len(rows)])
    else:
        rows += list(rest[:limit - len(rows)])
    return rows


def _may_be_few(db: str, *, found: int, read: int) -> bool:
    """Whether a phrase found ``found`` times in the newest ``read`` orders may be held by at most
    ``FEW_CANDIDATES`` of them all (PostgreSQL's count of the table's rows, from its last ANALYZE,
    kept ten minutes; unknown, asked anyway). Found 24 times in the newest 2,000 (燃气), it is in
    some 120 thousand of 10 million: asking the index would read 500 of its side rows for nothing."""
    if not found:
        return True

    def count() -> float:
        with connections[db].cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [WorkOrder._meta.db_table])
            return cursor.fetchone()[0]

    total = cache.get_or_set(f"workorders:reltuples:{db}", count, 600)
    return total <= 0 or found * total <= FEW_CANDIDATES * read


def _at_or_newer_than(edge: tuple) -> Q:
    at, pk = edge
    # The plain range (received_at >= at) beside the OR gives the index scan its bounds.
    return Q(received_at__gte=at) & (Q(received_at__gt=at) | Q(id__gte=pk))


def _older_than(edge: tuple) -> Q:
    at, pk = edge
    return Q(received_at__lte=at) & (Q(received_at__lt=at) | Q(id__lt=pk))


# Outcomes of the callback form (未接通), not actions of their own.
RECORDED_BY_CALLBACK = frozenset({"callback_unreached", "callback_unreachable"})
def available_actions(user, order: WorkOrder, assignments: list[Assignment]) -> list[Transition]:
    """Actions the user may take now: the workflow table, narrowed by the user's unit."""
    role = access.role_of(user)
    if role is None:
        return []
    result = []
    for t in allowed(order.status, role):
        if t.action in {"annotate"} or t.action in RECORDED_BY_CALLBACK:
            continue
        if role == Role.HANDLER:
            mine = [a for a in assignments if a.active and a.unit_id == user.unit_id]
            if t.scope == UnitScope.LEAD and not any(a.role == "lead" for a in mine):
                continue
            if t.scope == UnitScope.CO and not any(a.role == "co" for a in mine):
                continue
            if not mine:
                continue
        result.append(t)
    return result


def order_page(user, order: WorkOrder) -> dict:
    assignments = list(Assignment.objects.filter(order=order).select_related("unit").order_by("round", "role"))
    events = list(Event.objects.filter(order=order).select_related("actor", "actor_unit").order_by("at", "id"))
    requests = list(Request.objects.filter(order=order).select_related("assignment__unit").order_by("requested_at"))
    name, phone = access.caller_for(user, order)
    return {
        "order": order,
        "status_label": STATUS_LABELS[Status(order.status)],
        "assignments": assignments,
        "events": events,
        "requests": requests,
        "caller_name": name,
        "caller_phone": phone,
        "may_reveal": access.may_reveal_contact(user, order),
        "actions": available_actions(user, order, assignments),
        # The sweep's stamp and the 催办 so far are facts on the timeline, not columns of the order.
        "overdue_at": next((e.at for e in events if e.action == "overdue"), None),
        "reminder_count": sum(e.action == "remind" for e in events),
    }


def overdue_stamp(order: WorkOrder) -> dt.datetime | None:
    """When the SLA sweep stamped ``order`` overdue (its ``overdue`` event), or None."""
    return Event.objects.filter(order=order, action="overdue").order_by("at").values_list("at", flat=True).first()


# ---------------------------------------------------------------------------------------------
# Reads for the staff console (hotline.web). Additive; every list keeps a bounded query count.

EXTRA_ACTION_LABELS = {"register": "登记", "merged_in": "并入", "overdue": "超期", "cancel_request": "申请撤销",
                       "repeat_noted": "重复诉求", "near_due": "临期", "supervision_failed": "督办未落实",
                       "receipt_sent": "回执短信", "not_duplicate": "核实不是重复件"}
LIST_RELATED = ("appeal_type", "category", "lead_unit", "town")
CENTER_ROLES = {Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}


def action_label(action: str) -> str:
    """Chinese label of an event's action: the workflow table's, or one of the non-table events."""
    from hotline.workorders.workflow import BY_ACTION

    t = BY_ACTION.get(action)
    return t.label if t else EXTRA_ACTION_LABELS.get(action, action)


def _caller_scope(user):
    """Caller history (来电弹屏) spans every order of the center for center staff (DESIGN §2:
    operators see caller history); a unit handler sees only what ``visible_to`` allows, and never
    a confidential order by its caller's number."""
    if access.role_of(user) in CENTER_ROLES:
        return WorkOrder.objects.all()
    return WorkOrder.objects.visible_to(user).exclude(confidential=True)


def repeat_scope(user):
    """The orders a new call may repeat: the caller history's scope (every order, for the center)."""
    return _caller_scope(user)


def repeat_handling(order: WorkOrder, now: dt.datetime, window: dt.timedelta) -> str:
    """How a new call repeating ``order`` is taken in: "merge" into an open order, "repeat" (重办)
    for one closed within the repeat window, "" otherwise (merged away, or closed long ago)."""
    if order.status == Status.MERGED:
        return ""
    if order.status == Status.CLOSED:
        return "repeat" if order.closed_at and now - order.closed_at <= window else ""
    return "merge"


def caller_history(user, phone: str, *, limit: int = 10) -> list[WorkOrder]:
    spellings = parsing.phone_spellings(phone)
    if not spellings:
        return []
    return list(_caller_scope(user).filter(caller_phone__in=spellings).select_related(*LIST_RELATED)
                .order_by("-received_at", "-id")[:limit])


def possible_repeats(user, *, phone: str = "", town_id=None, category_id=None, now: dt.datetime,
                     days: int = 7, limit: int = 10) -> list[WorkOrder]:
    """Open or recent orders that may be the same appeal: same caller, or same town and category."""
    cond = Q()
    spellings = parsing.phone_spellings(phone)
    if spellings:
        cond |= Q(caller_phone__in=spellings)
    if town_id and category_id:
        cond |= Q(town_id=town_id, category_id=category_id)
    if not cond:
        return []
    return list(_caller_scope(user).filter(cond, received_at__gte=now - dt.timedelta(days=days))
                .exclude(status=Status.MERGED).select_related(*LIST_RELATED)
                .order_by("-received_at", "-id")[:limit])


def merge_target(user, number: str) -> WorkOrder | None:
    """The order an intake repeat is merged into, looked up within the caller-history scope."""
    return _caller_scope(user).filter(number=(number or "").strip()).first()


def suggest_units(order: WorkOrder) -> list:
    """Suggested lead units from the dispatch catalog (category, and town when the rule names one)."""
    from django.db.models import F

    from hotline.catalog.models import DispatchRule
    from hotline.directory.models import Unit

    if not order.category_id:
        return [order.town] if order.town_id else []
    rules = DispatchRule.objects.filter(category_id=order.category_id).filter(
        Q(town__isnull=True) | Q(town_id=order.town_id)).select_related("unit").order_by(
        F("town_id").desc(nulls_last=True), "position")  # a town-specific rule first
    result = []
    for rule in rules:
        unit = rule.unit or (order.town if order.town_id else None)
        if unit is not None and unit not in result:
            result.append(unit)
    if not result and order.town_id:
        result.append(order.town)
    return [u for u in result if isinstance(u, Unit)]


# ---------------------------------------------------------------------------------------------
# Work queues (派单/审核, 承办): a page of the most urgent, a keyset cursor to the next page and a
# capped count per queue. Each queue is read in the order of an index, so a page costs the same
# at 10M orders as at 10k; nothing reads a unit's whole backlog to draw one page.

QUEUE_PAGE = 50
# Counts stop here ("1000+"): an exact count of a large unit's overdue orders would read tens of
# thousands of index entries and assignments on every page load, for a number nobody acts on.
COUNT_CAP = 1000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class QueuePage:
    """One page of a queue: rows in the queue's order, the cursor of the next page (None on the last)
    and the size of the whole queue, counted up to ``COUNT_CAP``."""

    rows: list
    next_cursor: str | None
    total: int
    capped: bool = False
    # Count labels of the queue's named parts, where its heading tells them apart (上级交办时限:
    # 已超 and 临近), each capped like the whole.
    counts: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def count_label(self) -> str:
        return f"{COUNT_CAP}+" if self.capped else str(self.total)


def _capped(qs) -> int:
    """How many rows ``qs`` holds, counted up to ``COUNT_CAP + 1`` (a LIMITed count)."""
    return qs.order_by().values("pk")[: COUNT_CAP + 1].count()


def _count_label(n: int) -> str:
    return f"{COUNT_CAP}+" if n > COUNT_CAP else str(n)


def encode_cursor(values) -> str:
    """A keyset position as text. Datetimes as integer microseconds: float seconds lose the last
    microsecond at today's epoch, and the boundary row would then repeat or vanish."""
    out = []
    for v in values:
        if v is None:
            out.append("n")
        elif isinstance(v, dt.datetime):
            out.append(str((v - _EPOCH) // dt.timedelta(microseconds=1)))
        else:
            out.append(str(int(v)))
    return "_".join(out)


def decode_cursor(text: str | None, size: int, *, datetimes: int) -> tuple | None:
    """The position ``encode_cursor`` wrote: ``datetimes`` leading datetimes (or None), then ids.
    Anything else (hand-edited, truncated, absurd) is None: the queue starts from the top."""
    parts = (text or "").split("_")
    if len(parts) != size:
        return None
    out = []
    for i, part in enumerate(parts):
        if i < datetimes and part == "n":
            out.append(None)
            continue
        digits = part[1:] if part.startswith("-") else part
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 17:
            return None
        n = int(part)
        try:
            out.append(_EPOCH + dt.timedelta(microseconds=n) if i < datetimes else n)
        except OverflowError:  # before year 1 or after 9999
            return None
    return tuple(out)


def _after(fields: tuple[str, ...], nullable: tuple[bool, ...], values: tuple) -> Q:
    """Rows after ``values`` in the ascending order of ``fields`` with NULLs last."""
    after, same = None, Q()
    for field, can_be_null, v in zip(fields, nullable, values, strict=True):
        if v is None:
            step, eq = None, Q(**{f"{field}__isnull": True})  # only NULLs follow a NULL
        else:
            step = Q(**{f"{field}__gt": v}) | Q(**{f"{field}__isnull": True}) if can_be_null \
                else Q(**{f"{field}__gt": v})
            eq = Q(**{field: v})
        if step is not None:
            after = same & step if after is None else after | (same & step)
        same &= eq
    if after is None:
        return Q(pk__in=[])
    if values[0] is not None and not nullable[0]:
        # The same condition again as a plain range: PostgreSQL starts the index scan there
        # instead of filtering the queue from its top.
        after &= Q(**{f"{fields[0]}__gte": values[0]})
    return after


def _sort_key(values: tuple) -> tuple:
    return tuple((v is None, v if v is not None else 0) for v in values)


@dataclass(frozen=True)
class _Part:
    """One index-ordered piece of a queue; a queue whose rows come from several access paths is
    the merge of its parts (each read only one page deep)."""

    qs: object
    nullable: tuple[bool, ...]


def _read(parts: list[_Part], fields: tuple[str, ...], columns: tuple[str, ...], cursor: str | None,
          *, datetimes: int, size: int = QUEUE_PAGE, count: bool = True) -> tuple[list[dict], int]:
    """Up to ``size + 1`` rows per part (dicts of ``columns``) after ``cursor``, merged in order,
    and the queue's size counted up to ``COUNT_CAP + 1`` (one LIMITed count per part)."""
    position = decode_cursor(cursor, len(fields), datetimes=datetimes) if cursor else None
    rows = []
    for part in parts:
        order = [F(f).asc(nulls_last=True) if null else F(f).asc() for f, null in zip(fields, part.nullable, strict=True)]
        qs = part.qs if position is None else part.qs.filter(_after(fields, part.nullable, position))
        rows.extend(qs.order_by(*order).values(*columns)[: size + 1])
    rows.sort(key=lambda r: _sort_key(tuple(r[f] for f in fields)))
    return rows, sum(_capped(p.qs) for p in parts) if count else 0


def _page(rows: list, fields: tuple[str, ...], size: int, total: int, wrap=None) -> QueuePage:
    """The first ``size`` of ``rows`` (sorted, one page deep per part) as a page; a row beyond
    them means there is a next page, which starts after the last row shown."""
    nxt = encode_cursor(tuple(rows[size - 1][f] for f in fields)) if len(rows) > size else None
    shown = rows[:size]
    return QueuePage([wrap(r) for r in shown] if wrap else shown, nxt, min(total, COUNT_CAP), total > COUNT_CAP)


# -- dispatch and review ----------------------------------------------------------------------

ORDER_ROW_COLUMNS = ("pk", "number", "title", "urgency", "status", "received_at", "handle_deadline", "replied_at",
                     "appeal_type__name", "category__name", "town__short_name", "lead_unit__short_name")


def _order_rows(rows: list[dict]) -> list[dict]:
    """Queue rows as the order tables read them: labels looked up once, not per row in the template."""
    urgency = dict(WorkOrder._meta.get_field("urgency").choices)
    for r in rows:
        r["status_label"] = STATUS_LABELS[Status(r["status"])]
        r["urgency_label"] = urgency.get(r["urgency"], r["urgency"])
    return rows


def dispatch_queue(user, *, cursor: str | None = None, size: int = QUEUE_PAGE) -> QueuePage:
    """Orders awaiting dispatch, the earliest deadline then the earliest registered first
    (partial index ``wo_awaiting_dispatch_idx``)."""
    qs = WorkOrder.objects.visible_to(user).filter(status=Status.AWAITING_DISPATCH)
    fields = ("handle_deadline", "received_at", "id")
    rows, total = _read([_Part(qs, (True, False, False))], fields, ORDER_ROW_COLUMNS + ("id",), cursor,
                        datetimes=2, size=size)
    return _page(_order_rows(rows), fields, size, total)


def intake_queue(user, *, cursor: str | None = None, size: int = QUEUE_PAGE) -> QueuePage:
    """Orders registered and not yet taken in (已登记): what the portal, Open311 and the API
    registered, and anything else left without a disposition. The earliest deadline first, then
    the earliest registered (partial index ``wo_intake_idx``, PostgreSQL); rows carry their channel."""
    qs = WorkOrder.objects.visible_to(user).filter(status=Status.RECEIVED)
    fields = ("handle_deadline", "received_at", "id")
    rows, total = _read([_Part(qs, (True, False, False))], fields, ORDER_ROW_COLUMNS + ("id", "source"), cursor,
                        datetimes=2, size=size)
    sources = dict(WorkOrder._meta.get_field("source").choices)
    for r in rows:
        r["source_label"] = sources.get(r["source"], r["source"])
    return _page(_order_rows(rows), fields, size, total)


def replies_awaiting_review(user, *, cursor: str | None = None, size: int = QUEUE_PAGE) -> QueuePage:
    """Replies the center must review, the longest waiting first (partial index ``wo_replied_idx``)."""
    qs = WorkOrder.objects.visible_to(user).filter(status=Status.REPLIED)
    rows, total = _read([_Part(qs, (True, False))], ("replied_at", "id"), ORDER_ROW_COLUMNS + ("id",), cursor,
                        datetimes=1, size=size)
    return _page(_order_rows(rows), ("replied_at", "id"), size, total)


REQUEST_ROW_COLUMNS = ("id", "requested_at", "reason", "basis", "requested_deadline", "order__number",
                       "order__title", "order__handle_deadline", "assignment__unit__short_name")


def pending_requests(user, kind: str, *, cursor: str | None = None, size: int = QUEUE_PAGE) -> QueuePage:
    """Pending requests of one kind, the oldest first (partial index ``req_pending_idx``)."""
    visible = WorkOrder.objects.visible_to(user).values("pk")
    qs = Request.objects.filter(kind=kind, state=Request.State.PENDING, order__in=visible)
    rows, total = _read([_Part(qs, (False, False))], ("requested_at", "id"), REQUEST_ROW_COLUMNS, cursor,
                        datetimes=1, size=size)
    return _page(rows, ("requested_at", "id"), size, total)


CALLBACK_ROW_COLUMNS = ("id", "number", "title", "disposition", "replied_at", "answer", "callback_attempts",
                        "next_callback_at", "lead_unit__short_name", "due")


def callback_queue(user, *, now: dt.datetime | None = None, cursor: str | None = None,
                   size: int = QUEUE_PAGE) -> QueuePage:
    """Orders awaiting callback that are due now, the earliest due first: a first callback is due
    from the answer on, a retry (回访未接通) from its ``next_callback_at``; an order with neither
    first of all, then by id. A page with a keyset cursor on (due, id) and a capped count.

    Read in the order of ``wo_callback_due_idx`` (PostgreSQL, migration 0023), whose key is that
    due time: the page is its first entries, and the count reads the index alone. Sorting every
    order awaiting callback by it read all the open orders (17,521 of 100,494 matched at 1M:
    43,000 pages, 230 ms) on every load. An order retried later is due after every order due now
    (its due time is that retry), so the page never walks past them.
    """
    now = now or clock.now()
    queue = (WorkOrder.objects.visible_to(user).filter(status=Status.AWAITING_CALLBACK)
             .filter(Q(next_callback_at__isnull=True) | Q(next_callback_at__lte=now))
             .annotate(due=Coalesce("next_callback_at", "replied_at")))
    position = decode_cursor(cursor, 2, datetimes=1) if cursor else None
    after = queue
    if position is not None:
        due, pk = position
        # Undated first (NULLS FIRST): after an undated row, the undated with a larger id, then
        # every dated one; after a dated row, the plain range first, as in ``_after``.
        after = queue.filter((Q(due__isnull=True, id__gt=pk) | Q(due__isnull=False)) if due is None
                             else Q(due__gte=due) & (Q(due__gt=due) | Q(due=due, id__gt=pk)))
    rows = list(after.order_by(F("due").asc(nulls_first=True), "id").values(*CALLBACK_ROW_COLUMNS)[: size + 1])
    dispositions = dict(WorkOrder._meta.get_field("disposition").choices)
    for r in rows:
        r["disposition_label"] = dispositions.get(r["disposition"], r["disposition"])
    return _page(rows, ("due", "id"), size, _capped(queue))


# -- the supervisor's page (督办) and the month's 通报 -----------------------------------------
# Each list of /supervision/ is a queue like the work queues above: a page of ``QUEUE_PAGE`` in the
# order of an index, its own keyset cursor, a capped count. They showed 200 rows each, as model
# instances through a template include per table: at 1M orders a third of a megabyte of HTML, and
# most of the page's 280 ms went to drawing it (the queries took 60-80 ms).

SUPERVISION_QUEUES = ("overdue", "near_due", "failed", "upstream", "awaiting", "overdue_chased")


def supervision_queues(user, now: dt.datetime, *, cursors=None, size: int = QUEUE_PAGE) -> dict[str, QueuePage]:
    """Every queue of the supervisor's page, a page each (``cursors[name]`` for the next ones)."""
    cursors = cursors or {}
    return {**supervision_lists(user, now, cursors=cursors, size=size),
            "failed": failed_supervisions(user, cursor=cursors.get("failed"), size=size),
            "upstream": upstream_deadlines(user, now, cursor=cursors.get("upstream"), size=size),
            **escalations(user, now, cursors=cursors, size=size)}


_DEADLINE_KEY = ("handle_deadline", "id")


def _by_deadline(qs, cursor: str | None, size: int) -> QueuePage:
    """Orders the unit holds, the earliest deadline first, as the order tables read them: ``qs``
    always bounds the deadline (never NULL), so the key is a plain range of a deadline index."""
    rows, total = _read([_Part(qs, (False, False))], _DEADLINE_KEY, ORDER_ROW_COLUMNS + ("id",), cursor,
                        datetimes=1, size=size)
    return _page(_order_rows(rows), _DEADLINE_KEY, size, total)


def supervision_lists(user, now: dt.datetime, *, cursors=None, size: int = QUEUE_PAGE) -> dict[str, QueuePage]:
    """Overdue and near-due orders across units, the earliest deadline first (partial index
    ``wo_open_deadline_idx``); their counts per lead unit are ``per_unit_counts``."""
    cursors = cursors or {}
    qs = WorkOrder.objects.visible_to(user)
    return {"overdue": _by_deadline(qs.overdue(now), cursors.get("overdue"), size),
            "near_due": _by_deadline(qs.near_due(now, near_due_window(now)), cursors.get("near_due"), size)}


def per_unit_counts(user, now: dt.datetime, *, cached: bool = True) -> dict:
    """Overdue and near-due orders per lead unit (``rows``: the most overdue first) and ``at``, when
    they were counted: kept ``SUMMARY_SECONDS`` in the shared cache like the home page's counts.

    The one count on the page over a whole backlog rather than a page of it: every overdue and
    near-due order (61,838 at 1M, an index-only scan of ``wo_open_summary_idx`` and a hash of them
    by unit, 44 ms), ten times that at 10M. Counted once a minute for the center, not on each load.
    """
    def count() -> dict:
        holds = [s.value for s in UNIT_HOLDS]
        rows = list(WorkOrder.objects.visible_to(user).filter(status__in=holds, handle_deadline__lt=near_due_window(now))
                    .values("lead_unit__short_name")
                    .annotate(overdue=Count("id", filter=Q(handle_deadline__lt=now)),
                              near_due=Count("id", filter=Q(handle_deadline__gte=now)))
                    .order_by("-overdue", "-near_due", "lead_unit__short_name"))
        return {"rows": rows, "at": now}
    return _kept("supervision-units", user, count, cached=cached)


FAILED_SUPERVISION_COLUMNS = ("id", "at", "respond_by", "notice", "order__number", "order__title", "order__status",
                              "unit__short_name")
_RESPOND_BY_KEY = ("respond_by", "id")


def _reminders(user):
    """督办 on orders ``user`` may see (the order's door decides)."""
    return Reminder.objects.filter(kind=Reminder.Kind.SUPERVISION,
                                   order__in=WorkOrder.objects.visible_to(user).values("pk"))


def failed_supervisions(user, *, cursor: str | None = None, size: int = QUEUE_PAGE) -> QueuePage:
    """督办 the unit did not answer by its ``respond_by`` (``Reminder.failed``, set by the sweep), the
    latest first (partial index ``reminder_failed_idx``, read backwards): each is a 督办未落实
    deduction on the unit's assessment sheet. The list only grows, so it is paged like the others.

    Every failed 督办 has a ``respond_by``: ``actions.supervise`` sets it and the sweep fails those
    whose ``respond_by`` has passed; saying so keeps the key a plain range on both databases (which
    would order a NULL apart)."""
    failed = _reminders(user).filter(failed=True, respond_by__isnull=False)
    position = decode_cursor(cursor, len(_RESPOND_BY_KEY), datetimes=1) if cursor else None
    after = failed
    if position is not None and position[0] is not None:
        at, pk = position
        after = failed.filter(Q(respond_by__lte=at) & (Q(respond_by__lt=at) | Q(respond_by=at, id__lt=pk)))
    rows = list(after.order_by("-respond_by", "-id").values(*FAILED_SUPERVISION_COLUMNS)[: size + 1])
    for r in rows:
        r["status_label"] = STATUS_LABELS[Status(r["order__status"])]
    return _page(rows, _RESPOND_BY_KEY, size, _capped(failed))


UPSTREAM_ROW_COLUMNS = ("id", "number", "title", "status", "upstream_number", "upstream_deadline",
                        "upstream_platform__name", "upstream_platform__short_name", "lead_unit__short_name")
_UPSTREAM_KEY = ("upstream_deadline", "id")


def upstream_deadlines(user, now: dt.datetime, *, cursor: str | None = None, size: int = QUEUE_PAGE) -> QueuePage:
    """Upstream orders not yet reported back whose upstream deadline has passed (``late`` rows) or
    falls within the near-due window, the earliest first (partial index ``wo_upstream_owed_idx``):
    what the center owes its upstream platforms. ``counts`` has ``late`` and ``near``."""
    owed = (WorkOrder.objects.visible_to(user).filter(upstream_platform__isnull=False, reported_back_at__isnull=True)
            .exclude(status=Status.MERGED))
    soon = near_due_window(now)
    rows, _ = _read([_Part(owed.filter(upstream_deadline__lt=soon), (False, False))], _UPSTREAM_KEY,
                    UPSTREAM_ROW_COLUMNS, cursor, datetimes=1, size=size, count=False)
    for r in rows:
        r["late"] = r["upstream_deadline"] < now
        r["status_label"] = STATUS_LABELS[Status(r["status"])]
    late = _capped(owed.filter(upstream_deadline__lt=now))
    near = _capped(owed.filter(upstream_deadline__gte=now, upstream_deadline__lt=soon))
    page = _page(rows, _UPSTREAM_KEY, size, late + near)
    page.counts = {"late": _count_label(late), "near": _count_label(near)}
    return page


AWAITING_SUPERVISION_COLUMNS = ("id", "respond_by", "acknowledged_at", "order__number", "order__title",
                                "unit__short_name")


def escalations(user, now: dt.datetime, *, cursors=None, size: int = QUEUE_PAGE) -> dict[str, QueuePage]:
    """The rest of the supervisor's escalation list, beside ``failed_supervisions`` (督办未落实) and
    ``upstream_deadlines`` (docs/workflow.md, "Chase loops that close"), a queue each:

    - ``awaiting``: 督办 waiting for the unit's written response, the earliest respond_by first
      (partial index ``reminder_awaiting_idx``);
    - ``overdue_chased``: orders past their deadline although chased (催办 or 督办) already: the
      overdue orders by deadline (``wo_open_deadline_idx``), each kept if it has a ``Reminder``.
      After a near-due pass most overdue orders a unit works have their automatic 催办, so a page
      is found within its first rows; the count stops at ``COUNT_CAP``.
    """
    cursors = cursors or {}
    holds = [s.value for s in UNIT_HOLDS]
    awaiting = _reminders(user).filter(responded_at__isnull=True, failed=False)
    rows, total = _read([_Part(awaiting, (True, False))], _RESPOND_BY_KEY, AWAITING_SUPERVISION_COLUMNS,
                        cursors.get("awaiting"), datetimes=1, size=size)
    chased = (WorkOrder.objects.visible_to(user).filter(status__in=holds, handle_deadline__lt=now)
              .filter(Exists(Reminder.objects.filter(order=OuterRef("pk")))))
    return {"awaiting": _page(rows, _RESPOND_BY_KEY, size, total),
            "overdue_chased": _by_deadline(chased, cursors.get("overdue_chased"), size)}


def month_bulletin(year: int, month: int, *, using: str | None = None) -> list[dict]:
    """The month's 通报 list: every 督办 found failed in the month (by ``failed_at`` on the center's
    clock), with its unit, order and notice, grouped in unit order. The briefing's draft reads it."""
    lo, hi = clock.month_bounds(year, month)
    rows = (Reminder.objects.using(using or settings.ANALYTICS_DATABASE)
            .filter(kind=Reminder.Kind.SUPERVISION, failed=True, failed_at__gte=lo, failed_at__lt=hi)
            .select_related("order", "unit").order_by("unit__position", "unit__code", "failed_at", "id"))
    return [{"unit": r.unit.short_name if r.unit_id else "", "number": r.order.number, "title": r.order.title,
             "notice": r.notice, "respond_by": r.respond_by, "failed_at": r.failed_at,
             "responded": r.responded_at is not None} for r in rows]


# -- the unit inbox ---------------------------------------------------------------------------

INBOX_SECTIONS = ("to_sign", "sent_back", "overdue", "near_due", "handling")
# Every open state but the callback queue: where an order can wait on a unit's active assignment.
INBOX_STATUSES = sorted(s.value for s in Status if s not in (Status.CLOSED, Status.MERGED, Status.AWAITING_CALLBACK))
SENT_BACK_ACTIONS = ("send_back", "callback_rework")
_HOLDS = sorted(s.value for s in UNIT_HOLDS)
_OTHER_OPEN = sorted(set(INBOX_STATUSES) - set(_HOLDS))
INBOX_COLUMNS = ("id", "number", "title", "status", "handle_deadline", "confidential", "caller_name", "caller_phone",
                 "category__name", "a_role", "a_dispatched_at", "a_sign_deadline", "a_signed", "a_replied", "a_round")
_INBOX_KEY = ("handle_deadline", "id")


@dataclass
class InboxRow:
    """One order in a unit's inbox with the unit's part in it (lead or co-handling)."""

    id: int
    number: str
    title: str
    status: str
    handle_deadline: dt.datetime | None
    confidential: bool
    caller_name: str
    caller_phone: str
    category: str
    role: str
    dispatched_at: dt.datetime | None
    sign_deadline: dt.datetime | None
    signed: bool  # the unit has signed for its part
    replied: bool  # the unit's reply stands
    round: int  # the dispatch round of the unit's assignment

    @classmethod
    def of(cls, r: dict) -> InboxRow:
        return cls(r["id"], r["number"], r["title"], r["status"], r["handle_deadline"], r["confidential"],
                   r["caller_name"], r["caller_phone"], r["category__name"] or "", r["a_role"], r["a_dispatched_at"],
                   r["a_sign_deadline"], r["a_signed"], r["a_replied"], r["a_round"])

    @property
    def role_label(self) -> str:
        return Assignment.Role(self.role).label

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[Status(self.status)]


def _mine(qs, unit: int, role: str | None = None, *, open_orders: bool = False):
    """``qs`` joined to the unit's active assignment in each order (of ``role``, if given; of an
    open order, ``Assignment.order_open``, if ``open_orders``): one row per order, since a unit
    holds at most one active assignment of an order. Conditions on the assignment belong here: a
    filter on ``mine__…`` afterwards would join the assignments a second time."""
    condition = Q(assignments__unit_id=unit, assignments__active=True)
    if role:
        condition &= Q(assignments__role=role)
    if open_orders:
        condition &= Q(assignments__order_open=True)
    # An inner join, on a column the co-handling index holds (``mine__id`` would visit the table).
    return qs.annotate(mine=FilteredRelation("assignments", condition=condition)).filter(mine__order__isnull=False)


def _isset(field: str) -> ExpressionWrapper:
    """Whether ``field`` has a value, as a boolean column: the rows only need to know, and loading an
    aware datetime costs more than the rest of the row."""
    return ExpressionWrapper(Q(**{f"{field}__isnull": False}), output_field=BooleanField())


def _inbox_rows(user, ids: list[int]) -> dict[int, dict]:
    """The page's rows of every section in one read, through ``visible_to``, with the unit's
    active assignment (lead or co-handling); an id that fails either is not shown."""
    qs = _mine(WorkOrder.objects.visible_to(user).filter(pk__in=ids), user.unit_id).annotate(
        a_role=F("mine__role"), a_dispatched_at=F("mine__dispatched_at"), a_sign_deadline=F("mine__sign_deadline"),
        a_signed=_isset("mine__signed_at"), a_replied=_isset("mine__replied_at"), a_round=F("mine__round"))
    return {r["id"]: r for r in qs.order_by().values(*INBOX_COLUMNS)}


def _sent_back_ids(user) -> list[int]:
    """The unit's lead orders sent back to it: handling, and the last event a send-back or a
    callback rework. Only an order whose reply was written and then withdrawn (reply text kept,
    reply time cleared: what both actions do) can qualify, so the last event is read for those few
    alone (partial index ``asg_lead_withdrawn_idx``), once per page; the other sections exclude
    these ids instead of asking every order for its last event."""
    # Two steps: joined to the orders, PostgreSQL started from the unit's handling orders and
    # probed the small index once for each of them.
    withdrawn = list(Assignment.objects.filter(unit_id=user.unit_id, role=Assignment.Role.LEAD, active=True,
                                               replied_at__isnull=True, reply_public__gt="")
                     .order_by().values_list("order_id", flat=True))  # the default order joins the orders
    if not withdrawn:
        return []
    last = Event.objects.filter(order=OuterRef("pk")).order_by("-at", "-id").values("action")[:1]
    return list(WorkOrder.objects.filter(pk__in=withdrawn, lead_unit_id=user.unit_id, status=Status.HANDLING)
                .alias(last_action=Subquery(last)).filter(last_action__in=SENT_BACK_ACTIONS)
                .values_list("pk", flat=True))


_LEAD_HELD = sorted(set(_HOLDS) - {Status.DISPATCHED.value})  # held and signed for


def _lead_parts(user, now: dt.datetime, key: str, sent_back: list[int]) -> list[_Part]:
    """The lead half of an inbox section, each part a range of the unit's open orders by state and
    deadline (``wo_open_summary_idx`` on PostgreSQL, which holds the id too: an index-only read).

    The parts pick ids (and count) by the order's own columns only: a lead order waits to be signed
    for exactly while it is 待签收 (``dispatched``: signing is what moves it on), and its lead
    assignment is the unit's while the unit leads it. Joining the assignment to re-check that made
    PostgreSQL walk the to-sign orders inside the overdue ones; adding ``visible_to``'s "lead unit
    or assigned" test to "lead unit" made it expect a handful of rows and sort a bitmap of the
    unit's whole backlog instead of walking its index, and AND a bitmap of every order in those
    states into each count. These are orders led by the user's unit, which ``visible_to`` admits as
    such; the page's rows are then read through it (``_inbox_rows``), assignment joined, so an
    order without this unit's active assignment never shows.
    """
    mine = led_by_unit(WorkOrder.objects.all(), user)

    def part(cond: Q, nullable: bool) -> _Part:
        qs = mine.filter(cond)
        if sent_back and key != "sent_back":
            qs = qs.exclude(pk__in=sent_back)
        return _Part(qs, (nullable, False))

    soon = near_due_window(now)
    if key == "to_sign":
        return [part(Q(status=Status.DISPATCHED), True)]
    if key == "sent_back":
        return [part(Q(pk__in=sent_back), True)] if sent_back else []
    if key == "overdue":
        return [part(Q(status__in=_LEAD_HELD, handle_deadline__lt=now), False)]
    if key == "near_due":
        return [part(Q(status__in=_LEAD_HELD, handle_deadline__gte=now, handle_deadline__lt=soon), False)]
    # Handling: held with a deadline beyond the near-due window (an index range), plus those
    # without a running clock (suspended) and the few without a deadline, each its own range (as one
    # OR, PostgreSQL walked every order the unit ever led, in deadline order, to find them).
    return [part(Q(status__in=_LEAD_HELD, handle_deadline__gte=soon), False),
            part(Q(status__in=_OTHER_OPEN), True),
            part(Q(status__in=_LEAD_HELD, handle_deadline__isnull=True), True)]


def _co_key(r: dict, now: dt.datetime, soon: dt.datetime) -> str:
    deadline = r["handle_deadline"]
    if not r["signed"]:
        return "to_sign"
    if deadline and r["status"] in _HOLDS:
        if deadline < now:
            return "overdue"
        if deadline < soon:
            return "near_due"
    return "handling"


def _co_keys(user, now: dt.datetime) -> dict[str, list[dict]]:
    """The unit's open co-handling orders by section, as sort keys. They are few (a unit co-handles
    a small share of what it leads), so one query reads them all and each section takes its page;
    only what places a row is read."""
    soon = near_due_window(now)
    # Like the lead half, keys are picked without ``visible_to``: its "assigned to the unit" test is
    # the join itself, and asking it again probed the assignments once more per order.
    co = _mine(WorkOrder.objects.filter(status__in=INBOX_STATUSES), user.unit_id, Assignment.Role.CO,
               open_orders=True).annotate(signed=_isset("mine__signed_at"))
    by_key = {k: [] for k in INBOX_SECTIONS}
    for r in co.order_by(F("handle_deadline").asc(nulls_last=True), "id").values("id", "handle_deadline", "status",
                                                                                   "signed"):
        by_key[_co_key(r, now, soon)].append(r)
    return by_key


def unit_inbox(user, now: dt.datetime, *, cursors: dict[str, str] | None = None, only: str | None = None,
               size: int = QUEUE_PAGE) -> dict[str, QueuePage]:
    """A handler's inbox, section by section: to sign, sent back, overdue, near-due, handling.

    Each section is its own queue, the earliest deadline first, a page of ``size`` with a keyset
    cursor (``cursors[section]``) and a count capped at ``COUNT_CAP``. A row is the unit's active
    lead or co-handling assignment of an open order. The lead half's keys are picked per section
    from the unit's index by state and deadline (a page of keys and a LIMITed count each), the
    co-handling half's in one query (it is small); then all sections' rows are read in one query
    through ``visible_to``.
    ``only`` reads a single section's page, without its count.
    """
    cursors = cursors or {}
    keys = [only] if only in INBOX_SECTIONS else list(INBOX_SECTIONS)
    if not getattr(user, "unit_id", None):
        return {k: QueuePage([], None, 0) for k in keys}
    co = _co_keys(user, now)
    sent_back = _sent_back_ids(user)
    merged = {}
    for key in keys:
        cursor = cursors.get(key)
        rows, total = _read(_lead_parts(user, now, key, sent_back), _INBOX_KEY, _INBOX_KEY, cursor, datetimes=1,
                            size=size, count=only is None)
        extra = co[key]
        total += len(extra)
        if cursor:
            position = decode_cursor(cursor, 2, datetimes=1)
            if position is not None:
                mark = _sort_key(position)
                extra = [r for r in extra if _sort_key((r["handle_deadline"], r["id"])) > mark]
        merged[key] = _page(sorted(rows + extra[: size + 1], key=lambda r: _sort_key((r["handle_deadline"], r["id"]))),
                            _INBOX_KEY, size, total)
    # Every section's page was chosen by keys; one read fetches their rows.
    found = _inbox_rows(user, [r["id"] for page in merged.values() for r in page.rows])
    result = {}
    for key, page in merged.items():
        page.rows = [InboxRow.of(found[r["id"]]) for r in page.rows if r["id"] in found]
        result[key] = page
    return result


def dashboard(user, now: dt.datetime, *, as_of: dt.date | None = None) -> dict:
    """A day and its month over what the user may see (today unless ``as_of`` picks a past day):
    aggregate queries only. Open, near-due and overdue are counted as of ``now`` today, and as of
    the end of a past day for that day (``at``)."""
    from django.db.models.functions import TruncDate

    day = as_of or clock.local_date(now)
    today, end = clock.day_bounds(day)
    month = clock.day_start(day.replace(day=1))
    first_trend = day - dt.timedelta(days=29)
    start_trend = clock.day_start(first_trend)
    holds = [s.value for s in UNIT_HOLDS]
    qs = WorkOrder.objects.visible_to(user)
    if as_of is None or end > now:
        # Today: the states as they stand.
        is_open = ~Q(status__in=[Status.CLOSED, Status.MERGED])
        with_unit = Q(status__in=holds)
        at = now
    else:
        # A past day: every card as of that day's end, from the order's own timestamps — a past
        # month's page never mixes in today's backlog. A unit still held it if it was dispatched
        # and not yet replied to at that moment.
        at = end
        is_open = Q(received_at__lt=at) & (Q(closed_at__isnull=True) | Q(closed_at__gte=at))
        with_unit = is_open & Q(dispatched_at__lt=at) & (Q(replied_at__isnull=True) | Q(replied_at__gte=at))
    totals = qs.aggregate(
        today_new=Count("id", filter=Q(received_at__gte=today, received_at__lt=end)),
        month_new=Count("id", filter=Q(received_at__gte=month, received_at__lt=end)),
        today_closed=Count("id", filter=Q(closed_at__gte=today, closed_at__lt=end)),
        month_closed=Count("id", filter=Q(closed_at__gte=month, closed_at__lt=end)),
        open=Count("id", filter=is_open),
        near_due=Count("id", filter=with_unit & Q(handle_deadline__gte=at, handle_deadline__lt=near_due_window(at))),
        overdue=Count("id", filter=with_unit & Q(handle_deadline__lt=at)),
    )
    this_month = qs.filter(received_at__gte=month, received_at__lt=end)
    by_unit = list(this_month.filter(lead_unit__isnull=False).values("lead_unit__short_name")
                   .annotate(n=Count("id"), overdue=Count("id", filter=with_unit & Q(handle_deadline__lt=at)))
                   .order_by("-n", "lead_unit__short_name")[:15])
    # The hotspot table's rows (level 2, each order under its ancestor as the tree stood on its day):
    # counted by the stored category id, rolled up in Python.
    per_category = dict(this_month.filter(category__isnull=False).order_by().values("category")
                        .annotate(n=Count("id")).values_list("category", "n"))
    by_category = [{"category__full_name": node.full_name, "n": n}
                   for node, n in roll_up(per_category, this_month, day.replace(day=1), day, 2, as_of=day)[:10]]
    by_day = dict(qs.filter(received_at__gte=start_trend, received_at__lt=end)
                  .annotate(day=TruncDate("received_at", tzinfo=clock.tz()))
                  .values("day").annotate(n=Count("id")).values_list("day", "n"))
    days = [first_trend + dt.timedelta(days=i) for i in range(30)]
    return {"totals": totals, "by_unit": by_unit, "by_category": by_category, "day": day, "at": at,
            "trend": {"days": [d.strftime("%m-%d") for d in days], "counts": [by_day.get(d, 0) for d in days]}}
