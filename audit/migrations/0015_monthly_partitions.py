"""Monthly partitions of the audit trail on PostgreSQL (docs/decisions/0011); the seal and
the sealer's queue row carry their event's `occurred_at` (on both databases).

PostgreSQL: the events, their child links and their seals become tables partitioned by
month of the event's `occurred_at`, and the existing trail moves into them:

1. the three tables are renamed *_unpartitioned, and partitioned tables of the same columns
   (the seals' with `occurred_at` added) take their names;
2. audit_make_partitions() (SECURITY DEFINER, so that the app role may call it) makes the
   partitions of every month from the trail's first to three months ahead, in the schema
   audit_partitions, each with the TRUNCATE trigger (the row triggers on the parents apply
   to every partition by themselves);
3. every row is copied across, each seal with its event's `occurred_at`, and the queue's
   rows get theirs;
4. the old tables are dropped, and the keys, indexes and append-only triggers are made on
   the partitioned tables. Each primary key and unique constraint includes `occurred_at`,
   as PostgreSQL requires: (id, occurred_at) for events and links, (position,
   occurred_at) for seals. An event's number and an event's one seal stay unique: numbers
   come from one sequence, and a seal is unique per (event, occurred_at), which is one
   event; a position is given once, under the sealer's lock, and verify_audit checks that
   positions run 1, 2, 3... with none twice.

The links, the seals and the queue keep no foreign key to the events on PostgreSQL: a
check against a partitioned table costs about twice the append it guards (an append
took 365-500 µs with the links' and the queue's keys, 138-204 µs without, as on single
tables; bench/audit_write.py --mode partitions), and it guards nothing the trail does not
guard already. Events cannot be deleted (triggers, privileges); audit_append() writes an
event, its links and its queue row in one statement from the same values; the sealer seals
the events it has just read; and verify_audit finds a seal whose event is missing and an
event whose links do not match it. SQLite keeps Django's foreign keys.

It runs in one transaction: it moves every row (at 20 million events, minutes; the app
stopped, as for migration 0013). docs/operations/audit-archive.md says how to run it on a
large trail. Irreversible, as 0013 is.

SQLite keeps single tables: it gains the two columns only.
"""

from django.db import migrations, models

TABLES = ("audit_auditevent", "audit_auditeventchild", "audit_auditseal")

MAKE_PARTITIONS = """
CREATE FUNCTION audit_make_partitions(p_first date, p_last date) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    v_month date := date_trunc('month', p_first)::date;
    v_table text;
    v_name text;
    v_made integer := 0;
BEGIN
    IF p_last < p_first OR p_last - p_first > 3700 THEN
        RAISE EXCEPTION 'audit_make_partitions: % to % is not a range of at most ten years',
            p_first, p_last;
    END IF;
    WHILE v_month <= p_last LOOP
        FOREACH v_table IN ARRAY ARRAY['audit_auditevent', 'audit_auditeventchild',
                                       'audit_auditseal'] LOOP
            v_name := v_table || to_char(v_month, '_YYYY_MM');
            IF to_regclass('audit_partitions.' || quote_ident(v_name)) IS NULL THEN
                -- Two callers at once: the second waits here, then finds it made.
                PERFORM pg_advisory_xact_lock(hashtext('audit_make_partitions'));
                IF to_regclass('audit_partitions.' || quote_ident(v_name)) IS NULL THEN
                    EXECUTE format(
                        'CREATE TABLE audit_partitions.%I PARTITION OF public.%I'
                        ' FOR VALUES FROM (%L) TO (%L)',
                        v_name, v_table,
                        v_month::timestamp AT TIME ZONE 'UTC',
                        (v_month + interval '1 month')::timestamp AT TIME ZONE 'UTC');
                    EXECUTE format(
                        'CREATE TRIGGER %I BEFORE TRUNCATE ON audit_partitions.%I'
                        ' FOR EACH STATEMENT EXECUTE FUNCTION public.audit_append_only()',
                        v_name || '_no_truncate', v_name);
                    v_made := v_made + 1;
                END IF;
            END IF;
        END LOOP;
        v_month := (v_month + interval '1 month')::date;
    END LOOP;
    RETURN v_made;
END;
$$;
"""

