from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "hotline.accounts"
    label = "accounts"
    verbose_name = "账号与权限"

    def ready(self):
        from hotline.accounts import signals  # noqa: F401  (login, failure and logout audit rows)
