"""No 5xx on any input: each input that once answered 500 now answers a 4xx naming the field.

Ids that are not numbers, JSON ``null`` / lists / wrong types on action endpoints, JSON
nested 1,000 deep, NUL bytes, non-finite floats, out-of-range timestamps and offsets,
CSV bodies that are not UTF-8 and 1M-character texts.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from governance.forms import SignOffForm
from kpis.forms import AnnotationForm, KPIForm
from kpis.models import Measurement
from opsai.bounds import LONG_TEXT_MAX
from tests.factories import TeamFactory
from tests.governance.factories import use_case_like, worker_for
from tests.kpis.factories import KPIFactory
from tests.usecases.factories import make_use_case
from usecases.forms import ScoreForm, UseCaseForm

pytestmark = pytest.mark.django_db

BAD_IDS = ["false", "null", "1.5", "-1", "%00", "x" * 40]


def _client(user: Any) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


def _field_error(response: Any, field: str) -> list[str]:
    """The messages of ``field`` in a 400 of the API's error shape."""
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert field in body, body
    return body[field]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_non_integer_ids_are_404_on_every_detail_route(admin_user: Any, bad: str) -> None:
    client = _client(admin_user)
    for method, url in [
        ("get", f"/api/usecases/{bad}/scores/"),
        ("patch", f"/api/usecases/{bad}/"),
        ("post", f"/api/usecases/{bad}/submit/"),
        ("post", f"/api/usecases/{bad}/move/"),
        ("get", f"/api/workers/{bad}/status/"),
        ("post", f"/api/workers/{bad}/resume/"),
        ("post", f"/api/releases/{bad}/rollback/"),
        ("get", f"/api/kpis/{bad}/"),
        ("get", f"/api/lanes/{bad}/"),
        ("post", f"/api/reviews/{bad}/sign-off/"),
        ("post", f"/api/incidents/{bad}/step/"),
    ]:
        response = getattr(client, method)(url, {}, format="json")
        assert response.status_code == 404, (method, url, response.status_code)


def test_a_worker_runtime_polling_a_non_integer_id_gets_404(admin_user: Any) -> None:
    assert _client(admin_user).get("/api/workers/null/status/").status_code == 404


@pytest.fixture
def governance_objects(admin_user: Any, product_owner: Any) -> dict[str, Any]:
    """An approved use case with a worker, a release and an open incident; ``po`` owns its team."""
    TeamFactory(name="Support", product_owner=product_owner)  # only they may resume its worker
    use_case = use_case_like("support_triage", stage="approved")
    worker = worker_for(use_case, admin_user)
    client = _client(admin_user)
    release = client.post("/api/releases/", {"worker": worker.pk, "version": "1"}).json()
    body = {"use_case": use_case.pk, "title": "T", "severity": "high", "what_happened": "x"}
    incident = client.post("/api/incidents/", body).json()
    return {"use_case": use_case, "worker": worker, "release": release, "incident": incident,
            "po": _client(product_owner)}  # fmt: skip


@pytest.mark.parametrize("body", ["null", "[]", "[1, 2]", '"text"', "3"])
def test_json_that_is_not_an_object_is_a_400_on_action_endpoints(
    admin_user: Any, governance_objects: dict[str, Any], body: str
) -> None:
    worker, release = governance_objects["worker"], governance_objects["release"]
    incident = governance_objects["incident"]
    draft = make_use_case(admin_user, submit=False)
    client = _client(admin_user)
    resume = governance_objects["po"].post(
        f"/api/workers/{worker.pk}/resume/", body, content_type="application/json"
    )
    assert resume.status_code == 400, resume.content
    for url in [
        f"/api/releases/{release['id']}/rollback/",
        f"/api/workers/{worker.pk}/pause/",
        f"/api/incidents/{incident['id']}/step/",
        f"/api/usecases/{draft.pk}/move/",
        f"/api/usecases/{draft.pk}/scores/",
        "/api/checkins/",
        "/api/annotations/",
        "/api/kpis/",
    ]:
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 400, (url, response.status_code, response.content[:200])
        assert response.json(), url


def test_wrong_types_name_the_field(admin_user: Any, governance_objects: dict[str, Any]) -> None:
    client = _client(admin_user)
    release = governance_objects["release"]
    response = client.post(
        f"/api/releases/{release['id']}/rollback/", {"note": {"a": 1}}, format="json"
    )
    assert _field_error(response, "note")
    worker = governance_objects["worker"]
    po = governance_objects["po"]
    response = po.post(f"/api/workers/{worker.pk}/resume/", {"note": [1]}, format="json")
    assert _field_error(response, "note")
    response = client.post(f"/api/workers/{worker.pk}/pause/", {"reason": None}, format="json")
    assert _field_error(response, "reason")


