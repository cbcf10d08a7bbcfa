"""Signals the work orders send, for the apps above them (notify).

``event_recorded(sender=Event, events=[...])`` is sent inside the action's transaction after its
events are written, so a receiver's writes commit or roll back with the action. The work orders
never import the apps that listen (imports point one way: DESIGN.md §5).
"""

from django.dispatch import Signal

event_recorded = Signal()
