"""Contacts: an owner named by name and email before they are a user, and their invitation."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.usecases.factories import make_use_case, template_data
from usecases.models import Team
from usecases.services import OWNER_OR_CONTACT_MISSING, unit_create, usecase_create

EMAIL = "opsai.tasks.email_send"
User = get_user_model()


@pytest.fixture
def contact_case(ops_lead):
    """A submitted use case whose owner is a contact, not a user: Dana of Finance."""
    return make_use_case(
        ops_lead, owner=None, contact_name="Dana Scully", contact_email="Dana@Example.org"
    )


def test_a_use_case_needs_an_owner_or_a_contact_to_be_submitted(ops_lead):
    data = template_data(owner=None)
    with pytest.raises(ValidationError) as error:
        usecase_create(actor=ops_lead, data=data, submit=True)
    assert error.value.message_dict["owner"] == [OWNER_OR_CONTACT_MISSING]
    use_case = usecase_create(
        actor=ops_lead,
        data={**data, "contact_email": "dana@example.org"},
        template_key="collections_outreach",  # its business KPI: submitting moves to scoring
        submit=True,
    )
    assert not use_case.is_draft and use_case.owner is None


def test_the_intake_form_names_the_missing_owner_or_contact(client, ops_lead):
    team = Team.objects.create(name="Finance")
    client.force_login(ops_lead)
    response = client.post(
        reverse("usecases:intake"), {"title": "No one", "team": team.pk, "submit": "1"}
    )
    assert response.context["form"].errors["owner"] == [OWNER_OR_CONTACT_MISSING]


def test_a_user_created_with_the_contacts_email_becomes_the_owner(contact_case, ops_lead):
    other = make_use_case(ops_lead, owner=ops_lead, contact_email="dana@example.org")
    dana = User.objects.create_user("dana", email="dana@example.org")
    contact_case.refresh_from_db()
    other.refresh_from_db()
    assert contact_case.owner == dana
    assert other.owner == ops_lead  # an owner already named is never replaced
    event = AuditEvent.objects.get(action="usecase.contact_linked")
    assert event.object_id == str(contact_case.pk) and event.after == {"owner": dana.pk}


def test_the_page_api_and_export_show_the_contact(client, contact_case, ops_lead):
    client.force_login(ops_lead)
    page = client.get(contact_case.get_absolute_url()).content.decode()
    assert "Dana Scully &lt;Dana@Example.org&gt; (not a user yet)" in page
    assert "Invite Dana Scully" not in page  # ops leads do not invite
    api = APIClient()
    api.force_authenticate(ops_lead)
    row = api.get(f"/api/usecases/{contact_case.pk}/").json()
    assert (row["contact_name"], row["contact_email"]) == ("Dana Scully", "Dana@Example.org")
    export = client.get(reverse("usecases:portfolio") + "?export=csv")
    assert ",Dana Scully,Dana@Example.org," in b"".join(export.streaming_content).decode()


def test_an_invitation_creates_the_account_links_it_and_mails_a_set_password_link(
    client, contact_case, admin_user, run_outbox
):
    """GIVEN a use case owned by a contact, WHEN an admin invites them, THEN an account
    without a usable password owns the use case, and the emailed link sets a password
    the new user signs in with."""
    client.force_login(admin_user)
    page = client.get(contact_case.get_absolute_url()).content.decode()
    assert "Invite Dana Scully to opsai" in page
    response = client.post(reverse("usecases:invite", args=[contact_case.pk]))
    assert response.status_code == 302
    dana = User.objects.get(email__iexact="dana@example.org")
    assert dana.username == "Dana" and not dana.has_usable_password()
    assert (dana.first_name, dana.last_name) == ("Dana", "Scully")
    contact_case.refresh_from_db()
    assert contact_case.owner == dana
    assert AuditEvent.objects.filter(action="user.invited", object_id=str(dana.pk)).exists()

    assert mail.outbox == []  # sent by the worker, after the commit
    assert run_outbox(EMAIL) == 1
    (message,) = mail.outbox
    assert message.to == ["Dana@Example.org"]
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", message.body).group(1)

    visitor = Client()
    form_page = visitor.get(link, follow=True)
    assert b"Set your opsai password" in form_page.content
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    done = visitor.post(
        set_url, {"new_password1": "a-Long-pass-phrase-9", "new_password2": "a-Long-pass-phrase-9"}
    )
    assert done.status_code == 302 and done.url == reverse("login")
    dana.refresh_from_db()
    assert dana.check_password("a-Long-pass-phrase-9")
    # the link is spent
    assert b"has been used or has expired" in Client().get(link, follow=True).content


def test_inviting_someone_who_already_has_an_account_links_it_and_creates_none(
    client, contact_case, admin_user, run_outbox
):
    dana = User.objects.create_user("dscully", email="other@example.org")
    User.objects.filter(pk=dana.pk).update(email="dana@example.org")  # no receiver ran
    client.force_login(admin_user)
    client.post(reverse("usecases:invite", args=[contact_case.pk]))
    contact_case.refresh_from_db()
    assert contact_case.owner_id == dana.pk
    assert User.objects.filter(email__iexact="dana@example.org").count() == 1
    assert run_outbox(EMAIL) == 0


def test_a_taken_username_gets_a_number(client, contact_case, admin_user):
    User.objects.create_user("Dana", email="someone@else.org")
    client.force_login(admin_user)
    client.post(reverse("usecases:invite", args=[contact_case.pk]))
    assert User.objects.get(email__iexact="dana@example.org").username == "Dana2"


def test_only_admins_and_the_units_product_owner_invite(
    client, contact_case, ops_lead, product_owner, make_user, admin_user
):
    unit = contact_case.team
    unit.product_owner = product_owner
    unit.save()
    url = reverse("usecases:invite", args=[contact_case.pk])
    for user in (ops_lead, make_user("Product owner", username="elsewhere")):
        client.force_login(user)
        assert client.post(url).status_code == 403
    assert not User.objects.filter(email__iexact="dana@example.org").exists()
    # a product owner of the unit above counts too
    parent = unit_create(actor=admin_user, name="Finance & supply")
    unit.product_owner, unit.parent = None, parent
    unit.save()
    parent.product_owner = product_owner
    parent.save()
    client.force_login(product_owner)
    assert client.post(url).status_code == 302
    assert User.objects.filter(email__iexact="dana@example.org").exists()


def test_an_invitation_without_a_contact_email_is_a_message(client, ops_lead, admin_user):
    use_case = make_use_case(ops_lead, owner=None, contact_email="x@example.org")
    use_case.contact_email = ""
    use_case.save()
    client.force_login(admin_user)
    response = client.post(reverse("usecases:invite", args=[use_case.pk]), follow=True)
    assert "Name the contact" in response.content.decode()


def test_a_contact_who_already_has_an_account_is_the_owner_at_once(ops_lead, make_user):
    dana = make_user("Ops lead", username="dana")  # dana@example.com
    use_case = make_use_case(ops_lead, owner=None, contact_email="DANA@example.com")
    assert use_case.owner == dana
    event = AuditEvent.objects.get(action="usecase.created", object_id=str(use_case.pk))
    assert event.after["owner"] == dana.pk
