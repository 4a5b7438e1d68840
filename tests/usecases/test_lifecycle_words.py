"""The lifecycle in the user's words: submitting moves to scoring (or says why not), review
needs scores, a refused move names every condition at the top with its link, moving to
review says it opens the review, and every error names its field by its label."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from governance.models import Review
from tests.factories import TeamFactory
from tests.governance.factories import use_case_like
from tests.usecases.factories import make_use_case, score_for_review, template_data
from usecases import lifecycle
from usecases.catalog import TEMPLATE_FIELDS, USE_CASE_TEMPLATES
from usecases.choices import Stage
from usecases.imports import usecase_import
from usecases.models import StageChange, Team, UseCase
from usecases.services import usecase_create, usecase_move_stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(product_owner: Any) -> Team:
    """The Support team, whose product owner moves its use cases."""
    return TeamFactory(name="Support", product_owner=product_owner)


def intake_post(team: Team, key: str = "support_triage", **overrides: Any) -> dict[str, Any]:
    """A complete intake form's POST data, filled from template ``key``."""
    template = USE_CASE_TEMPLATES[key]
    data: dict[str, Any] = {}
    for name in TEMPLATE_FIELDS:
        value = template[name]
        if isinstance(value, bool):
            value = "true" if value else "false"
        data[name] = value if isinstance(value, list) else str(value)
    data["team"] = team.pk
    data["owner"] = team.product_owner_id
    data.update(overrides)
    return data


def refused_block(html: str) -> str:
    match = re.search(r'<div[^>]*data-testid="refused-conditions".*?</div>', html, re.S)
    assert match, "no refused-conditions block on the page"
    return match.group(0)


# --- Submitting moves the use case on to scoring -----------------------------------------------


def test_submitting_moves_the_draft_to_scoring_with_its_history(client, ops_lead, support):
    """GIVEN a draft from a template (its business KPI came with it)
    WHEN its owner submits it on the edit page
    THEN it is in scoring, its history has the move by the submitter noted "Submitted"
    (audited), and the message says where it is and what the rework radar found."""
    draft = make_use_case(ops_lead, "support_triage", submit=False)
    client.force_login(ops_lead)
    url = reverse("usecases:edit", args=[draft.pk])
    response = client.post(url, intake_post(support, submit="1"))
    assert response.status_code == 302
    assert response.url == draft.get_absolute_url()
    draft.refresh_from_db()
    assert not draft.is_draft
    assert draft.stage == Stage.SCORING
    change = StageChange.objects.filter(use_case=draft).latest("pk")
    assert (change.from_stage, change.to_stage, change.changed_by, change.note) == (
        "idea",
        "scoring",
        ops_lead,
        "Submitted",
    )
    event = AuditEvent.objects.get(action="usecase.stage_moved", object_id=str(draft.pk))
    assert event.actor == ops_lead
    assert (event.before, event.after) == (
        {"stage": "idea"},
        {"stage": "scoring", "note": "Submitted"},
    )
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == [
        "Submitted: now in Scoring. Rework radar: Rules, repetition and rework all clear: "
        "rules clarity 4/5 ≥ 3; daily, 4000 cases/week ≥ 50; 18% of cases reworked ≥ 10%."
    ]


def test_a_new_use_case_submitted_on_intake_goes_straight_to_scoring(client, ops_lead, support):
    client.force_login(ops_lead)
    url = reverse("usecases:intake") + "?template=support_triage"
    response = client.post(url, intake_post(support, submit="1", template_key="support_triage"))
    use_case = UseCase.objects.get()
    assert response.url == use_case.get_absolute_url()
    assert use_case.stage == Stage.SCORING
    assert [s.stage for s in client.get(response.url).context["stage_history"]] == [
        "idea",
        "scoring",
    ]


def test_a_refused_submission_keeps_a_draft_and_says_every_condition_at_the_top(
    client, ops_lead, support
):
    """GIVEN a complete blank intake (no template: no business KPI) whose data is exported
    (the Prohibited lane)
    WHEN it is submitted
    THEN nothing is submitted: it is saved as a draft in idea, and its page says at the top
    both conditions the move to scoring needs, each with the link that resolves it."""
    client.force_login(ops_lead)
    url = reverse("usecases:intake") + "?blank=1"
    response = client.post(url, intake_post(support, submit="1", exports_data="on"), follow=True)
    use_case = UseCase.objects.get()
    assert response.redirect_chain[-1][0] == use_case.get_absolute_url()
    assert use_case.is_draft and use_case.stage == Stage.IDEA
    assert not StageChange.objects.filter(use_case=use_case, to_stage=Stage.SCORING).exists()
    assert not AuditEvent.objects.filter(action="usecase.submitted").exists()
    html = response.content.decode()
    block = refused_block(html)
    assert "Saved as a draft, not submitted. To move on to Scoring it needs:" in block
    assert "Needs a business KPI" in block
    assert f'href="/kpis/usecases/{use_case.pk}/">Add one on the KPI stack</a>' in block
    assert "Prohibited lane" in block
    assert f'href="/governance/usecases/{use_case.pk}/">See its lane</a>' in block
    assert html.index('data-testid="refused-conditions"') < html.index("<h1>")


