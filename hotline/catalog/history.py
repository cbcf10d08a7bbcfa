"""The category tree's versions in the database: load them, add one, keep today's copy current.

``tree.py`` is the pure engine (what a category was on a day, what is a valid tree); these are
the only functions that write categories' names and parents.
"""

from __future__ import annotations

import datetime as dt
import itertools

from django.db import transaction
from django.db.models import Count, Q

from hotline.catalog.models import Category, CategoryVersion
from hotline.catalog.tree import (
    MAX_LEVELS,
    SEPARATOR,
    Node,
    TreeError,
    TreeHistory,
    Version,
    check_valid_from,
)
from hotline.lib import clock

NAME_MAX = 40


def load_history(using: str | None = None) -> TreeHistory:
    """Every category and version (a few hundred rows, one query each)."""
    db = using or "default"
    categories = list(Category.objects.using(db).values_list("pk", "code", "name", "parent_id"))
    versions = [Version(*row) for row in CategoryVersion.objects.using(db)
                .values_list("category_id", "name", "parent_id", "valid_from")]
    versioned = {v.category_id for v in versions}
    # A category written without its version (a bulk insert) stands as it is today, since always.
    versions += [Version(pk, name, parent, None) for pk, _, name, parent in categories if pk not in versioned]
    return TreeHistory({pk: code for pk, code, _, _ in categories}, versions)


def local_day(value: dt.datetime | dt.date | None = None) -> dt.date:
    """The center's day of an instant (today when None): orders are named by the day they were registered."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return clock.local_date(value) if value is not None else clock.today()


def node_on(category_id: int, day: dt.date, using: str | None = None) -> Node:
    return load_history(using).node(category_id, day)


def full_name_on(category_id: int | None, when: dt.datetime | dt.date, using: str | None = None) -> str:
    """A category's full name (政务服务—网点服务) as it stood on the day of ``when``."""
    if category_id is None:
        return ""
    return node_on(category_id, local_day(when), using).full_name


def roll_up(counts: dict[int, int], orders, first: dt.date, last: dt.date, level: int, *,
            as_of: dt.datetime | dt.date | None = None, using: str | None = None) -> list[tuple[Node, int]]:
    """Orders per category id over the days ``first``–``last`` rolled up to ``level`` (2: the
    hotspot table), each order under its ancestor as the tree stood on the day it was registered;
    ranked by count, ties by code.

    ``counts`` come from a GROUP BY on the stored category id (the month's one pass); the tree is
    applied here in Python. Only a category whose ancestor at ``level`` changed inside the period
    has its orders (``orders``: the period's queryset) counted again, split at the change days.
    Rows are named as they stood on the last day they counted orders for, no later than ``as_of``.
    """
    history = load_history(using)
    until = max(first, min(last, local_day(as_of)))
    days = [first, *(d for d in history.change_days(first, last) if d <= until)]
    split = history.split_by_day(counts, days, level) if len(days) > 1 else set()
    entries = [(pk, days[-1], n) for pk, n in counts.items() if pk not in split]
    if split:
        bounds = [clock.day_start(d) for d in days] + [clock.day_start(last + dt.timedelta(days=1))]
        parts = {f"d{i}": Count("id", filter=Q(received_at__gte=lo, received_at__lt=hi))
                 for i, (lo, hi) in enumerate(itertools.pairwise(bounds))}
        for r in orders.filter(category__in=split).order_by().values("category").annotate(**parts):
            entries += [(r["category"], day, r[f"d{i}"]) for i, day in enumerate(days)]
    return history.roll_up(entries, level)


def category_names(using: str | None = None):
    """A function naming many orders' categories with one read of the tree: ``names(category_id,
    received_at)`` is the full name on the order's day, ``names(..., leaf=True)`` its own name."""
    tree = load_history(using)

    def names(category_id: int | None, when: dt.datetime | dt.date, *, leaf: bool = False) -> str:
        if category_id is None:
            return ""
        node = tree.node(category_id, local_day(when))
        return node.name if leaf else node.full_name

    return names


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise TreeError("分类名称不能为空")
    if len(name) > NAME_MAX:
        raise TreeError(f"分类名称不能超过{NAME_MAX}个字")
    if SEPARATOR in name:
        raise TreeError(f"分类名称不能含“{SEPARATOR}”：它用来分隔各级名称")
    return name


def _lock_tree(db: str) -> None:
    # Two edits validated side by side could each be valid and together make a cycle: tree
    # edits take the category rows in one order and run one at a time.
    list(Category.objects.using(db).select_for_update().order_by("pk").values_list("pk", flat=True))


