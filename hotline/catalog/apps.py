from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "hotline.catalog"
    label = "catalog"
    verbose_name = "分类与知识库"
