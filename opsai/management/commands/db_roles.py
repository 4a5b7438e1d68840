"""Grant the application's PostgreSQL role what it needs and nothing more; check the result.

Run as the owner of the tables, after ``migrate`` (with ``DATABASE_OWNER_URL`` set, both
connect as the owner by themselves): ``python manage.py db_roles``. Safe to run again.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

AUDIT_TABLE = "governance_auditevent"
AUDIT_TRIGGERS = {"governance_auditevent_append_only", "governance_auditevent_no_truncate"}
# Role names are put into SQL as identifiers: allow only plain ones.
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _role_from_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return unquote(parts.username or ""), unquote(parts.password or "")


class Command(BaseCommand):
    help = (
        "As the table owner: create the app role if missing, grant it SELECT/INSERT/UPDATE/"
        "DELETE on every table (now and future), take UPDATE/DELETE/TRUNCATE on the audit "
        "trail away, and check it is no superuser and owns nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--app-role",
            default="",
            help="the role web, worker and beat connect as (default: DATABASE_URL's user)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("db_roles is for PostgreSQL; the embedded SQLite has no roles.")
        url_role, url_password = _role_from_url(settings.DATABASE_URL)
        app_role = options["app_role"] or url_role
        if not ROLE_NAME.match(app_role):
            raise CommandError(f"--app-role: {app_role!r} is not a plain role name (a-z, 0-9, _).")
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_database(), current_schema()")
            owner, database, schema = cursor.fetchone()
        if app_role == owner:
            raise CommandError(
                f"The app role {app_role!r} is the role running this command, the owner: "
                "set DATABASE_OWNER_URL to the owner and DATABASE_URL to the app role."
            )
        with transaction.atomic():
            self._ensure_role(app_role, url_password if app_role == url_role else "")
            self._grant(app_role, owner, database, schema)
            problems = self._problems(app_role, schema)
            if problems:
                raise CommandError("Not safe yet: " + "; ".join(problems) + ".")
        self.stdout.write(
            self.style.SUCCESS(
                f"{app_role}: may read and write every table of {database} as {owner} creates "
                f"them; may only read and append to {AUDIT_TABLE}; is no superuser and owns "
                "nothing."
            )
        )

    def _ensure_role(self, role: str, password: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone():
                return
            cursor.execute(
                "SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user"
            )
            if not cursor.fetchone()[0]:
                raise CommandError(
                    f"The role {role!r} does not exist and this role may not create roles: "
                    f"ask a superuser to run CREATE ROLE {role} LOGIN PASSWORD '…'."
                )
            name = connection.ops.quote_name(role)
            if password:
                cursor.execute(f"CREATE ROLE {name} LOGIN PASSWORD %s", [password])
            else:
                cursor.execute(f"CREATE ROLE {name} LOGIN")
            self.stdout.write(f"Created the role {role}.")

    def _grant(self, role: str, owner: str, database: str, schema: str) -> None:
        app, own = connection.ops.quote_name(role), connection.ops.quote_name(owner)
        db, sch = connection.ops.quote_name(database), connection.ops.quote_name(schema)
        statements = [
            # TEMPORARY: the measurement and snapshot loaders COPY into temp tables.
            f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {app}",
            f"GRANT USAGE ON SCHEMA {sch} TO {app}",
            # PostgreSQL before 15 lets everyone create tables in public; a table the app
            # created would be its own, out of reach of these grants and revokes.
            f"REVOKE CREATE ON SCHEMA {sch} FROM PUBLIC",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {sch} TO {app}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {sch} TO {app}",
            # Tables the owner's later migrations create get the same grants by themselves.
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {own} IN SCHEMA {sch} "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {own} IN SCHEMA {sch} "
            f"GRANT USAGE, SELECT ON SEQUENCES TO {app}",
            # The trail is append-only for the app (the triggers refuse these for the
            # owner too); the app never marks a migration applied.
            f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {AUDIT_TABLE} FROM {app}",
            f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON django_migrations FROM {app}",
        ]
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    def _problems(self, role: str, schema: str) -> list[str]:
        """What is wrong with ``role`` after the grants, in words (nothing, normally)."""
        problems = []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = %s",
                [role],
            )
            superuser, bypass_rls, create_role = cursor.fetchone()
            if superuser:
                problems.append(f"{role} is a superuser, who could switch the audit triggers off")
            if bypass_rls or create_role:
                problems.append(f"{role} has BYPASSRLS or CREATEROLE, which it does not need")
            cursor.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = %s) "
                "AND n.nspname NOT LIKE 'pg_temp%%' AND n.nspname NOT LIKE 'pg_toast%%'",
                [role],
            )
            owned = cursor.fetchone()[0]
            if owned:
                problems.append(
                    f"{role} owns {owned} tables or sequences (REASSIGN OWNED BY {role} TO the owner)"
                )
            cursor.execute("SELECT has_schema_privilege(%s, %s, 'CREATE')", [role, schema])
            if cursor.fetchone()[0]:
                problems.append(f"{role} may create tables in {schema} (it holds CREATE on it)")
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass", [AUDIT_TABLE]
            )
            missing = AUDIT_TRIGGERS - {name for (name,) in cursor.fetchall()}
            if missing:
                problems.append(
                    f"{AUDIT_TABLE} lacks the triggers {sorted(missing)} (run migrate first)"
                )
            for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
                cursor.execute(
                    "SELECT has_table_privilege(%s, %s, %s)", [role, AUDIT_TABLE, privilege]
                )
                if cursor.fetchone()[0]:
                    problems.append(f"{role} still holds {privilege} on {AUDIT_TABLE}")
        return problems
