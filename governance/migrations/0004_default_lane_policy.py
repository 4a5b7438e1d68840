"""Ship the seed's lane examples as lane policy version 1 (the default policy)."""

from django.db import migrations

from governance.policy import DEFAULT_POLICY_RULES


def create_default_policy(apps, schema_editor):
    LanePolicy = apps.get_model("governance", "LanePolicy")
    LaneRule = apps.get_model("governance", "LaneRule")
    if LanePolicy.objects.exists():
        return
    policy = LanePolicy.objects.create(version=1, note="Default policy: the seed's lane examples.")
    for position, rule in enumerate(DEFAULT_POLICY_RULES, start=1):
        LaneRule.objects.create(policy=policy, position=position, **rule)


class Migration(migrations.Migration):
    dependencies = [("governance", "0003_lanes_reviews_workers_incidents")]

    operations = [migrations.RunPython(create_default_policy, migrations.RunPython.noop)]
