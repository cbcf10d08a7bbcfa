from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "hotline.triage"
    verbose_name = "智能分类与派单建议"

    def ready(self):
        # A registered order's near-duplicate keys are written in the registration's transaction;
        # the work orders send the event and never import triage (DESIGN.md §5).
        from hotline.triage.dupindex import on_events_recorded
        from hotline.workorders.signals import event_recorded

        event_recorded.connect(on_events_recorded, dispatch_uid="hotline.triage.neardup")
