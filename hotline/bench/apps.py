from django.apps import AppConfig


class BenchConfig(AppConfig):
    name = "hotline.bench"
    verbose_name = "性能基准"
