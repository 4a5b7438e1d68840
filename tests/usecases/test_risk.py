"""Risk classification: the scheme, its lane floor, the policy rules, form/API/export/filter."""

from __future__ import annotations

import csv
import importlib
import io

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from governance.models import LaneAssignment, LanePolicy
from governance.policy import SEED_POLICY_RULES, with_risk_rules
from governance.services import lane_policy_create
from tests.usecases.factories import make_use_case, template_data
from usecases import risk
from usecases.imports import usecase_import
from usecases.models import UseCase
from usecases.services import custom_field_create, usecase_submit, usecase_update

pytestmark = pytest.mark.django_db


def lane(use_case: UseCase) -> LaneAssignment:
    return LaneAssignment.objects.select_related("rule").get(use_case=use_case)


# --- The lane floor -------------------------------------------------------------------------


def test_a_high_risk_use_case_lands_in_reviewed_even_when_its_other_attributes_allow_it(ops_lead):
    plain = make_use_case(ops_lead)  # collections outreach: internal drafting → Allowed
    assert lane(plain).lane == "allowed"
    high = make_use_case(ops_lead, risk_class="high")
    assert lane(high).lane == "reviewed"
    assert lane(high).rule.name == "EU AI Act: High risk"
    assert "High risk" in lane(high).reason


def test_a_high_impact_use_case_is_reviewed_and_a_prohibited_class_is_prohibited(ops_lead):
    impact = make_use_case(
        ops_lead, high_impact=True, high_impact_justification="Decides on benefit claims."
    )
    assert (lane(impact).lane, lane(impact).rule.name) == ("reviewed", "High-impact")
    banned = make_use_case(ops_lead, risk_class="prohibited", submit=False)
    assert lane(banned).lane == "prohibited"
    # Submitting would move it on to scoring: the lane refuses, so it stays a draft in idea.
    with pytest.raises(ValidationError, match="Prohibited lane"):
        usecase_submit(use_case=banned, actor=ops_lead)
    banned.refresh_from_db()
    assert banned.is_draft and banned.stage == "idea"


def test_a_high_risk_autonomous_refund_is_still_prohibited():
    rules = with_risk_rules(SEED_POLICY_RULES)
    names = [rule["name"] for rule in rules]
    # the prohibiting rules come before the reviewing risk rules
    assert names.index("Autonomous refunds") < names.index("EU AI Act: High risk")
    assert names[0] == "EU AI Act: Prohibited (unacceptable risk)"
    assert with_risk_rules(rules) == rules  # already there: unchanged


def test_changing_the_classification_recomputes_the_lane_and_records_why(ops_lead, admin_user):
    use_case = make_use_case(ops_lead)
    assert lane(use_case).lane == "allowed"
    usecase_update(use_case=use_case, actor=admin_user, data={"risk_class": "high"})
    assert lane(use_case).lane == "reviewed"
    event = AuditEvent.objects.filter(action="lane.assigned", object_id=str(use_case.pk)).latest(
        "pk"
    )
    assert event.after["lane"] == "reviewed"
    usecase_update(use_case=use_case, actor=admin_user, data={"risk_class": "minimal"})
    assert lane(use_case).lane == "allowed"


def test_the_floor_holds_under_a_policy_that_forgot_the_risk_rules(ops_lead, admin_user):
    high = make_use_case(ops_lead, risk_class="high")
    plain = make_use_case(ops_lead)
    lax = [{"name": "All fine", "lane": "allowed", "conditions": {}, "reason": "Trusting."}]
    lane_policy_create(actor=admin_user, note="lax", rules=lax)
    assert lane(plain).lane == "allowed"
    assert lane(high).lane == "reviewed"
    assert lane(high).reason.startswith("At least Reviewed because of EU AI Act risk class")
    assert lane(high).rule.name == "All fine"  # the rule that matched, overridden by the floor


