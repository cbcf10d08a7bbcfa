"""Notifications: what the platform tells people, in-app and through SMS, e-mail and robots.

Public entry points (see docs/notifications.md):

- Work-order events notify by themselves: ``hotline.workorders.signals.event_recorded`` is sent
  in every action's transaction and ``notify.emit.on_events_recorded`` writes the in-app
  ``Notification`` rows and the outbox's ``Delivery`` rows in that same transaction.
- Who hears about what is the table ``notify.rules.RULES`` (event action → kind, audiences,
  condition). A new event that should notify (e.g. ``supervision_failed``) is one line there.
- Texts are ``notify.templates.TEMPLATES`` (one per ``models.Kind``).
- ``notify.emit.notify_users(user_ids, kind=…, title=…, body=…, url=…, order=…)`` writes in-app
  notifications that no event causes.
- ``notify.actions``: ``mark_read(user, ids)``, ``mark_all_read(user)``, ``retry(delivery,
  acting_user)`` — the only other writers.
- ``notify.signals.notifications_committed(recipient_ids=…)`` is sent after commit when people
  got new notifications (live updates connect to it).
- Reading: ``Notification.objects.for_user(user).unread()``; an order's messages:
  ``Delivery.objects.filter(order=order)``; the template ``notify/_order_deliveries.html``.
- The worker: the task ``notify.tasks.deliver_due`` (queued with each batch of messages, and by
  the scheduler's tick ``notify.tasks.schedule_due`` when retries fall due).
"""
