"""Pages: who may do what, intake drafts and submit, blind scores, stages, portfolio and exports."""

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from tests.usecases.factories import make_use_case, rate
from usecases.models import Score, ScoringModel, Team, UseCase
from usecases.scoring import CRITERION_KEYS

pytestmark = pytest.mark.django_db


def score_post(*values):
    data = dict(zip(CRITERION_KEYS, (str(v) for v in values), strict=True))
    data.update({f"{key}_rationale": f"because {key}" for key in CRITERION_KEYS})
    return data


@pytest.fixture
def finance(product_owner):
    return Team.objects.create(name="Finance", product_owner=product_owner)


# --- Who may see what -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["usecases:portfolio", "usecases:sensitivity", "usecases:scoring_models", "usecases:teams"],
)
def test_every_role_reads_the_portfolio_pages_and_others_are_refused(
    client, executive, roleless_user, name
):
    client.force_login(executive)
    assert client.get(reverse(name)).status_code == 200
    client.force_login(roleless_user)
    assert client.get(reverse(name)).status_code == 403


def test_the_use_case_page_is_read_by_executives_and_refused_to_others(
    client, ops_lead, executive, roleless_user
):
    use_case = make_use_case(ops_lead)
    client.force_login(executive)
    response = client.get(use_case.get_absolute_url())
    assert response.status_code == 200
    assert b"Improve collections recovery rate" in response.content
    assert b"Score this use case" not in response.content
    assert f'href="/kpis/usecases/{use_case.pk}/"'.encode() in response.content
    assert f'href="/governance/usecases/{use_case.pk}/"'.encode() in response.content
    client.force_login(roleless_user)
    assert client.get(use_case.get_absolute_url()).status_code == 403


@pytest.mark.parametrize("username", ["exec", "owner", "outsider"])
def test_only_ops_leads_and_admins_open_intake_and_import(
    client, executive, product_owner, roleless_user, username
):
    client.force_login(
        {"exec": executive, "owner": product_owner, "outsider": roleless_user}[username]
    )
    assert client.get(reverse("usecases:intake")).status_code == 403
    assert client.get(reverse("usecases:import")).status_code == 403


# --- Intake ------------------------------------------------------------------------------------


def test_intake_offers_the_five_templates_and_a_blank_form(client, ops_lead):
    client.force_login(ops_lead)
    response = client.get(reverse("usecases:intake"))
    for title in ["Support triage", "Quote-to-cash exceptions", "Collections outreach",
                  "Recruiting screening", "Marketing content operations", "Blank form"]:  # fmt: skip
        assert title.encode() in response.content
    blank = client.get(reverse("usecases:intake") + "?blank=1")
    assert [s["key"] for s in blank.context["form"].sections()] == [
        "basics", "workflow", "outcome", "volume", "risk", "classification",
    ]  # fmt: skip


def test_a_template_prefills_the_form(client, ops_lead, finance):
    client.force_login(ops_lead)
    response = client.get(reverse("usecases:intake") + "?template=collections_outreach")
    form = response.context["form"]
    assert form["title"].value() == "Collections outreach"
    assert form["team"].value() == finance.pk
    assert form["owner"].value() == ops_lead.pk
    assert form["systems_touched"].value() == ["erp"]
    assert form["template_key"].value() == "collections_outreach"


def test_a_draft_saves_incomplete_and_submit_names_each_missing_field(client, ops_lead, finance):
    client.force_login(ops_lead)
    url = reverse("usecases:intake")
    response = client.post(url, {"title": "Half-baked", "team": finance.pk, "submit": "1"})
    assert response.status_code == 200
    assert not UseCase.objects.exists()
    errors = response.context["form"].errors
    assert errors["problem"] == ["Problem is required to submit."]
    assert errors["kpis_touched"] == ["KPIs touched is required to submit."]
    assert "Money movement is required to submit." in response.content.decode()

    response = client.post(url, {"title": "Half-baked", "team": finance.pk, "draft": "1"})
    use_case = UseCase.objects.get()
    assert response.status_code == 302
    assert use_case.is_draft
    page = client.get(use_case.get_absolute_url())
    assert b"Business outcome is required to submit." in page.content


