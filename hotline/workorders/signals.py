"""Signals the work orders send, for the apps above them (notify).

``event_recorded(sender=Event, events=[...], orders={...})`` is sent inside the action's
transaction after its events are written, so a receiver's writes commit or roll back with the
action. ``orders``, where the sender has them at hand, maps an event's order id to the order's
``OrderFacts`` as of the events (an SLA sweep's batch reads them with its locks): a receiver reads
an order only when it is not there. The work orders never import the apps that listen (imports
point one way: DESIGN.md §5).

``order_registering(sender=WorkOrder, order=order)`` is sent by ``register_order`` inside its
transaction with the new order's id set, before the month's number is drawn on PostgreSQL (where
the order's own row is written after it: foreign keys are checked at commit), so that a receiver's
writes (triage's near-duplicate keys) stay out of the section every registration queues on.
"""

import datetime as dt
from dataclasses import dataclass

from django.dispatch import Signal


@dataclass(slots=True)
class OrderFacts:
    """What the receivers of ``event_recorded`` read of an order (notify's rules and templates),
    for the events whose order is not already at hand. A sweep's batch covers hundreds of orders:
    their texts (content, answer, search columns) would be most of the bytes and none of the use,
    and a model instance each costs more than the row. A rule or template that needs another
    field: add it here (``ORDER_FACTS`` and the sweep's reads follow)."""

    pk: int
    number: str
    title: str
    handle_deadline: dt.datetime | None
    source: str
    caller_phone: str
    confidential: bool
    lead_unit_id: int | None


# The order's columns of ``OrderFacts``, in its order (``values_list(*ORDER_FACTS)``).
ORDER_FACTS = tuple(OrderFacts.__dataclass_fields__)

event_recorded = Signal()
order_registering = Signal()