# audit_append() of migration 0013, with the queue row carrying the event's time.
APPEND = """
CREATE OR REPLACE FUNCTION audit_append(
    p_occurred_at timestamptz,
    p_action varchar,
    p_actor_id bigint,
    p_actor_username varchar,
    p_actor_name varchar,
    p_actor_role varchar,
    p_actor_organisation varchar,
    p_actor_organisation_code varchar,
    p_children jsonb,
    p_criteria jsonb,
    p_reason_code varchar,
    p_reason_text text,
    p_outcome varchar,
    p_result_count integer,
    p_detail jsonb,
    p_client_ip inet,
    p_request_id varchar,
    p_child_ids varchar[]
) RETURNS TABLE (event_id bigint, event_sequence bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_id bigint;
    v_sequence bigint;
BEGIN
    INSERT INTO audit_auditevent (
        sequence, occurred_at, action, actor_id, actor_username, actor_name, actor_role,
        actor_organisation, actor_organisation_code, children, criteria, reason_code,
        reason_text, outcome, result_count, detail, client_ip, request_id
    ) VALUES (
        nextval('audit_event_number'), p_occurred_at, p_action, p_actor_id, p_actor_username,
        p_actor_name, p_actor_role, p_actor_organisation, p_actor_organisation_code,
        p_children, p_criteria, p_reason_code, p_reason_text, p_outcome, p_result_count,
        p_detail, p_client_ip, p_request_id
    ) RETURNING id, sequence INTO v_id, v_sequence;
    INSERT INTO audit_auditeventchild (event_id, child_public_id, occurred_at)
        SELECT v_id, public_id, p_occurred_at FROM unnest(p_child_ids) AS public_id;
    INSERT INTO audit_unsealedevent (event_id, occurred_at) VALUES (v_id, p_occurred_at);
    RETURN QUERY SELECT v_id, v_sequence;
END;
$$;
"""

# Each table's new keys: the old ones, with occurred_at. No foreign key to the events (see
# the module's docstring).
KEYS = {
    "audit_auditevent": [
        "ADD CONSTRAINT audit_auditevent_pkey PRIMARY KEY (id, occurred_at)",
        "ADD CONSTRAINT audit_auditevent_sequence_key UNIQUE (sequence, occurred_at)",
    ],
    "audit_auditeventchild": [
        "ADD CONSTRAINT audit_auditeventchild_pkey PRIMARY KEY (id, occurred_at)",
        "ADD CONSTRAINT audit_child_once UNIQUE (event_id, child_public_id, occurred_at)",
    ],
    "audit_auditseal": [
        'ADD CONSTRAINT audit_auditseal_pkey PRIMARY KEY ("position", occurred_at)',
        "ADD CONSTRAINT audit_auditseal_event_id_key UNIQUE (event_id, occurred_at)",
    ],
}
# The constraints above, which the old tables' indexes of the same names backed.
CONSTRAINT_INDEXES = {
    "audit_auditevent_pkey",
    "audit_auditevent_sequence_key",
    "audit_auditeventchild_pkey",
    "audit_child_once",
    "audit_auditseal_pkey",
    "audit_auditseal_event_id_key",
}


