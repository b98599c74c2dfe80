"""The service catalogue: the codes of the import format (shared DESIGN.md)."""

from django.db import migrations

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


def load(apps, schema_editor):
    Service = apps.get_model("children", "Service")
    for code, name, sensitive in SERVICES:
        Service.objects.update_or_create(code=code, defaults={"name": name, "sensitive": sensitive})


class Migration(migrations.Migration):
    dependencies = [("children", "0001_register")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
