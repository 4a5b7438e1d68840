"""Stored data shown to people: the frozen decision copy and the audit trail as labelled human
values (raw JSON behind a toggle), and confirmations that name the consequence of rotating a
token, rolling back and the kill switch — refused without them, nothing changed."""

import csv
import datetime as dt
import io
import json
import re

import pytest
from django.db import transaction
from django.urls import reverse

from audit.display import action_label
from audit.models import AuditEvent
from governance.models import AIWorker, Release, Review
from governance.services import release_create, review_checklist_update, review_sign_off
from opsai.display import changed_rows, display_rows, human_value
from tests.governance.factories import CHECKLIST_ANSWERS, use_case_like, worker_for
from tests.usecases.factories import score_for_review
from usecases.models import UseCase
from usecases.services import usecase_move_stage, usecase_update

pytestmark = pytest.mark.django_db

PYTHON_REPR = re.compile(r"\b(True|False|None)\b|\['|\{'|\w+_\w+")


def visible_text(html: str) -> str:
    """What a person reads: no tags, no scripts, and not the raw-JSON toggle's contents."""
    html = re.sub(r'<details class="raw-json".*?</details>', " ", html, flags=re.S)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", text)


def section(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}"')[1].split("</section>")[0]


# --- The display helper ------------------------------------------------------------------------


def test_values_read_as_words():
    assert human_value(False) == "No" and human_value(True) == "Yes"
    assert human_value(None) == "—" and human_value([]) == "—" and human_value("") == "—"
    assert human_value(["crm", "ticketing"], {"crm": "CRM", "ticketing": "Ticketing"}) == (
        "CRM, Ticketing"
    )
    assert human_value(12500) == "12,500"
    stored_instant = human_value("2026-03-04T09:30:00+00:00")
    assert "4 Mar 2026" in stored_instant and "T09:30" not in stored_instant
    assert human_value(dt.date(2026, 3, 4)) == "4 Mar 2026"


def test_fields_are_labelled_from_the_model_and_its_choices():
    rows = display_rows(
        {
            "exports_data": False,
            "audience": "customer_facing",
            "systems_touched": ["crm", "ticketing"],
            "kpis_touched": 2,
            "high_impact": None,
            "files_added": ["a.txt"],
        },
        model=UseCase,
    )
    # In the order the model declares its fields, whatever order the JSON kept.
    assert [(r.label, r.value) for r in rows] == [
        ("Systems touched", "CRM, Ticketing"),
        ("KPIs touched", "2"),
        ("Audience", "Customer-facing"),
        ("Exports data", "No"),
        ("High-impact", "—"),
        ("Files added", "a.txt"),
    ]
    nested = display_rows({"lane": {"lane": "reviewed", "reason": "Customer-facing text"}})
    assert nested[0].label == "Lane" and [r.label for r in nested[0].rows] == ["Lane", "Reason"]


def test_only_changed_fields_show_before_and_after():
    changes = changed_rows(
        {"audience": "internal", "exports_data": False, "title": "Same"},
        {"audience": "customer_facing", "exports_data": True, "title": "Same"},
        model=UseCase,
    )
    assert [(c.label, c.before, c.after) for c in changes] == [
        ("Audience", "Internal", "Customer-facing"),
        ("Exports data", "No", "Yes"),
    ]
    nested = changed_rows({"monitoring": {"answer": ""}}, {"monitoring": {"answer": "Daily"}})
    assert [(c.label, c.before, c.after) for c in nested] == [("Monitoring › Answer", "—", "Daily")]
    assert action_label("aiworker.paused") == "Kill switch: AI worker paused"
    assert action_label("usecase.stage_moved") == "Use case stage moved"


# --- The frozen decision copy ------------------------------------------------------------------


@pytest.fixture
def decided(submitter, reviewers):
    use_case = use_case_like(
        "support_triage",
        submitted_by=submitter,
        owner=submitter,
        systems_touched=["crm", "ticketing"],
        exports_data=False,
    )
    score_for_review(use_case)
    usecase_move_stage(use_case=use_case, to_stage="review", actor=submitter)
    review = Review.objects.get(use_case=use_case)
    with transaction.atomic():
        for item in review.checklist.all():
            review_checklist_update(item=item, actor=submitter, answer=CHECKLIST_ANSWERS[item.key])
        for sign_off in review.sign_offs.all():
            review_sign_off(
                sign_off=sign_off,
                actor=reviewers[sign_off.role],
                decision="approved",
                comment="Ok.",
            )
    review.refresh_from_db()
    assert review.status == "approved"
    return review


def test_the_frozen_copy_reads_as_labelled_human_values(client, decided, executive):
    """GIVEN an approved review of a use case touching CRM and ticketing, exporting no data
    WHEN anyone opens it THEN the frozen copy reads "Exports data: No", "CRM, Ticketing",
    "Customer-facing" — no field names or Python values — and the raw JSON is behind a toggle."""
    client.force_login(executive)
    page = client.get(reverse("governance:review", args=[decided.pk])).content.decode()
    frozen = section(page, "frozen-copy")
    text = visible_text(frozen)
    assert "Exports data No" in text
    assert "Systems touched CRM, Ticketing" in text
    assert "Audience Customer-facing" in text
    assert "Model/vendor risk" in text and "Ops product owner" in text
    for raw in ("False", "['crm'", "exports_data", "customer_facing", "None", "{'"):
        assert raw not in text, raw
    assert PYTHON_REPR.search(text) is None, PYTHON_REPR.search(text)
    toggle = frozen.split('data-testid="frozen-raw"')[1]
    assert "<summary>Show raw JSON</summary>" in toggle
    assert "&quot;exports_data&quot;: false" in toggle
    assert "&quot;crm&quot;" in toggle


