"""Accounts: organisations, users, roles and the capabilities they grant."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and organisations"

    def ready(self) -> None:
        from accounts import (  # noqa: F401  (connects the auth signals; registers the checks)
            checks,
            receivers,
        )