def test_json_nested_1000_deep_is_a_400(admin_user: Any) -> None:
    body = "[" * 1000 + "]" * 1000
    response = _client(admin_user).post("/api/kpis/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested more than" in response.json()["detail"]
    deep_object = '{"a":' * 100 + "1" + "}" * 100
    response = _client(admin_user).post(
        "/api/measurements/", deep_object, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested more than" in response.json()["detail"]


def test_a_nul_byte_in_a_query_parameter_is_a_400_naming_it(admin_user: Any) -> None:
    client = _client(admin_user)
    for url, field in [
        ("/api/alerts/?state=%00", "state"),
        ("/api/usecases/?stage=%00", "stage"),
        ("/api/audit-events/?action=a%00b", "action"),
        ("/api/measurements/?since=2024-01-01%00", "since"),
    ]:
        messages = _field_error(client.get(url), field)
        assert messages, url


def test_a_nul_byte_in_a_text_field_is_a_400_naming_it(admin_user: Any) -> None:
    kpi = KPIFactory()
    response = _client(admin_user).post(
        "/api/checkins/",
        {"kpi": kpi.pk, "confidence": "green", "analysis": "a\x00b"},
        format="json",
    )
    assert "Null characters are not allowed." in _field_error(response, "analysis")


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1e16"])
def test_a_float_out_of_range_is_a_400_naming_it(admin_user: Any, number: str) -> None:
    kpi = KPIFactory()
    body = f'{{"target_value": {number}}}'
    response = _client(admin_user).patch(
        f"/api/kpis/{kpi.pk}/", body, content_type="application/json"
    )
    (message,) = _field_error(response, "target_value")
    assert "finite" in message or "between" in message
    kpi.refresh_from_db()
    assert kpi.target_value is None


@pytest.mark.parametrize(
    "timestamp",
    ["0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59Z", "9999-12-31T23:59:59-14:00"],
)
def test_measurement_timestamps_outside_the_window_are_refused(
    admin_user: Any, timestamp: str
) -> None:
    kpi = KPIFactory()
    rows = [{"kpi": kpi.pk, "timestamp": timestamp, "value": 1}]
    response = _client(admin_user).post("/api/measurements/", rows, format="json")
    assert response.status_code == 400, response.content
    (error,) = response.json()["errors"]
    assert error["line"] == 1 and "timestamp" in error["reason"]
    assert not Measurement.objects.filter(kpi=kpi).exists()


def test_measurement_timestamps_are_stored_in_utc(admin_user: Any) -> None:
    kpi = KPIFactory()
    rows = [{"kpi": kpi.pk, "timestamp": "2024-03-01T10:00:00+05:30", "value": 1}]
    assert _client(admin_user).post("/api/measurements/", rows, format="json").status_code == 201
    stored = Measurement.objects.get(kpi=kpi).timestamp
    assert stored.isoformat() == "2024-03-01T04:30:00+00:00"


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/audit-events/?occurred_after=2024-01-01T00:00:00%2B21:36", "occurred_after"),
        ("/api/audit-events/?occurred_before=0001-01-01T00:00:00%2B14:00", "occurred_before"),
        ("/api/measurements/?since=0001-01-01T00:00:00%2B14:00", "since"),
        ("/api/measurements/?since=2024-01-01T00:00:00%2B99:00", "since"),
        ("/api/audit-events/?date_to=9999-12-31", "date_to"),
        ("/api/audit-events/?date_from=0001-01-01", "date_from"),
    ],
)
def test_filters_with_odd_offsets_or_years_are_a_400(admin_user: Any, url: str, field: str) -> None:
    assert _field_error(_client(admin_user).get(url), field)


def test_an_annotation_dated_year_one_is_refused(admin_user: Any) -> None:
    use_case = make_use_case(admin_user)
    body = {"kind": "release", "text": "v1", "starts_at": "0001-01-01T00:00:00+14:00",
            "use_case": use_case.pk}  # fmt: skip
    response = _client(admin_user).post("/api/annotations/", body, format="json")
    assert _field_error(response, "starts_at")


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_a_csv_body_that_is_not_utf8_is_a_400_naming_the_encoding(
    admin_user: Any, encoding: str
) -> None:
    kpi = KPIFactory(name="Café")
    text = f"kpi,timestamp,value\n{kpi.pk},2024-01-01,1\nCafé,2024-01-02,2\n"
    response = _client(admin_user).post(
        "/api/measurements/", text.encode(encoding), content_type="text/csv"
    )
    assert response.status_code == 400
    assert "not UTF-8" in response.json()["detail"]


