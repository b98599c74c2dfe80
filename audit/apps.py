"""Audit: the append-only, hash-chained record of every lookup, and the auditor workspace."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from audit import receivers  # noqa: F401  (connects the sign-in signals)
        from audit.history import register_models

        register_models()
