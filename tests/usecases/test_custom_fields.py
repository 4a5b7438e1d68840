"""Custom fields: defined by admins, on the form, page, API, export and portfolio filter."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.usecases.factories import make_use_case, template_data
from usecases.custom_fields import custom_value_text, custom_values_display
from usecases.models import CustomField, UseCase
from usecases.services import custom_field_create, custom_field_delete, custom_field_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def fields(admin_user) -> dict[str, CustomField]:
    """One field of every kind."""
    specs = [
        ("tier", "Service tier", "choice", ["Gold", "Silver"]),
        ("budget", "Budget", "number", []),
        ("live_since", "Operational since", "date", []),
        ("assessment", "Impact assessment", "url", []),
        ("vendor_dpa", "Vendor DPA signed", "yes_no", []),
        ("notes", "Notes", "text", []),
    ]
    return {
        key: custom_field_create(
            actor=admin_user, key=key, label=label, kind=kind, choices=choices, order=i
        )
        for i, (key, label, kind, choices) in enumerate(specs)
    }


# --- Defining fields ------------------------------------------------------------------------


def test_admins_add_and_edit_fields_on_their_page_and_every_change_is_audited(
    client, admin_user, ops_lead
):
    client.force_login(ops_lead)
    assert client.get(reverse("usecases:custom_fields")).status_code == 403
    client.force_login(admin_user)
    data = {"key": "tier", "label": "Tier", "kind": "choice", "choices": "Gold\nSilver", "order": 1}
    response = client.post(reverse("usecases:custom_fields"), data)
    assert response.status_code == 302
    field = CustomField.objects.get(key="tier")
    assert field.choices == ["Gold", "Silver"]
    edit_url = reverse("usecases:custom_field_edit", args=[field.pk])
    data = {**data, "key": "renamed", "label": "Service tier", "choices": "Gold\nSilver\nBronze"}
    assert client.post(edit_url, data).status_code == 302
    field.refresh_from_db()
    assert (field.key, field.label, field.choices[-1]) == ("tier", "Service tier", "Bronze")
    assert "Service tier" in client.get(reverse("usecases:custom_fields")).content.decode()
    actions = list(AuditEvent.objects.filter(action__startswith="custom_field.").values_list(
        "action", flat=True
    ).order_by("pk"))  # fmt: skip
    assert actions == ["custom_field.created", "custom_field.updated"]
    assert client.post(edit_url, {"delete": "1"}).status_code == 302
    assert not CustomField.objects.exists()
    assert AuditEvent.objects.filter(action="custom_field.deleted").count() == 1


def test_a_bad_definition_is_named_and_nothing_is_saved(client, admin_user):
    client.force_login(admin_user)
    data = {"key": "tier", "label": "Tier", "kind": "choice", "choices": "", "order": 0}
    response = client.post(reverse("usecases:custom_fields"), data)
    assert response.status_code == 400
    assert "A choice field needs a list of values." in response.content.decode()
    data = {"key": "bad key!", "label": "X", "kind": "text", "order": 0}
    response = client.post(reverse("usecases:custom_fields"), data)
    assert response.status_code == 400 and "Key" in response.content.decode()
    assert not CustomField.objects.exists()


# --- Values on the form and the page -------------------------------------------------------


def _form_data(ops_lead, **custom: str) -> dict[str, str]:
    data = {
        "title": "With fields",
        "team": str(template_data()["team"].pk),
        "owner": str(ops_lead.pk),
        "draft": "1",
    }
    data.update({f"cf_{key}": value for key, value in custom.items()})
    return data


def test_the_form_round_trips_every_kind_and_the_page_shows_human_values(client, ops_lead, fields):
    client.force_login(ops_lead)
    form = client.get(reverse("usecases:intake") + "?blank=1").context["form"]
    assert [s["key"] for s in form.sections()][-1] == "custom"
    data = _form_data(
        ops_lead,
        tier="gold",
        budget="12,500",
        live_since="2024-03-01",
        assessment="https://example.com/dpia",
        vendor_dpa="true",
        notes="Runs nightly",
    )
    assert client.post(reverse("usecases:intake") + "?blank=1", data).status_code == 302
    use_case = UseCase.objects.get(title="With fields")
    assert use_case.custom == {
        "tier": "Gold",
        "budget": 12500,
        "live_since": "2024-03-01",
        "assessment": "https://example.com/dpia",
        "vendor_dpa": True,
        "notes": "Runs nightly",
    }
    page = client.get(use_case.get_absolute_url()).content.decode()
    for text in ("Service tier", "Gold", "12,500", "Operational since", "Vendor DPA signed"):
        assert text in page
    assert 'href="https://example.com/dpia"' in page
    edit = client.get(reverse("usecases:edit", args=[use_case.pk])).context["form"]
    assert (edit["cf_vendor_dpa"].value(), edit["cf_budget"].value()) == ("true", "12500")
    # clearing a value on the form removes it; the others stay
    data = {**data, "cf_notes": "", "cf_budget": "12500"}
    client.post(reverse("usecases:edit", args=[use_case.pk]), data)
    use_case.refresh_from_db()
    assert "notes" not in use_case.custom and use_case.custom["budget"] == 12500


def test_a_bad_value_is_named_on_its_field_and_nothing_is_saved(client, ops_lead, fields):
    client.force_login(ops_lead)
    data = _form_data(ops_lead, budget="lots", live_since="yesterday", tier="Platinum")
    response = client.post(reverse("usecases:intake") + "?blank=1", data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Budget: is not a number." in body
    assert "Operational since: is not a date (YYYY-MM-DD)." in body
    assert "Service tier: is not one of: Gold, Silver." in body
    assert not UseCase.objects.filter(title="With fields").exists()


def test_the_service_refuses_an_unknown_key_under_custom(ops_lead, fields):
    with pytest.raises(ValidationError) as error, transaction.atomic():
        make_use_case(ops_lead, custom={"colour": "blue"})
    assert error.value.message_dict["custom"] == ["colour: no custom field is called 'colour'."]


# --- API ------------------------------------------------------------------------------------


def test_the_api_reads_writes_and_validates_custom_values(ops_lead, fields):
    api = APIClient()
    api.force_authenticate(ops_lead)
    base = {"title": "Via API", "team": template_data()["team"].name}
    unknown = api.post("/api/usecases/", {**base, "custom": {"colour": "blue"}}, format="json")
    assert unknown.status_code == 400
    assert unknown.data == {"custom": ["colour: no custom field is called 'colour'."]}
    bad = api.post("/api/usecases/", {**base, "custom": {"budget": "lots"}}, format="json")
    assert bad.status_code == 400 and bad.data["custom"] == ["Budget: is not a number."]
    assert not UseCase.objects.filter(title="Via API").exists()
    created = api.post(
        "/api/usecases/",
        {**base, "custom": {"budget": 1200.5, "vendor_dpa": "yes", "tier": "silver"}},
        format="json",
    )
    assert created.status_code == 201, created.data
    assert created.data["custom"] == {"budget": 1200.5, "vendor_dpa": True, "tier": "Silver"}
    url = f"/api/usecases/{created.data['id']}/"
    # a key left out keeps its value; null clears one
    patched = api.patch(url, {"custom": {"tier": None, "notes": "n"}}, format="json")
    assert patched.status_code == 200
    assert patched.data["custom"] == {"budget": 1200.5, "vendor_dpa": True, "notes": "n"}


# --- Export ---------------------------------------------------------------------------------


def test_the_export_has_one_column_per_field_with_human_values(client, ops_lead, fields):
    make_use_case(ops_lead, title="A", custom={"budget": 1234567, "vendor_dpa": False})
    client.force_login(ops_lead)
    response = client.get(reverse("usecases:portfolio") + "?export=csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header = rows[0]
    assert header[-6:] == ["tier", "budget", "live_since", "assessment", "vendor_dpa", "notes"]
    row = dict(zip(header, rows[1], strict=True))
    assert (row["budget"], row["vendor_dpa"], row["tier"]) == ("1,234,567", "No", "")
    xlsx = client.get(reverse("usecases:portfolio") + "?export=xlsx")
    assert xlsx.status_code == 200


# --- Values that no longer fit their field -------------------------------------------------


def test_a_deleted_or_changed_fields_stored_value_renders_as_text(
    client, ops_lead, admin_user, fields
):
    use_case = make_use_case(
        ops_lead, title="Old values", custom={"notes": "kept", "budget": 99, "tier": "Gold"}
    )
    custom_field_delete(field=fields["notes"], actor=admin_user)
    custom_field_update(field=fields["budget"], actor=admin_user, kind="yes_no")
    custom_field_update(field=fields["tier"], actor=admin_user, kind="number", choices=[])
    client.force_login(ops_lead)
    page = client.get(use_case.get_absolute_url())
    body = page.content.decode()
    assert page.status_code == 200
    assert "notes (field removed)" in body and "kept" in body
    shown = {
        v.key: v.text
        for v in custom_values_display(use_case.custom, list(CustomField.objects.all()))
    }
    assert shown == {"budget": "99", "tier": "Gold", "notes": "kept"}
    export = client.get(reverse("usecases:portfolio") + "?export=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert (rows[0]["budget"], rows[0]["tier"]) == ("99", "Gold")
    assert "notes" not in rows[0]
    # the edit form shows the old value as text
    client.force_login(admin_user)
    edit = client.get(reverse("usecases:edit", args=[use_case.pk]))
    assert edit.status_code == 200 and edit.context["form"]["cf_tier"].value() == "Gold"
    assert custom_value_text(None, {"a": [1]}) == '{"a": [1]}'


# --- Portfolio filter -----------------------------------------------------------------------


@pytest.fixture
def filtered_world(ops_lead, fields) -> None:
    make_use_case(ops_lead, title="Gold big", custom={"tier": "Gold", "budget": 5000,
                  "live_since": "2023-06-01", "vendor_dpa": True, "notes": "Nightly batch run"})  # fmt: skip
    make_use_case(ops_lead, title="Silver small", custom={"tier": "Silver", "budget": 50,
                  "live_since": "2025-01-15", "vendor_dpa": False, "notes": "Daytime"})  # fmt: skip
    make_use_case(ops_lead, title="Nothing")
    # a value stored as another kind (the field changed kind since): never in a range
    make_use_case(ops_lead, title="Odd", custom={"tier": "Gold"})
    UseCase.objects.filter(title="Odd").update(custom={"budget": "zzz", "live_since": "someday"})


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("custom_field=tier&custom_value=gold", ["Gold big"]),
        ("custom_field=vendor_dpa&custom_value=no", ["Silver small"]),
        ("custom_field=notes&custom_value=BATCH", ["Gold big"]),
        ("custom_field=notes", ["Gold big", "Silver small"]),
        ("custom_field=budget&custom_from=100", ["Gold big"]),
        ("custom_field=budget&custom_to=1,000", ["Silver small"]),
        ("custom_field=budget", ["Gold big", "Silver small"]),
        ("custom_field=live_since&custom_from=2024-01-01", ["Silver small"]),
        ("custom_field=live_since&custom_to=2024-01-01", ["Gold big"]),
    ],
)
def test_the_portfolio_filters_on_a_custom_field(client, ops_lead, filtered_world, query, expected):
    client.force_login(ops_lead)
    response = client.get(reverse("usecases:portfolio") + "?sort=title&" + query)
    assert [row.title for row in response.context["rows"]] == expected
    api = APIClient()
    api.force_authenticate(ops_lead)
    listed = api.get("/api/usecases/?sort=title&" + query).data["results"]
    assert [row["title"] for row in listed] == expected


def test_a_bad_custom_filter_value_is_named_and_not_applied(client, ops_lead, filtered_world):
    client.force_login(ops_lead)
    response = client.get(
        reverse("usecases:portfolio") + "?custom_field=budget&custom_from=lots&sort=title"
    )
    assert "Budget is not a number" in response.content.decode()
    response = client.get(reverse("usecases:portfolio") + "?custom_field=nope")
    assert response.status_code == 200 and len(response.context["rows"]) == 4


@pytest.mark.parametrize("n", [1, 12])
def test_a_custom_filter_costs_the_same_queries_for_any_number_of_use_cases(
    client, ops_lead, fields, django_assert_num_queries, n
):
    for i in range(n):
        make_use_case(ops_lead, title=f"Case {i}", custom={"budget": i * 10})
    client.force_login(ops_lead)
    url = reverse("usecases:portfolio") + "?custom_field=budget&custom_from=0&risk_class=high"
    client.get(url)  # warm the session
    # the portfolio's nine (tests/usecases/test_views.py) and the chosen field's definition
    with django_assert_num_queries(10):
        response = client.get(url)
    assert response.status_code == 200


def test_switching_a_choice_field_to_another_kind_drops_its_choices(client, admin_user, fields):
    client.force_login(admin_user)
    url = reverse("usecases:custom_field_edit", args=[fields["tier"].pk])
    data = {"label": "Tier", "kind": "number", "choices": "Gold\nSilver", "order": 0}
    assert client.post(url, data).status_code == 302
    fields["tier"].refresh_from_db()
    assert (fields["tier"].kind, fields["tier"].choices) == ("number", [])


def test_the_django_admin_keeps_the_key_and_audits_changes(client, admin_user, fields):
    admin_user.is_staff = True
    admin_user.save()
    client.force_login(admin_user)
    url = reverse("admin:usecases_customfield_change", args=[fields["notes"].pk])
    page = client.get(url)
    assert page.status_code == 200 and 'name="key"' not in page.content.decode()
    data = {"label": "Remarks", "kind": "text", "choices": "[]", "help_text": "", "order": 5}
    assert client.post(url, data).status_code == 302
    fields["notes"].refresh_from_db()
    assert (fields["notes"].key, fields["notes"].label) == ("notes", "Remarks")
    event = AuditEvent.objects.filter(
        object_type="usecases.customfield", object_id=str(fields["notes"].pk)
    ).latest("pk")
    assert event.after["label"] == "Remarks"
