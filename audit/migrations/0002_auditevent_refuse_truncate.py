"""Refuse TRUNCATE of the audit table too (PostgreSQL), for every role but a superuser.

The row trigger (governance 0002) refuses UPDATE and DELETE, but TRUNCATE fires no row
trigger. This statement-level trigger refuses it for the owner of the table and for any
role granted it. A superuser is let through: it can switch every trigger off anyway
(``SET session_replication_role = replica``), so refusing it would guard nothing — and
the test suite, which runs as one, empties its databases between tests with TRUNCATE.
opsai itself never runs as a superuser (README, "Database roles").
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION governance_auditevent_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('is_superuser') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'governance_auditevent is append-only: TRUNCATE refused'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER governance_auditevent_no_truncate
    BEFORE TRUNCATE ON governance_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION governance_auditevent_refuse_truncate();
"""

DROP = """
DROP TRIGGER IF EXISTS governance_auditevent_no_truncate ON governance_auditevent;
DROP FUNCTION IF EXISTS governance_auditevent_refuse_truncate();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
