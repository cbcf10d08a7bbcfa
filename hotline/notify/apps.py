from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "hotline.notify"
    label = "notify"
    verbose_name = "通知与消息"

    def ready(self):
        # The work orders send ``event_recorded`` in the action's transaction; notify listens from
        # above, so the work orders never import it (DESIGN.md §5).
        from hotline.notify.emit import on_events_recorded
        from hotline.workorders.signals import event_recorded

        event_recorded.connect(on_events_recorded, dispatch_uid="hotline.notify.emit")
