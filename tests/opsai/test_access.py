"""Every page needs sign-in and a role; executives only read."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/", "/usecases/", "/usecases/1/"])
def test_it_redirects_anonymous_visitors_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_refuses_a_signed_in_user_without_a_role(client, roleless_user):
    client.force_login(roleless_user)
    response = client.get("/")
    assert response.status_code == 403
    assert b"no opsai role" in response.content


def test_it_lets_a_user_without_a_role_sign_out(client, roleless_user):
    client.force_login(roleless_user)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", ["Ops lead", "Product owner", "Reviewer", "Admin"])
def test_it_shows_the_home_page_to_every_role(client, make_user, role):
    user = make_user(role)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert role.encode() in response.content


def test_an_executives_home_is_the_portfolio_dashboard(client, executive):
    client.force_login(executive)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("kpis:portfolio")
    assert client.get(response["Location"]).status_code == 200


def test_it_signs_in_through_the_login_form(client, ops_lead):
    from tests.factories import PASSWORD

    response = client.post(reverse("login"), {"username": "ops", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_the_api_answers_401_not_a_redirect_to_anonymous_clients(client):
    response = client.get("/api/usecases/")
    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("application/json")


def test_the_api_refuses_a_user_without_a_role(client, roleless_user):
    client.force_login(roleless_user)
    assert client.get("/api/usecases/").status_code == 403


def test_the_api_is_read_only_for_executives(client, executive):
    client.force_login(executive)
    assert client.get("/api/usecases/").status_code == 200
    assert client.post("/api/usecases/", {"title": "x"}).status_code == 403


def test_the_api_accepts_a_token(client, ops_lead):
    from accounts.services import api_token_create

    _, key = api_token_create(user=ops_lead, name="Script", days=30)
    response = client.get("/api/usecases/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200


def test_the_navigation_shows_only_pages_that_exist(client, ops_lead):
    client.force_login(ops_lead)
    response = client.get("/")
    labels = [entry["label"] for entry in response.context["navigation"]]
    assert "Portfolio" in labels


def test_the_navigation_marks_only_the_most_specific_entry_as_current(client, ops_lead):
    client.force_login(ops_lead)
    response = client.get(reverse("usecases:intake"))
    current = [entry["label"] for entry in response.context["navigation"] if entry["active"]]
    assert current == ["Intake"]