def check_version(category: Category, *, name: str, parent: Category | None, valid_from: dt.date | None,
                  today: dt.date | None = None, using: str | None = None) -> Version:
    """The version an edit would add, or ``TreeError`` with the reason (nothing is written)."""
    if valid_from is None:
        raise TreeError("修改名称或上级分类须填写生效日期")
    check_valid_from(valid_from, today or local_day())
    name = _clean_name(name)
    if parent is not None and parent.pk == category.pk:
        raise TreeError("分类不能以自己为上级")
    history = load_history(using)
    new = Version(category.pk, name, parent.pk if parent is not None else None, valid_from)
    before = history.version(category.pk, valid_from)
    if before.valid_from != valid_from and (before.name, before.parent_id) == (new.name, new.parent_id):
        raise TreeError("名称和上级分类都没有变化，无需新增版本")
    history.with_version(new).check(valid_from)
    return new


@transaction.atomic
def add_version(category: Category, *, name: str, parent: Category | None, valid_from: dt.date | None,
                user=None, today: dt.date | None = None) -> CategoryVersion:
    """Rename and/or move ``category`` from ``valid_from`` on (a later version on the same day replaces it).

    Refused with a Chinese ``TreeError`` — nothing written — when the day falls in a closed month,
    or the tree would have a cycle, a fourth level or two siblings of one name on any day from then on.
    """
    db = category._state.db or "default"
    _lock_tree(db)
    new = check_version(category, name=name, parent=parent, valid_from=valid_from, today=today, using=db)
    version, _ = CategoryVersion.objects.using(db).update_or_create(
        category=category, valid_from=new.valid_from,
        defaults={"name": new.name, "parent_id": new.parent_id, "created_by": user})
    _relink(category.pk, db)
    refresh_current(today, using=db)
    category.refresh_from_db()
    return version


def check_new_category(*, code: str, name: str, parent: Category | None, using: str | None = None) -> str:
    """The cleaned name of a category that may be created, or ``TreeError`` (nothing is written)."""
    db = using or "default"
    code = (code or "").strip()
    if not code:
        raise TreeError("分类编码不能为空")
    if Category.objects.using(db).filter(code=code).exists():
        raise TreeError(f"分类编码“{code}”已被使用")
    name = _clean_name(name)
    load_history(db).with_category(0, code, name, parent.pk if parent is not None else None).check(dt.date.min)
    return name


@transaction.atomic
def create_category(*, code: str, name: str, parent: Category | None = None, active: bool = True,
                    using: str | None = None) -> Category:
    """A new category (valid on every day: no order was classified under it before)."""
    db = using or "default"
    _lock_tree(db)
    name = check_new_category(code=code, name=name, parent=parent, using=db)
    category = Category(code=code.strip(), name=name, parent=parent, active=active)
    category.save(using=db)
    return category


def _relink(category_id: int, db: str) -> None:
    """Each version's ``valid_to`` is the next version's ``valid_from``."""
    versions = list(CategoryVersion.objects.using(db).filter(category_id=category_id)
                    .order_by("valid_from"))
    versions.sort(key=lambda v: v.valid_from or dt.date.min)
    for v, after in zip(versions, [*versions[1:], None], strict=True):
        valid_to = after.valid_from if after is not None else None
        if v.valid_to != valid_to:
            v.valid_to = valid_to
            v.save(update_fields=["valid_to"])


def refresh_current(today: dt.date | None = None, using: str | None = None) -> list[Category]:
    """Bring every category's copy of today's version up to date; the categories that changed.

    Called after each edit, and by the scheduler so that a version dated ahead takes effect on its day.
    """
    db = using or "default"
    day = today or local_day()
    history = load_history(db)
    changed = []
    # Parents first: a row's check constraint reads only its own level and parent.
    for category in sorted(Category.objects.using(db).all(), key=lambda c: history.node(c.pk, day).level):
        node = history.node(category.pk, day)
        if (category.name, category.parent_id, category.level, category.full_name) != (
                node.name, node.parent_id, node.level, node.full_name):
            category.name, category.parent_id, category.level, category.full_name = (
                node.name, node.parent_id, node.level, node.full_name)
            category._from_history = True
            category.save(using=db, update_fields=["name", "parent", "level", "full_name"])
            changed.append(category)
    return changed


def apply_due_versions() -> list[Category]:
    """The scheduler's periodic job (``HOTLINE_PERIODIC_JOBS``): versions whose day has come."""
    return refresh_current()


__all__ = ["MAX_LEVELS", "TreeError", "add_version", "apply_due_versions", "category_names", "check_new_category", "check_version",
           "create_category",
           "full_name_on", "load_history", "local_day", "node_on", "refresh_current", "roll_up"]
