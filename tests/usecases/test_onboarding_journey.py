"""An admin onboards an existing inventory in Chromium, as a new user would (issue 10's journey).

A generated register of 1,500 use cases in another tool's columns ("Use Case Name",
"Agency" › "Bureau" › "Office", "Stage of Development", "Rights-Impacting", "EU AI Act
risk class", …) is uploaded, its proposed mapping confirmed, the import followed on its
progress bar to the end (a real Celery worker runs it), and the result read where
people read it: deployed rows in production with their open obligations, the
organisation tree in the filters, high-risk rows in Reviewed or stricter. The same file
uploaded again updates the use cases it made instead of adding them twice.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from governance.choices import Lane
from governance.models import LaneAssignment
from scripts.inventory import generate_inventory, inventory_rows
from usecases.choices import Stage
from usecases.models import UseCase

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = 1_500  # past the size the request checks itself: the worker checks and imports
SOURCE = "Federal AI inventory"


def _upload(page: Page, base: str, path: Path) -> None:
    """From the portfolio, the way a person finds it, to the mapping page of a new upload."""
    page.goto(f"{base}/usecases/")
    page.get_by_role("link", name="Onboard an inventory").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Onboard an existing inventory")
    page.get_by_label("Source").fill(SOURCE)
    page.get_by_label("Inventory file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and map columns").click()
    expect(page.get_by_test_id("onboarding-mapping")).to_be_visible(timeout=60_000)


def _import_and_watch(page: Page) -> None:
    """Check the rows, confirm the preview, and follow the progress bar until it is done."""
    page.get_by_role("button", name="Check the rows").click()
    # The worker checks a file this size: the progress bar shows, then the preview.
    preview = page.get_by_test_id("onboarding-preview")
    expect(preview.or_(page.get_by_role("progressbar"))).to_be_visible(timeout=60_000)
    expect(preview).to_be_visible(timeout=120_000)
    page.get_by_role("button", name=re.compile(r"^Import [\d,]+ rows?$")).click()
    expect(page.get_by_role("progressbar")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("onboarding-done")).to_be_visible(timeout=180_000)


def _expected(rows: list[list[str]], header: list[str], column: str, *values: str) -> int:
    at = header.index(column)
    return sum(1 for row in rows if row[at] in values)


def test_an_admin_onboards_an_inventory_and_finds_it_in_opsai(
    page: Page, live_server: Any, sign_in: Any, make_user: Any, celery_worker: Any, tmp_path: Path
) -> None:
    """GIVEN an admin and another tool's inventory of 1,500 use cases over three levels
    WHEN they upload it, confirm the proposed mapping and watch the import
    THEN the deployed rows are in production, registered as found, with their open
    obligations; the agencies, bureaus and offices are units in the filters; every
    high-risk row is Reviewed or stricter; and a second upload updates, never duplicates."""
    make_user("Admin", username="ada")
    path = generate_inventory(ROWS, tmp_path / "ai-inventory.csv")
    header, rows = inventory_rows(ROWS)
    deployed = _expected(rows, header, "Stage of Development", "Operation and Maintenance")
    retired = _expected(rows, header, "Stage of Development", "Retired")
    high_risk = _expected(rows, header, "EU AI Act risk class", "High risk")
    assert deployed and retired and high_risk  # the file holds what the journey looks for

    sign_in(page, "ada")
    _upload(page, live_server.url, path)

    # The proposed mapping reads the foreign columns without help.
    proposed = {
        "Use Case Name": "title",
        "Agency": "unit_1",
        "Bureau": "unit_2",
        "Office": "unit_3",
        "Stage of Development": "stage",
        "Use Case ID": "source_id",
        "Contact email": "contact_email",
    }
    for column, target in proposed.items():
        expect(page.get_by_label(column, exact=True)).to_have_value(target)
    stage_values = page.get_by_test_id("values-stage")
    expect(stage_values.get_by_label("Operation and Maintenance")).to_have_value("production")
    expect(stage_values.get_by_label("Retired")).to_have_value("retired")
    page.get_by_label("Create missing organisation units").check()
    expect(page.get_by_label("Register at their real stage (as found)")).to_be_checked()
    _import_and_watch(page)
    expect(page.get_by_test_id("onboarding-done")).to_contain_text(f"{ROWS} created")

    imported = UseCase.objects.filter(source=SOURCE)
    assert imported.count() == ROWS
    assert imported.filter(stage=Stage.PRODUCTION).count() == deployed
    assert imported.filter(stage=Stage.RETIRED).count() == retired

    # The portfolio says what the production use cases owe, and filters by the new tree.
    page.get_by_role("link", name="Go to the portfolio").click()
    page.get_by_label("Stage").select_option("production")
    page.get_by_role("button", name="Filter").click()
    summary = page.get_by_test_id("obligations-summary")
    expect(summary).to_contain_text(f"{deployed:,} production use cases have no business KPI")
    unit = page.get_by_label("Unit", exact=True)
    expect(unit.locator("option", has_text="Treasury › Operations › North")).to_have_count(1)
    unit.select_option(label="Treasury")
    page.get_by_role("button", name="Filter").click()
    table = page.get_by_test_id("portfolio-table")
    expect(table).to_contain_text("Treasury › ")
    expect(table).not_to_contain_text("Health › ")

    # A deployed use case's page: registered as found, and the gates it skipped as obligations.
    table.get_by_role("link", name=re.compile(r"^Inventory use case \d+$")).first.click()
    obligations = page.get_by_test_id("open-obligations")
    expect(obligations).to_contain_text("registered as found from")
    expect(obligations.locator('[data-obligation="kpis.business_kpi"]')).to_be_visible()
    expect(obligations.get_by_role("link").first).to_be_visible()

    # Every high-risk row landed in Reviewed or stricter; the page of one says so.
    high = imported.filter(risk_class="high")
    assert high.count() == high_risk
    lanes = set(LaneAssignment.objects.filter(use_case__in=high).values_list("lane", flat=True))
    assert lanes and lanes <= {Lane.REVIEWED, Lane.PROHIBITED}
    assert LaneAssignment.objects.filter(use_case__in=high).count() == high_risk
    one = high.filter(stage=Stage.PRODUCTION).first()
    page.goto(f"{live_server.url}/governance/usecases/{one.pk}/")
    expect(page.get_by_test_id("lane-reason")).to_contain_text("High risk")

    # The same file again: the saved mapping is offered, and every row is an update.
    _upload(page, live_server.url, path)
    expect(page.get_by_test_id("onboarding-mapping")).to_contain_text(
        f"The mapping saved for {SOURCE} is filled in."
    )
    _import_and_watch(page)
    expect(page.get_by_test_id("onboarding-done")).to_contain_text("0 created")
    assert UseCase.objects.filter(source=SOURCE).count() == ROWS
