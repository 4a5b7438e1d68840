"""The risk classification's rules as the next lane policy version, for databases that
had a policy before them.

A new database's version 1 (migration 0004) already holds them. Elsewhere the policy
in force (the shipped version 1, or an admin's later version) is copied with the risk
rules put in place (``governance.policy.with_risk_rules``): a class the scheme
prohibits is Prohibited, a high-risk or high-impact use case is Reviewed. No use case
changes lane now — none is classified yet — but the next change re-places it under
this version.
"""

from django.db import migrations

from governance.policy import with_risk_rules

FIELDS = ("name", "lane", "conditions", "reason")


def add_risk_rules(apps, schema_editor):
    LanePolicy = apps.get_model("governance", "LanePolicy")
    LaneRule = apps.get_model("governance", "LaneRule")
    current = LanePolicy.objects.order_by("-version").first()
    if current is None:  # no policy rows: lane_policy_ensure_default creates the full default
        return
    rules = [
        {name: getattr(rule, name) for name in FIELDS}
        for rule in LaneRule.objects.filter(policy=current).order_by("position")
    ]
    updated = with_risk_rules(rules)
    if updated == rules:
        return
    policy = LanePolicy.objects.create(
        version=current.version + 1,
        note="Risk classification: a prohibited class is Prohibited; high-risk or "
        "high-impact use cases are at least Reviewed.",
    )
    for position, rule in enumerate(updated, start=1):
        LaneRule.objects.create(policy=policy, position=position, **rule)


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0005_auditevent_moved_to_audit"),
        ("usecases", "0006_risk_class_scheme_choices"),
    ]

    operations = [migrations.RunPython(add_risk_rules, migrations.RunPython.noop)]
