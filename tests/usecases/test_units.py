"""Organisation units: the tree, its paths, its filters and roll-ups, and who owns which unit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.usecases.factories import make_use_case
from usecases.choices import Stage
from usecases.demo import DEMO_ORGANISATION, demo_units
from usecases.models import Team, UseCase
from usecases.selectors import usecase_value_estimate, usecase_visible_to
from usecases.services import unit_create, unit_update
from usecases.units import unit_breakdown, unit_rollups, unit_subtree_q


@pytest.fixture
def tree(admin_user):
    """Treasury › IRS › {Taxpayer services, Enforcement}; Treasury › Mint › Coins."""
    root = unit_create(actor=admin_user, name="Treasury")
    irs = unit_create(actor=admin_user, name="IRS", parent=root)
    mint = unit_create(actor=admin_user, name="Mint", parent=root)
    return {
        "root": root,
        "irs": irs,
        "mint": mint,
        "taxpayer": unit_create(actor=admin_user, name="Taxpayer services", parent=irs),
        "enforcement": unit_create(
            actor=admin_user, name="Enforcement", parent=irs, hourly_cost=Decimal("80")
        ),
        "coins": unit_create(actor=admin_user, name="Coins", parent=mint),
    }


def _fresh(unit):
    return Team.objects.get(pk=unit.pk)


def test_paths_and_labels_follow_a_rename_and_a_move(tree, admin_user):
    taxpayer = tree["taxpayer"]
    assert taxpayer.path_label == "Treasury › IRS › Taxpayer services"
    assert taxpayer.path == f"/{tree['root'].pk}/{tree['irs'].pk}/{taxpayer.pk}/"
    assert _fresh(taxpayer).depth == 2

    unit_update(unit=tree["irs"], actor=admin_user, name="Internal Revenue")
    assert _fresh(taxpayer).path_label == "Treasury › Internal Revenue › Taxpayer services"

    unit_update(unit=tree["irs"], actor=admin_user, parent=tree["mint"])
    moved = _fresh(taxpayer)
    assert moved.path_label == "Treasury › Mint › Internal Revenue › Taxpayer services"
    assert moved.path == f"/{tree['root'].pk}/{tree['mint'].pk}/{tree['irs'].pk}/{taxpayer.pk}/"
    assert _fresh(tree["enforcement"]).path.startswith(_fresh(tree["irs"]).path)

    events = AuditEvent.objects.filter(action="team.updated", object_id=str(tree["irs"].pk))
    rename, move = events.order_by("pk")
    assert rename.before == {"name": "IRS", "path_label": "Treasury › IRS"}
    assert rename.after == {"name": "Internal Revenue", "path_label": "Treasury › Internal Revenue"}
    assert move.before["parent"] == tree["root"].pk and move.after["parent"] == tree["mint"].pk


def test_a_move_under_itself_or_a_unit_below_it_is_refused(tree, admin_user):
    for target in (tree["irs"], tree["taxpayer"]):
        with pytest.raises(ValidationError) as error:
            unit_update(unit=tree["irs"], actor=admin_user, parent=target)
        assert "cannot move under itself" in str(error.value)
    assert _fresh(tree["irs"]).parent_id == tree["root"].pk
    assert _fresh(tree["taxpayer"]).path_label == "Treasury › IRS › Taxpayer services"


def test_a_name_taken_by_a_sibling_is_refused_and_the_same_name_elsewhere_is_fine(tree, admin_user):
    with pytest.raises(ValidationError, match="Treasury › IRS already has a unit named"):
        unit_create(actor=admin_user, name="Enforcement", parent=tree["irs"])
    elsewhere = unit_create(actor=admin_user, name="Enforcement", parent=tree["mint"])
    assert elsewhere.path_label == "Treasury › Mint › Enforcement"


def _use_case(actor, unit, title, **overrides):
    return make_use_case(actor, team=unit, title=title, **overrides)


def test_the_portfolio_filters_a_unit_and_every_unit_below_it(client, tree, ops_lead):
    _use_case(ops_lead, tree["taxpayer"], "Answer letters")
    _use_case(ops_lead, tree["enforcement"], "Find evaders")
    _use_case(ops_lead, tree["coins"], "Count coins")
    client.force_login(ops_lead)
    url = reverse("usecases:portfolio")
    expected = {
        "root": {"Answer letters", "Find evaders", "Count coins"},
        "irs": {"Answer letters", "Find evaders"},
        "taxpayer": {"Answer letters"},
        "mint": {"Count coins"},
    }
    for key, titles in expected.items():
        response = client.get(url, {"team": tree[key].pk})
        assert {row.title for row in response.context["rows"]} == titles, key
    # the select lists every unit by its path; the row shows its unit's path
    response = client.get(url, {"team": tree["irs"].pk})
    assert "Treasury › IRS › Enforcement</option>" in response.content.decode()
    assert f'<option value="{tree["irs"].pk}" selected>Treasury › IRS</option>' in (
        response.content.decode()
    )
    assert "<td>Treasury › IRS › Taxpayer services</td>" in response.content.decode()


def test_roll_ups_add_each_unit_to_every_unit_above_it(tree, ops_lead):
    cases = [
        _use_case(ops_lead, tree["taxpayer"], "Answer letters"),
        _use_case(ops_lead, tree["taxpayer"], "Route calls", cases_per_week=900),
        _use_case(ops_lead, tree["enforcement"], "Find evaders"),
        _use_case(ops_lead, tree["coins"], "Count coins", cases_per_week=10),
    ]
    UseCase.objects.filter(pk=cases[0].pk).update(stage=Stage.PILOT)
    rollups = {r.unit.name: r for r in unit_rollups()}
    value = {c.title: usecase_value_estimate(c).cost_per_year for c in UseCase.objects.all()}
    leaves = ("Taxpayer services", "Enforcement", "Coins")
    assert rollups["Treasury"].use_cases == sum(rollups[leaf].use_cases for leaf in leaves) == 4
    assert rollups["IRS"].use_cases == 3 and rollups["Mint"].use_cases == 1
    assert rollups["Treasury"].value == sum(rollups[leaf].value for leaf in leaves)
    assert rollups["Treasury"].value == pytest.approx(sum(value.values()), abs=Decimal("0.05"))
    assert rollups["IRS"].value == pytest.approx(
        value["Answer letters"] + value["Route calls"] + value["Find evaders"], abs=Decimal("0.05")
    )
    assert rollups["IRS"].stages == {"pilot": 1, "scoring": 2}  # submitted: on to scoring
    # the tree comes in order: each parent right before its children (whatever the
    # database's collation makes of "IRS › …" against "IRSa")
    unit_create(actor=ops_lead, name="IRSa", parent=tree["root"])
    assert [r.unit.name for r in unit_rollups(root=tree["root"])] == [
        "Treasury", "IRS", "Enforcement", "Taxpayer services", "IRSa", "Mint", "Coins",
    ]  # fmt: skip


def _bulk_use_cases(units, n):
    now = timezone.now()
    UseCase.objects.bulk_create(
        UseCase(
            title=f"Bulk {i}",
            team=units[i % len(units)],
            stage=Stage.IDEA,
            stage_entered_at=now,
            submitted_at=now,
            cases_per_week=100,
            minutes_per_case=Decimal("5"),
            expected_automation_share=Decimal("0.5"),
        )
        for i in range(n)
    )


def _queries(client, url):
    client.get(url)  # warm: session, caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_units_page_and_a_unit_filter_cost_the_same_queries_at_any_size(
    client, tree, admin_user
):
    """GIVEN a tree of 6 units and 40 use cases, WHEN it grows to 66 units and 400 use
    cases, THEN the units page, the filtered portfolio and the dashboards with a unit
    filter run the same number of queries."""
    client.force_login(admin_user)
    pages = [
        reverse("usecases:teams"),
        f"{reverse('usecases:portfolio')}?team={tree['irs'].pk}",
        f"{reverse('governance:index')}?unit={tree['irs'].pk}",
        f"{reverse('kpis:portfolio')}?unit={tree['irs'].pk}",
    ]
    _bulk_use_cases(list(tree.values()), 40)
    small = [_queries(client, url) for url in pages]
    for i in range(60):
        parent = tree["taxpayer"] if i % 2 else tree["coins"]
        Team.objects.create(name=f"Desk {i}", parent=parent)
    _bulk_use_cases(list(Team.objects.all()), 360)
    large = [_queries(client, url) for url in pages]
    assert large == small
    response = client.get(pages[0])
    treasury = next(r for r in response.context["rollups"] if r.unit.pk == tree["root"].pk)
    assert treasury.use_cases == 400


def test_the_product_owner_is_the_nearest_one_named_up_the_tree(tree, make_user, admin_user):
    """The rule (opsai.permissions.is_team_product_owner) and its queryset twin
    (usecase_visibility) agree on every unit and every product owner."""
    head = make_user("Product owner", username="head")
    tax_po = make_user("Product owner", username="tax_po")
    other = make_user("Product owner", username="other_po")
    ops = make_user("Ops lead", username="writer")
    unit_update(unit=tree["root"], actor=admin_user, product_owner=head)
    unit_update(unit=tree["taxpayer"], actor=admin_user, product_owner=tax_po)
    loose = unit_create(actor=admin_user, name="Loose")  # no owner anywhere above
    drafts = {
        key: _use_case(ops, unit, f"Draft of {key}", submit=False)
        for key, unit in [*tree.items(), ("loose", loose)]
    }
    expected_owner = {
        "root": head, "irs": head, "mint": head, "enforcement": head, "coins": head,
        "taxpayer": tax_po, "loose": None,
    }  # fmt: skip
    for user in (head, tax_po, other):
        user = type(user).objects.get(pk=user.pk)
        visible = set(usecase_visible_to(UseCase.objects.all(), user).values_list("pk", flat=True))
        for key, draft in drafts.items():
            draft = UseCase.objects.select_related("team").get(pk=draft.pk)
            owner = expected_owner[key]
            may = owner is None or owner == user
            assert user.has_perm("usecases.move_stage", draft) == may, (user, key)
            assert user.has_perm("usecases.view_usecase", draft) == may, (user, key)
            assert (draft.pk in visible) == may, (user, key)


def test_admins_add_rename_and_move_units_on_the_page_and_others_may_not(
    client, tree, admin_user, ops_lead, product_owner
):
    url = reverse("usecases:teams")
    add = {"action": "add", "add-name": "Appeals", "add-parent": tree["irs"].pk,
           "add-product_owner": product_owner.pk, "add-hourly_cost": "55"}  # fmt: skip
    move = {"action": "move", "move-unit": tree["coins"].pk, "move-name": "Coinage",
            "move-parent": tree["irs"].pk}  # fmt: skip
    for user in (ops_lead, product_owner):
        client.force_login(user)
        assert client.post(url, add).status_code == 403
        assert client.post(url, move).status_code == 403
    client.force_login(admin_user)
    assert client.post(url, add).status_code == 302
    appeals = Team.objects.get(name="Appeals")
    assert (appeals.path_label, appeals.product_owner, appeals.hourly_cost) == (
        "Treasury › IRS › Appeals",
        product_owner,
        Decimal("55"),
    )
    assert client.post(url, move).status_code == 302
    assert _fresh(tree["coins"]).path_label == "Treasury › IRS › Coinage"
    # a cycle is a message on the form, not a 500, and nothing moves
    cycle = {"action": "move", "move-unit": tree["root"].pk, "move-parent": tree["irs"].pk}
    response = client.post(url, cycle)
    assert response.status_code == 400
    assert "cannot move under itself" in response.content.decode()
    assert _fresh(tree["root"]).parent_id is None
    page = client.get(url).content.decode()
    assert 'data-unit="Treasury › IRS › Appeals"' in page


def test_a_departments_product_owner_sets_the_hourly_cost_of_its_teams(
    client, tree, admin_user, product_owner, make_user
):
    unit_update(unit=tree["irs"], actor=admin_user, product_owner=product_owner)
    unit_update(unit=tree["mint"], actor=admin_user, product_owner=make_user("Product owner"))
    client.force_login(product_owner)
    url = reverse("usecases:teams")
    assert client.post(url, {"team": tree["taxpayer"].pk, "hourly_cost": "61"}).status_code == 302
    assert _fresh(tree["taxpayer"]).hourly_cost == Decimal("61")
    assert client.post(url, {"team": tree["coins"].pk, "hourly_cost": "61"}).status_code == 403


def test_the_api_and_exports_show_the_units_path(client, tree, ops_lead, admin_user):
    use_case = _use_case(ops_lead, tree["taxpayer"], "Answer letters")
    api = APIClient()
    api.force_authenticate(admin_user)
    row = api.get(f"/api/usecases/{use_case.pk}/").json()
    assert row["unit_path"] == "Treasury › IRS › Taxpayer services"
    # the write side takes a path, or a name no other unit has
    unit_create(actor=ops_lead, name="Taxpayer services", parent=tree["mint"])
    ambiguous = api.patch(f"/api/usecases/{use_case.pk}/", {"team": "Taxpayer services"})
    assert ambiguous.status_code == 400
    assert "Several units are named" in str(ambiguous.json())
    client.force_login(ops_lead)
    export = client.get(reverse("usecases:portfolio") + "?export=csv")
    header, line = b"".join(export.streaming_content).decode().splitlines()[:2]
    assert header.split(",")[2:4] == ["team", "unit"]
    assert "Taxpayer services,Treasury › IRS › Taxpayer services," in line


def test_the_demo_builds_three_levels_and_adopts_top_level_functions_once(admin_user):
    """GIVEN a database from before the tree (Support and Finance at the top, one with a
    use case), WHEN the demo units are loaded twice, THEN they sit under their
    departments, nothing is duplicated, and the use case kept its unit."""
    support = Team.objects.create(name="Support")
    Team.objects.create(name="Finance")
    use_case = make_use_case(admin_user, "support_triage")
    assert use_case.team_id == support.pk
    first = demo_units(actor=admin_user)
    count = Team.objects.count()
    second = demo_units(actor=admin_user)
    assert Team.objects.count() == count == 1 + 3 + 8
    assert {k: v.pk for k, v in first.items()} == {k: v.pk for k, v in second.items()}
    assert first["Support"].pk == support.pk
    assert _fresh(support).path_label == f"{DEMO_ORGANISATION} › Customer operations › Support"
    assert UseCase.objects.get(pk=use_case.pk).team_id == support.pk


def test_dashboards_filter_a_unit_and_break_it_down_by_the_units_below(
    client, tree, ops_lead, executive
):
    _use_case(ops_lead, tree["taxpayer"], "Answer letters")
    _use_case(ops_lead, tree["enforcement"], "Find evaders")
    _use_case(ops_lead, tree["coins"], "Count coins")
    client.force_login(executive)
    governance = client.get(reverse("governance:index"), {"unit": tree["irs"].pk}).context
    assert sum(lane["count"] for lane in governance["lanes"]) == 2
    rows = {row.unit.name: row.total for row in governance["lanes_by_unit"]}
    assert rows == {"IRS": 2, "Enforcement": 1, "Taxpayer services": 1}
    top = client.get(reverse("governance:index")).context["lanes_by_unit"]
    assert [(row.unit.name, row.total) for row in top] == [("Treasury", 3)]
    kpis = client.get(reverse("kpis:portfolio"), {"unit": tree["mint"].pk}).context
    assert dict(kpis["stages"])["Scoring"] == 1
    status = {row.unit.name: row.total for row in kpis["status_by_unit"]}
    assert status == {"Mint": 1, "Coins": 1}  # one business KPI per template stack


def test_unit_breakdown_of_nothing_is_empty(db):
    # a bare check of the fold: no rows, no units
    assert unit_breakdown(UseCase.objects.none(), unit_field="team_id", key_field="stage",
                          keys=("idea",)) == []  # fmt: skip
    assert unit_subtree_q(None) == unit_subtree_q(None, through="")
