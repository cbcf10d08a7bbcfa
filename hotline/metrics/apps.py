from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "hotline.metrics"
    verbose_name = "指标"
