from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "hotline.web"
    label = "web"
    verbose_name = "工作台"
    # This module holds a second AppConfig (django-tasks' renamed one): without this flag Django
    # would install hotline.web with a bare AppConfig and ``ready`` below would never run.
    default = True

    def ready(self):
        from hotline.notify.signals import notifications_committed

        # New notifications, committed: tell the recipients' open pages (their bell and live tables).
        notifications_committed.connect(_tell_recipients, dispatch_uid="hotline.web.live")

        # The admin's forms pass the same text boundary as the console's (django.contrib.admin is
        # installed before this app, so every ModelAdmin is registered by now).
        from django.contrib import admin

        from hotline.lib.forms import clean_admin_forms

        clean_admin_forms(admin.site)


class TasksDatabaseConfig(AppConfig):
    """django-tasks' database queue under a Chinese name: the admin lists it beside the center's own
    sections, and its English app and model names were the one English heading there."""

    name = "django_tasks_db"
    label = "django_tasks_database"  # the package's own label: its migrations and table names stay
    verbose_name = "后台任务"

    def ready(self) -> None:
        from django_tasks_db import signal_handlers  # noqa: F401  (what the package's own config loads)
        from django_tasks_db.models import DBTaskResult

        DBTaskResult._meta.verbose_name = "任务记录"
        DBTaskResult._meta.verbose_name_plural = "任务记录"


def _tell_recipients(sender, recipient_ids=(), **kwargs):
    from hotline.live import broker

    broker.publish(recipient_ids, {"kind": "notification"})
