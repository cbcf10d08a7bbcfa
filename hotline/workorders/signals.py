"""Signals the work orders send, for the apps above them (notify).

``event_recorded(sender=Event, events=[...])`` is sent inside the action's transaction after its
events are written, so a receiver's writes commit or roll back with the action. The work orders
never import the apps that listen (imports point one way: DESIGN.md §5).

``order_registering(sender=WorkOrder, order=order)`` is sent by ``register_order`` inside its
transaction with the new order's id set, before the month's number is drawn on PostgreSQL (where
the order's own row is written after it: foreign keys are checked at commit), so that a receiver's
writes (triage's near-duplicate keys) stay out of the section every registration queues on.
"""

from django.dispatch import Signal

event_recorded = Signal()
order_registering = Signal()
