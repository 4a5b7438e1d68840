"""The review page's checklist: one form for the five items, saved at once, each item's state shown,
refusals next to the item they are about, and the sign-off panel saying what it signs."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from governance.models import ChecklistItem, EvidenceFile, Review
from tests.governance.factories import CHECKLIST_ANSWERS, use_case_like
from tests.usecases.factories import score_for_review
from usecases.services import usecase_move_stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def review(submitter, reviewers):
    use_case = use_case_like("support_triage", submitted_by=submitter, owner=submitter)
    score_for_review(use_case)
    usecase_move_stage(use_case=use_case, to_stage="review", actor=submitter)
    return Review.objects.get(use_case=use_case, status="open")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _post_data(review, answers=None, **extra):
    """Every item's fields, as the one checklist form posts them."""
    answers = CHECKLIST_ANSWERS if answers is None else answers
    data = {}
    for item in review.checklist.all():
        prefix = f"item{item.pk}"
        data[f"{prefix}-answer"] = answers.get(item.key, "")
        data[f"{prefix}-evidence_text"] = ""
        data[f"{prefix}-evidence_links"] = "https://vendor.example.com/trust"
    data.update(extra)
    return data


def _prefix(review, key):
    return f"item{review.checklist.get(key=key).pk}"


def test_one_post_saves_all_five_items_and_comes_back_at_the_save_button(client, review, submitter):
    """GIVEN an open review with nothing answered
    WHEN the submitter posts the whole checklist once, with a file on one item
    THEN every item is answered, the file attached, one audit event lists the five,
    and the page comes back at the Save button with "Saved" there."""
    client.force_login(submitter)
    url = reverse("governance:review_checklist_save", args=[review.pk])
    files = {f"{_prefix(review, 'model_vendor_risk')}-files": SimpleUploadedFile("soc2.txt", b"ok")}
    response = client.post(url, {**_post_data(review), **files})

    assert response.status_code == 302
    assert response["Location"].endswith(f"/governance/reviews/{review.pk}/#checklist-save")
    answers = dict(ChecklistItem.objects.filter(review=review).values_list("key", "answer"))
    assert answers == CHECKLIST_ANSWERS
    assert EvidenceFile.objects.get().item.key == "model_vendor_risk"
    event = AuditEvent.objects.get(action="review.checklist_updated")
    assert set(event.after) == set(CHECKLIST_ANSWERS)

    page = client.get(response["Location"]).content.decode()
    save_bar = page.split('id="checklist-save"')[1].split("</div>")[0]
    assert "Saved: Model/vendor risk, Data handling, Monitoring, Escalation, Auditability." in (
        save_bar
    )
    assert "5 of 5 answered" in save_bar
    assert page.count('data-testid="item-state">Answered<') == 5
    vendor = page.split('data-testid="checklist-model_vendor_risk"')[1].split("</section>")[0]
    assert "1 file attached" in vendor and "soc2" in vendor
    # The "Saved" line is by the button only; nothing waits at the top of the page.
    assert page.count("Saved:") == 1
    assert 'class="messages"' not in page


def test_a_partial_save_keeps_the_others_not_answered(client, review, submitter):
    client.force_login(submitter)
    url = reverse("governance:review_checklist_save", args=[review.pk])
    client.post(url, _post_data(review, {"monitoring": "Precision daily."}))
    page = client.get(reverse("governance:review", args=[review.pk])).content.decode()
    monitoring = page.split('data-testid="checklist-monitoring"')[1].split("</section>")[0]
    escalation = page.split('data-testid="checklist-escalation"')[1].split("</section>")[0]
    assert "Answered" in monitoring and "Not answered" in escalation
    summary = page.split('data-testid="sign-off-summary"')[1].split("</div>")[0]
    assert "Checklist: 1 of 5 answered." in summary
    assert "Not answered yet:" in summary and "Escalation" in summary


def test_a_refusal_names_its_item_sits_next_to_it_and_nothing_is_saved(client, review, submitter):
    """GIVEN five answers, one with a bad link and one with a renamed executable
    WHEN posted at once THEN nothing is saved (no answer, no file) and each error is shown
    inside the section of its own item, naming the field."""
    client.force_login(submitter)
    url = reverse("governance:review_checklist_save", args=[review.pk])
    data = _post_data(review)
    data[f"{_prefix(review, 'monitoring')}-evidence_links"] = "not a link"
    data[f"{_prefix(review, 'data_handling')}-files"] = SimpleUploadedFile("a.pdf", b"MZ\x90")
    response = client.post(url, data)

    assert response.status_code == 200
    page = response.content.decode()
    monitoring = page.split('data-testid="checklist-monitoring"')[1].split("</section>")[0]
    data_handling = page.split('data-testid="checklist-data_handling"')[1].split("</section>")[0]
    escalation = page.split('data-testid="checklist-escalation"')[1].split("</section>")[0]
    assert "“not a link” is not a web address" in monitoring
    assert "is named .pdf but its content is not a PDF" in data_handling
    assert "errorlist" not in escalation
    refused = page.split('data-testid="checklist-refused"')[1].split("</p>")[0]
    assert "Nothing was saved" in refused and "Monitoring" in refused and "Data handling" in refused
    assert not ChecklistItem.objects.filter(review=review).exclude(answer="").exists()
    assert not EvidenceFile.objects.exists()
    assert not AuditEvent.objects.filter(action="review.checklist_updated").exists()
    # What was typed is still there to fix.
    assert CHECKLIST_ANSWERS["escalation"] in escalation


