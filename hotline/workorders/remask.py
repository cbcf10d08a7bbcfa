"""Recompute every order's ``masked_text`` (what a unit's text search reads) from its title,
content and caller: after the migration that added it, and whenever what masking covers changes.
The caller's phone is brought to its one spelling (``parsing.parse_phone``) on the way, for rows
stored before registration normalised it."""

from __future__ import annotations

from hotline.accounts.access import unit_search_text
from hotline.lib import parsing

FIELDS = ("id", "title", "content", "caller_name", "caller_phone", "confidential", "masked_text")


def remask(queryset, *, batch: int = 2000) -> int:
    """Rewrite ``masked_text`` where it is not what ``unit_search_text`` says; the number rewritten.

    Walks ``queryset`` by id a batch at a time (bounded memory at any size) and writes only the rows
    that change. Not an action: no order changes state, nothing is added to any timeline.
    """
    changed, last = 0, 0
    while True:
        rows = list(queryset.filter(pk__gt=last).order_by("pk").only(*FIELDS)[:batch])
        if not rows:
            return changed
        stale = []
        for order in rows:
            try:
                phone = parsing.parse_phone(order.caller_phone, "联系电话")
            except parsing.ParseError:
                phone = order.caller_phone  # kept as it was typed; search still finds it so
            text = unit_search_text(order)
            if text != order.masked_text or phone != order.caller_phone:
                order.masked_text, order.caller_phone = text, phone
                stale.append(order)
        if stale:
            queryset.model.objects.using(queryset.db).bulk_update(stale, ["masked_text", "caller_phone"],
                                                                  batch_size=500)
            changed += len(stale)
        last = rows[-1].pk
