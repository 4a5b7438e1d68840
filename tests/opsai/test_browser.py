"""A person signs in with the real Chromium and sees the home page."""

import pytest

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
