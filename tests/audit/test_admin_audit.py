"""Every write through the Django admin lands on the audit trail, and every 403 does too.

The admin tests post the real admin pages with the test client, signed in as a superuser
holding the Admin role, and read the event back: actor, object, changed fields old → new.
"""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client

from audit.admin import AuditedAdmin, bounded_value
from audit.models import AuditEvent
from kpis.models import KPI
from opsai.admin import ReadOnlyAdmin
from opsai.roles import Role, role_group
from tests.factories import UseCaseFactory, user_with_role
from usecases.models import StageChange, Team
from usecases.services import usecase_move_stage

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def superuser() -> Any:
    user = user_with_role(Role.ADMIN, username="root")
    user.is_staff = user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def root(client: Client, superuser: Any) -> Client:
    client.force_login(superuser)
    return client


class _FormReader(HTMLParser):
    """Collects what a browser would submit from the admin's change form (``<form id=…_form>``)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._in_form = False
        self._select: str | None = None
        self._textarea: str | None = None

    def _add(self, name: str | None, value: str) -> None:
        if name:
            self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form" and a.get("id", "").endswith("_form"):
            self._in_form = True
        if not self._in_form or "disabled" in a:
            return
        if tag == "input" and a.get("type") not in {"submit", "button", "file"}:
            if a.get("type") in {"checkbox", "radio"}:
                if "checked" in a:
                    self._add(a.get("name"), a.get("value", "on"))
            else:
                self._add(a.get("name"), a.get("value", ""))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self._add(self._select, a.get("value", ""))
        elif tag == "textarea":
            self._textarea = a.get("name")
            self._add(self._textarea, "")

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            if self._textarea:  # the browser drops the newline after <textarea>
                self.data[self._textarea][-1] = self.data[self._textarea][-1].removeprefix("\n")
            self._textarea = None


def change_form_data(client: Client, url: str, **changes: Any) -> dict[str, Any]:
    """What a browser would post from the admin page at ``url``, with ``changes`` applied.

    A checkbox change is ``True``/``False``; a many-to-many one, the list of objects.
    """
    response = client.get(url)
    assert response.status_code == 200, url
    reader = _FormReader()
    reader.feed(response.content.decode())
    data: dict[str, Any] = {k: v if len(v) > 1 else v[0] for k, v in reader.data.items()}
    for name, value in changes.items():
        if value is True:
            data[name] = "on"
        elif value is False:
            data.pop(name, None)
        elif isinstance(value, list):
            data[name] = [str(getattr(item, "pk", item)) for item in value]
        else:
            data[name] = str(value)
    return data


def the_event(action: str, obj: Any) -> AuditEvent:
    return AuditEvent.objects.get(
        action=action, object_type=obj._meta.label_lower, object_id=str(obj.pk)
    )


def test_every_registered_admin_is_audited_or_read_only():
    offenders = [
        f"{model._meta.label}: {type(model_admin).__name__}"
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, AuditedAdmin | ReadOnlyAdmin)
    ]
    assert offenders == []
    # Django's own and the libraries' admins are covered too, not only opsai's.
    assert isinstance(admin.site._registry[User], AuditedAdmin)
    assert isinstance(admin.site._registry[Group], AuditedAdmin)
    labels = {model._meta.label for model in admin.site._registry}
    assert {"axes.AccessAttempt", "usecases.UseCase", "kpis.KPI"} <= labels


def test_changing_a_use_case_title_is_audited(root, superuser):
    use_case = UseCaseFactory(title="Support triage")
    url = f"/admin/usecases/usecase/{use_case.pk}/change/"
    response = root.post(url, change_form_data(root, url, title="Support triage v2"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    use_case.refresh_from_db()
    assert use_case.title == "Support triage v2"
    event = the_event("admin.changed", use_case)
    assert event.actor == superuser
    assert event.actor_name == "root"
    assert event.before == {"title": "Support triage"}
    assert event.after == {"title": "Support triage v2"}


def test_changing_a_kpi_target_is_audited(root, superuser):
    kpi = KPI.objects.create(
        use_case=UseCaseFactory(), name="Handle time", level="business", target_value=12.0
    )
    url = f"/admin/kpis/kpi/{kpi.pk}/change/"
    response = root.post(url, change_form_data(root, url, target_value="9.5"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = the_event("admin.changed", kpi)
    assert event.actor == superuser
    assert (event.before, event.after) == ({"target_value": 12.0}, {"target_value": 9.5})


def test_changing_a_team_cost_and_product_owner_is_audited(root, superuser):
    team = Team.objects.create(name="Finance", hourly_cost=Decimal("45.00"))
    owner = user_with_role(Role.PRODUCT_OWNER, username="fin-owner")
    url = f"/admin/usecases/team/{team.pk}/change/"
    data = change_form_data(root, url, hourly_cost="61.50", product_owner=owner.pk)
    assert root.post(url, data).status_code == 302
    event = the_event("admin.changed", team)
    assert event.actor == superuser
    assert event.before == {"hourly_cost": "45.00", "product_owner": None}
    assert event.after == {"hourly_cost": "61.50", "product_owner": str(owner)}


def test_a_refused_admin_form_changes_nothing_and_records_nothing(root):
    team = Team.objects.create(name="Support", hourly_cost=Decimal("45.00"))
    url = f"/admin/usecases/team/{team.pk}/change/"
    response = root.post(url, change_form_data(root, url, hourly_cost="-1"))
    assert response.status_code == 200  # the form again, naming the field
    assert "hourly_cost" in response.context["adminform"].form.errors
    assert not AuditEvent.objects.filter(action__startswith="admin.").exists()


def test_deleting_a_use_case_is_audited_with_what_it_held(root, superuser):
    use_case = UseCaseFactory(title="Collections outreach")
    pk = use_case.pk
    response = root.post(f"/admin/usecases/usecase/{pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.deleted", object_id=str(pk))
    assert event.actor == superuser
    assert event.object_type == "usecases.usecase"
    assert event.before["title"] == "Collections outreach"
    assert event.before["team_id"] == use_case.team_id


def test_deleting_selected_rows_audits_each_one(root, superuser):
    use_cases = [UseCaseFactory(), UseCaseFactory()]
    response = root.post(
        "/admin/usecases/usecase/",
        {
            "action": "delete_selected",
            "post": "yes",
            "_selected_action": [str(u.pk) for u in use_cases],
        },
    )
    assert response.status_code == 302
    events = AuditEvent.objects.filter(action="admin.deleted", actor=superuser)
    assert sorted(e.object_id for e in events) == sorted(str(u.pk) for u in use_cases)
    assert {e.after["batch"] for e in events} == {2}


def test_stage_changes_are_read_only_history(root, ops_lead):
    """A stage change is the lifecycle's history: the admin shows it and changes nothing."""
    use_case = UseCaseFactory(stage="scoring")
    usecase_move_stage(use_case=use_case, to_stage="idea", actor=ops_lead)
    change = StageChange.objects.get(use_case=use_case)
    assert root.get(f"/admin/usecases/stagechange/{change.pk}/change/").status_code == 200
    assert (
        root.post(f"/admin/usecases/stagechange/{change.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    response = root.post(
        "/admin/usecases/stagechange/",
        {"action": "delete_selected", "post": "yes", "_selected_action": [str(change.pk)]},
    )
    assert StageChange.objects.filter(pk=change.pk).exists(), response.status_code
    assert isinstance(admin.site._registry[StageChange], ReadOnlyAdmin)


def test_adding_a_user_is_audited_without_the_password(root, superuser):
    response = root.post(
        "/admin/auth/user/add/",
        {
            "username": "newcomer",
            "usable_password": "true",
            "password1": "a-Long-secret-42",
            "password2": "a-Long-secret-42",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    newcomer = User.objects.get(username="newcomer")
    event = the_event("admin.added", newcomer)
    assert event.actor == superuser
    assert event.before is None
    assert event.after["username"] == "newcomer"
    assert event.after["password1"] == "(changed, not recorded)"
    assert "a-Long-secret-42" not in str(event.after)


def test_granting_the_admin_role_and_superuser_is_audited(root, superuser):
    person = user_with_role(Role.OPS_LEAD, username="promoted")
    admin_group, ops_group = role_group(Role.ADMIN), role_group(Role.OPS_LEAD)
    url = f"/admin/auth/user/{person.pk}/change/"
    data = change_form_data(
        root, url, groups=[ops_group, admin_group], is_staff=True, is_superuser=True
    )
    assert root.post(url, data).status_code == 302
    person.refresh_from_db()
    assert person.is_superuser and person.groups.filter(pk=admin_group.pk).exists()
    event = the_event("admin.changed", person)
    assert event.actor == superuser
    assert event.before == {"is_staff": False, "is_superuser": False, "groups": ["Ops lead"]}
    assert event.after["is_superuser"] is True
    assert sorted(event.after["groups"]) == ["Admin", "Ops lead"]


def test_changing_a_password_in_the_admin_is_audited_without_it(root, superuser):
    person = user_with_role(Role.OPS_LEAD, username="forgetful")
    response = root.post(
        f"/admin/auth/user/{person.pk}/password/",
        {
            "usable_password": "true",
            "password1": "Another-secret-77",
            "password2": "Another-secret-77",
        },
    )
    assert response.status_code == 302
    event = the_event("admin.password_changed", person)
    assert event.actor == superuser
    assert "Another-secret-77" not in str(event.after)


def test_giving_a_group_a_permission_is_audited(root, superuser):
    group = Group.objects.create(name="Auditors")
    url = f"/admin/auth/group/{group.pk}/change/"
    permission = Group._meta.get_field("permissions").related_model.objects.get(
        codename="view_auditevent"
    )
    assert root.post(url, change_form_data(root, url, permissions=[permission])).status_code == 302
    event = the_event("admin.changed", group)
    assert event.before == {"permissions": []}
    assert event.after == {"permissions": [str(permission)]}


def test_unlocking_a_locked_out_sign_in_is_audited(root, superuser):
    attempt = AccessAttempt.objects.create(
        username="ops", ip_address="10.0.0.9", user_agent="x", failures_since_start=5
    )
    response = root.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.deleted", object_type="axes.accessattempt")
    assert event.actor == superuser
    assert event.before["username"] == "ops"


def test_a_failed_audit_write_undoes_the_admin_change(root, monkeypatch):
    """The event is written in the admin's transaction: no event, no change."""
    use_case = UseCaseFactory(title="Before")
    url = f"/admin/usecases/usecase/{use_case.pk}/change/"
    data = change_form_data(root, url, title="After")

    def refuse(**kwargs: Any) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("audit.admin.audit_record", refuse)
    root.raise_request_exception = True
    with pytest.raises(RuntimeError, match="audit store unavailable"):
        root.post(url, data)
    use_case.refresh_from_db()
    assert use_case.title == "Before"


def test_values_are_bounded():
    assert bounded_value("x" * 5000).endswith("…")
    assert len(bounded_value("x" * 5000)) == 200
    assert len(bounded_value(list(range(500)))) == 51
    assert bounded_value(Decimal("1.50")) == "1.50"


# --- Refused requests -------------------------------------------------------------------


def refusals() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="request.refused").order_by("pk"))


def test_a_page_refused_for_want_of_a_role_is_recorded(client, roleless_user):
    client.force_login(roleless_user)
    assert client.get("/usecases/").status_code == 403
    (event,) = refusals()
    assert event.actor == roleless_user
    assert event.after["method"] == "GET"
    assert event.after["path"] == "/usecases/"
    assert event.after["reason"] == "Your account has no opsai role yet. Ask an admin for one."


def test_a_page_refused_by_its_view_is_recorded_with_the_views_reason(client, executive):
    client.force_login(executive)
    response = client.post("/usecases/new/", {"title": "Sneaky"})
    assert response.status_code == 403
    (event,) = refusals()
    assert event.actor == executive
    assert event.after["method"] == "POST"
    assert event.after["reason"] == response.context["reason"]
    assert event.after["reason"] == "Executives read; they do not submit use cases."


def test_an_api_refusal_is_recorded(client, roleless_user):
    client.force_login(roleless_user)
    response = client.post("/api/usecases/", {"title": "x"})
    assert response.status_code == 403
    (event,) = refusals()
    assert event.actor == roleless_user
    assert (event.after["method"], event.after["path"]) == ("POST", "/api/usecases/")
    assert event.after["reason"] == response.json()["detail"]


def test_an_anonymous_api_refusal_is_recorded(client):
    response = client.get("/api/usecases/")
    assert response.status_code in (401, 403)  # 401 once an authenticator asks for a token
    (event,) = refusals()
    assert event.actor is None
    assert event.actor_name == "system"
    assert event.after["anonymous"] is True
    assert event.after["reason"] == response.json()["detail"]


def test_a_failed_csrf_check_is_recorded(ops_lead):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ops_lead)
    assert client.post("/usecases/new/", {"title": "no token"}).status_code == 403
    (event,) = refusals()
    assert event.actor == ops_lead
    assert event.after["reason"] == "CSRF verification failed"


def test_a_page_that_answers_is_not_recorded(client, ops_lead):
    client.force_login(ops_lead)
    assert client.get("/usecases/").status_code == 200
    assert client.get("/no-such-page/").status_code == 404
    assert refusals() == []


@pytest.mark.django_db(transaction=True)
def test_a_refusal_is_recorded_outside_any_request_transaction(client, roleless_user):
    """The refusal opens its own transaction (no request-wide atomic block exists)."""
    client.force_login(roleless_user)
    assert client.get("/kpis/").status_code == 403
    assert not transaction.get_connection().in_atomic_block
    assert len(refusals()) == 1
