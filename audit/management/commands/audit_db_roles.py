"""Prints (or applies) the grants that keep the app's database role from changing audit rows."""

import re

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from audit.db_roles import grants_sql

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Command(BaseCommand):
    help = (
        "PostgreSQL: print the GRANT/REVOKE statements for the app role (or run them with "
        "--apply, connected as the owner). Run after every migration."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--app-role", default="signposting_app")
        parser.add_argument("--owner-role", default="signposting_owner")
        parser.add_argument("--apply", action="store_true")

    def handle(self, *args, **options) -> None:
        app_role, owner_role = options["app_role"], options["owner_role"]
        for role in (app_role, owner_role):
            if not ROLE_NAME.match(role):
                raise CommandError(f"Not a plain role name: {role!r}")
        statements = grants_sql(app_role=app_role, owner_role=owner_role)
        if not options["apply"]:
            for statement in statements:
                self.stdout.write(statement + ";")
            return
        if connection.vendor != "postgresql":
            raise CommandError("Database roles exist only on PostgreSQL.")
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(self.style.SUCCESS(f"Granted {app_role} its privileges."))
