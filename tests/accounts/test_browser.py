"""A person creates an API token on their profile page, uses it, and revokes it."""

import pytest
from django.test import Client
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_creates_and_revokes_a_token_on_the_profile_page(page, live_server, sign_in, make_user):
    """GIVEN a signed-in ops lead WHEN they follow their name to the profile, create a
    token and later revoke it THEN the key is shown once and works until revoked."""
    make_user("Ops lead", username="olivia")
    sign_in(page, "olivia")
    page.get_by_test_id("signed-in-user").click()
    page.wait_for_url("**/profile/")
    expect(page.get_by_test_id("profile-roles")).to_have_text("Ops lead")
    page.get_by_label("Name").fill("Nightly export")
    page.get_by_label("Lifetime").select_option(label="7 days")
    page.get_by_role("button", name="Create token").click()
    key = page.get_by_test_id("new-token-key").inner_text()
    assert len(key) == 64
    api = Client()
    assert api.get("/api/usecases/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200

    page.goto(f"{live_server.url}/profile/")  # opened again: the key is gone
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    assert key not in page.content()
    row = page.get_by_test_id("token-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Nightly export")
    page.get_by_role("button", name="Revoke Nightly export").click()
    expect(page.get_by_text("Revoked “Nightly export”")).to_be_visible()
    expect(page.get_by_test_id("token-row")).to_have_count(0)
    assert api.get("/api/usecases/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
