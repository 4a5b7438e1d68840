#!/bin/sh
# Creates opsai's two PostgreSQL roles and its database; run once, as a superuser.
#
# The postgres image runs it from /docker-entrypoint-initdb.d on an empty data directory
# (docker-compose.yml mounts it there); tests/opsai/test_db_roles.py runs it on a test
# server. The owner role owns the tables (`manage.py migrate` and `manage.py db_roles`
# connect as it); the app role is what web, worker and beat connect as: no superuser,
# owning nothing, given only what `manage.py db_roles` grants it.
set -eu
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v db="$OPSAI_DATABASE" \
    -v owner="$OPSAI_OWNER_ROLE" -v owner_password="$OPSAI_OWNER_PASSWORD" \
    -v app="$OPSAI_APP_ROLE" -v app_password="$OPSAI_APP_PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN PASSWORD :'owner_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE ROLE :"app" LOGIN PASSWORD :'app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE :"db" OWNER :"owner";
SQL