def test_intake_reports_bad_values_by_field(client, ops_lead, finance):
    client.force_login(ops_lead)
    response = client.post(
        reverse("usecases:intake"),
        {"title": "Bad", "team": finance.pk, "rework_share": "1.5", "draft": "1"},
    )
    assert "rework_share" in response.context["form"].errors
    assert not UseCase.objects.exists()


def test_the_owner_edits_their_own_draft_and_nobody_else_does(client, ops_lead, make_user):
    draft = make_use_case(ops_lead, submit=False)
    other = make_user("Ops lead", username="other")
    client.force_login(other)
    # Someone else's draft is private: a 404, its existence not revealed.
    assert client.get(reverse("usecases:edit", args=[draft.pk])).status_code == 404
    client.force_login(ops_lead)
    url = reverse("usecases:edit", args=[draft.pk])
    assert client.get(url).status_code == 200
    form = client.get(url).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and k != "template_key"}
    data.update(
        {"title": "Renamed", "submit": "1", "money_movement": "false", "vendor_model": "false"}
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors
    draft.refresh_from_db()
    assert draft.title == "Renamed"
    assert not draft.is_draft
    # Submitted: no longer the owner's to edit; now seen by all, so refused (403), not hidden.
    assert client.get(url).status_code == 403
    client.force_login(other)
    assert client.get(url).status_code == 403


# --- Scoring ------------------------------------------------------------------------------------


def test_scores_are_blind_until_you_score_or_the_owner_reveals(client, ops_lead, make_user):
    use_case = make_use_case(ops_lead)
    first = make_user("Ops lead", username="first")
    second = make_user("Ops lead", username="second")
    rate(use_case, first, 5, 5, 5, 5, 5)

    client.force_login(second)
    page = client.get(use_case.get_absolute_url())
    assert page.context["consensus"] is None
    assert b"1 scorer has submitted" in page.content
    assert b"first" not in page.content.split(b'data-testid="scores"')[1].split(b"</section>")[0]

    response = client.post(reverse("usecases:score", args=[use_case.pk]), score_post(1, 1, 1, 1, 1))
    assert response.status_code == 302
    page = client.get(use_case.get_absolute_url())
    assert page.context["consensus"].scorers == 2
    assert page.context["consensus"].needs_calibration
    assert b"Wide disagreement on Value, Feasibility, Data readiness" in page.content

    # The owner has not scored: blind until they reveal.
    client.force_login(ops_lead)
    assert client.get(use_case.get_absolute_url()).context["consensus"] is None
    client.post(reverse("usecases:reveal", args=[use_case.pk]))
    assert client.get(use_case.get_absolute_url()).context["consensus"].scorers == 2


def test_only_the_owner_reveals(client, ops_lead, make_user):
    use_case = make_use_case(ops_lead)
    client.force_login(make_user("Ops lead", username="other"))
    assert client.post(reverse("usecases:reveal", args=[use_case.pk])).status_code == 403


def test_the_score_form_suggests_integration_complexity_from_systems(client, ops_lead):
    use_case = make_use_case(ops_lead, "quote_to_cash_exceptions")  # ERP, CRM, finance
    client.force_login(ops_lead)
    form = client.get(use_case.get_absolute_url()).context["score_form"]
    assert form["integration_complexity"].value() == "3"


def test_a_bad_score_is_refused_naming_the_criterion(client, ops_lead):
    use_case = make_use_case(ops_lead)
    client.force_login(ops_lead)
    data = score_post(5, 5, 5, 5, 5)
    data["feasibility_rationale"] = ""
    response = client.post(reverse("usecases:score", args=[use_case.pk]), data)
    assert response.status_code == 400
    assert "feasibility_rationale" in response.context["score_form"].errors
    assert not Score.objects.exists()


@pytest.mark.parametrize("username", ["exec", "owner", "outsider"])
def test_only_ops_leads_and_admins_score(
    client, ops_lead, executive, product_owner, roleless_user, username
):
    use_case = make_use_case(ops_lead)
    client.force_login(
        {"exec": executive, "owner": product_owner, "outsider": roleless_user}[username]
    )
    response = client.post(reverse("usecases:score", args=[use_case.pk]), score_post(3, 3, 3, 3, 3))
    assert response.status_code == 403
    assert not Score.objects.exists()


def test_the_page_shows_the_score_history(client, ops_lead):
    use_case = make_use_case(ops_lead)
    rate(use_case, ops_lead, 2, 2, 2, 2, 2)
    rate(use_case, ops_lead, 4, 4, 4, 4, 4)
    client.force_login(ops_lead)
    chart = client.get(use_case.get_absolute_url()).context["history_chart"]
    assert chart["data"][0]["name"] == "Consensus"
    assert chart["data"][0]["y"] == [2.0, 4.0]


# --- Stages ---------------------------------------------------------------------------------------


def test_the_team_product_owner_moves_the_stage(client, ops_lead, product_owner, finance):
    use_case = make_use_case(ops_lead, "support_triage", team=finance)  # submitted: in scoring
    rate(use_case, ops_lead, 4, 4, 4, 4, 4)
    client.force_login(product_owner)
    response = client.post(
        reverse("usecases:move_stage", args=[use_case.pk]), {"to_stage": "review", "note": "go"}
    )
    assert response.status_code == 302
    assert response.url == use_case.get_absolute_url()
    use_case.refresh_from_db()
    assert use_case.stage == "review"
    page = client.get(use_case.get_absolute_url())
    assert [s.stage for s in page.context["stage_history"]] == ["idea", "scoring", "review"]
    assert page.context["stage_history"][-1].note == "go"


def test_a_product_owner_of_another_team_and_ops_leads_cannot_move(
    client, ops_lead, make_user, finance
):
    use_case = make_use_case(ops_lead)
    stranger = make_user("Product owner", username="stranger")
    Team.objects.create(name="Support", product_owner=stranger)
    for user in (stranger, ops_lead):
        client.force_login(user)
        response = client.post(
            reverse("usecases:move_stage", args=[use_case.pk]), {"to_stage": "rejected"}
        )
        assert response.status_code == 403
    use_case.refresh_from_db()
    assert use_case.stage == "scoring"


def test_a_disallowed_move_is_refused_with_the_reason(client, ops_lead, product_owner, finance):
    use_case = make_use_case(ops_lead, team=finance)
    client.force_login(product_owner)
    response = client.post(
        reverse("usecases:move_stage", args=[use_case.pk]), {"to_stage": "pilot"}, follow=True
    )
    assert response.redirect_chain == [(use_case.get_absolute_url(), 302)]
    assert response.context["refused"]["conditions"][0]["text"] == (
        "Cannot move from Scoring to Pilot; allowed: Review, Idea, Rejected."
    )
    use_case.refresh_from_db()
    assert use_case.stage == "scoring"


# --- Portfolio, exports, sensitivity ----------------------------------------------------------------


def _portfolio_of(n, ops_lead, make_user):
    scorers = [ops_lead, make_user("Ops lead", username=f"scorer{n}")]
    for i in range(n):
        use_case = make_use_case(ops_lead, title=f"Case {n}-{i}", approvals_needed=i % 7)
        for scorer in scorers:
            rate(use_case, scorer, 1 + i % 5, 5 - i % 5, 3, 3, 3)


@pytest.mark.parametrize("n", [1, 12])
def test_the_portfolio_runs_a_fixed_number_of_queries(
    client, ops_lead, make_user, django_assert_num_queries, n
):
    _portfolio_of(n, ops_lead, make_user)
    client.force_login(ops_lead)
    client.get(reverse("usecases:portfolio"))  # warm the session
    # session, user, groups, scoring model, one GROUP BY for the value-by-bucket totals
    # (which also count the rows for the paginator), the chart's density grid and every
    # open obligation's count (usecases.lifecycle), one page of ranked rows, the chart's
    # bubbles, the team filter's choices, the custom-field filter's choices: the same nine
    # for one use case or ten thousand
    with django_assert_num_queries(9):
        response = client.get(reverse("usecases:portfolio") + "?sort=-value&stage=scoring")
    assert len(response.context["rows"]) == n


def test_the_portfolio_ranks_filters_and_sorts(client, ops_lead, make_user):
    high = make_use_case(ops_lead, title="High")
    low = make_use_case(ops_lead, "support_triage", title="Low", approvals_needed=5)
    unscored = make_use_case(ops_lead, title="Unscored")
    rate(high, ops_lead, 5, 5, 5, 5, 5)
    rate(low, ops_lead, 2, 2, 2, 2, 2)
    client.force_login(ops_lead)
    url = reverse("usecases:portfolio")
    titles = lambda r: [row.title for row in r.context["rows"]]  # noqa: E731
    assert titles(client.get(url)) == ["High", "Low", "Unscored"]
    assert titles(client.get(url + "?sort=score")) == ["Low", "High", "Unscored"]
    assert titles(client.get(url + "?political_thriller=true")) == ["Low"]
    assert titles(client.get(url + f"?team={low.team_id}")) == ["Low"]
    assert titles(client.get(url + "?min_score=3")) == ["High"]
    response = client.get(url)
    chart = response.context["chart"]
    urls = [u for trace in chart["data"] if "customdata" in trace for u in trace["customdata"]]
    assert sorted(urls) == sorted([high.get_absolute_url(), low.get_absolute_url()])
    assert unscored.get_absolute_url() not in urls
    assert b"estimate" in response.content


def test_exports_hold_exactly_the_filtered_rows(client, ops_lead):
    make_use_case(ops_lead, title="Thriller", approvals_needed=6)
    make_use_case(ops_lead, title="Calm", approvals_needed=1)
    client.force_login(ops_lead)
    url = reverse("usecases:portfolio") + "?political_thriller=true&export="
    response = client.get(url + "csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][1] == "title"
    assert "(estimate)" in rows[0][-8]  # before the risk columns (tests/usecases/test_risk.py)
    assert rows[0][-3:] == ["consensus_raw", "est_hours_raw", "est_cost_raw (GBP)"]  # then raw
    assert [row[1] for row in rows[1:]] == ["Thriller"]
    response = client.get(url + "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Thriller"]


def test_sensitivity_shows_whether_the_top_order_holds(client, ops_lead, executive):
    a = make_use_case(ops_lead, title="A")
    b = make_use_case(ops_lead, title="B")
    rate(a, ops_lead, 5, 2, 3, 3, 3)
    rate(b, ops_lead, 3, 5, 3, 3, 3)  # a 3.4 vs b 3.4+... close
    client.force_login(executive)
    response = client.get(reverse("usecases:sensitivity") + "?top=2")
    result = response.context["result"]
    assert len(result["cases"]) == 10
    assert {case["criterion"] for case in result["cases"]} == {
        "Value", "Feasibility", "Data readiness", "Integration complexity", "Change pain",
    }  # fmt: skip
    assert any(case["changed"] for case in result["cases"])


# --- Settings: scoring models and team costs ---------------------------------------------------------


def test_only_admins_create_scoring_model_versions(client, ops_lead, admin_user):
    data = {
        "note": "value first", "weight_value": "4", "weight_feasibility": "2",
        "weight_data_readiness": "2", "weight_integration_complexity": "1",
        "weight_change_pain": "1", "radar_min_rules_clarity": "3", "radar_min_frequency": "weekly",
        "radar_min_cases_per_week": "50", "radar_min_rework_share": "0.1",
        "quick_win_min_value": "4", "quick_win_min_feasibility": "4",
        "political_thriller_min_approvals": "5", "calibration_spread": "2",
    }  # fmt: skip
    client.force_login(ops_lead)
    assert client.post(reverse("usecases:scoring_models"), data).status_code == 403
    client.force_login(admin_user)
    assert client.post(reverse("usecases:scoring_models"), data).status_code == 302
    assert ScoringModel.objects.get().weight_value == 4


def test_team_costs_are_edited_by_admins_and_the_teams_product_owner(
    client, ops_lead, product_owner, finance
):
    client.force_login(ops_lead)
    url = reverse("usecases:teams")
    assert client.post(url, {"team": finance.pk, "hourly_cost": "60"}).status_code == 403
    client.force_login(product_owner)
    assert client.post(url, {"team": finance.pk, "hourly_cost": "60"}).status_code == 302
    finance.refresh_from_db()
    assert finance.hourly_cost == 60
    for team in ("abc", "", "99999"):
        assert client.post(url, {"team": team, "hourly_cost": "60"}).status_code == 404


def test_the_portfolio_keeps_scores_blind_for_scorers_who_have_not_scored(
    client, ops_lead, executive, make_user
):
    use_case = make_use_case(ops_lead)
    rate(use_case, make_user("Ops lead", username="first"), 5, 5, 5, 5, 5)
    url = reverse("usecases:portfolio")
    client.force_login(ops_lead)  # may score, has not
    response = client.get(url)
    (row,) = response.context["rows"]
    assert row.score_hidden
    assert response.context["chart"]["data"] == []
    assert [flag.key for flag in row.flag_list] == ["radar_hit"]  # no quick win while blind
    export = client.get(url + "?export=csv")
    exported = b"".join(export.streaming_content).decode().splitlines()[1]
    assert ",blind,1,blind," in exported
    client.force_login(executive)  # does not score: nothing to anchor
    (row,) = client.get(url).context["rows"]
    assert not row.score_hidden
    assert {flag.key for flag in row.flag_list} == {"radar_hit", "quick_win"}


@pytest.mark.parametrize("scorers", [1, 6])
def test_the_use_case_page_runs_a_fixed_number_of_queries(
    client, ops_lead, make_user, django_assert_num_queries, scorers
):
    use_case = make_use_case(ops_lead)
    for i in range(scorers):
        scorer = make_user("Ops lead", username=f"s{i}")
        rate(use_case, scorer, 3, 3, 3, 3, 1 + i % 5)
        rate(use_case, scorer, 4, 3, 3, 3, 1 + i % 5)  # a re-score: history grows too
    client.force_login(ops_lead)
    client.post(reverse("usecases:reveal", args=[use_case.pk]))
    client.get(use_case.get_absolute_url())
    # session, user, groups, scoring model, ranked row, sheets, stage changes, custom
    # fields, and its open obligations (submitted, it is in scoring: past the KPI gate)
    with django_assert_num_queries(9):
        response = client.get(use_case.get_absolute_url())
    assert response.context["consensus"].scorers == scorers


def test_a_template_shows_the_kpi_stack_it_brings(client, ops_lead):
    client.force_login(ops_lead)
    response = client.get(reverse("usecases:intake") + "?template=collections_outreach")
    assert b"Business</strong>: Cash collected" in response.content
    assert b"Days sales outstanding" in response.content


def test_the_units_page_lists_the_tree_with_each_units_roll_up(client, ops_lead, admin_user):
    """The fixed list of functions is gone (issue 10): units are added on the page
    (tests/usecases/test_units.py); here, what everyone reads."""
    Team.objects.create(name="Support")
    make_use_case(ops_lead, "support_triage")
    client.force_login(ops_lead)
    response = client.get(reverse("usecases:teams"))
    assert not response.context["may_add"]
    (support,) = [r for r in response.context["rollups"] if r.unit.name == "Support"]
    assert support.use_cases == 1
    client.force_login(admin_user)
    assert client.get(reverse("usecases:teams")).context["may_add"]


def test_a_blind_scorer_cannot_read_hidden_ranks_off_the_portfolio(
    client, ops_lead, executive, make_user
):
    """GIVEN three use cases scored by someone else (Zeta best, Alpha worst) and one the
    viewer scored, WHEN an ops lead who has not scored the three sorts or filters by
    score, THEN the three sit unranked after the visible ranking, by title, and score
    filters and score-derived flag filters match none of them."""
    other = make_user("Ops lead", username="other")
    alpha = make_use_case(ops_lead, title="Alpha", kpis_touched=1, teams_touched=1)
    middle = make_use_case(ops_lead, title="Middle")
    zeta = make_use_case(ops_lead, title="Zeta", kpis_touched=1, teams_touched=1)
    mine = make_use_case(ops_lead, title="Mine")
    rate(alpha, other, 1, 1, 1, 1, 1)
    rate(middle, other, 3, 3, 3, 3, 3)
    rate(zeta, other, 5, 5, 5, 5, 5)
    rate(mine, ops_lead, 2, 2, 2, 2, 2)
    url = reverse("usecases:portfolio")
    titles = lambda r: [row.title for row in r.context["rows"]]  # noqa: E731
    client.force_login(ops_lead)
    for query in ("", "?sort=-score", "?sort=score"):
        assert titles(client.get(url + query)) == ["Mine", "Alpha", "Middle", "Zeta"]
    assert titles(client.get(url + "?min_score=1")) == ["Mine"]
    assert titles(client.get(url + "?quick_win=true")) == []
    assert titles(client.get(url + "?quick_win=false")) == ["Mine"]
    response = client.get(url)
    assert b'title="Blind: not ranked for you yet"' in response.content
    api = client.get("/api/usecases/?sort=-score").json()
    api_rows = api["results"] if isinstance(api, dict) else api
    assert [row["title"] for row in api_rows] == ["Mine", "Alpha", "Middle", "Zeta"]
    sensitivity = client.get(reverse("usecases:sensitivity") + "?top=3")
    assert sensitivity.context["result"]["baseline"] == [(mine.pk, "Mine")]
    assert sensitivity.context["blind"] == 3
    client.force_login(executive)  # does not score: sees the real ranking
    assert titles(client.get(url)) == ["Zeta", "Middle", "Mine", "Alpha"]
    assert titles(client.get(url + "?quick_win=true")) == ["Zeta"]


def test_an_htmx_filter_gets_only_the_results_and_the_page_works_without_js(
    client, ops_lead, roleless_user, django_assert_num_queries
):
    make_use_case(ops_lead, title="Thriller", approvals_needed=6)
    make_use_case(ops_lead, title="Calm", approvals_needed=1)
    url = reverse("usecases:portfolio") + "?political_thriller=true&sort=title"
    client.force_login(ops_lead)
    client.get(url)  # warm the session
    # session, user, groups, scoring model, one GROUP BY (bucket totals, the chart's
    # density grid, the open obligations' counts), the page of ranked rows, the chart's
    # bubbles (no choices: no form)
    with django_assert_num_queries(7):
        response = client.get(url, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'aria-label="Filters"' not in html
    assert 'data-testid="portfolio-table"' in html
    assert [row.title for row in response.context["rows"]] == ["Thriller"]
    assert "Export these 1 row (every page)" in html
    assert "Showing 1–1 of 1" in html
    assert "political_thriller=true&amp;sort=title&amp;export=csv" in html
    # the sort field outside the swapped results follows the sort, out of band
    assert 'id="filter-sort" hx-swap-oob="true"' in html
    assert '<option value="title" selected>' in html
    assert "HX-Request" in response["Vary"]
    # Without JS: the same URL is the whole page, with a plain GET form to filter.
    page = client.get(url).content.decode()
    assert "<html" in page and '<form method="get"' in page and "Thriller" in page
    assert "Calm" not in page
    # A back-button history restore needs the whole page too.
    restore = client.get(url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.content.decode()
    client.force_login(roleless_user)
    assert client.get(url, headers={"HX-Request": "true"}).status_code == 403


def test_a_filter_the_page_cannot_read_is_named_not_silently_dropped(client, ops_lead):
    make_use_case(ops_lead, title="Thriller", approvals_needed=6)
    client.force_login(ops_lead)
    response = client.get(reverse("usecases:portfolio") + "?min_score=abc&political_thriller=true")
    assert response.status_code == 200
    assert b"Score at least: Enter a number. \xe2\x80\x94 not applied." in response.content
    assert [row.title for row in response.context["rows"]] == ["Thriller"]
