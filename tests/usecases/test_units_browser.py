"""An admin, as a new user would, shapes the organisation tree and reads the portfolio by unit."""

import pytest
from playwright.sync_api import expect

from tests.usecases.factories import make_use_case
from usecases.demo import demo_units

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_adds_and_moves_a_unit_and_filters_the_portfolio_by_department(
    page, live_server, sign_in, make_user
):
    """GIVEN the demo's three-level organisation and a use case of Finance,
    WHEN an admin adds a Collections unit under Finance, moves Finance into Customer
    operations and picks Customer operations in the portfolio's unit filter,
    THEN the use case is listed with its new path, and the units page rolls it up."""
    admin = make_user("Admin", username="ada")
    units = demo_units(actor=admin)
    make_use_case(admin, "collections_outreach", team=units["Finance"], title="Chase invoices")

    sign_in(page, "ada")
    page.goto(f"{live_server.url}/usecases/teams/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Organisation units")
    add = page.get_by_role("form", name="Add a unit")
    add.get_by_label("Name").fill("Collections")
    add.get_by_label("Inside").select_option(label="Northwind › Finance & supply › Finance")
    add.get_by_role("button", name="Add the unit").click()
    expect(
        page.get_by_text("Northwind › Finance & supply › Finance › Collections added.")
    ).to_be_visible()

    move = page.get_by_role("form", name="Rename or move a unit")
    move.get_by_label("Unit").select_option(label="Northwind › Finance & supply › Finance")
    move.get_by_label("Keep where it is").uncheck()
    move.get_by_label("Move inside").select_option(label="Northwind › Customer operations")
    move.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved: Northwind › Customer operations › Finance.")).to_be_visible()
    row = page.locator('tr[data-unit="Northwind › Customer operations"]')
    expect(row.locator("td").nth(3)).to_have_text("1")
    expect(page.locator('tr[data-unit="Northwind › Finance & supply"] td').nth(3)).to_have_text("0")

    page.goto(f"{live_server.url}/usecases/")
    page.get_by_label("Unit", exact=True).select_option(label="Northwind › Customer operations")
    results = page.locator("#portfolio-results")
    expect(results.get_by_role("link", name="Chase invoices")).to_be_visible()
    expect(
        results.get_by_text("Northwind › Customer operations › Finance", exact=True)
    ).to_be_visible()
    page.get_by_label("Unit", exact=True).select_option(label="Northwind › People & technology")
    expect(results.get_by_role("link", name="Chase invoices")).to_have_count(0)
