"""The auditors' event list filtered by user, newest first by time then number: its index
becomes (upper-cased username, time, number), replacing (upper-cased username, number).

On the partitioned trail, ordered by number, PostgreSQL merged every month's index before
the first row came out (90 ms at 20,000,000 events over 24 months, bench/scale.py); ordered
by time, the partition key, it reads the months newest first and stops when the page is
full.

The new index is built month by month, CONCURRENTLY, so lookups go on being recorded while
it builds (signposting.migration_operations.AddIndexConcurrentlyToPartitions); hence
atomic = False. Dropping the old one is a change to the catalogue only: it waits for a
moment's lock, builds nothing. SQLite builds and drops as usual.
"""

from django.db import migrations, models
from django.db.models.functions import Upper

from signposting.migration_operations import AddIndexConcurrentlyToPartitions


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("audit", "0016_audit_archive"),
    ]

    operations = [
        AddIndexConcurrentlyToPartitions(
            model_name="auditevent",
            index=models.Index(
                Upper("actor_username"),
                models.OrderBy(models.F("occurred_at"), descending=True),
                models.OrderBy(models.F("sequence"), descending=True),
                name="audit_username_time",
            ),
        ),
        migrations.RemoveIndex(model_name="auditevent", name="audit_username_number"),
    ]
