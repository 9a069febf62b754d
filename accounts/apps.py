from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Organizations and accounts"

    def ready(self):
        from . import sign_in  # noqa: F401 - connects the failed sign-in counter
