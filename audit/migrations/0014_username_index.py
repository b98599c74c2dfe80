"""The auditors' event list filtered by user: an index on the upper-cased username (the
filter is case-insensitive) and the event number (the list is newest first).

On PostgreSQL the index is built CONCURRENTLY: a plain CREATE INDEX holds a lock that stops
every insert into the trail, so every lookup would fail closed for as long as the build
takes (minutes at tens of millions of events). Hence atomic = False. SQLite builds it as
usual.
"""

from django.db import migrations, models
from django.db.models.functions import Upper

from signposting.migration_operations import AddIndexConcurrentlyOnPostgreSQL


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("audit", "0013_audit_seal"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="auditevent",
            index=models.Index(
                Upper("actor_username"),
                models.OrderBy(models.F("sequence"), descending=True),
                name="audit_username_number",
            ),
        ),
    ]
