"""A person signs in with the real Chromium and sees the home page."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_signs_in_and_sees_the_home_page(page, live_server, sign_in, make_user):
    make_user("Ops lead", username="olivia")
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url  # sent to sign in first
    sign_in(page, "olivia")
    assert page.url == f"{live_server.url}/"
    assert page.get_by_role("heading", name="Welcome, olivia").is_visible()
    assert page.get_by_test_id("signed-in-user").inner_text() == "olivia · Ops lead"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")


def test_a_wrong_password_is_told_so(page, live_server, sign_in, make_user):
    make_user("Ops lead", username="olivia")
    sign_in(page, "olivia", password="wrong")
    assert page.get_by_text("did not match").is_visible()


def test_charts_and_htmx_run_under_the_content_security_policy(page, live_server, sign_in):
    """GIVEN the demo portfolio and the strict policy (no inline or eval'd script)
    WHEN an admin opens the pages that draw plotly charts and update with htmx
    THEN the browser reports no policy violation, the charts are drawn, and the weekly
    review's Print button (a static script now, not an inline onclick) still prints."""
    from opsai.demo import DEMO_PASSWORD, demo_load

    demo_load()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.add_init_script("window.print = function () { window.__printed = true; };")
    sign_in(page, "admin", password=DEMO_PASSWORD)
    for path, charts in [
        ("/kpis/portfolio/", True),
        ("/usecases/", True),
        ("/kpis/", False),
        ("/kpis/review/", False),
    ]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        if charts:
            expect(page.locator(".main-svg").first).to_be_visible()
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.__printed === true")
    page.goto(f"{live_server.url}/usecases/")
    rows = page.get_by_test_id("portfolio-row")
    before = rows.count()
    page.get_by_label("Title").press_sequentially("Support triage")  # htmx swaps the table
    expect(rows).not_to_have_count(before)
    expect(rows.first).to_have_attribute("data-title", "Support triage")
    assert violations == []