def partition_the_trail(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _partition_postgresql(schema_editor)
    else:
        _add_columns_sqlite(schema_editor)


def _partition_postgresql(schema_editor):
    def run(sql, params=None):
        schema_editor.execute(sql, params=params)

    with schema_editor.connection.cursor() as cursor:
        # The other indexes, to make again on the partitioned tables under the same names.
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = 'public' AND tablename = ANY(%s)",
            [list(TABLES)],
        )
        indexes = [row for row in cursor.fetchall() if row[1] not in CONSTRAINT_INDEXES]
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f'"
            " AND conrelid = 'audit_unsealedevent'::regclass"
        )
        queue_keys = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT date_trunc('month', min(occurred_at) AT TIME ZONE 'UTC')::date"
            " FROM audit_auditevent"
        )
        (first_month,) = cursor.fetchone()
    for name in queue_keys:
        run(f'ALTER TABLE audit_unsealedevent DROP CONSTRAINT "{name}"')
    run("CREATE SCHEMA audit_partitions")
    for table in TABLES:
        run(f"ALTER TABLE {table} RENAME TO {table}_unpartitioned")
        if table != "audit_auditseal":
            run(f"ALTER SEQUENCE {table}_id_seq RENAME TO {table}_unpartitioned_id_seq")
        run(
            f"CREATE TABLE {table} (LIKE {table}_unpartitioned INCLUDING DEFAULTS"
            " INCLUDING IDENTITY INCLUDING STORAGE) PARTITION BY RANGE (occurred_at)"
            if table != "audit_auditseal"
            else f"CREATE TABLE {table} (LIKE {table}_unpartitioned INCLUDING STORAGE,"
            " occurred_at timestamptz NOT NULL) PARTITION BY RANGE (occurred_at)"
        )
    run(MAKE_PARTITIONS)
    run(
        "SELECT audit_make_partitions(LEAST(COALESCE(%s, CURRENT_DATE), CURRENT_DATE),"
        " (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '3 months')::date)",
        [first_month],
    )
    run("INSERT INTO audit_auditevent SELECT * FROM audit_auditevent_unpartitioned")
    run(
        "INSERT INTO audit_auditeventchild (id, event_id, child_public_id, occurred_at)"
        " SELECT id, event_id, child_public_id, occurred_at"
        " FROM audit_auditeventchild_unpartitioned"
    )
    run(
        'INSERT INTO audit_auditseal ("position", prev_hash, hash, sealed_at, event_id,'
        " occurred_at)"
        ' SELECT s."position", s.prev_hash, s.hash, s.sealed_at, s.event_id, e.occurred_at'
        " FROM audit_auditseal_unpartitioned s"
        " JOIN audit_auditevent_unpartitioned e ON e.id = s.event_id"
    )
    for table in ("audit_auditevent", "audit_auditeventchild"):
        run(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608 (constants)
            f" (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
        )
    run("ALTER TABLE audit_unsealedevent ADD COLUMN occurred_at timestamptz")
    run(
        "UPDATE audit_unsealedevent q SET occurred_at = e.occurred_at"
        " FROM audit_auditevent_unpartitioned e WHERE e.id = q.event_id"
    )
    # A queue row whose event is gone seals nothing: verify_audit reports such a trail as it
    # is, whatever its queue says.
    run("DELETE FROM audit_unsealedevent WHERE occurred_at IS NULL")
    run("ALTER TABLE audit_unsealedevent ALTER COLUMN occurred_at SET NOT NULL")
    for table in reversed(TABLES):
        run(f"DROP TABLE {table}_unpartitioned")
    for table in TABLES:
        for clause in KEYS[table]:
            run(f"ALTER TABLE {table} {clause}")
    for _table, _name, definition in indexes:
        run(definition)
    for table in TABLES:
        # audit_append_only() is migration 0002's. Row triggers on a partitioned table apply
        # to every partition, made now or later; TRUNCATE triggers are per table, and
        # audit_make_partitions() gives each partition its own.
        run(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
        )
        run(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
        )
    run(APPEND)
    for table in TABLES:
        run(f"ANALYZE {table}")


def _add_columns_sqlite(schema_editor):
    """The columns, added in place (a rebuild would drop the tables' triggers), and filled
    from the events: the seals' triggers are dropped and made again around the UPDATE, in
    this migration's transaction."""

    def run(sql):
        schema_editor.execute(sql, params=None)

    run("ALTER TABLE audit_auditseal ADD COLUMN occurred_at datetime NULL")
    run("ALTER TABLE audit_unsealedevent ADD COLUMN occurred_at datetime NULL")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'trigger' AND tbl_name = 'audit_auditseal'"
        )
        triggers = cursor.fetchall()
    for name, _sql in triggers:
        run(f'DROP TRIGGER "{name}"')
    for table in ("audit_auditseal", "audit_unsealedevent"):
        run(
            f"UPDATE {table} SET occurred_at = (SELECT e.occurred_at"  # noqa: S608 (constants)
            " FROM audit_auditevent e"
            f" WHERE e.id = {table}.event_id)"
        )
    for _name, sql in triggers:
        run(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0014_username_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="auditseal",
                    name="occurred_at",
                    field=models.DateTimeField(editable=False),
                    preserve_default=False,
                ),
                migrations.AddField(
                    model_name="unsealedevent",
                    name="occurred_at",
                    field=models.DateTimeField(editable=False),
                    preserve_default=False,
                ),
            ],
            database_operations=[migrations.RunPython(partition_the_trail, elidable=False)],
        ),
    ]
