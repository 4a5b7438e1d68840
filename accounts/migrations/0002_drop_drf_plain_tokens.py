"""Drop DRF's ``authtoken_token`` table, which held every API key in plain text.

Its keys are not carried over to knox: a key that sat readable in the database (and in
every backup of it) is treated as disclosed. Clients create a new token on their profile
page. Nothing to do on a database that never had the table.
"""

from django.db import migrations


def forget_authtoken_types(apps, schema_editor):
    """Remove the gone app's content types (their permissions go with them)."""
    apps.get_model("contenttypes", "ContentType").objects.filter(app_label="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_api_token"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", migrations.RunSQL.noop),
        # So re-adding rest_framework.authtoken would create its table again.
        migrations.RunSQL("DELETE FROM django_migrations WHERE app = 'authtoken'", migrations.RunSQL.noop),
        migrations.RunPython(forget_authtoken_types, migrations.RunPython.noop),
    ]