def test_a_million_character_text_is_refused_naming_the_field(
    admin_user: Any, governance_objects: dict[str, Any]
) -> None:
    huge = "x" * 1_000_000
    client = _client(admin_user)
    use_case = governance_objects["use_case"]
    draft = make_use_case(admin_user, submit=False)
    checks = [
        (client.patch(f"/api/usecases/{draft.pk}/", {"problem": huge}, format="json"), "problem"),
        (
            client.post(
                "/api/incidents/",
                {"use_case": use_case.pk, "title": "T", "severity": "high", "what_happened": huge},
                format="json",
            ),
            "what_happened",
        ),
        (
            client.post(
                f"/api/releases/{governance_objects['release']['id']}/rollback/",
                {"notes": huge},
                format="json",
            ),
            "notes",
        ),
    ]
    for response, field in checks:
        (message,) = _field_error(response, field)
        assert f"{LONG_TEXT_MAX:,}" in message or str(LONG_TEXT_MAX) in message, message


def test_page_urls_take_only_integer_ids(admin_user: Any) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    for url in ["/usecases/null/", "/kpis/false/", "/governance/workers/null/"]:
        assert client.get(url).status_code == 404, url


# --- Pages and uploads ---------------------------------------------------------------------


def test_page_forms_cap_long_text_and_bound_floats(admin_user: Any) -> None:
    use_case = make_use_case(admin_user)
    huge = "x" * (LONG_TEXT_MAX + 1)
    intake = UseCaseForm(data={"title": "T", "problem": huge})
    assert not intake.is_valid()
    assert f"at most {LONG_TEXT_MAX}" in intake.errors["problem"][0]
    score = ScoreForm(data={"value_rationale": huge})
    assert not score.is_valid() and "value_rationale" in score.errors
    assert f"at most {LONG_TEXT_MAX}" in score.errors["value_rationale"][0]
    kpi = KPIForm(data={"target_value": "1e16", "baseline_value": "-1e16"}, use_case=use_case)
    assert not kpi.is_valid()
    assert "less than or equal to" in kpi.errors["target_value"][0]
    assert "greater than or equal to" in kpi.errors["baseline_value"][0]


def test_a_million_character_comment_on_a_page_form_is_refused() -> None:
    form = SignOffForm(data={"decision": "approved", "comment": "x" * 1_000_000})
    assert not form.is_valid()
    assert "comment" in form.errors


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_uploads_that_are_not_utf8_name_the_encoding(admin_user: Any, encoding: str) -> None:
    kpi = KPIFactory()
    text = f"kpi,timestamp,value\n{kpi.pk},2024-01-01,1\n{kpi.pk},2024-01-02,2 café\n"
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    upload = SimpleUploadedFile("m.csv", text.encode(encoding))
    response = client.post(reverse("kpis:data"), {"action": "upload", "file": upload})
    assert response.status_code in (200, 400)
    assert "not UTF-8" in response.content.decode()
    api = _client(admin_user)
    content = "title,team\nCafé,Support\n".encode(encoding)
    upload = SimpleUploadedFile("u.csv", content)
    response = api.post("/api/usecases/import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert "UTF-8" in str(response.json())


@pytest.mark.parametrize(("starts_at", "why"), [("0001-01-01 00:00", "before 1970-01-01"),
                                                ("2300-01-01 00:00", "too far ahead")])  # fmt: skip
def test_a_page_form_refuses_a_date_time_outside_the_window(starts_at: str, why: str) -> None:
    form = AnnotationForm(data={"kind": "release", "text": "v1", "starts_at": starts_at})
    assert not form.is_valid()
    assert form.errors["starts_at"] == [f"This date-time is {why}."]


def test_a_volume_past_its_bound_is_a_400_and_the_largest_allowed_keeps_every_list_working(
    admin_user: Any, ops_lead: Any
) -> None:
    """Found by schemathesis: 2,147,483,646 cases a week was saved, then every use-case
    list answered 500 (the value estimate overflowed an integer in PostgreSQL)."""
    client = _client(ops_lead)
    body = {"title": "Huge", "team": TeamFactory().name, "cases_per_week": 2_147_483_646,
            "minutes_per_case": "999999.9"}  # fmt: skip
    response = client.post("/api/usecases/", body, format="json")
    assert "1000000" in " ".join(_field_error(response, "cases_per_week")).replace(",", "")
    assert _field_error(response, "minutes_per_case")
    use_case = make_use_case(ops_lead)
    # A row from before the bound (the migration clamps them; the query must hold anyway).
    use_case.__class__.objects.filter(pk=use_case.pk).update(
        cases_per_week=2_147_483_646, minutes_per_case="10080", expected_automation_share="1"
    )
    use_case.team.__class__.objects.filter(pk=use_case.team_id).update(hourly_cost="999999.99")
    for path in ("/api/usecases/", f"/api/usecases/{use_case.pk}/"):
        assert _client(admin_user).get(path).status_code == 200, path
    page = Client(raise_request_exception=False)
    page.force_login(admin_user)
    for path in ("/usecases/", "/usecases/?export=csv", "/kpis/portfolio/"):
        assert page.get(path).status_code == 200, path
