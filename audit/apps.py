"""Audit: the append-only, hash-chained record of every lookup (the trail core), and on top
of it oversight (audit.oversight: misuse rules, notices, the auditor workspace)."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        # The composition root of the app: the trail core below knows nothing of what
        # sits on top of it (audit.hooks, docs/decisions/0006).
        from audit import hooks, receivers  # noqa: F401  (receivers: the sign-in signals)
        from audit.oversight.history import register_models
        from audit.oversight.lookup_rules import LOOKUP_RULES

        hooks.register(LOOKUP_RULES)
        register_models()
