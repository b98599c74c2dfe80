"""Django's flush, except that it never erases the append-only audit trail.

The audit tables refuse DELETE and TRUNCATE (database triggers), so a plain
flush would fail; Django's test framework flushes after every transactional
test. This flush empties every other table and leaves the trail, which stays
a valid chain, as it is (with the sealer's queue of events not yet chained).

It never resets the tables' id sequences either, whatever it is asked: the trail names
users by their id (actor_id), and a user created after a flush must never take the id of
one the trail already names, or their lookups would count as the new user's (the hourly
limit) and appear in the new user's activity report.
"""

from django.core.management.color import no_style
from django.core.management.commands import flush
from django.core.management.sql import emit_post_migrate_signal
from django.db import connections

from audit.models import APPEND_ONLY_TABLES, SEAL_QUEUE_TABLE


class Command(flush.Command):
    help = "Empty every table except the append-only audit trail, and re-run post-migrate handlers."

    def handle(self, **options) -> None:
        database = options["database"]
        connection = connections[database]
        # Every table there is, not only current models' (django-auditlog's
        # migrations create its LogEntry table even though our ChangeRecord
        # replaces it, and it references content types).
        tables = [
            table
            for table in connection.introspection.table_names(include_views=False)
            if table not in APPEND_ONLY_TABLES | {SEAL_QUEUE_TABLE, "django_migrations"}
        ]
        sql_list = connection.ops.sql_flush(
            no_style(),
            tables,
            reset_sequences=False,
            allow_cascade=options.get("allow_cascade", False),
        )
        if options["interactive"]:
            answer = input(
                f'Empty every table in "{connection.settings_dict["NAME"]}" except the audit '
                "trail? This cannot be undone. Type 'yes' to continue: "
            )
            if answer != "yes":
                self.stdout.write("Flush cancelled.")
                return
        connection.ops.execute_sql_flush(sql_list)
        if sql_list and not options.get("inhibit_post_migrate", False):
            emit_post_migrate_signal(options["verbosity"], options["interactive"], database)
