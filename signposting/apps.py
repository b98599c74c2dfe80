"""The project package as an app, for its cross-app management commands (seed_demo)."""

from django.apps import AppConfig


class SignpostingConfig(AppConfig):
    name = "signposting"
    verbose_name = "Find who's working with a child"
