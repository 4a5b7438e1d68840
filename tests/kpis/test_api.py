"""The KPI API: bulk ingest (JSON and CSV), reads, check-ins, annotations and permissions."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from kpis.models import Annotation, Measurement
from tests.kpis.factories import KPIFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def test_it_ingests_a_json_batch_and_updates_re_sent_values(api: APIClient, ops_lead: Any) -> None:
    kpi = KPIFactory()
    api.force_authenticate(ops_lead)
    rows = [
        {"kpi": kpi.pk, "timestamp": "2026-01-01", "value": 1},
        {"kpi": kpi.pk, "timestamp": "2026-01-02", "value": 2},
    ]
    response = api.post("/api/measurements/", rows, format="json")
    assert response.status_code == 201, response.data
    assert response.data["rows_accepted"] == 2
    response = api.post(
        "/api/measurements/",
        {"measurements": [{"kpi": kpi.pk, "timestamp": "2026-01-01", "value": 9}]},
        format="json",
    )
    assert response.status_code == 201
    assert sorted(Measurement.objects.values_list("value", flat=True)) == [2.0, 9.0]


def test_it_rejects_a_csv_batch_with_a_bad_row_naming_the_line(
    api: APIClient, ops_lead: Any
) -> None:
    kpi = KPIFactory()
    api.force_authenticate(ops_lead)
    body = f"kpi,timestamp,value\n{kpi.pk},2026-01-01,1\n{kpi.pk},2026-01-02,\n"
    response = api.post("/api/measurements/", body, content_type="text/csv")
    assert response.status_code == 400
    assert response.data["errors"] == [{"line": 3, "reason": "missing value"}]
    assert Measurement.objects.count() == 0


def test_it_refuses_ingest_to_executives_and_everything_to_users_without_a_role(
    api: APIClient, executive: Any, roleless_user: Any
) -> None:
    kpi = KPIFactory()
    rows = [{"kpi": kpi.pk, "timestamp": "2026-01-01", "value": 1}]
    api.force_authenticate(executive)
    assert api.post("/api/measurements/", rows, format="json").status_code == 403
    assert api.get("/api/kpis/").status_code == 200
    api.force_authenticate(roleless_user)
    for url in (
        "/api/kpis/",
        "/api/snapshots/",
        "/api/alerts/",
        "/api/annotations/",
        "/api/checkins/",
    ):
        assert api.get(url).status_code == 403


def test_a_release_pipeline_posts_an_annotation(api: APIClient, ops_lead: Any) -> None:
    kpi = KPIFactory()
    api.force_authenticate(ops_lead)
    response = api.post(
        "/api/annotations/",
        {
            "kind": "release",
            "text": "worker v2",
            "starts_at": "2026-01-01T09:00:00Z",
            "use_case": kpi.use_case_id,
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    assert Annotation.objects.get().created_by == ops_lead
    bad = api.post("/api/annotations/", {"kind": "release", "text": "x", "starts_at": "2026-01-02T00:00:00Z",
                                         "ends_at": "2026-01-01T00:00:00Z"}, format="json")  # fmt: skip
    assert bad.status_code == 400 and "ends_at" in bad.data


def test_it_creates_and_edits_kpis_and_records_check_ins(api: APIClient, ops_lead: Any) -> None:
    business = KPIFactory()
    api.force_authenticate(ops_lead)
    created = api.post("/api/kpis/", {"use_case": business.use_case_id, "name": "AHT", "level": "operational",
                                      "parent": business.pk, "direction": "down"}, format="json")  # fmt: skip
    assert created.status_code == 201, created.data
    assert created.data["vanity"] is False
    orphan = api.post(
        "/api/kpis/",
        {"use_case": business.use_case_id, "name": "Tokens", "level": "model"},
        format="json",
    )
    assert orphan.data["vanity"] is True
    listed = {
        row["name"]: row["vanity"]
        for row in api.get(f"/api/kpis/?use_case={business.use_case_id}").data["results"]
    }
    assert listed == {business.name: False, "AHT": False, "Tokens": True}
    invalid = api.patch(f"/api/kpis/{created.data['id']}/", {"value_per_unit": "5"}, format="json")
    assert invalid.status_code == 400 and "value_per_unit" in invalid.data
    check_in = api.post(
        "/api/checkins/",
        {"kpi": business.pk, "confidence": "on_track", "analysis": "Fine"},
        format="json",
    )
    assert check_in.status_code == 201, check_in.data
    assert api.get(f"/api/checkins/?kpi={business.pk}").data["count"] == 1


def test_it_answers_400_not_500_to_rows_postgresql_or_the_csv_reader_cannot_take(
    api: APIClient, ops_lead: Any
) -> None:
    kpi = KPIFactory()
    api.force_authenticate(ops_lead)
    rows = [
        {"kpi": "sales\u0000", "timestamp": "2026-01-01", "value": 1},
        {"kpi": kpi.pk, "timestamp": "2026-01-02", "value": 10**400},
        {"kpi": kpi.pk, "timestamp": "2026-01-03", "value": 1},
        {"kpi": kpi.pk, "timestamp": "2026-01-03T00:00:00+00:00", "value": 2},
    ]
    response = api.post("/api/measurements/", rows, format="json")
    assert response.status_code == 400
    assert [error["line"] for error in response.data["errors"]] == [1, 2, 4]

    body = "kpi,timestamp,value\n" + f"{kpi.pk},2026-01-01," + "9" * 200_000 + "\n"
    response = api.post("/api/measurements/", body, content_type="text/csv")
    assert response.status_code == 400
    assert "Line 2: not readable as CSV" in str(response.data)
    assert Measurement.objects.count() == 0


def test_it_answers_400_naming_the_filter_to_a_bad_date_filter(
    api: APIClient, ops_lead: Any
) -> None:
    api.force_authenticate(ops_lead)
    for url, name in (
        ("/api/snapshots/?as_of=garbage", "as_of"),
        ("/api/snapshots/?as_of=2026-02-30", "as_of"),
        ("/api/measurements/?since=2026-13-45T00:00", "since"),
        ("/api/measurements/?since=yesterday", "since"),
    ):
        response = api.get(url)
        assert response.status_code == 400, url
        assert name in response.data


def test_a_naive_since_filter_means_utc(api: APIClient, ops_lead: Any) -> None:
    from datetime import UTC, datetime

    kpi = KPIFactory()
    for hour in (8, 10):
        Measurement.objects.create(
            kpi=kpi, timestamp=datetime(2026, 1, 1, hour, tzinfo=UTC), value=hour
        )
    api.force_authenticate(ops_lead)
    response = api.get(f"/api/measurements/?kpi={kpi.pk}&since=2026-01-01T09:00")
    assert response.status_code == 200
    rows = response.data["results"] if isinstance(response.data, dict) else response.data
    assert [row["value"] for row in rows] == [10.0]


def test_it_refuses_an_annotation_on_a_kpi_of_another_use_case(
    api: APIClient, ops_lead: Any
) -> None:
    kpi, other = KPIFactory(), KPIFactory()
    api.force_authenticate(ops_lead)
    body = {"kind": "release", "text": "v2", "starts_at": "2026-01-02T00:00:00Z",
            "kpi": kpi.pk, "use_case": other.use_case_id}  # fmt: skip
    response = api.post("/api/annotations/", body, format="json")
    assert response.status_code == 400 and "kpi" in response.data
    assert not Annotation.objects.exists()


def test_it_refuses_a_check_in_for_a_future_week(api: APIClient, ops_lead: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    kpi = KPIFactory()
    api.force_authenticate(ops_lead)
    next_week = (timezone.localdate() + timedelta(days=7)).isoformat()
    body = {"kpi": kpi.pk, "confidence": "on_track", "analysis": "Fine.", "week": next_week}
    response = api.post("/api/checkins/", body, format="json")
    assert response.status_code == 400 and "week" in response.data
    body["week"] = timezone.localdate().isoformat()
    assert api.post("/api/checkins/", body, format="json").status_code == 201


def test_the_filters_name_a_bad_id_or_state_and_match_nothing_for_an_unknown_id(
    api: APIClient, ops_lead: Any
) -> None:
    kpi = KPIFactory()
    api.force_authenticate(ops_lead)
    for url, name in (
        ("/api/kpis/?use_case=abc", "use_case"),
        ("/api/measurements/?kpi=abc", "kpi"),
        ("/api/snapshots/?kpi=1;drop", "kpi"),
        ("/api/checkins/?kpi=x", "kpi"),
        ("/api/annotations/?use_case=x", "use_case"),
        ("/api/alerts/?state=burning", "state"),
    ):
        response = api.get(url)
        assert response.status_code == 400, url
        assert list(response.data) == [name], url
    assert api.get(f"/api/kpis/?use_case={kpi.use_case_id}").data["count"] == 1
    assert api.get("/api/kpis/?use_case=999999").data["count"] == 0
    assert api.get("/api/kpis/?use_case=").data["count"] == 1


def test_a_since_date_means_utc_midnight_and_an_offset_is_respected(
    api: APIClient, ops_lead: Any
) -> None:
    from datetime import UTC, datetime

    kpi = KPIFactory()
    for day, hour in ((1, 23), (2, 0), (2, 1)):
        Measurement.objects.create(
            kpi=kpi, timestamp=datetime(2026, 1, day, hour, tzinfo=UTC), value=hour
        )
    api.force_authenticate(ops_lead)

    def values(since: str) -> list[float]:
        response = api.get("/api/measurements/", {"kpi": kpi.pk, "since": since})
        assert response.status_code == 200, response.data
        return [row["value"] for row in response.data["results"]]

    assert values("2026-01-02") == [0.0, 1.0]
    assert values("2026-01-02T01:00:00+01:00") == [0.0, 1.0]
    assert values("2026-01-02T00:30:00Z") == [1.0]
