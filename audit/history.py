"""Which models keep a change history in django-auditlog, and what of them is left out.

Registered from AuditConfig.ready(). object_repr is str(instance): models that
describe a child must not put a name in __str__.
"""

from auditlog.registry import auditlog


def register_models() -> None:
    from accounts.models import Organisation, User

    auditlog.register(User, exclude_fields=["password", "last_login"])
    auditlog.register(Organisation)
