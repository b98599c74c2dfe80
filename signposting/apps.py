"""The project package as an app, for its cross-app management commands (seed_demo)."""

from django.apps import AppConfig


class SignpostingConfig(AppConfig):
    name = "signposting"
    verbose_name = "Find who's working with a child"

    def ready(self) -> None:
        from signposting import command_log, proxies  # noqa: F401 (registers the deploy check)

        command_log.install()
