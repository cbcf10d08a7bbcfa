from django.apps import AppConfig


class BriefingConfig(AppConfig):
    name = "hotline.briefing"
    label = "briefing"
    verbose_name = "工作简报"
