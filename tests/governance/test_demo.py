"""Governance demo data: vendors, an approved use case with a worker and releases, an open review."""

import pytest
from django.core.management import call_command

from governance.models import AIWorker, Incident, LaneAssignment, Review, Vendor
from governance.selectors import worker_current_release

pytestmark = pytest.mark.django_db


def test_the_demo_shows_every_governance_object_once():
    call_command("load_demo")
    call_command("load_demo")
    assert Vendor.objects.count() == 2
    assert LaneAssignment.objects.count() == 5
    worker = AIWorker.objects.get()
    assert worker.use_case.template_key == "collections_outreach"
    assert worker.use_case.stage == "pilot"
    assert worker_current_release(worker).version == "1.2"
    assert Incident.objects.get().status == "closed"
    review = Review.objects.get(use_case__template_key="support_triage")
    assert review.status == "open"
    assert set(review.sign_offs.values_list("role", flat=True)) == {
        "product_owner", "it_platform", "security", "legal",
    }  # fmt: skip