def test_a_draft_says_what_submitting_needs_before_anyone_tries(client, ops_lead, support):
    """GIVEN a complete blank intake saved as a draft (no business KPI yet)
    WHEN its owner opens it
    THEN the page says, before any submit, that submitting moves it on to Scoring and
    what that needs, with the link that resolves it."""
    client.force_login(ops_lead)
    url = reverse("usecases:intake") + "?blank=1"
    client.post(url, intake_post(support, owner=ops_lead.pk))
    use_case = UseCase.objects.get()
    assert use_case.is_draft
    html = client.get(use_case.get_absolute_url()).content.decode()
    match = re.search(r'<div[^>]*data-testid="submit-conditions".*?</div>', html, re.S)
    assert match, "the draft's page does not say what submitting needs"
    assert "ubmitting moves it on to Scoring, which needs:" in match.group(0)
    assert f'href="/kpis/usecases/{use_case.pk}/">Add one on the KPI stack</a>' in match.group(0)
    assert "Submit the use case first" not in match.group(0)  # it is what they are about to do


def test_the_api_submit_is_the_same_service(ops_lead):
    """Submitting through the API moves to scoring too, and a refusal is a 400 listing
    every condition with its link; nothing changes then."""
    api = APIClient()
    api.force_authenticate(ops_lead)
    draft = make_use_case(ops_lead, submit=False)
    response = api.post(f"/api/usecases/{draft.pk}/submit/")
    assert response.status_code == 200, response.data
    assert response.data["stage"] == "scoring"
    assert StageChange.objects.filter(use_case=draft, note="Submitted").exists()

    blank = usecase_create(actor=ops_lead, data=template_data(owner=ops_lead), submit=False)
    response = api.post(f"/api/usecases/{blank.pk}/submit/")
    assert response.status_code == 400
    assert response.data["conditions"] == [
        {
            "condition": response.data["stage"][0],
            "url": f"http://testserver/kpis/usecases/{blank.pk}/",
        }
    ]
    assert "Needs a business KPI" in response.data["stage"][0]
    blank.refresh_from_db()
    assert blank.is_draft and blank.stage == Stage.IDEA


# --- Review needs the scores the scoring model requires ---------------------------------------


def test_scoring_to_review_without_scores_is_refused_naming_the_count_with_a_link(ops_lead):
    use_case = use_case_like("support_triage", stage=Stage.SCORING)
    with pytest.raises(lifecycle.MoveRefused) as refused:
        usecase_move_stage(use_case=use_case, to_stage=Stage.REVIEW, actor=ops_lead)
    [condition] = refused.value.conditions
    assert condition.text == (
        "Needs 1 complete score sheet (every criterion scored) before review — it has 0."
    )
    assert condition.url == reverse("usecases:detail", args=[use_case.pk]) + "#score"
    assert condition.link_label == "Open the scoring form"
    use_case.refresh_from_db()
    assert use_case.stage == Stage.SCORING
    assert not Review.objects.filter(use_case=use_case).exists()

    score_for_review(use_case, ops_lead)
    moved = usecase_move_stage(use_case=use_case, to_stage=Stage.REVIEW, actor=ops_lead)
    assert moved.stage == Stage.REVIEW


def test_going_back_to_review_from_later_stages_needs_no_new_scores(ops_lead):
    """Only leaving scoring forward needs scores: a use case sent back to review (a stricter
    lane, a changed frozen field) is not stuck for want of sheets it was never asked for."""
    use_case = use_case_like("support_triage", stage=Stage.PRODUCTION)
    assert lifecycle.unmet_conditions(use_case, Stage.REVIEW, actor=ops_lead) == []