def test_the_migration_adds_the_risk_rules_as_the_next_version_once():
    """GIVEN a database whose policy is the seed's nine rules (before the risk rules)
    WHEN migration 0006 runs (twice)
    THEN the risk rules are the next version, in place, and only once."""
    LanePolicy.objects.all().delete()
    seed = LanePolicy.objects.create(version=1, note="seed")
    for position, rule in enumerate(SEED_POLICY_RULES, start=1):
        seed.rules.create(position=position, **rule)
    migration = importlib.import_module("governance.migrations.0006_risk_lane_policy")
    migration.add_risk_rules(apps, None)
    migration.add_risk_rules(apps, None)
    assert list(LanePolicy.objects.values_list("version", flat=True)) == [2, 1]
    added = list(LanePolicy.objects.get(version=2).rules.values_list("name", "lane"))
    assert added[0] == ("EU AI Act: Prohibited (unacceptable risk)", "prohibited")
    assert ("EU AI Act: High risk", "reviewed") in added and len(added) == 12


def test_the_scheme_is_a_setting_and_another_scheme_brings_its_own_classes(settings, monkeypatch):
    scheme = risk.RiskScheme(
        key="house",
        label="House scheme",
        classes=(
            risk.RiskClassDef("red", "Red", "prohibited"),
            risk.RiskClassDef("green", "Green"),
        ),
    )
    monkeypatch.setitem(risk.SCHEMES, "house", scheme)
    settings.RISK_SCHEME = "house"
    assert risk.risk_class_choices() == [("red", "Red"), ("green", "Green")]
    assert risk.risk_lane_floor(risk_class="red", high_impact=True)[0] == "prohibited"
    assert risk.risk_lane_floor(risk_class="green", high_impact=None) == ("", "")
    assert risk.risk_class_label("high") == "high"  # unknown to this scheme: shown as stored
    settings.RISK_SCHEME = "nope"
    with pytest.raises(ValueError, match="RISK_SCHEME='nope'"):
        risk.risk_scheme()


# --- Form, page, API, export, filter --------------------------------------------------------


def test_high_impact_needs_a_justification_everywhere(client, ops_lead):
    with pytest.raises(ValidationError) as error, transaction.atomic():
        make_use_case(ops_lead, high_impact=True)
    assert "high_impact_justification" in error.value.message_dict
    client.force_login(ops_lead)
    data = {**_form_data(), "high_impact": "true", "high_impact_justification": ""}
    response = client.post(reverse("usecases:intake") + "?blank=1", data)
    assert response.status_code == 200
    assert "a justification is required when high-impact is yes" in response.content.decode()
    assert not UseCase.objects.filter(title="Risky intake").exists()


def _form_data(**overrides: str) -> dict[str, str]:
    team = template_data()["team"]
    return {"title": "Risky intake", "team": str(team.pk), "draft": "1", **overrides}


def test_the_form_and_the_page_round_trip_the_classification(client, ops_lead):
    client.force_login(ops_lead)
    data = _form_data(
        owner=str(ops_lead.pk),
        risk_class="high",
        high_impact="true",
        high_impact_justification="Screens job applicants.",
    )
    response = client.post(reverse("usecases:intake") + "?blank=1", data)
    use_case = UseCase.objects.get(title="Risky intake")
    assert response.status_code == 302
    assert (use_case.risk_class, use_case.high_impact) == ("high", True)
    page = client.get(use_case.get_absolute_url()).content.decode()
    assert "High risk" in page and "Screens job applicants." in page
    edit = client.get(reverse("usecases:edit", args=[use_case.pk]))
    form = edit.context["form"]
    assert form["risk_class"].value() == "high" and form["high_impact"].value() == "true"
    assert [s["key"] for s in form.sections()][-1] == "classification"


