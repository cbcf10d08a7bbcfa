from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "hotline.triage"
    verbose_name = "智能分类与派单建议"

    def ready(self):
        # A registered order's near-duplicate keys are written in the registration's transaction;
        # the work orders send the signal and never import triage (DESIGN.md §5).
        # An order registered into an earlier month drops that month's stored hot problems.
        from hotline.triage import dupindex, hotspot_data
        from hotline.workorders.signals import order_registering

        order_registering.connect(dupindex.on_order_registering, dispatch_uid="hotline.triage.neardup")
        order_registering.connect(hotspot_data.on_order_registering, dispatch_uid="hotline.triage.month_hot_problems")
