from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "hotline.triage"
    verbose_name = "智能分类与派单建议"
