"""Migration operations the apps share."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations
from django.db.backends.ddl_references import Statement


class AddIndexConcurrentlyOnPostgreSQL(AddIndexConcurrently):
    """AddIndexConcurrently on PostgreSQL, AddIndex elsewhere.

    A plain CREATE INDEX on PostgreSQL holds a lock that stops every write to the table for
    as long as the build takes (minutes on a table of tens of millions of rows); CONCURRENTLY
    does not, but cannot run in a transaction, so the migration needs `atomic = False`.
    SQLite builds the index as usual."""

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


class AddIndexConcurrentlyToPartitions(migrations.AddIndex):
    """An index on a table that PostgreSQL may have partitioned (the audit trail, by month),
    built without stopping writes; AddIndex elsewhere.

    PostgreSQL cannot CREATE INDEX CONCURRENTLY on a partitioned table, and a plain CREATE
    INDEX there locks every partition against writes for the whole build. So, as its manual
    advises (CREATE INDEX, "Building Indexes Concurrently" on partitioned tables): the index
    is made on the parent alone (ON ONLY: invalid, nothing built), then built CONCURRENTLY on
    each partition and attached; once every partition's is attached, the parent's is valid.
    A partition made meanwhile (the sealer makes months ahead) gets the index as it is made,
    already attached. Stopped part way, it carries on where it stopped when run again. A
    table that is not partitioned gets CREATE INDEX CONCURRENTLY. Needs `atomic = False` on
    the migration."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        connection = schema_editor.connection
        if connection.vendor != "postgresql" or not self.allow_migrate_model(
            connection.alias, model
        ):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        table = model._meta.db_table
        concurrent = self.index.create_sql(model, schema_editor, concurrently=True)
        if not _partitioned(connection, table):
            schema_editor.execute(concurrent)
            return
        plain = self.index.create_sql(model, schema_editor)
        # IF NOT EXISTS, and any partition's leftover of a build that failed dropped: a
        # migration stopped part way (a lock timeout, a deploy cancelled) runs again.
        parent = plain.template.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
        schema_editor.execute(
            Statement(parent.replace(" ON %(table)s", " ON ONLY %(table)s"), **plain.parts)
        )
        quote = schema_editor.quote_name
        for schema, partition in _partitions_without(connection, table, self.index.name):
            name = f"{partition}_{self.index.name}"[: connection.ops.max_name_length()]
            qualified = f"{quote(schema)}.{quote(name)}"
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {qualified}")
            parts = {**concurrent.parts, "table": f"{quote(schema)}.{quote(partition)}"}
            # The index goes in its table's schema: CREATE INDEX takes its name unqualified.
            schema_editor.execute(Statement(concurrent.template, **{**parts, "name": quote(name)}))
            schema_editor.execute(
                f"ALTER INDEX {quote(self.index.name)} ATTACH PARTITION {qualified}"
            )

    def describe(self):
        return f"{super().describe()}, concurrently on each partition on PostgreSQL"


def _partitioned(connection, table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [table])
        return cursor.fetchone()[0] == "p"


def _partitions_without(connection, table: str, index: str) -> list[tuple[str, str]]:
    """(schema, name) of the table's partitions that have no index attached to `index`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, c.relname FROM pg_inherits i"
            " JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE i.inhparent = %s::regclass AND NOT EXISTS ("
            "  SELECT 1 FROM pg_inherits a JOIN pg_index x ON x.indexrelid = a.inhrelid"
            "  WHERE a.inhparent = %s::regclass AND x.indrelid = c.oid)"
            " ORDER BY c.relname",
            [table, index],
        )
        return cursor.fetchall()
