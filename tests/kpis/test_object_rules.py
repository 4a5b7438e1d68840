"""The KPI object rule on every path: only the KPI's owner, its use case's team and admins
change a KPI, send measurements into it and check in on it — pages, API and services.

Fixed people: the Support team (product owner ``spo``, ops lead ``sops`` who owns the
use case, the KPI's owner ``kown``) and the Finance team's ops lead ``fops`` and product
owner ``fpo``, who read Support's KPIs but may not write them.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from kpis.models import KPI, CheckIn, IngestBatch, Measurement
from kpis.services import ingest_batch_process, measurement_batch_queue
from tests.factories import TeamFactory, UseCaseFactory
from tests.kpis.factories import KPIFactory

pytestmark = pytest.mark.django_db

KPI_EDIT = {"name": "Renamed", "level": "business", "unit": "GBP", "direction": "up",
            "cadence": "daily", "source": "manual", "alert_after_snapshots": 2}  # fmt: skip


@pytest.fixture
def people(make_user: Any) -> dict[str, Any]:
    return {
        "spo": make_user("Product owner", username="spo"),
        "sops": make_user("Ops lead", username="sops"),
        "kown": make_user("Reviewer", username="kown", specialty="security"),
        "fops": make_user("Ops lead", username="fops"),
        "fpo": make_user("Product owner", username="fpo"),
        "admin": make_user("Admin", username="adm"),
    }


@pytest.fixture
def kpi(people: dict[str, Any]) -> KPI:
    """A Support KPI, and a Finance use case led by ``fops`` with ``fpo`` its product owner."""
    support = TeamFactory(name="Support", product_owner=people["spo"])
    finance = TeamFactory(name="Finance", product_owner=people["fpo"])
    UseCaseFactory(team=finance, owner=people["fops"], title="Finance close")
    use_case = UseCaseFactory(team=support, owner=people["sops"], title="Support triage")
    return KPIFactory(use_case=use_case, name="Handle time", owner=people["kown"])


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("outsider", ["fops", "fpo"])
def test_another_teams_ops_lead_or_product_owner_cannot_patch_a_kpi(people, kpi, outsider):
    api = _api(people[outsider])
    assert api.get(f"/api/kpis/{kpi.pk}/").status_code == 200  # dashboards stay readable
    response = api.patch(f"/api/kpis/{kpi.pk}/", {"name": "Hijacked"}, format="json")
    assert response.status_code == 403
    # Refused before the body is read: a bad body is not a way to probe the KPI.
    assert (
        api.patch(f"/api/kpis/{kpi.pk}/", {"target_value": "x"}, format="json").status_code == 403
    )
    kpi.refresh_from_db()
    assert kpi.name == "Handle time"


@pytest.mark.parametrize("insider", ["spo", "sops", "admin"])
def test_the_team_and_admins_patch_a_kpi(people, kpi, insider):
    response = _api(people[insider]).patch(f"/api/kpis/{kpi.pk}/", {"name": "AHT"}, format="json")
    assert response.status_code == 200, response.data
    kpi.refresh_from_db()
    assert kpi.name == "AHT"


def test_another_teams_ops_lead_cannot_add_a_kpi_to_the_use_case(people, kpi):
    body = {"use_case": kpi.use_case_id, "name": "Extra", "level": "model"}
    assert _api(people["fops"]).post("/api/kpis/", body, format="json").status_code == 403
    assert _api(people["sops"]).post("/api/kpis/", body, format="json").status_code == 201
    assert KPI.objects.filter(name="Extra").count() == 1


def test_a_bulk_batch_is_refused_naming_the_line_and_kpi_the_user_may_not_write(people, kpi):
    """GIVEN a batch with a row for the sender's own KPI and one for another team's
    WHEN an ops lead of Finance posts it THEN the whole batch is refused, naming line 3."""
    own = KPIFactory(use_case=people["fops"].owned_use_cases.get(), name="Days to close")
    body = f"kpi,timestamp,value\n{own.pk},2026-01-01,1\n{kpi.pk},2026-01-01,2\n{kpi.pk},2026-01-02,3\n"
    response = _api(people["fops"]).post("/api/measurements/", body, content_type="text/csv")
    assert response.status_code == 400
    [error] = response.data["errors"]
    assert error["line"] == 3
    assert f"KPI {kpi.pk} “Handle time”" in error["reason"]
    assert Measurement.objects.count() == 0
    rows = [{"kpi": own.pk, "timestamp": "2026-01-01", "value": 1}]
    assert _api(people["fops"]).post("/api/measurements/", rows, format="json").status_code == 201


@pytest.mark.parametrize("sender", ["spo", "sops", "admin"])
def test_the_team_and_admins_send_measurements(people, kpi, sender):
    rows = [{"kpi": kpi.pk, "timestamp": "2026-01-01", "value": 1}]
    response = _api(people[sender]).post("/api/measurements/", rows, format="json")
    assert response.status_code == 201, response.data


def test_another_teams_ops_lead_cannot_check_in_through_the_api(people, kpi):
    body = {"kpi": kpi.pk, "confidence": "at_risk", "analysis": "Not mine"}
    assert _api(people["fops"]).post("/api/checkins/", body, format="json").status_code == 403
    assert not CheckIn.objects.exists()
    # The KPI's owner (a reviewer, on no team) checks in.
    assert _api(people["kown"]).post("/api/checkins/", body, format="json").status_code == 201


@pytest.mark.parametrize("outsider", ["fops", "fpo"])
def test_the_kpi_pages_refuse_another_teams_writes(client, people, kpi, outsider):
    client.force_login(people[outsider])
    page = client.get(reverse("kpis:kpi", args=[kpi.pk]))
    assert page.status_code == 200
    assert reverse("kpis:kpi_edit", args=[kpi.pk]) not in page.content.decode()
    edit = reverse("kpis:kpi_edit", args=[kpi.pk])
    assert client.get(edit).status_code == 403
    assert client.post(edit, KPI_EDIT).status_code == 403
    add = reverse("kpis:kpi_add", args=[kpi.use_case_id])
    assert client.get(add).status_code == 403
    check_in = {"confidence": "at_risk", "analysis": "Not mine"}
    assert client.post(reverse("kpis:kpi", args=[kpi.pk]), check_in).status_code == 403
    kpi.refresh_from_db()
    assert kpi.name == "Handle time" and not CheckIn.objects.exists()


def test_the_data_page_refuses_a_value_for_another_teams_kpi(client, people, kpi):
    client.force_login(people["fops"])
    measure = {"action": "measure", "kpi": kpi.pk, "timestamp": "2026-01-01T10:00", "value": "4"}
    response = client.post(reverse("kpis:data"), measure)
    assert response.status_code == 200
    assert "you may not send measurements into KPI" in response.content.decode()
    assert Measurement.objects.count() == 0
    client.force_login(people["sops"])
    assert client.post(reverse("kpis:data"), measure).status_code == 302
    assert kpi.measurements.get().value == 4.0


def test_the_team_edits_and_checks_in_on_the_pages(client, people, kpi):
    client.force_login(people["sops"])
    page = client.get(reverse("kpis:kpi", args=[kpi.pk])).content.decode()
    assert reverse("kpis:kpi_edit", args=[kpi.pk]) in page
    assert client.post(reverse("kpis:kpi_edit", args=[kpi.pk]), KPI_EDIT).status_code == 302
    check_in = {"confidence": "on_track", "analysis": "Fine"}
    assert client.post(reverse("kpis:kpi", args=[kpi.pk]), check_in).status_code == 302
    kpi.refresh_from_db()
    assert kpi.name == "Renamed" and CheckIn.objects.get().author == people["sops"]


def test_a_background_batch_is_checked_for_the_user_who_sent_it(people, kpi):
    """A large upload is stored first and parsed by a job: the job applies the rule to the
    user who sent it, so the queue is no way around it."""
    batch = measurement_batch_queue(
        actor=people["fops"], source="csv", filename="big.csv", rows=1,
        payload=f"kpi,timestamp,value\n{kpi.pk},2026-01-01,1\n",
    )  # fmt: skip
    done = ingest_batch_process(batch_id=batch.pk)
    assert done.status == "rejected"
    assert done.errors[0]["line"] == 2 and "you may not send" in done.errors[0]["reason"]
    assert Measurement.objects.count() == 0
    assert IngestBatch.objects.get(pk=batch.pk).rows_accepted == 0
