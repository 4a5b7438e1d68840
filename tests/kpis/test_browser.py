"""An executive, new to opsai, finds out from the demo data whether the business moved."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_executive_drills_from_the_portfolio_into_a_business_kpi_moving_against_its_baseline(
    page: Any, live_server: Any, sign_in: Any
) -> None:
    """GIVEN the demo data (stacks, 180 days of values, a go-live 90 days ago, a refresh)
    WHEN the executive opens the portfolio dashboard and follows a mover to its use case
    THEN the use case's business KPI shows its latest value against its baseline and the stack."""
    from opsai.demo import DEMO_PASSWORD, demo_load

    demo_load()
    sign_in(page, "exec", password=DEMO_PASSWORD)

    # An executive's home is the portfolio dashboard.
    expect(page).to_have_url(f"{live_server.url}/kpis/portfolio/")

    expect(page.get_by_role("heading", name="Did the business move?")).to_be_visible()
    expect(page.get_by_test_id("as-of")).to_contain_text("KPI snapshots as of")
    expect(page.get_by_test_id("as-of")).not_to_contain_text("Stale")
    expect(page.get_by_role("heading", name="Value realised vs estimated")).to_be_visible()
    expect(page.locator("[data-figure='value-figure'] .main-svg").first).to_be_visible()
    expect(page.get_by_test_id("count-on_track")).not_to_have_text("0")
    # Marketing's pilot has not moved its business KPI — but it is still an idea in the demo,
    # so the purgatory list only names pilots; the movers name the use cases that moved.
    movers_up = page.get_by_role("region", name="Biggest movers up (30 days)")
    expect(movers_up).to_contain_text("Support triage")

    movers_up.get_by_role("link", name="Support triage").click()

    expect(page.get_by_role("heading", name="Support triage", level=1)).to_be_visible()
    outcome = page.get_by_test_id("business-outcome")
    expect(outcome).to_contain_text("Cost to serve per ticket")
    expect(page.get_by_test_id("business-baseline")).to_have_text(re.compile(r"^4\.\d\d GBP$"))
    expect(page.get_by_test_id("business-change")).to_have_text(
        re.compile(r"^-0\.\d\d \(-1\d\.\d%\)$")
    )
    expect(outcome).to_contain_text("a year at the current rate")
    nodes = page.get_by_test_id("kpi-node")
    expect(nodes).to_have_count(4)
    expect(nodes.first).to_contain_text("Business KPI")
    expect(nodes.first.locator(".main-svg").first).to_be_visible()  # its sparkline, drawn locally
    expect(nodes.first.locator("[data-status]").first).to_have_attribute("data-status", "on_track")
    # The release marker from the go-live is on the chart.
    expect(nodes.first.locator(".annotation-text", has_text="Release").first).to_be_visible()


def test_an_ops_lead_uploads_a_csv_with_a_bad_row_and_is_told_which(
    page: Any, live_server: Any, sign_in: Any, make_user: Any, tmp_path: Any
) -> None:
    from kpis.models import Measurement
    from tests.kpis.factories import KPIFactory

    olivia = make_user("Ops lead", username="olivia")
    kpi = KPIFactory(name="Cash collected", use_case__owner=olivia)  # her team's KPI
    upload = tmp_path / "values.csv"
    upload.write_text(f"kpi,timestamp,value\n{kpi.pk},2026-01-01,10\n{kpi.pk},2026-01-02,ten\n")
    sign_in(page, "olivia")
    page.get_by_role("link", name="Data").click()
    page.get_by_label("File:").set_input_files(str(upload))
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(page.get_by_test_id("batch")).to_contain_text("value 'ten' is not a number")
    expect(page.get_by_test_id("batch").locator("td").first).to_have_text("3")
    assert Measurement.objects.count() == 0


@pytest.mark.celery
def test_a_large_upload_shows_its_progress_until_the_worker_saves_it(
    page: Any, live_server: Any, sign_in: Any, make_user: Any, tmp_path: Any, celery_worker: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.kpis.factories import KPIFactory

    olivia = make_user("Ops lead", username="olivia")
    kpi = KPIFactory(use_case__owner=olivia)  # her team's KPI
    start = datetime(2020, 1, 1, tzinfo=UTC)
    upload = tmp_path / "big.csv"
    upload.write_text(
        "kpi,timestamp,value\n"
        + "\n".join(
            f"{kpi.pk},{(start + timedelta(hours=i)).isoformat()},{i}" for i in range(15_000)
        )
    )
    sign_in(page, "olivia")
    page.goto(f"{live_server.url}/kpis/data/")
    page.get_by_label("File:").set_input_files(str(upload))
    page.get_by_role("button", name="Upload").click()

    batch = page.get_by_test_id("batch")
    expect(batch).to_have_attribute("data-status", re.compile("queued|running|saved"))
    expect(batch).to_contain_text("Saved 15,000 measurements", timeout=60_000)
    assert kpi.measurements.count() == 15_000
