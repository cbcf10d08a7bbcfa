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
        # A 未诉先办 alert saved by triage (a sibling, not imported): by the model's name.
        from django.db.models.signals import post_save

        from hotline.notify.emit import on_hotspot_alert

        post_save.connect(on_hotspot_alert, sender="triage.HotspotAlert", dispatch_uid="hotline.notify.hotspot_alert")
