"""opsai runs as a PostgreSQL role that owns nothing and is no superuser; the owner migrates.

On the shared server, the test makes its own owner role, app role and database (unique
names, dropped at the end), runs ``manage.py migrate`` and ``manage.py db_roles`` as the
owner and ``manage.py load_demo`` — a real end-to-end set of writes — as the app role,
each in a subprocess with the environment a deployment would give it. Then it tries,
as the app role, every way around the append-only audit trail, and TRUNCATE as the owner.

The rest of the suite runs as the ``postgres`` superuser (pytest-django creates and
empties its databases); this file is where the production set-up is proved.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import errors, sql

ROOT = Path(__file__).resolve().parents[2]
SERVER_URL = os.environ.get(
    "OPSAI_TEST_DATABASE_URL",
    os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
)
AUDIT = "governance_auditevent"


def _url(user: str, password: str, database: str) -> str:
    parts = urlsplit(SERVER_URL)
    host = f"{user}:{password}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit((parts.scheme, host, f"/{database}", "", ""))


def _superuser(database: str = "postgres") -> psycopg.Connection:
    parts = urlsplit(SERVER_URL)
    netloc = parts.netloc.rsplit("@", 1)
    credentials = f"{netloc[0]}@" if len(netloc) == 2 else ""
    url = urlunsplit((parts.scheme, f"{credentials}{netloc[-1]}", f"/{database}", "", ""))
    return psycopg.connect(url, autocommit=True)


@dataclass
class Install:
    database: str
    owner: str
    app: str
    owner_url: str
    app_url: str
    demo_output: str
    owner_env: dict[str, str]


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Install]:
    """A fresh database migrated by its owner and filled with the demo by the app role."""
    name = f"opsai_roles_{os.getpid()}_{secrets.token_hex(3)}"
    owner, app = f"{name}_owner", f"{name}_app"
    owner_password, app_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    server = urlsplit(SERVER_URL)
    try:
        # docker-compose's init script makes the roles and the database, as it does in postgres'
        # container on first start.
        init = subprocess.run(
            ["sh", str(ROOT / "scripts" / "postgres-init-roles.sh")],
            env={
                **os.environ,
                "PGHOST": server.hostname or "127.0.0.1",
                "PGPORT": str(server.port or 5432),
                "PGPASSWORD": server.password or "",
                "POSTGRES_USER": server.username or "postgres",
                "OPSAI_DATABASE": name,
                "OPSAI_OWNER_ROLE": owner,
                "OPSAI_OWNER_PASSWORD": owner_password,
                "OPSAI_APP_ROLE": app,
                "OPSAI_APP_PASSWORD": app_password,
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert init.returncode == 0, init.stderr
        owner_url = _url(owner, owner_password, name)
        app_url = _url(app, app_password, name)
        # No Redis: the subprocesses' jobs go to a filesystem broker of their own, never to
        # the queue a worker of this test run consumes.
        base = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_OWNER_URL"}}
        base["OPSAI_VAR_DIR"] = str(tmp_path_factory.mktemp("var"))
        as_owner = {**base, "DATABASE_URL": app_url, "DATABASE_OWNER_URL": owner_url}
        as_app = {**base, "DATABASE_URL": app_url}
        _manage("migrate", "--noinput", "-v0", env=as_owner)
        _manage("db_roles", env=as_owner)
        demo = _manage("load_demo", env=as_app)
        yield Install(name, owner, app, owner_url, app_url, demo.stdout, as_owner)
    finally:
        with _superuser() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            for role in (app, owner, f"{name}_extra"):
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _count(url: str, table: str = AUDIT) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone()[0]


def test_migrate_ran_as_the_owner_and_the_app_owns_nothing(install):
    with psycopg.connect(install.app_url) as conn:
        owners = {
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
            )
        }
        superuser, create_role = conn.execute(
            "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        owned = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = "
            "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
        ).fetchone()[0]
    assert owners == {install.owner}
    assert (superuser, create_role, owned) == (False, False, 0)


def test_the_app_role_loads_the_demo(install):
    """load_demo as the app role: users, teams, use cases, KPIs, measurements, snapshots
    (temp tables and COPY), the outbox and the audit trail — every write path it takes."""
    assert install.demo_output.startswith("Demo loaded: ")
    assert _count(install.app_url, "usecases_usecase") >= 5
    assert _count(install.app_url, "kpis_snapshot") > 0
    assert _count(install.app_url, AUDIT) > 0


def test_the_app_role_serves_a_signed_in_page_and_records_a_refusal(install, tmp_path):
    """Sign-in (session, axes, audit rows), a page, and a refused request, as the app role."""
    script = (
        "from django.test import Client\n"
        "c = Client(HTTP_HOST='localhost')\n"
        "r = c.post('/login/', {'username': 'exec', 'password': 'opsai-demo'})\n"
        "assert r.status_code == 302, r.status_code\n"
        "assert c.get('/usecases/').status_code == 200\n"
        "assert c.post('/usecases/new/', {'title': 'x'}).status_code == 403\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_OWNER_URL"}}
    env.update(DATABASE_URL=install.app_url, OPSAI_VAR_DIR=str(tmp_path))
    with psycopg.connect(install.app_url) as conn:
        last = conn.execute("SELECT max(id) FROM governance_auditevent").fetchone()[0]
    assert _manage("shell", "-c", script, env=env).stdout.strip().endswith("ok")
    with psycopg.connect(install.app_url) as conn:
        query = "SELECT action FROM governance_auditevent WHERE id > %s ORDER BY id"
        actions = [row[0] for row in conn.execute(query, [last])]
    assert actions == ["auth.signed_in", "request.refused"]


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE governance_auditevent",
        "DELETE FROM governance_auditevent",
        "UPDATE governance_auditevent SET action = 'rewritten'",
        "ALTER TABLE governance_auditevent DISABLE TRIGGER ALL",
        "SET session_replication_role = replica",
        "DROP TRIGGER governance_auditevent_append_only ON governance_auditevent",
        "CREATE TABLE escape_hatch (id int)",
    ],
)
def test_the_app_role_cannot_get_around_the_audit_trail(install, statement):
    """Refused by its privileges (not only by the triggers, which hold the owner too)."""
    before = _count(install.app_url)
    refused = pytest.raises(errors.InsufficientPrivilege, match=r"permission denied|must be owner")
    with psycopg.connect(install.app_url) as conn, refused:
        conn.execute(statement)
    assert _count(install.app_url) == before > 0


def test_the_app_role_can_append_to_the_audit_trail(install):
    with psycopg.connect(install.app_url) as conn:
        conn.execute(
            "INSERT INTO governance_auditevent (occurred_at, actor_name, action, object_type, object_id, "
            "object_repr, ticket_id, model_version) "
            "VALUES (now(), 'probe', 'test.appended', '', '', '', '', '')"
        )
        appended = "SELECT count(*) FROM governance_auditevent WHERE action = 'test.appended'"
        assert conn.execute(appended).fetchone()[0] == 1


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE governance_auditevent",
        "DELETE FROM governance_auditevent",
        "UPDATE governance_auditevent SET action = 'x'",
    ],
)
def test_even_the_owner_cannot_truncate_delete_or_update_the_audit_trail(install, statement):
    """The triggers hold the owner too (a superuser, who can switch triggers off, is let
    through TRUNCATE so the test suite can empty its databases)."""
    before = _count(install.owner_url)
    with (
        psycopg.connect(install.owner_url) as conn,
        pytest.raises(errors.InsufficientPrivilege, match="append-only"),
    ):
        conn.execute(statement)
    assert _count(install.owner_url) == before


def _db_roles(install: Install, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "db_roles", *args],
        cwd=ROOT,
        env=install.owner_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_db_roles_refuses_a_superuser_app_role(install):
    result = _db_roles(install, "--app-role", "postgres")
    assert result.returncode != 0
    assert "postgres is a superuser" in result.stderr


def test_db_roles_names_a_missing_role_it_may_not_create(install):
    result = _db_roles(install, "--app-role", f"{install.database}_extra")
    assert result.returncode != 0
    assert "does not exist and this role may not create roles" in result.stderr


def test_db_roles_creates_a_missing_role_when_the_owner_may(install):
    extra = f"{install.database}_extra"
    with _superuser() as admin:
        admin.execute(sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(install.owner)))
    try:
        result = _db_roles(install, "--app-role", extra)
    finally:
        with _superuser() as admin:
            admin.execute(
                sql.SQL("ALTER ROLE {} NOCREATEROLE").format(sql.Identifier(install.owner))
            )
    assert result.returncode == 0, result.stderr
    assert f"Created the role {extra}" in result.stdout
    with psycopg.connect(install.owner_url) as conn:
        granted = conn.execute(
            "SELECT has_table_privilege(%s, 'governance_auditevent', 'INSERT'), "
            "has_table_privilege(%s, 'governance_auditevent', 'DELETE')",
            [extra, extra],
        ).fetchone()
    assert granted == (True, False)


def test_a_malformed_owner_url_is_one_clear_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL"}}
    env.update(
        OPSAI_VAR_DIR=str(tmp_path), DATABASE_OWNER_URL="postgress://owner@127.0.0.1:5432/opsai"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith(
        "opsai: configuration error: DATABASE_OWNER_URL: unsupported scheme"
    ), result.stderr
