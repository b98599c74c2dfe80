"""Whether an organisation provides a service, in one index probe: a record view asks it
for each sensitive service another organisation gives the child (whoever provides that
service sees it in full). It used to read every sensitive involvement of the viewer's
organisation, which grows with the register.

Built CONCURRENTLY on PostgreSQL, so the register's writes (feeds, imports, the purge) go on
while it builds on a large register; hence atomic = False.
"""

from django.db import migrations, models

from signposting.migration_operations import AddIndexConcurrentlyOnPostgreSQL


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0007_single_sign_on"),
        ("children", "0008_past_addresses_index_only"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="involvement",
            index=models.Index(fields=["organisation", "service"], name="involvement_org_service"),
        ),
    ]
