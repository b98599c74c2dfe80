"""The service catalogue, kept present after every migrate and every flush."""

SERVICES = [
    ("social_care", "Children's social care", False),
    ("early_help", "Early help", False),
    ("health_visiting", "Health visiting", False),
    ("school_nursing", "School nursing", False),
    ("education", "School or education setting", False),
    ("camhs", "Child and adolescent mental health services (CAMHS)", False),
    ("youth_justice", "Youth justice", False),
    ("police", "Police", False),
    ("send", "Special educational needs and disabilities (SEND)", False),
    ("gp", "GP practice", False),
    ("sexual_health", "Sexual health", True),
    ("substance_misuse", "Substance misuse", True),
    ("mental_health", "Mental health", True),
]


def ensure_service_catalogue(sender=None, using: str = "default", **kwargs) -> None:
    """post_migrate receiver: the catalogue is reference data the register cannot work without
    (a test flush empties every table, then emits post_migrate)."""
    from children.models import Service

    for code, name, sensitive in SERVICES:
        Service.objects.using(using).update_or_create(
            code=code, defaults={"name": name, "sensitive": sensitive}
        )