def test_the_api_move_answers_the_conditions_with_their_links(ops_lead, product_owner, support):
    use_case = use_case_like("support_triage", stage=Stage.SCORING)
    api = APIClient()
    api.force_authenticate(product_owner)
    response = api.post(f"/api/usecases/{use_case.pk}/move/", {"to_stage": "review"})
    assert response.status_code == 400
    assert response.data["conditions"] == [
        {
            "condition": "Needs 1 complete score sheet (every criterion scored) before review"
            " — it has 0.",
            "url": f"http://testserver/usecases/{use_case.pk}/#score",
        }
    ]


# --- A refused move on the page ----------------------------------------------------------------


def test_a_refused_move_says_every_condition_at_the_top_of_the_use_case_page(
    client, product_owner, support
):
    """GIVEN a submitted idea with no business KPI, in the Prohibited lane
    WHEN its product owner moves it to scoring
    THEN the browser is sent back to the use case page (not left on /stage/), which says
    at its top both unmet conditions, each with the link that resolves it."""
    use_case = use_case_like("collections_outreach", stage=Stage.IDEA, exports_data=True)
    client.force_login(product_owner)
    response = client.post(
        reverse("usecases:move_stage", args=[use_case.pk]),
        {"to_stage": "scoring", "note": "ready"},
        follow=True,
    )
    assert response.redirect_chain == [(use_case.get_absolute_url(), 302)]
    html = response.content.decode()
    block = refused_block(html)
    assert block.count("<li>") == 2
    assert "Not moved to Scoring. It needs:" in block
    assert f'<a href="/kpis/usecases/{use_case.pk}/">Add one on the KPI stack</a>' in block
    assert f'<a href="/governance/usecases/{use_case.pk}/">See its lane</a>' in block
    assert html.index('data-testid="refused-conditions"') < html.index("<h1>")
    assert 'value="ready"' in html  # the note typed is kept
    use_case.refresh_from_db()
    assert use_case.stage == Stage.IDEA
    # Said once: a reload shows the page without the refusal.
    assert (
        'data-testid="refused-conditions"'
        not in client.get(response.request["PATH_INFO"]).content.decode()
    )


def test_a_refused_approval_links_to_the_review_it_needs(client, ops_lead, product_owner, support):
    use_case = use_case_like("support_triage", stage=Stage.SCORING)
    score_for_review(use_case, ops_lead)
    usecase_move_stage(use_case=use_case, to_stage=Stage.REVIEW, actor=product_owner)
    review = Review.objects.get(use_case=use_case)
    client.force_login(product_owner)
    response = client.post(
        reverse("usecases:move_stage", args=[use_case.pk]), {"to_stage": "approved"}, follow=True
    )
    block = refused_block(response.content.decode())
    assert "Needs an approved review" in block
    assert f'<a href="/governance/reviews/{review.pk}/">Open the review</a>' in block


def test_a_move_no_longer_offered_is_refused_in_words_on_the_use_case_page(
    client, product_owner, support
):
    use_case = use_case_like("collections_outreach", stage=Stage.IDEA)
    client.force_login(product_owner)
    response = client.post(
        reverse("usecases:move_stage", args=[use_case.pk]), {"to_stage": "pilot"}, follow=True
    )
    assert response.redirect_chain == [(use_case.get_absolute_url(), 302)]
    assert "Cannot move from Idea to Pilot; allowed: Scoring, Rejected." in refused_block(
        response.content.decode()
    )


# --- Moving to review says it opens the review ------------------------------------------------


def test_moving_to_review_says_it_opens_the_review_and_links_to_it(
    client, ops_lead, product_owner, support
):
    use_case = use_case_like("support_triage", stage=Stage.SCORING)
    score_for_review(use_case, ops_lead)
    client.force_login(product_owner)
    page = client.get(use_case.get_absolute_url()).content.decode()
    assert (
        '<button type="submit" name="to_stage" value="review" class="primary">Move to Review'
        " — opens the five-point review, signed off by Ops product owner, IT platform,"
        " Security and Legal &amp; compliance</button>"
    ) in page
    response = client.post(
        reverse("usecases:move_stage", args=[use_case.pk]), {"to_stage": "review"}
    )
    assert response.url == use_case.get_absolute_url()
    review = Review.objects.get(use_case=use_case)
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == [
        "Moved to Review. The five-point review is open — "
        f'<a href="/governance/reviews/{review.pk}/">Open the review</a>.'
    ]


def test_the_allowed_lane_says_it_goes_straight_on_to_approved(
    client, ops_lead, product_owner, support
):
    use_case = use_case_like("collections_outreach", stage=Stage.SCORING)
    score_for_review(use_case, ops_lead)
    client.force_login(product_owner)
    page = client.get(use_case.get_absolute_url()).content.decode()
    assert (
        "Move to Review — Allowed lane: no review needed, it goes straight on to Approved" in page
    )
    response = client.post(
        reverse("usecases:move_stage", args=[use_case.pk]), {"to_stage": "review"}
    )
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Moved to Review, then on to Approved."
    ]


