from django.apps import AppConfig


class WorkordersConfig(AppConfig):
    name = "hotline.workorders"
    label = "workorders"
    verbose_name = "工单"

    def ready(self):
        from django.core.signals import request_finished

        from hotline.workorders.attachments import discard_uncommitted

        # Files written by a transaction that rolled back are deleted when the request ends.
        request_finished.connect(discard_uncommitted, dispatch_uid="attachments_discard_uncommitted")
