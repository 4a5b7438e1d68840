"""Take over ``AuditEvent`` from governance without touching the database.

The table ``governance_auditevent`` and its append-only trigger (governance 0002)
stay exactly as they are; only Django's idea of which app owns the model moves.
"""

import django.core.serializers.json
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("governance", "0002_auditevent_append_only"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("occurred_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ("actor_name", models.CharField(blank=True, help_text="Kept if the user goes.", max_length=150)),
                        ("action", models.CharField(db_index=True, max_length=80)),
                        ("object_type", models.CharField(db_index=True, help_text="app_label.model", max_length=80)),
                        ("object_id", models.CharField(blank=True, db_index=True, max_length=64)),
                        ("object_repr", models.CharField(blank=True, max_length=200)),
                        ("before", models.JSONField(blank=True, encoder=django.core.serializers.json.DjangoJSONEncoder, null=True)),
                        ("after", models.JSONField(blank=True, encoder=django.core.serializers.json.DjangoJSONEncoder, null=True)),
                        ("ticket_id", models.CharField(blank=True, max_length=80)),
                        ("model_version", models.CharField(blank=True, max_length=120)),
                        ("actor", models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "governance_auditevent",
                        "ordering": ["-occurred_at", "-pk"],
                        "indexes": [models.Index(fields=["object_type", "object_id", "occurred_at"], name="governance__object__eaee21_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
