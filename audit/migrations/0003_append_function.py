"""audit_append(): one PostgreSQL call that links an event into the chain and inserts it.

audit.services.record used to take the chain lock, read the head and insert
in three round trips, all while holding the lock; the lock is held until
commit, so those round trips capped the chain at about 900 appends a second.
This function does the same work in one call. The hash is computed exactly as
audit.chain.link does (SHA-256 of prev_hash, "|sequence|" and the canonical
content bytes, which Python serialises and passes in), so verify_audit checks
both alike. Each statement of a VOLATILE plpgsql function takes a fresh
snapshot, so the head is read after the lock is granted: the chain cannot fork.

SQLite needs nothing: it serialises writers, and record() appends through the ORM.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION audit_append(
    p_lock_key bigint,
    p_genesis varchar,
    p_content bytea,
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
) RETURNS TABLE (event_id bigint, event_sequence bigint, event_prev_hash varchar, event_hash varchar)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_sequence bigint;
    v_prev varchar;
    v_hash varchar;
    v_id bigint;
BEGIN
    -- Held until the transaction ends: concurrent writers queue here.
    PERFORM pg_advisory_xact_lock(p_lock_key);
    SELECT e.sequence, e.hash INTO v_sequence, v_prev
        FROM audit_auditevent e ORDER BY e.sequence DESC LIMIT 1;
    IF NOT FOUND THEN
        v_sequence := 0;
        v_prev := p_genesis;
    END IF;
    v_sequence := v_sequence + 1;
    v_hash := encode(
        sha256(convert_to(v_prev || '|' || v_sequence::text || '|', 'UTF8') || p_content), 'hex'
    );
    INSERT INTO audit_auditevent (
        sequence, prev_hash, hash, occurred_at, action, actor_id, actor_username, actor_name,
        actor_role, actor_organisation, actor_organisation_code, children, criteria,
        reason_code, reason_text, outcome, result_count, detail, client_ip, request_id
    ) VALUES (
        v_sequence, v_prev, v_hash, p_occurred_at, p_action, p_actor_id, p_actor_username,
        p_actor_name, p_actor_role, p_actor_organisation, p_actor_organisation_code, p_children,
        p_criteria, p_reason_code, p_reason_text, p_outcome, p_result_count, p_detail,
        p_client_ip, p_request_id
    ) RETURNING id INTO v_id;
    INSERT INTO audit_auditeventchild (event_id, child_public_id, occurred_at)
        SELECT v_id, public_id, p_occurred_at FROM unnest(p_child_ids) AS public_id;
    RETURN QUERY SELECT v_id, v_sequence, v_prev, v_hash;
END;
$$;
"""


def add_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)


def remove_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP FUNCTION IF EXISTS audit_append(bigint, varchar, bytea, timestamptz, varchar, "
            "bigint, varchar, varchar, varchar, varchar, varchar, jsonb, jsonb, varchar, text, "
            "varchar, integer, jsonb, inet, varchar, varchar[])",
            params=None,
        )


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [migrations.RunPython(add_function, remove_function, elidable=False)]
