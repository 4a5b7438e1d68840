"""Governance pages: who may see and do what, fixed query counts, the audit page and its CSV."""

import pytest
from django.db import transaction
from django.db.models import Count
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import audit_record
from governance import selectors as governance_selectors
from governance.models import AIWorker, Incident, LaneAssignment, LanePolicy
from governance.services import incident_open
from tests.factories import UseCaseFactory
from tests.governance.factories import use_case_like, worker_for
from tests.usecases.factories import score_for_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(owner_po, submitter):
    approved = use_case_like("support_triage", stage="approved", submitted_by=submitter)
    worker = worker_for(approved, owner_po)
    incident = incident_open(
        use_case=approved, worker=worker, actor=owner_po, title="Misroutes", severity="low",
        what_happened="Billing tickets went to sales.",
    )  # fmt: skip
    in_review = use_case_like("marketing_content_ops", submitted_by=submitter)
    from usecases.services import usecase_move_stage

    score_for_review(in_review)
    usecase_move_stage(use_case=in_review, to_stage="review", actor=submitter)
    return {
        "use_case": approved,
        "worker": worker,
        "incident": incident,
        "review": in_review.reviews.get(),
    }


def _pages(world):
    return [
        reverse("governance:index"),
        reverse("governance:policy"),
        reverse("governance:queue"),
        reverse("governance:usecase", args=[world["use_case"].pk]),
        reverse("governance:review", args=[world["review"].pk]),
        reverse("governance:workers"),
        reverse("governance:worker", args=[world["worker"].pk]),
        reverse("governance:incidents"),
        reverse("governance:incident", args=[world["incident"].pk]),
        reverse("governance:vendors"),
        reverse("governance:audit"),
    ]


def test_every_page_opens_for_a_role_and_is_refused_without_one(
    client, world, executive, roleless_user
):
    client.force_login(executive)
    for url in _pages(world):
        assert client.get(url).status_code == 200, url
    client.force_login(roleless_user)
    for url in _pages(world):
        assert client.get(url).status_code == 403, url


def test_the_governance_page_shows_lanes_reviews_workers_incidents_vendors(
    client, world, executive, django_assert_max_num_queries
):
    client.force_login(executive)
    # + the obligations' counts (one query) and a list per obligation, the units and their
    # lanes (which also give each lane's total), the paged reviews
    with django_assert_max_num_queries(17):
        response = client.get(reverse("governance:index"))
    body = response.content.decode()
    assert "Support triage" in body and "Marketing content operations" in body
    assert "Misroutes" in body


def test_the_governance_page_query_count_does_not_grow_with_rows(
    client, world, executive, django_assert_num_queries, owner_po
):
    client.force_login(executive)
    # one bounded list per lane; the obligations' counts (one query) and per obligation a
    # bounded list; the units and their lanes (one GROUP BY, which also gives each lane's
    # total) for the unit table; the open reviews are paged (a count and a page)
    with django_assert_num_queries(17) as first:
        client.get(reverse("governance:index"))
    use_case_like("collections_outreach")
    incident_open(
        use_case=world["use_case"],
        actor=owner_po,
        title="Another",
        severity="low",
        what_happened="x",
    )
    with django_assert_num_queries(len(first.captured_queries)):
        client.get(reverse("governance:index"))


def test_a_lane_card_lists_its_latest_decisions_and_says_how_many_there_are(
    client, world, executive, monkeypatch
):
    lane, allowed = (
        LaneAssignment.objects.values_list("lane").annotate(n=Count("pk")).order_by("-n")[0]
    )
    assert allowed >= 2
    latest = LaneAssignment.objects.filter(lane=lane).order_by("-assigned_at", "-pk")[0]
    monkeypatch.setattr(governance_selectors, "LANE_CARD_ROWS", 1)
    client.force_login(executive)
    body = client.get(reverse("governance:index")).content.decode()
    card = body.split(f'data-testid="lane-{lane}"')[1].split("</section>")[0]
    assert latest.use_case.title in card and card.count("<li>") == 1
    assert f"The latest 1 of {allowed}." in card


def test_one_click_pauses_a_worker_and_it_shows(client, world, it_reviewer):
    client.force_login(it_reviewer)
    url = reverse("governance:worker_pause", args=[world["worker"].pk])
    response = client.post(url, {"reason": "Complaints spiking", "confirm": "on"}, follow=True)
    assert "Kill switch used" in response.content.decode()
    world["worker"].refresh_from_db()
    assert world["worker"].status == "paused"
    for page in (
        reverse("governance:index"),
        reverse("governance:workers"),
        reverse("governance:usecase", args=[world["use_case"].pk]),
    ):
        assert "Complaints spiking" in client.get(page).content.decode(), page


