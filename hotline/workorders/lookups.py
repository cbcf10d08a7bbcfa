"""The reference rows a registration names — appeal types, categories, towns — kept per process.

Every order posted to the API names one of each; looking them up was three of its fourteen
queries. They change a few times a year (in the admin), so each process keeps a snapshot of the
three small tables:

* a save or delete in this process drops the snapshot at once (signals);
* a change made by another process is seen after at most ``MAX_AGE`` seconds;
* a name the snapshot lacks is looked up in the database, as before, so a category added
  elsewhere a moment ago is usable at once (and the next lookup reloads the snapshot).

Lookups answer like ``Model.objects.filter(field=value).first()`` did: an int is a primary key,
anything else is matched as text, and duplicates resolve in the model's ordering. Callers get a
copy, so nothing they set on it leaks into other requests.
"""

from __future__ import annotations

import copy
import threading
import time

from django.db.models.signals import post_delete, post_migrate, post_save

from hotline.catalog.models import AppealType, Category
from hotline.directory.models import Unit

MAX_AGE = 60.0

# model -> the text field the API names it by
FIELDS = {AppealType: "code", Category: "full_name", Unit: "short_name"}

_lock = threading.Lock()
# model -> (loaded at (monotonic), {pk: row}, {text: row})
_snapshots: dict[type, tuple[float, dict, dict]] = {}


def _ordered(model):
    qs = model.objects.all()
    return qs if qs.ordered else qs.order_by("pk")


def _snapshot(model) -> tuple[dict, dict]:
    found = _snapshots.get(model)
    if found is None or time.monotonic() - found[0] > MAX_AGE:
        field = FIELDS[model]
        by_pk, by_text = {}, {}
        for row in _ordered(model):
            by_pk[row.pk] = row
            by_text.setdefault(getattr(row, field), row)
        found = (time.monotonic(), by_pk, by_text)
        with _lock:
            _snapshots[model] = found
    return found[1], found[2]


def find(model, value):
    """The row of ``model`` named ``value`` (primary key if an int, else its text field), or None."""
    by_pk, by_text = _snapshot(model)
    row = by_pk.get(value) if isinstance(value, int) else by_text.get(str(value))
    if row is not None:
        return copy.copy(row)
    key = {"pk": value} if isinstance(value, int) else {FIELDS[model]: str(value)}
    row = _ordered(model).filter(**key).first()
    if row is not None:
        forget(model)  # added since the snapshot was taken: take a new one next time
    return row


def forget(model=None) -> None:
    """Drop the snapshot of ``model`` (all of them when None)."""
    with _lock:
        if model is None:
            _snapshots.clear()
        else:
            _snapshots.pop(model, None)


def _changed(sender, **_kwargs):
    forget(sender)


for _model in FIELDS:
    post_save.connect(_changed, sender=_model, dispatch_uid=f"workorders-lookups-save-{_model.__name__}")
    post_delete.connect(_changed, sender=_model, dispatch_uid=f"workorders-lookups-delete-{_model.__name__}")
# ``flush`` (tests, ``hotline demo --reset``) empties the tables without a delete signal per row.
post_migrate.connect(lambda **_kwargs: forget(), dispatch_uid="workorders-lookups-migrate", weak=False)
