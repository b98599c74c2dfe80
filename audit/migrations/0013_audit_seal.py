"""The chain is sealed after commit (docs/decisions/0010): an event no longer carries its
place in the chain; an AuditSeal gives it one once it has committed.

- AuditSeal (append-only, like the events) and UnsealedEvent (the sealer's queue).
- Each existing event gets the seal it already had in all but name: position = its
  sequence, prev_hash and hash copied. audit.chain links a seal whose event's number is its
  position exactly as events were linked before, so an existing trail verifies unchanged,
  and checkpoints taken before (whose "sequence" was the position) still hold.
- AuditEvent loses prev_hash and hash. `sequence` stays, as the event's number.
- PostgreSQL: the sequence audit_event_number continues the numbers, and audit_append()
  inserts the event, its child links and its queue row with no lock: the sealer chains it.
- Triggers make the seals append-only on both databases.

Run it with the app stopped (or expect the old code's lookups to fail closed until it is
replaced): the old audit_append() is gone, and the copy must see every event.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

COPY_SEALS = """
INSERT INTO audit_auditseal (position, event_id, prev_hash, hash, sealed_at)
SELECT sequence, id, prev_hash, hash, occurred_at FROM audit_auditevent
"""

OLD_FUNCTION = (
    "DROP FUNCTION IF EXISTS audit_append(bigint, varchar, bytea, timestamptz, varchar, "
    "bigint, varchar, varchar, varchar, varchar, varchar, jsonb, jsonb, varchar, text, "
    "varchar, integer, jsonb, inet, varchar, varchar[])"
)

FUNCTION = """
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
    -- No lock: the number comes from a sequence, and the sealer chains the event once it
    -- has committed (its queue row becomes visible to the sealer only then).
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
    INSERT INTO audit_unsealedevent (event_id) VALUES (v_id);
    RETURN QUERY SELECT v_id, v_sequence;
END;
$$;
"""

SEALS = "audit_auditseal"


def seal_existing_events(apps, schema_editor):
    """Every event so far gets the seal it had in all but name, and on PostgreSQL the event
    numbers carry on from the last one."""
    schema_editor.execute(COPY_SEALS, params=None)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE SEQUENCE audit_event_number AS bigint", params=None)
        schema_editor.execute(
            "SELECT setval('audit_event_number', "
            "(SELECT COALESCE(MAX(sequence), 0) + 1 FROM audit_auditevent), false)",
            params=None,
        )


def append_only_seals_and_the_new_append(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # audit_append_only() is migration 0002's.
        schema_editor.execute(
            f"CREATE TRIGGER {SEALS}_no_change BEFORE UPDATE OR DELETE ON {SEALS} "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
            params=None,
        )
        schema_editor.execute(
            f"CREATE TRIGGER {SEALS}_no_truncate BEFORE TRUNCATE ON {SEALS} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
            params=None,
        )
        schema_editor.execute(OLD_FUNCTION, params=None)
        schema_editor.execute(FUNCTION, params=None)
    elif vendor == "sqlite":
        # The events' triggers too, in case this SQLite rebuilt the table to drop the
        # columns (before 3.35 it has no ALTER TABLE DROP COLUMN); a rebuild drops triggers.
        for table in (SEALS, "audit_auditevent"):
            for operation in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{operation.lower()} "
                    f"BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'audit tables are append-only: {operation} on "
                    f"{table} refused'); END",
                    params=None,
                )
    else:
        raise NotImplementedError(f"No append-only triggers for {vendor}")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0012_record_print_action"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditSeal",
            fields=[
                (
                    "position",
                    models.BigIntegerField(editable=False, primary_key=True, serialize=False),
                ),
                ("prev_hash", models.CharField(editable=False, max_length=64)),
                ("hash", models.CharField(editable=False, max_length=64)),
                (
                    "sealed_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                (
                    "event",
                    models.OneToOneField(
                        editable=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="seal",
                        to="audit.auditevent",
                    ),
                ),
            ],
            options={
                "ordering": ["-position"],
            },
        ),
        migrations.CreateModel(
            name="UnsealedEvent",
            fields=[
                (
                    "event",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="unsealed",
                        serialize=False,
                        to="audit.auditevent",
                    ),
                ),
            ],
        ),
        # Irreversible: going back would need the hashes written into rows that refuse it.
        migrations.RunPython(seal_existing_events, elidable=False),
        migrations.RemoveField(model_name="auditevent", name="hash"),
        migrations.RemoveField(model_name="auditevent", name="prev_hash"),
        migrations.RunPython(append_only_seals_and_the_new_append, elidable=False),
    ]
