"""Audit: the append-only, hash-chained record of every lookup, and the auditor workspace."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"