# --- The audit trail ---------------------------------------------------------------------------


def test_the_audit_trail_shows_labelled_before_and_after_with_the_raw_json(
    client, admin_user, submitter, owner_po
):
    use_case = use_case_like("quote_to_cash_exceptions", stage="approved", submitted_by=submitter)
    worker = worker_for(use_case, owner_po)
    with transaction.atomic():
        usecase_update(
            use_case=use_case,
            actor=submitter,
            data={"audience": "customer_facing", "exports_data": True},
        )
    client.force_login(owner_po)
    client.post(
        reverse("governance:worker_pause", args=[worker.pk]),
        {"reason": "Drift", "confirm": "on"},
    )

    client.force_login(admin_user)
    page = client.get(reverse("governance:audit")).content.decode()
    rows = page.split('data-testid="audit-row"')[1:]
    updated = next(r for r in rows if "usecase.updated" in r)
    changes = visible_text(updated.split('data-testid="audit-changes"')[1].split("</table>")[0])
    assert "Audience Internal → Customer-facing" in changes
    assert "Exports data No → Yes" in changes
    assert "Title" not in changes  # changed fields only
    raw = updated.split('data-testid="audit-raw"')[1]
    assert "Show raw JSON" in raw and "&quot;audience&quot;: &quot;customer_facing&quot;" in raw
    paused = next(r for r in rows if "aiworker.paused" in r)
    assert "Kill switch: AI worker paused" in paused
    assert "Status Active → Paused" in visible_text(paused)
    text = visible_text(page)
    assert "{'" not in text and "': " not in text and " False" not in text

    # The CSV carries the stored values as JSON, for tools — never Python's repr of a dict.
    export = client.get(reverse("governance:audit"), {"export": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    row = next(r for r in rows if r["action"] == "usecase.updated")
    assert json.loads(row["after"]) == {"audience": "customer_facing", "exports_data": True}
    assert "'" not in row["before"] and "False" not in row["before"]


# --- Confirmations ------------------------------------------------------------------------------


@pytest.fixture
def worker(owner_po):
    use_case = use_case_like("support_triage", stage="production")
    worker = worker_for(use_case, owner_po)
    with transaction.atomic():
        release_create(worker=worker, actor=owner_po, version="1.1")
        release_create(worker=worker, actor=owner_po, version="1.2")
    return worker


def test_the_worker_page_names_each_consequence(client, worker, owner_po):
    client.force_login(owner_po)
    page = client.get(worker.get_absolute_url()).content.decode()
    text = visible_text(page)
    assert "Roll back 1.2" not in text
    rollback = page.split('data-testid="rollback"')[1].split("</details>")[0]
    assert "Roll back to 1.1…" in rollback
    assert "Roll back to 1.1: release 1.2 stops serving and 1.1 serves again." in visible_text(
        rollback
    )
    assert page.count('data-testid="rollback"') == 1  # on the current release only
    token = visible_text(page.split('data-testid="token-rotate"')[1].split("</details>")[0])
    assert "The old token stops working at once; the worker must be given the new one." in token
    kill = visible_text(section(page, "kill-switch"))
    assert "Kill switch" in kill and "Kill switch: pause this worker" in kill
    assert "only a product owner of its team can resume it" in kill


def test_rotating_the_token_needs_the_confirmation(client, worker, owner_po):
    client.force_login(owner_po)
    url = reverse("governance:worker_token", args=[worker.pk])
    old_hash = AIWorker.objects.get(pk=worker.pk).runtime_token_hash
    refused = client.post(url, {}, follow=True).content.decode()
    assert "No new token was issued" in refused and 'data-testid="runtime-token"' not in refused
    assert AIWorker.objects.get(pk=worker.pk).runtime_token_hash == old_hash
    assert not AuditEvent.objects.filter(action="aiworker.token_rotated").exists()

    done = client.post(url, {"confirm": "on"}, follow=True).content.decode()
    assert 'data-testid="runtime-token"' in done
    assert AIWorker.objects.get(pk=worker.pk).runtime_token_hash != old_hash


def test_rolling_back_needs_the_confirmation_and_says_what_serves_now(client, worker, owner_po):
    client.force_login(owner_po)
    current = Release.objects.get(worker=worker, version="1.2")
    url = reverse("governance:release_rollback", args=[worker.pk, current.pk])
    refused = client.post(url, {"note": "bad routing"}, follow=True).content.decode()
    assert "Not rolled back" in refused
    assert not Release.objects.filter(rollback_of=current).exists()

    done = client.post(url, {"note": "bad routing", "confirm": "on"}, follow=True)
    assert "Rolled back to 1.1: release 1.2 no longer serves." in done.content.decode()
    assert Release.objects.get(rollback_of=current).notes == "bad routing"
    page = client.get(worker.get_absolute_url()).content.decode()
    assert '<dd data-testid="current-version">1.1</dd>' in page


def test_the_kill_switch_needs_the_confirmation(client, worker, it_reviewer):
    client.force_login(it_reviewer)
    url = reverse("governance:worker_pause", args=[worker.pk])
    refused = client.post(url, {"reason": "Drift"}, follow=True).content.decode()
    assert "Kill switch not used. Tick “I understand” to use the kill switch." in refused
    assert AIWorker.objects.get(pk=worker.pk).status == "active"

    done = client.post(url, {"reason": "Drift", "confirm": "on"}, follow=True).content.decode()
    assert "Kill switch used: Triage bot is paused." in done
    assert AIWorker.objects.get(pk=worker.pk).status == "paused"
    assert "The kill switch is on" in section(done, "kill-switch")
