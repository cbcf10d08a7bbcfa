"""Signals notify sends for the layers above it (live updates in browsers).

``notifications_committed(sender, recipient_ids)`` is sent after the transaction that wrote new
in-app notifications commits, with the ids of the people who got one: a live-update channel
(Redis or PostgreSQL NOTIFY) connects to it and tells those people's browsers.
"""

from django.dispatch import Signal

notifications_committed = Signal()
