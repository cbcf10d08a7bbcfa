from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "hotline.directory"
    label = "directory"
    verbose_name = "承办单位"
