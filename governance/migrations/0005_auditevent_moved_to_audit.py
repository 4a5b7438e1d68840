"""``AuditEvent`` now belongs to the ``audit`` app; the table and trigger stay (state only)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0004_default_lane_policy"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
    ]
