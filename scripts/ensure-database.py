"""Create the PostgreSQL database named by DATABASE_URL if it does not exist yet.

`make test` runs this first, so a fresh PostgreSQL (trust auth, user postgres) is
all the test suite needs.
"""

import os
import sys
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

url = os.environ["DATABASE_URL"]
parts = urlsplit(url)
if parts.scheme not in {"postgres", "postgresql"}:
    sys.exit(0)
name = parts.path.lstrip("/")
admin_url = parts._replace(path="/postgres").geturl()
try:
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
except psycopg.OperationalError as error:
    sys.exit(f"opsai: configuration error: DATABASE_URL: cannot reach PostgreSQL ({error})")