def test_pause_and_resume_are_refused_to_the_wrong_roles(
    client, world, executive, ops_lead, it_reviewer, owner_po
):
    pause = reverse("governance:worker_pause", args=[world["worker"].pk])
    resume = reverse("governance:worker_resume", args=[world["worker"].pk])
    for user in (executive, ops_lead):
        client.force_login(user)
        assert client.post(pause, {"reason": "x"}).status_code == 403
    client.force_login(it_reviewer)
    client.post(pause, {"reason": "drift", "confirm": "on"})
    assert client.post(resume).status_code == 403  # a reviewer pauses; only a product owner resumes
    client.force_login(owner_po)
    client.post(resume, {"note": "fixed"})
    assert AIWorker.objects.get().status == "active"


def test_a_pause_without_a_reason_is_told_so(client, world, owner_po):
    client.force_login(owner_po)
    response = client.post(
        reverse("governance:worker_pause", args=[world["worker"].pk]), {"reason": ""}, follow=True
    )
    assert "Kill switch not used. Reason: say why" in response.content.decode()
    assert AIWorker.objects.get().status == "active"


def test_a_new_worker_shows_its_runtime_token_once(client, world, owner_po):
    client.force_login(owner_po)
    data = {
        "name": "Reply drafter", "tasks_handled": "Drafts replies", "human_role": "Agents send",
        "model_name": "m", "model_version": "1", "autonomy": "draft",
        "escalation_contacts": "a@example.com\nb@example.com",
    }  # fmt: skip
    response = client.post(
        reverse("governance:worker_new", args=[world["use_case"].pk]), data, follow=True
    )
    assert b"Runtime token (shown once)" in response.content
    worker = AIWorker.objects.get(name="Reply drafter")
    assert worker.escalation_contacts == ["a@example.com", "b@example.com"]
    assert b"Runtime token" not in client.get(worker.get_absolute_url()).content


def test_incident_close_is_refused_on_the_page_until_the_review_names_its_rule(
    client, world, owner_po
):
    client.force_login(owner_po)
    incident = world["incident"]
    response = client.post(reverse("governance:incident_close", args=[incident.pk]), follow=True)
    assert "post-incident review step must be done" in response.content.decode()
    step = incident.steps.get(kind="review")
    client.post(
        reverse("governance:incident_step", args=[incident.pk, step.pk]),
        {f"step{step.pk}-done": "on", f"step{step.pk}-rule_change": "none"},
    )
    client.post(reverse("governance:incident_close", args=[incident.pk]))
    assert Incident.objects.get(pk=incident.pk).status == "closed"


def test_only_admins_create_a_policy_version(client, world, admin_user, ops_lead):
    client.force_login(ops_lead)
    assert client.get(reverse("governance:policy_new")).status_code == 403
    client.force_login(admin_user)
    data = {
        "rules-TOTAL_FORMS": "2", "rules-INITIAL_FORMS": "0",
        "rules-0-name": "Money", "rules-0-lane": "prohibited",
        "rules-0-conditions": "money_movement=yes", "rules-0-reason": "No money.",
        "rules-1-name": "Rest", "rules-1-lane": "reviewed", "rules-1-conditions": "", "rules-1-reason": "Safe default.",
        "note": "Stricter",
    }  # fmt: skip
    client.post(reverse("governance:policy_new"), data)
    policy = LanePolicy.objects.get(version=2)
    assert list(policy.rules.values_list("name", "conditions")) == [
        ("Money", {"money_movement": [True]}),
        ("Rest", {}),
    ]


def test_a_bad_condition_is_named(client, admin_user):
    client.force_login(admin_user)
    data = {
        "rules-TOTAL_FORMS": "1", "rules-INITIAL_FORMS": "0", "rules-0-name": "X", "rules-0-lane": "allowed",
        "rules-0-conditions": "colour=blue", "rules-0-reason": "?", "note": "bad",
    }  # fmt: skip
    response = client.post(reverse("governance:policy_new"), data)
    assert "colour=blue" in response.content.decode()
    assert LanePolicy.objects.count() == 1


def test_the_audit_page_filters_and_exports_csv(client, world, executive, owner_po):
    with transaction.atomic():
        audit_record(
            actor=owner_po, action="test.marker", target=world["use_case"], ticket_id="T-9"
        )
    client.force_login(executive)
    url = reverse("governance:audit")
    filtered = client.get(
        url, {"actor": "pia", "object_type": "usecases.usecase", "object_id": world["use_case"].pk}
    )
    body = filtered.content.decode()
    assert "test.marker" in body and "T-9" in body
    assert "review.opened" not in body
    response = client.get(url, {"actor": "pia", "export": "csv"})
    assert response["Content-Type"] == "text/csv"
    rows = b"".join(response.streaming_content).decode().splitlines()
    assert rows[0].startswith("occurred_at,actor_name,action")
    assert any("test.marker" in row for row in rows[1:])
    bad = client.get(url, {"date_from": "2026-02-01", "date_to": "2026-01-01"})
    assert "The end date is before the start date." in bad.content.decode()


