"""The auditors' event list filtered by user: an index on the upper-cased username (the
filter is case-insensitive) and the event number (the list is newest first).

On PostgreSQL the index is built CONCURRENTLY: a plain CREATE INDEX holds a lock that stops
every insert into the trail, so every lookup would fail closed for as long as the build
takes (minutes at tens of millions of events). Hence atomic = False. SQLite builds it as
usual.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.models.functions import Upper


class AddIndexConcurrentlyOnPostgreSQL(AddIndexConcurrently):
    """AddIndexConcurrently on PostgreSQL, AddIndex elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(
            self, app_label, schema_editor, from_state, to_state
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(
            self, app_label, schema_editor, from_state, to_state
        )


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
