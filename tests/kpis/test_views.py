"""KPI pages: who may see and change what, what they show, and pinned query counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from kpis.models import Alert, Annotation, CheckIn, Measurement
from kpis.snapshots import snapshots_refresh
from tests.factories import UseCaseFactory
from tests.kpis.factories import KPIFactory, MeasurementFactory

pytestmark = pytest.mark.django_db


def stack(n_use_cases: int = 1) -> list[Any]:
    """Use cases with a four-level KPI stack, 30 days of values each, refreshed."""
    stacks = []
    today = timezone.now().astimezone(UTC).date()
    for _ in range(n_use_cases):
        use_case = UseCaseFactory(value_bucket="cost", cases_per_week=100, minutes_per_case=6,
                                  expected_automation_share=0.5)  # fmt: skip
        parent = None
        for level in ("business", "operational", "leading", "model"):
            parent = KPIFactory(use_case=use_case, level=level, parent=parent, baseline_value=10.0,
                                value_per_unit=100 if level == "business" else None)  # fmt: skip
            for days in range(30):
                MeasurementFactory(kpi=parent, value=10.0 + days / 10,
                                   timestamp=datetime.combine(today - timedelta(days=29 - days), datetime.min.time(), tzinfo=UTC))  # fmt: skip
        stacks.append(use_case)
    snapshots_refresh()
    return stacks


PAGES = ["kpis:portfolio", "kpis:index", "kpis:data", "kpis:review"]


@pytest.mark.parametrize("name", PAGES)
def test_it_shows_each_page_to_an_executive_and_refuses_a_user_without_a_role(
    client: Any, executive: Any, roleless_user: Any, name: str
) -> None:
    stack()
    client.force_login(roleless_user)
    assert client.get(reverse(name)).status_code == 403
    client.force_login(executive)
    assert client.get(reverse(name)).status_code == 200


def test_it_shows_the_use_case_stack_with_the_business_kpi_against_its_baseline(
    client: Any, executive: Any, roleless_user: Any
) -> None:
    use_case = stack()[0]
    url = reverse("kpis:usecase", args=[use_case.pk])
    client.force_login(roleless_user)
    assert client.get(url).status_code == 403
    client.force_login(executive)
    response = client.get(url)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="business-baseline">10.00' in body
    assert len(response.context["nodes"]) == 4
    assert "plotly.min.js" in body and "cdn" not in body.lower()


def test_it_hides_a_vanity_metric_from_the_stack(client: Any, executive: Any) -> None:
    use_case = UseCaseFactory()
    KPIFactory(use_case=use_case, level="business")
    KPIFactory(use_case=use_case, level="model", name="Token count")  # no business KPI above it
    client.force_login(executive)
    response = client.get(reverse("kpis:usecase", args=[use_case.pk]))
    assert "Token count" not in [node.kpi.name for node in response.context["nodes"]]
    assert "Vanity metric" in response.content.decode()


def test_alerts_on_a_vanity_metric_stay_off_the_executive_pages(
    client: Any, executive: Any
) -> None:
    use_case = UseCaseFactory()
    business = KPIFactory(use_case=use_case, level="business", name="Cash collected")
    vanity = KPIFactory(use_case=use_case, level="model", name="Token count")
    fired = timezone.now()
    for kpi in (business, vanity):
        Alert.objects.create(kpi=kpi, reason="off_track", state="firing",
                             last_as_of=fired.date(), fired_at=fired)  # fmt: skip
    client.force_login(executive)
    for url in (reverse("kpis:portfolio"), reverse("kpis:review")):
        body = client.get(url).content.decode()
        assert "Cash collected" in body and "Token count" not in body, url


def test_the_dashboards_query_count_does_not_grow_with_the_portfolio(
    client: Any, executive: Any, django_assert_max_num_queries: Any
) -> None:
    use_cases = stack(2)
    client.force_login(executive)
    # 14 for the dashboard, 3 for its "needs a decision" strip's counts (opsai.needs).
    with django_assert_max_num_queries(17) as small:
        client.get(reverse("kpis:portfolio"))
    with django_assert_max_num_queries(12):
        client.get(reverse("kpis:usecase", args=[use_cases[0].pk]))
    stack(5)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("kpis:portfolio"))
    with django_assert_max_num_queries(12):
        client.get(reverse("kpis:usecase", args=[use_cases[0].pk]))


def test_it_warns_when_snapshots_are_stale(client: Any, executive: Any) -> None:
    client.force_login(executive)
    body = client.get(reverse("kpis:portfolio")).content.decode()
    assert "never been refreshed" in body and "Stale" in body


def test_it_lets_an_ops_lead_upload_and_shows_the_bad_row(client: Any, ops_lead: Any) -> None:
    kpi = KPIFactory()
    client.force_login(ops_lead)
    upload = SimpleUploadedFile("v.csv", f"kpi,timestamp,value\n{kpi.pk},2026-01-01,x\n".encode())
    response = client.post(reverse("kpis:data"), {"action": "upload", "file": upload})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was saved" in body and "value &#x27;x&#x27; is not a number" in body
    assert Measurement.objects.count() == 0


def test_a_file_with_only_a_header_says_so_and_a_huge_one_says_which_errors_are_listed(
    client: Any, ops_lead: Any
) -> None:
    client.force_login(ops_lead)
    upload = SimpleUploadedFile("empty.csv", b"kpi,timestamp,value\n")
    body = client.post(reverse("kpis:data"), {"action": "upload", "file": upload}).content.decode()
    assert "there were no rows to import below the header" in body
    assert "0 rows are bad" not in body

    rows = "".join(f"999999,2026-01-01,{i}\n" for i in range(600))
    upload = SimpleUploadedFile("bad.csv", f"kpi,timestamp,value\n{rows}".encode())
    body = client.post(reverse("kpis:data"), {"action": "upload", "file": upload}).content.decode()
    assert "600 rows are bad" in body and "The first 500 are listed." in body
    assert Measurement.objects.count() == 0


def test_it_saves_a_value_from_the_form(client: Any, ops_lead: Any) -> None:
    kpi = KPIFactory()
    client.force_login(ops_lead)
    response = client.post(
        reverse("kpis:data"),
        {"action": "measure", "kpi": kpi.pk, "timestamp": "2026-01-01T10:00", "value": "4.5"},
    )
    assert response.status_code == 302
    assert kpi.measurements.get().value == 4.5


def test_it_refuses_ingest_to_an_executive(client: Any, executive: Any) -> None:
    kpi = KPIFactory()
    client.force_login(executive)
    response = client.post(
        reverse("kpis:data"),
        {"action": "measure", "kpi": kpi.pk, "timestamp": "2026-01-01T10:00", "value": "4.5"},
    )
    assert response.status_code == 403
    assert Measurement.objects.count() == 0


def test_the_owner_checks_in_beside_the_computed_status(
    client: Any, make_user: Any, executive: Any
) -> None:
    owner = make_user("Product owner", username="kowner")
    kpi = KPIFactory(owner=owner)
    url = reverse("kpis:kpi", args=[kpi.pk])
    client.force_login(executive)
    assert client.post(url, {"confidence": "at_risk", "analysis": "x"}).status_code == 403
    client.force_login(owner)
    response = client.post(url, {"confidence": "at_risk", "analysis": "Volumes are seasonal"})
    assert response.status_code == 302
    assert CheckIn.objects.get(kpi=kpi).confidence == "at_risk"
    assert "Volumes are seasonal" in client.get(url).content.decode()


def test_it_edits_a_kpi_definition(client: Any, ops_lead: Any, executive: Any) -> None:
    kpi = KPIFactory(name="Cash")
    url = reverse("kpis:kpi_edit", args=[kpi.pk])
    client.force_login(executive)
    assert client.get(url).status_code == 403
    client.force_login(ops_lead)
    data = {"name": "Cash collected", "level": "business", "unit": "GBP", "direction": "up",
            "cadence": "daily", "source": "manual", "alert_after_snapshots": 2,
            "target_type": "at_least", "target_value": ""}  # fmt: skip
    response = client.post(url, data)
    assert "A target type needs a target value." in response.content.decode()
    data["target_value"] = "100"
    assert client.post(url, data).status_code == 302
    kpi.refresh_from_db()
    assert (kpi.name, kpi.target_value) == ("Cash collected", 100.0)


def test_it_adds_an_annotation_from_the_use_case_page(
    client: Any, ops_lead: Any, executive: Any
) -> None:
    use_case = UseCaseFactory()
    data = {
        "use_case": use_case.pk,
        "kind": "release",
        "text": "v3",
        "starts_at": "2026-01-01T09:00",
    }
    client.force_login(executive)
    assert client.post(reverse("kpis:annotation_add"), data).status_code == 403
    client.force_login(ops_lead)
    assert client.post(reverse("kpis:annotation_add"), data).status_code == 302
    assert Annotation.objects.get().use_case == use_case


def test_the_weekly_review_shows_what_moved(client: Any, executive: Any) -> None:
    kpi = KPIFactory(name="Cash collected", baseline_value=100.0)
    monday = date(2026, 3, 2)
    for day, value in ((monday - timedelta(days=1), 100.0), (monday + timedelta(days=3), 130.0)):
        MeasurementFactory(
            kpi=kpi, timestamp=datetime.combine(day, datetime.min.time(), tzinfo=UTC), value=value
        )
        snapshots_refresh(as_of=day)
    client.force_login(executive)
    body = client.get(reverse("kpis:review_week", args=["2026-03-04"])).content.decode()
    assert "week of 2 Mar 2026" in body and "Cash collected" in body and "+30.00" in body


def test_the_weekly_review_tells_which_data_was_stale_that_week() -> None:
    from kpis.review import weekly_review

    kpi = KPIFactory(name="Cash collected", baseline_value=100.0, cadence="daily")
    monday = date(2026, 3, 2)
    MeasurementFactory(kpi=kpi, timestamp=datetime(2026, 3, 3, tzinfo=UTC), value=100.0)
    snapshots_refresh(as_of=monday + timedelta(days=3))
    snapshots_refresh()  # today: nothing for months, so no data now

    assert weekly_review(week=monday)["stale"] == []
    assert weekly_review()["stale"] == [kpi]


def test_the_weekly_review_tells_each_slip_once_per_kpi_and_reason(
    client: Any, executive: Any
) -> None:
    kpi = KPIFactory(name="Content cost per asset", baseline_value=100.0)
    monday = date(2026, 3, 2)

    def fired(day: int, hour: int, state: str, reason: str = "off_track") -> None:
        Alert.objects.create(kpi=kpi, reason=reason, state=state, last_as_of=monday,
                             fired_at=datetime(2026, 3, day, hour, tzinfo=UTC))  # fmt: skip

    # It fired, recovered and fired again (two Alert rows, one slip), and crossed its guardrail.
    fired(3, 9, "resolved")
    fired(4, 9, "firing")
    fired(4, 10, "resolved", reason="guardrail")
    client.force_login(executive)
    body = client.get(reverse("kpis:review_week", args=["2026-03-04"])).content.decode()

    slipped = body[body.index("What slipped") : body.index("Stale data")]
    assert slipped.count("Content cost per asset") == 1
    assert "alert “off track” fired 2 times (first 3 Mar 2026), still firing" in slipped
    assert "alert “guardrail crossed” fired 4 Mar 2026, since recovered" in slipped


def test_a_week_at_the_edge_of_the_calendar_is_a_404_not_an_error(
    client: Any, executive: Any
) -> None:
    client.force_login(executive)
    for week in ("0001-01-01", "9999-12-31"):
        assert client.get(reverse("kpis:review_week", args=[week])).status_code == 404


def test_a_tampered_annotation_target_is_a_404_not_an_error(client: Any, ops_lead: Any) -> None:
    client.force_login(ops_lead)
    data = {"kind": "note", "text": "x", "starts_at": "2026-01-01T09:00"}
    for target in ({"use_case": "abc"}, {"kpi": "1x"}, {"kpi": "999999"}):
        assert client.post(reverse("kpis:annotation_add"), {**data, **target}).status_code == 404
    assert not Annotation.objects.exists()


def test_the_other_pages_run_a_fixed_number_of_queries(
    client: Any, executive: Any, django_assert_max_num_queries: Any
) -> None:
    use_cases = stack(3)
    kpi = use_cases[0].kpis.order_by("pk").first()
    client.force_login(executive)
    for url, most in (
        (reverse("kpis:index"), 8),
        (reverse("kpis:kpi", args=[kpi.pk]), 14),
        (reverse("kpis:review"), 12),
        (reverse("kpis:data"), 9),
    ):
        with django_assert_max_num_queries(most):
            assert client.get(url).status_code == 200


def test_it_adds_an_annotation_from_the_kpi_page(client: Any, ops_lead: Any) -> None:
    kpi = KPIFactory()
    client.force_login(ops_lead)
    page = client.get(reverse("kpis:kpi", args=[kpi.pk])).content.decode()
    assert page.count("Add a marker to this chart") == 1
    assert f"<title>{kpi.name} · opsai</title>" in page
    data = {"kpi": kpi.pk, "kind": "incident", "text": "Outage", "starts_at": "2026-01-01T09:00",
            "ends_at": "2026-01-01T08:00"}  # fmt: skip
    client.post(reverse("kpis:annotation_add"), data)
    assert not Annotation.objects.exists()  # ends before it starts: refused, nothing saved
    data["ends_at"] = "2026-01-01T12:00"
    response = client.post(reverse("kpis:annotation_add"), data)
    assert response.url == reverse("kpis:kpi", args=[kpi.pk])
    annotation = Annotation.objects.get()
    assert (annotation.kpi, annotation.use_case) == (kpi, kpi.use_case)


def test_every_kpi_page_refuses_a_user_without_a_role(client: Any, roleless_user: Any) -> None:
    from kpis.models import IngestBatch

    kpi = KPIFactory()
    batch = IngestBatch.objects.create(source="api")
    client.force_login(roleless_user)
    urls = [
        reverse("kpis:kpi", args=[kpi.pk]),
        reverse("kpis:kpi_edit", args=[kpi.pk]),
        reverse("kpis:kpi_add", args=[kpi.use_case_id]),
        reverse("kpis:usecase", args=[kpi.use_case_id]),
        reverse("kpis:batch", args=[batch.pk]),
        reverse("kpis:review_week", args=["2026-03-02"]),
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("kpis:annotation_add"), {"kind": "note"}).status_code == 403


def test_the_kpi_list_flags_vanity_metrics_and_hides_them_from_executives(
    client: Any, ops_lead: Any, executive: Any
) -> None:
    use_case = UseCaseFactory()
    business = KPIFactory(use_case=use_case, level="business", name="Cash collected")
    leading = KPIFactory(use_case=use_case, level="leading", parent=business, name="Contacted")
    KPIFactory(use_case=use_case, level="model", parent=leading, name="Draft acceptance")
    KPIFactory(use_case=use_case, level="model", name="Tokens per day")
    client.force_login(ops_lead)
    rows = {kpi.name: kpi.vanity for kpi in client.get(reverse("kpis:index")).context["kpis"]}
    assert rows == {
        "Cash collected": False,
        "Contacted": False,
        "Draft acceptance": False,
        "Tokens per day": True,
    }
    client.force_login(executive)
    names = [kpi.name for kpi in client.get(reverse("kpis:index")).context["kpis"]]
    assert "Tokens per day" not in names and "Draft acceptance" in names