# --- Errors name their fields by their labels ---------------------------------------------------


def test_the_blank_submit_summary_names_every_field_by_its_label(client, ops_lead):
    client.force_login(ops_lead)
    response = client.post(reverse("usecases:intake") + "?blank=1", {"submit": "1"})
    assert response.status_code == 200
    summary = re.search(
        r'data-testid="form-errors".*?</div>', response.content.decode(), re.S
    ).group(0)
    items = re.findall(r"<li>(.*?)</li>", summary)
    assert items[:2] == ["Title is required.", "Team is required."]
    assert "Systems touched is required to submit." in items
    assert "This field is required." not in summary
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", summary), "a raw field name in the summary"
    labels = [str(field.label) for field in response.context["form"]]
    assert all(any(item.startswith(label) for label in labels) for item in items), items


def test_the_import_names_fields_by_their_labels(ops_lead):
    Team.objects.create(name="Finance")
    report = usecase_import(
        actor=ops_lead,
        name="x.csv",
        content=b"title,team,money_movement,submit\nIncomplete,Finance,maybe,yes\n"
        b"Other,Nowhere,no,no\n",
    )
    text = " ".join(report.errors)
    assert "Systems touched is required to submit" in text
    assert "Money movement: 'maybe' is not yes or no" in text
    assert "Team: unknown team 'Nowhere'" in text
    assert "systems_touched" not in text and "money_movement" not in text


def test_a_submitted_import_row_moves_to_scoring_like_any_submission(ops_lead, support):
    """An import row with submit=yes is a submission: the same service moves it on to
    scoring (its template brought the business KPI the move needs)."""
    template = USE_CASE_TEMPLATES["support_triage"]
    row = {name: template[name] for name in TEMPLATE_FIELDS}
    row["systems_touched"] = ", ".join(row["systems_touched"])
    for name in ("money_movement", "vendor_model"):
        row[name] = "yes" if row[name] else "no"
    row.update({"owner": ops_lead.username, "template_key": "support_triage", "submit": "yes"})
    header = ",".join(row)
    line = ",".join(f'"{value}"' for value in row.values())
    report = usecase_import(actor=ops_lead, name="x.csv", content=f"{header}\n{line}\n".encode())
    assert report.ok, report.errors
    use_case = UseCase.objects.get()
    assert use_case.stage == Stage.SCORING
    assert StageChange.objects.filter(use_case=use_case, note="Submitted").exists()


def test_the_governance_pages_send_to_review_says_the_same(client, make_user, ops_lead, support):
    """The governance page's "Send to review" says what it opens, and refused, every
    condition with its link (the same words as the use case page)."""
    submitter = make_user("Ops lead", username="sara")
    use_case = use_case_like("support_triage", stage=Stage.SCORING, submitted_by=submitter)
    client.force_login(submitter)
    url = reverse("governance:usecase", args=[use_case.pk])
    assert "Send to review — opens the five-point review, signed off by" in (
        client.get(url).content.decode()
    )
    response = client.post(url)
    assert response.url == url
    [said] = [str(m) for m in get_messages(response.wsgi_request)]
    assert said.startswith("Not sent to review. It needs: Needs 1 complete score sheet")
    assert f'<a href="/usecases/{use_case.pk}/#score">Open the scoring form</a>' in said
    client.get(url)  # the page shows the refusal, once
    score_for_review(use_case, ops_lead)
    response = client.post(url)
    review = Review.objects.get(use_case=use_case)
    [said] = [str(m) for m in get_messages(response.wsgi_request)]
    assert f'<a href="/governance/reviews/{review.pk}/">Open the review</a>' in said


def test_an_api_creation_refused_whole_links_to_nothing_it_did_not_save(ops_lead, support):
    api = APIClient()
    api.force_authenticate(ops_lead)
    data = {**template_data(), "team": "Support", "owner": "ops", "submit": True}
    for name in ("minutes_per_case", "rework_share", "expected_automation_share"):
        data[name] = str(data[name])
    response = api.post("/api/usecases/", data, format="json")
    assert response.status_code == 400, response.data
    assert [c["url"] for c in response.data["conditions"]] == [""]
    assert "Needs a business KPI" in response.data["conditions"][0]["condition"]
    assert not UseCase.objects.exists()
