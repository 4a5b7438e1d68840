"""Navigation by role: each role is offered only what it can open, and the entry of the
page you are on is the one lit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opsai.context_processors import NAVIGATION

pytestmark = pytest.mark.django_db

ROLES = [
    ("Ops lead", ""),
    ("Executive", ""),
    ("Product owner", ""),
    ("Reviewer", "security"),
    ("Admin", ""),
]


def _navigation(client, path):
    response = client.get(path, follow=True)
    assert response.status_code == 200, path
    return response.context["navigation"]


@pytest.mark.parametrize(("role", "specialty"), ROLES)
def test_every_entry_offered_opens_for_the_role(client, make_user, role, specialty):
    """GIVEN a user of each role WHEN they follow each entry of their navigation THEN every
    one opens (200) and it is the entry lit on its own page."""
    user = make_user(role, username="someone", specialty=specialty)
    client.force_login(user)
    entries = _navigation(client, "/")
    assert entries, role
    for entry in entries:
        assert entry["key"] and reverse(entry["key"]) == entry["url"]
        response = client.get(entry["url"])
        assert response.status_code == 200, (role, entry["label"])
        lit = [e["key"] for e in response.context["navigation"] if e["active"]]
        assert lit == [entry["key"]], (role, entry["label"], lit)


def test_an_executive_is_offered_the_dashboard_first_and_nothing_to_send(client, executive):
    client.force_login(executive)
    labels = [entry["label"] for entry in _navigation(client, "/")]
    assert labels[0] == "Dashboard"
    assert "Intake" not in labels
    assert "Data" not in labels
    assert {"Portfolio", "KPIs", "Governance"} <= set(labels)


def test_a_reviewer_is_offered_neither_intake_nor_data(client, make_user):
    client.force_login(make_user("Reviewer", username="rita", specialty="legal"))
    labels = [entry["label"] for entry in _navigation(client, "/")]
    assert "Intake" not in labels and "Data" not in labels and "Dashboard" not in labels


def test_an_ops_lead_is_offered_intake_and_data(client, ops_lead):
    client.force_login(ops_lead)
    labels = [entry["label"] for entry in _navigation(client, "/")]
    assert labels == ["Portfolio", "Intake", "KPIs", "Governance", "Data"]


def test_the_dashboard_entry_is_lit_on_the_dashboard(client, executive):
    """GIVEN an executive on /kpis/portfolio/ WHEN the navigation is drawn THEN Dashboard is
    the entry lit — not KPIs, whose /kpis/ is a prefix of the page's address."""
    client.force_login(executive)
    response = client.get("/kpis/portfolio/")
    lit = [entry["key"] for entry in response.context["navigation"] if entry["active"]]
    assert lit == ["kpis:portfolio"]
    assert 'data-nav="kpis:portfolio" aria-current="page"' in response.content.decode()


def test_a_page_below_an_entry_lights_the_longest_prefix(client, ops_lead):
    client.force_login(ops_lead)
    response = client.get(reverse("usecases:import"))
    lit = [entry["label"] for entry in response.context["navigation"] if entry["active"]]
    assert lit == ["Portfolio"]


def test_every_entry_names_the_permission_it_needs():
    assert all(entry.permission for entry in NAVIGATION)
    needs = {entry.label: entry.permission for entry in NAVIGATION}
    assert needs["Intake"] == "usecases.add_usecase"
    assert needs["Data"] == "kpis.manage_kpis"


@pytest.mark.parametrize(("role", "specialty"), [("Executive", ""), ("Reviewer", "security")])
def test_the_data_page_for_a_reader_says_who_sends_data(client, make_user, role, specialty):
    """GIVEN a role that cannot send data WHEN it opens the data page THEN there is no
    "Send KPI data" heading without a form: it says who sends, and shows the history."""
    client.force_login(make_user(role, username="reader", specialty=specialty))
    response = client.get(reverse("kpis:data"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Send KPI data" not in text and "Save value" not in text
    assert "Batch history" in text
    sentence = response.context and text.split('data-testid="who-sends-data">')[1]
    if role == "Executive":
        assert sentence.startswith("Executives read; they do not")
    else:
        assert sentence.startswith("Ops leads, product owners and admins")


def test_the_data_page_for_a_sender_has_the_forms(client, ops_lead):
    client.force_login(ops_lead)
    text = client.get(reverse("kpis:data")).content.decode()
    assert "Send KPI data" in text and "Save value" in text
    assert "who-sends-data" not in text


def test_the_kpi_page_offers_sending_data_only_to_senders(client, executive, ops_lead):
    client.force_login(executive)
    text = client.get(reverse("kpis:index")).content.decode()
    assert "Send data" not in text and "Data sent" in text
    client.force_login(ops_lead)
    assert "Send data" in client.get(reverse("kpis:index")).content.decode()