def test_evidence_files_download_only_with_a_role(
    client, world, submitter, roleless_user, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from governance.services import review_checklist_update

    settings.MEDIA_ROOT = tmp_path
    item = world["review"].checklist.get(key="data_handling")
    with transaction.atomic():
        review_checklist_update(
            item=item, actor=submitter, answer="EU only",
            files=[SimpleUploadedFile("flows.txt", b"data flow diagram")],
        )  # fmt: skip
    evidence = item.files.get()
    url = reverse("governance:evidence_file", args=[world["review"].pk, evidence.pk])
    client.force_login(submitter)
    assert b"".join(client.get(url).streaming_content) == b"data flow diagram"
    client.force_login(roleless_user)
    assert client.get(url).status_code == 403
    client.force_login(submitter)
    (tmp_path / evidence.file.name).unlink()  # the row outlived its file
    assert client.get(url).status_code == 404


def test_the_review_and_worker_pages_have_fixed_query_counts(
    client, world, owner_po, django_assert_num_queries
):
    from governance.services import release_create

    client.force_login(owner_po)
    review_url = reverse("governance:review", args=[world["review"].pk])
    worker_url = reverse("governance:worker", args=[world["worker"].pk])
    with django_assert_num_queries(7) as review_queries:
        client.get(review_url)
    with django_assert_num_queries(6) as worker_queries:
        client.get(worker_url)
    with transaction.atomic():
        release_create(worker=world["worker"], actor=owner_po, version="1.0")
        release_create(worker=world["worker"], actor=owner_po, version="1.1")
    with django_assert_num_queries(len(review_queries.captured_queries)):
        client.get(review_url)
    with django_assert_num_queries(len(worker_queries.captured_queries)):
        client.get(worker_url)


def test_write_pages_refuse_read_only_and_roleless_users(client, world, executive, roleless_user):
    review = world["review"]
    item = review.checklist.first()
    sign_off = review.sign_offs.first()
    incident = world["incident"]
    posts = [
        reverse("governance:review_checklist", args=[review.pk, item.pk]),
        reverse("governance:review_sign_off", args=[review.pk, sign_off.pk]),
        reverse("governance:incident_close", args=[incident.pk]),
        reverse("governance:incident_step", args=[incident.pk, incident.steps.first().pk]),
        reverse("governance:release_new", args=[world["worker"].pk]),
        reverse("governance:worker_new", args=[world["use_case"].pk]),
        reverse("governance:vendor_new"),
        reverse("governance:policy_new"),
    ]
    for user in (executive, roleless_user):
        client.force_login(user)
        for url in posts:
            assert client.post(url, {}).status_code == 403, (user, url)


def test_the_queue_shows_what_waits_on_each_reviewer_and_for_how_long(
    client, world, legal_reviewer, submitter, it_reviewer
):
    import time_machine
    from django.utils import timezone

    with time_machine.travel(timezone.now() + timezone.timedelta(days=3)):
        # Signed in then, not three days before: a session ends after 12 hours.
        client.force_login(legal_reviewer)
        body = client.get(reverse("governance:queue")).content.decode()
    assert "Marketing content operations" in body and "Legal &amp; compliance" in body
    assert "3 days" in body
    client.force_login(submitter)  # she submitted it: nothing waits on her
    assert "Nothing waits on you." in client.get(reverse("governance:queue")).content.decode()


def test_the_queue_leaves_another_units_product_owner_sign_off_to_its_owner(client, make_user):
    """GIVEN an open review of a Finance use case whose unassigned product-owner sign-off
    is Finance's product owner's (Pia) WHEN Pia and another product owner open the queue
    THEN it waits on Pia only: the other's sign-off would be refused."""
    from governance.models import Review, SignOff
    from tests.factories import TeamFactory

    pia = make_user("Product owner", username="pia")
    pete = make_user("Product owner", username="pete")
    use_case = UseCaseFactory(team=TeamFactory(name="Finance", product_owner=pia), title="Dunning")
    review = Review.objects.create(use_case=use_case, opened_reason="Lane")
    SignOff.objects.create(review=review, role="product_owner")
    client.force_login(pia)
    assert "Dunning" in client.get(reverse("governance:queue")).content.decode()
    client.force_login(pete)
    assert "Nothing waits on you." in client.get(reverse("governance:queue")).content.decode()


def test_vendors_are_kept_and_overdue_reviews_show(client, admin_user, executive):
    client.force_login(executive)
    assert client.post(reverse("governance:vendor_new"), {"name": "X"}).status_code == 403
    client.force_login(admin_user)
    data = {"name": "Northwind", "sla": "99.9%", "next_review_due": "2020-01-01"}
    response = client.post(reverse("governance:vendor_new"), data, follow=True)
    assert "Vendor saved." in response.content.decode()
    assert "overdue" in response.content.decode()
    assert "Northwind" in client.get(reverse("governance:index")).content.decode()
    bad = client.post(reverse("governance:vendor_new"), {"name": "", "next_review_due": "soon"})
    assert "Enter a valid date." in bad.content.decode()


def test_a_new_runtime_token_replaces_the_old_one(client, world, owner_po, executive):
    from rest_framework.test import APIClient

    worker = world["worker"]
    url = reverse("governance:worker_token", args=[worker.pk])
    client.force_login(executive)
    assert client.post(url).status_code == 403
    client.force_login(owner_po)
    page = client.post(url, {"confirm": "on"}, follow=True).content.decode()
    new_token = page.split('data-testid="runtime-token">')[1].split("<")[0]
    runtime = APIClient()
    status_url = f"/api/workers/{worker.pk}/status/"
    assert (
        runtime.get(status_url, HTTP_AUTHORIZATION=f"Worker {worker.runtime_token}").status_code
        == 401
    )
    assert runtime.get(status_url, HTTP_AUTHORIZATION=f"Worker {new_token}").status_code == 200


def test_a_product_owner_of_another_team_cannot_change_this_teams_workers(
    client, world, owner_po, make_user
):
    """Object-level: the role lets a product owner manage AI workers, the team decides which."""
    from rest_framework.test import APIClient

    from governance.models import Release
    from governance.services import release_create
    from tests.factories import TeamFactory

    stranger = make_user("Product owner", username="olaf")
    TeamFactory(name="Finance", product_owner=stranger)
    worker = world["worker"]
    release = release_create(worker=worker, actor=owner_po, version="1.0")
    posts = [
        (reverse("governance:worker_new", args=[world["use_case"].pk]), {"name": "Mine now"}),
        (reverse("governance:worker_edit", args=[worker.pk]), {"name": "Renamed"}),
        (reverse("governance:worker_token", args=[worker.pk]), {}),
        (reverse("governance:release_new", args=[worker.pk]), {"version": "9.9"}),
        (reverse("governance:release_rollback", args=[worker.pk, release.pk]), {}),
    ]
    client.force_login(stranger)
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert client.get(reverse("governance:worker_edit", args=[worker.pk])).status_code == 403
    page = client.get(worker.get_absolute_url()).content.decode()
    assert "governance:worker_edit" not in page and f"/workers/{worker.pk}/edit/" not in page
    api = APIClient()
    api.force_authenticate(stranger)
    assert api.patch(f"/api/workers/{worker.pk}/", {"name": "Renamed"}).status_code == 403
    assert api.post("/api/releases/", {"worker": worker.pk, "version": "9.9"}).status_code == 403
    assert api.post(f"/api/releases/{release.pk}/rollback/").status_code == 403
    new = {
        "use_case": world["use_case"].pk,
        "name": "Mine",
        "model_name": "m",
        "model_version": "1",
        "tasks_handled": "t",
        "human_role": "h",
        "autonomy": "suggest",
    }
    assert api.post("/api/workers/", new).status_code == 403
    worker.refresh_from_db()
    assert (worker.name, AIWorker.objects.count()) == ("Triage bot", 1)
    assert list(Release.objects.values_list("version", flat=True)) == ["1.0"]
    # The team's own product owner still can.
    client.force_login(owner_po)
    client.post(reverse("governance:release_new", args=[worker.pk]), {"version": "1.1"})
    assert Release.objects.filter(version="1.1").exists()


def test_opening_a_use_case_page_never_writes(client, owner_po):
    """GIVEN a use case the lane policy has not placed yet
    WHEN its governance page is opened
    THEN the page shows the lane the policy would give it, and nothing is written."""
    use_case = UseCaseFactory(title="Unplaced", exports_data=True)
    client.force_login(owner_po)  # a sign-in, which is on the audit trail
    events = AuditEvent.objects.count()
    response = client.get(reverse("governance:usecase", args=[use_case.pk]))
    assert response.status_code == 200
    assert "Prohibited" in response.content.decode()
    assert not LaneAssignment.objects.filter(use_case=use_case).exists()
    assert AuditEvent.objects.count() == events
