"""Production database roles: the owner runs migrations; the app role only adds audit rows
(and takes sealed events off the sealer's queue)."""

from django.apps import apps

from audit.models import SEAL_QUEUE_TABLE
from audit.partitions import SCHEMA

MAKE_PARTITIONS = "audit_make_partitions(date, date)"

AUDIT_APP = "audit"


def audit_tables() -> list[str]:
    return sorted(model._meta.db_table for model in apps.get_app_config(AUDIT_APP).get_models())


def grants_sql(*, app_role: str, owner_role: str) -> list[str]:
    """SQL (PostgreSQL) that an administrator runs, as the owner, after each migration.

    The app role may read and write ordinary tables, but on the audit tables
    only SELECT and INSERT: no UPDATE, DELETE or TRUNCATE, whatever the
    triggers say. The one exception is the sealer's queue, from which the sealer (which
    runs as the app role) deletes the rows of the events it has sealed: DELETE there, and
    still no UPDATE or TRUNCATE.
    """
    audit = ", ".join(audit_tables())
    return [
        f"GRANT USAGE ON SCHEMA public TO {app_role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app_role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app_role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {audit} FROM {app_role}",
        f"GRANT SELECT, INSERT ON {audit} TO {app_role}",
        f"GRANT DELETE ON {SEAL_QUEUE_TABLE} TO {app_role}",
        # The trail's monthly partitions (audit.partitions): made ahead by the sealer and the
        # nightly run, connected as the app role, through this function, which runs as the
        # owner; nobody else may call it. The partitions themselves are in a schema the app
        # role has no access to: it reads and appends through the parent tables only.
        f"REVOKE ALL ON SCHEMA {SCHEMA} FROM PUBLIC",
        f"REVOKE EXECUTE ON FUNCTION {MAKE_PARTITIONS} FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION {MAKE_PARTITIONS} TO {app_role}",
        # Tables the owner creates in later migrations: ordinary privileges by
        # default; running this again after a migration re-applies the audit rule.
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_role} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app_role}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_role} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {app_role}",
    ]