def test_the_api_validates_and_returns_the_classification(ops_lead):
    api = APIClient()
    api.force_authenticate(ops_lead)
    base = {"title": "Via API", "team": template_data()["team"].name}
    bad = api.post("/api/usecases/", {**base, "risk_class": "severe"}, format="json")
    assert bad.status_code == 400 and "risk_class" in bad.data
    unjustified = api.post("/api/usecases/", {**base, "high_impact": True}, format="json")
    assert unjustified.status_code == 400 and "high_impact_justification" in unjustified.data
    ok = api.post(
        "/api/usecases/",
        {**base, "risk_class": "high", "high_impact": True, "high_impact_justification": "Why."},
        format="json",
    )
    assert ok.status_code == 201, ok.data
    assert (ok.data["risk_class"], ok.data["high_impact"]) == ("high", True)
    assert LaneAssignment.objects.get(use_case_id=ok.data["id"]).lane == "reviewed"
    patched = api.patch(f"/api/usecases/{ok.data['id']}/", {"high_impact": False}, format="json")
    assert patched.status_code == 200 and patched.data["high_impact"] is False


def test_the_export_has_the_risk_columns(client, ops_lead):
    make_use_case(
        ops_lead,
        title="Flagged",
        risk_class="high",
        high_impact=True,
        high_impact_justification="J",
    )
    make_use_case(ops_lead, title="Plain")
    client.force_login(ops_lead)
    response = client.get(reverse("usecases:portfolio") + "?export=csv&sort=title")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_title = {row["title"]: row for row in rows}
    assert (by_title["Flagged"]["risk_class"], by_title["Flagged"]["high_impact"]) == (
        "high",
        "yes",
    )
    assert by_title["Flagged"]["high_impact_justification"] == "J"
    assert (by_title["Plain"]["risk_class"], by_title["Plain"]["high_impact"]) == ("", "")


def test_the_portfolio_filters_by_risk_class_and_high_impact(client, ops_lead):
    make_use_case(ops_lead, title="High", risk_class="high")
    make_use_case(
        ops_lead, title="Impact", high_impact=True, high_impact_justification="Rights-impacting."
    )
    make_use_case(ops_lead, title="Minimal", risk_class="minimal", high_impact=False)
    client.force_login(ops_lead)
    url = reverse("usecases:portfolio") + "?sort=title&"

    def titles(query: str) -> list[str]:
        return [row.title for row in client.get(url + query).context["rows"]]

    assert titles("risk_class=high") == ["High"]
    assert titles("high_impact=true") == ["Impact"]
    assert titles("high_impact=false") == ["Minimal"]
    api = APIClient()
    api.force_authenticate(ops_lead)
    listed = api.get("/api/usecases/?risk_class=minimal").data["results"]
    assert [row["title"] for row in listed] == ["Minimal"]


def test_the_import_takes_the_risk_columns_and_an_update_keeps_custom_values(ops_lead, admin_user):
    custom_field_create(actor=admin_user, key="budget", label="Budget", kind="number")
    header = "title,team,risk_class,high_impact,high_impact_justification"
    team = template_data()["team"].name
    content = f"{header}\nScreening,{team},high,Yes,Ranks applicants\n".encode()
    report = usecase_import(actor=admin_user, name="risk.csv", content=content)
    assert report.ok, report.errors
    use_case = UseCase.objects.get(title="Screening")
    assert (use_case.risk_class, use_case.high_impact) == ("high", True)
    assert LaneAssignment.objects.get(use_case=use_case).lane == "reviewed"
    UseCase.objects.filter(pk=use_case.pk).update(custom={"budget": 10})
    content = f"id,title,risk_class\n{use_case.pk},Screening,minimal\n".encode()
    report = usecase_import(actor=admin_user, name="risk.csv", content=content)
    assert report.ok, report.errors
    use_case.refresh_from_db()
    assert (use_case.risk_class, use_case.custom) == ("minimal", {"budget": 10})
    bad = usecase_import(
        actor=admin_user, name="risk.csv", content=f"title,team,custom\nX,{team},{{}}\n".encode()
    )
    assert bad.errors == ["Line 1: unknown columns: custom."]