def test_htmx_gets_the_checklist_back_in_place_with_saved_by_the_button(client, review, submitter):
    client.force_login(submitter)
    url = reverse("governance:review_checklist_save", args=[review.pk])
    response = client.post(url, _post_data(review), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="checklist"')
    assert "<html" not in body
    assert "Saved: Model/vendor risk" in body.split('id="checklist-save"')[1]
    # The sign-off panel's summary is refreshed out of band.
    assert 'id="sign-off-summary"' in body and 'hx-swap-oob="true"' in body
    assert "Checklist: 5 of 5 answered." in body


def test_saving_what_did_not_change_writes_nothing(client, review, submitter):
    client.force_login(submitter)
    url = reverse("governance:review_checklist_save", args=[review.pk])
    client.post(url, _post_data(review))
    client.post(url, _post_data(review))
    assert AuditEvent.objects.filter(action="review.checklist_updated").count() == 1
    page = client.get(reverse("governance:review", args=[review.pk])).content.decode()
    assert "Saved. Nothing had changed." in page


def test_the_one_form_is_refused_to_those_who_cannot_edit_the_checklist(client, review, executive):
    client.force_login(executive)
    url = reverse("governance:review_checklist_save", args=[review.pk])
    assert client.post(url, _post_data(review)).status_code == 403
    assert not ChecklistItem.objects.filter(review=review).exclude(answer="").exists()


def test_the_per_item_endpoint_still_saves_one_item(client, review, submitter):
    client.force_login(submitter)
    item = review.checklist.get(key="escalation")
    url = reverse("governance:review_checklist", args=[review.pk, item.pk])
    client.post(url, {f"item{item.pk}-answer": "Support lead paged."})
    item.refresh_from_db()
    assert item.answer == "Support lead paged."


def test_the_sign_off_panel_says_what_is_signed_and_refusals_show_there(
    client, review, submitter, it_reviewer
):
    """GIVEN the checklist answered WHEN the submitter tries to sign (separation of duties)
    and a reviewer signs THEN the panel shows each outcome, and who has signed."""
    client.force_login(submitter)
    client.post(reverse("governance:review_checklist_save", args=[review.pk]), _post_data(review))
    own = review.sign_offs.get(role="product_owner")
    response = client.post(
        reverse("governance:review_sign_off", args=[review.pk, own.pk]),
        {f"signoff{own.pk}-decision": "approved", f"signoff{own.pk}-comment": "Mine."},
    )
    assert response["Location"].endswith("#sign-offs")
    page = client.get(response["Location"]).content.decode()
    panel = page.split('data-testid="sign-offs"')[1].split("</section>")[0]
    assert "Separation of duties" in panel.split('data-testid="sign-off-outcome"')[1]

    client.force_login(it_reviewer)
    it = review.sign_offs.get(role="it_platform")
    client.post(
        reverse("governance:review_sign_off", args=[review.pk, it.pk]),
        {f"signoff{it.pk}-decision": "approved", f"signoff{it.pk}-comment": "Fine."},
    )
    page = client.get(reverse("governance:review", args=[review.pk])).content.decode()
    panel = page.split('data-testid="sign-offs"')[1].split("</section>")[0]
    assert "IT platform sign-off recorded." in panel
    summary = panel.split('data-testid="sign-off-summary"')[1].split("</div>")[0]
    assert "Checklist: 5 of 5 answered." in summary
    assert "Signed: IT platform — approved by ian." in summary
    assert "Waiting on:" in summary and "Security" in summary


def test_a_decided_review_refuses_the_checklist_and_keeps_its_answers(client, review, submitter):
    client.force_login(submitter)
    url = reverse("governance:review_checklist_save", args=[review.pk])
    client.post(url, _post_data(review))
    Review.objects.filter(pk=review.pk).update(status="approved")
    response = client.post(url, _post_data(review, {"monitoring": "Rewritten after the fact."}))
    assert response.status_code == 302
    monitoring = review.checklist.get(key="monitoring")
    assert monitoring.answer == CHECKLIST_ANSWERS["monitoring"]
    page = client.get(response["Location"]).content.decode()
    assert "its checklist is frozen" in page
    assert 'data-testid="checklist-form"' not in page


def test_the_service_checks_every_item_before_storing_any(review, submitter):
    """The API and other callers get the same all-or-nothing rule as the page's form."""
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from governance.services import review_checklist_save

    entries = {key: {"answer": answer} for key, answer in CHECKLIST_ANSWERS.items()}
    entries["monitoring"]["evidence_links"] = ["not a link"]
    entries["escalation"]["files"] = [SimpleUploadedFile("x.exe", b"MZ")]
    with pytest.raises(ValidationError) as refused, transaction.atomic():
        review_checklist_save(review=review, actor=submitter, entries=entries)
    assert set(refused.value.message_dict) == {"monitoring", "escalation"}
    assert refused.value.message_dict["monitoring"][0].startswith("Evidence links: “not a link”")
    assert not ChecklistItem.objects.filter(review=review).exclude(answer="").exists()
    assert not EvidenceFile.objects.exists()
