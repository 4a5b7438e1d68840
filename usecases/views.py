"""Pages for use cases: portfolio, intake, the use-case page, scoring, import, settings.

Views are short: check the permission (``opsai.permissions``), call a selector or
service, render. Service ``ValidationError``s come back to the person as messages
naming the field.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST, require_safe

from opsai.forms import form_add_errors
from opsai.paging import paginate, query_without, sort_links
from opsai.permissions import (
    is_read_only,
    permission_required,
    require,
    role_names,
    write_required,
)
from usecases import exports, lifecycle, scoring
from usecases.catalog import TEMPLATE_FIELDS, USE_CASE_TEMPLATES
from usecases.choices import TeamFunction
from usecases.filters import SORT_LABELS, UseCaseFilterSet
from usecases.forms import (
    ImportForm,
    ScoreForm,
    ScoringModelForm,
    StageMoveForm,
    TeamCostForm,
    UseCaseForm,
)
from usecases.imports import import_limits, usecase_import_submit
from usecases.models import ImportJob, Team, UseCase
from usecases.selectors import (
    SCORE_FLAGS,
    portfolio_chart,
    portfolio_sensitivity,
    portfolio_value_by_bucket,
    score_history_chart,
    scores_visible_to,
    scoring_model_current,
    scoring_model_list,
    usecase_consensus,
    usecase_flags,
    usecase_portfolio,
    usecase_sheets,
    usecase_stage_counts,
    usecase_stage_history,
    usecase_value_estimate,
    usecase_visible_to,
)
from usecases.services import (
    score_submit,
    scoring_model_create,
    team_create_missing_functions,
    team_set_hourly_cost,
    usecase_create,
    usecase_missing_fields,
    usecase_move_stage,
    usecase_reveal_scores,
    usecase_update,
)


@require_safe
@permission_required("opsai.view_site")
def home(request: HttpRequest) -> HttpResponse:
    """The signed-in landing page: who you are and where to go next.

    Executives only read, and what they read first is whether the business moved:
    their home is the portfolio dashboard.
    """
    if is_read_only(request.user):
        return redirect("kpis:portfolio")

    context = {
        "roles": role_names(request.user),
        "stage_counts": usecase_stage_counts(request.user),
    }
    return render(request, "home.html", context)


def _get_use_case(request: HttpRequest, pk: int, permission: str) -> UseCase:
    """The use case ``pk`` if the user holds ``permission`` on it (404 / 403 otherwise).

    A draft the user may not see is a 404, whatever the permission: not revealed.
    """
    visible = usecase_visible_to(UseCase.objects.select_related("team", "owner"), request.user)
    use_case = get_object_or_404(visible, pk=pk)
    require(request.user, permission, use_case)
    return use_case


# --- Portfolio ---------------------------------------------------------------------------------


@require_safe
@permission_required("usecases.view_usecase")
def portfolio(request: HttpRequest) -> HttpResponse:
    """The use cases ranked, filterable and sortable, a page at a time (``?size=``, 50 by
    default), with the value-vs-feasibility chart and exports.

    Whatever the portfolio's size the page costs the same queries: one page of rows,
    the chart's density grid and top bubbles (two bounded GROUP BY / LIMIT queries) and
    the value-by-bucket totals (a GROUP BY, whose counts also size the paginator).
    Exports hold every filtered row.
    """
    model = scoring_model_current()
    queryset = usecase_portfolio(scoring_model=model, viewer=request.user)
    filterset = UseCaseFilterSet(request.GET, queryset=queryset)
    filtered = filterset.qs
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        return exports.portfolio_export(filtered, model=model, kind=export)
    value_by_bucket = portfolio_value_by_bucket(filtered)
    # The bucket totals already counted the selection: no second COUNT query.
    listing = paginate(
        request,
        filtered,
        target="#portfolio-results",
        count=sum(entry["use_cases"] for entry in value_by_bucket),
    )
    rows = list(listing.page.object_list)
    for row in rows:  # flags with their reasons, for the rows shown only
        row.flag_list = [
            flag
            for flag in usecase_flags(row, model)
            if flag.on and not (row.score_hidden and flag.key in SCORE_FLAGS)
        ]
    chart = portfolio_chart(filtered)
    # A filter change or sort click from htmx swaps only the results (and the sort
    # field, out of band); a history restore or a plain request gets the whole page.
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    context = {
        "rows": rows,
        "page": listing.page,
        "listing": listing,
        "filterset": filterset,
        "model": model,
        "chart": chart.figure,
        "chart_shown": chart.labelled,
        "chart_total": chart.plotted,
        "value_by_bucket": value_by_bucket,
        "sort_links": sort_links(request.GET, SORT_LABELS, default="-score"),
        "query": query_without(request.GET, "export", "page").urlencode(),
        "may_add": request.user.has_perm("usecases.add_usecase"),
        "htmx_partial": partial,
    }
    template = "usecases/partials/portfolio_results.html" if partial else "usecases/portfolio.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_safe
@permission_required("usecases.view_usecase")
def sensitivity(request: HttpRequest) -> HttpResponse:
    """Does the top of the ranking hold if any weight moves by ±20%?"""
    model = scoring_model_current()
    try:
        top = max(2, min(20, int(request.GET.get("top", 5))))
    except ValueError:
        top = 5
    rows = list(usecase_portfolio(scoring_model=model, viewer=request.user))
    # A blind scorer would read the hidden ranks off the top list: leave those rows out.
    visible = [row for row in rows if not row.score_hidden]
    result = portfolio_sensitivity(rows=visible, model=model, top=top)
    context = {"result": result, "model": model, "top": top, "blind": len(rows) - len(visible)}
    return render(request, "usecases/sensitivity.html", context)


# --- Intake --------------------------------------------------------------------------------------


@permission_required("usecases.add_usecase")
def intake(request: HttpRequest) -> HttpResponse:
    """New use case: pick a template (or blank), fill the sections, save a draft or submit."""
    template_key = request.POST.get("template_key") or request.GET.get("template", "")
    if template_key and template_key not in USE_CASE_TEMPLATES:
        raise Http404("No such template.")
    if request.method == "POST":
        submitting = "submit" in request.POST
        form = UseCaseForm(request.POST, require_complete=submitting)
        if form.is_valid():
            try:
                use_case = usecase_create(
                    actor=request.user,
                    data=form.intake_data(),
                    template_key=template_key,
                    submit=submitting,
                )
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                messages.success(
                    request, "Submitted for scoring." if submitting else "Draft saved."
                )
                return redirect(use_case)
    elif template_key or "blank" in request.GET:
        form = UseCaseForm(initial=_template_initial(template_key, request.user))
    else:
        return render(request, "usecases/template_chooser.html", {"templates": _templates()})
    context = {
        "form": form,
        "template": USE_CASE_TEMPLATES.get(template_key),
        "template_key": template_key,
    }
    return render(request, "usecases/intake.html", context)


def _templates() -> list[dict[str, Any]]:
    return [
        {"key": key, "title": t["title"], "team": t["team"], "outcome": t["business_outcome"]}
        for key, t in USE_CASE_TEMPLATES.items()
    ]


def _template_initial(template_key: str, user: Any) -> dict[str, Any]:
    initial: dict[str, Any] = {"owner": user.pk, "template_key": template_key}
    if template_key:
        template = USE_CASE_TEMPLATES[template_key]
        for name in TEMPLATE_FIELDS:
            initial[name] = template[name]
        team = Team.objects.filter(name=template["team"]).first()
        initial["team"] = team.pk if team else None
        for name in ("money_movement", "vendor_model"):
            initial[name] = "true" if template[name] else "false"
    return initial


@write_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner edits (and may submit) their own draft."""
    use_case = _get_use_case(request, pk, "usecases.change_usecase")
    if request.method == "POST":
        submitting = "submit" in request.POST and use_case.is_draft
        form = UseCaseForm(request.POST, instance=use_case, require_complete=submitting)
        if form.is_valid():
            try:
                usecase_update(
                    use_case=use_case,
                    actor=request.user,
                    data=form.intake_data(),
                    submit=submitting,
                )
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                messages.success(request, "Submitted for scoring." if submitting else "Saved.")
                return redirect(use_case)
    else:
        form = UseCaseForm(
            instance=use_case,
            initial={
                "money_movement": _yes_no(use_case.money_movement),
                "vendor_model": _yes_no(use_case.vendor_model),
            },
        )
    return render(
        request,
        "usecases/intake.html",
        {"form": form, "use_case": use_case, "template_key": use_case.template_key},
    )


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


# --- The use-case page ---------------------------------------------------------------------------


@require_safe
@permission_required("usecases.view_usecase")
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One use case: outcome as headline, radar, scores, flags, value estimate, stage history."""
    model = scoring_model_current()
    use_case = get_object_or_404(usecase_portfolio(scoring_model=model, viewer=request.user), pk=pk)
    return render(request, "usecases/detail.html", _detail_context(request, use_case, model))


def _detail_context(
    request: HttpRequest,
    use_case: UseCase,
    model: Any,
    score_form: ScoreForm | None = None,
    stage_form: StageMoveForm | None = None,
) -> dict[str, Any]:
    user = request.user
    sheets = usecase_sheets(use_case)
    visible = scores_visible_to(use_case=use_case, user=user, sheets=sheets)
    may_score = (
        user.has_perm("usecases.score_usecase", use_case)
        and not use_case.is_draft
        and use_case.stage not in lifecycle.CLOSED_STAGES
    )
    suggested = {
        "integration_complexity": scoring.suggest_integration_complexity(
            len(use_case.systems_touched or [])
        )
    }
    mine = next((s for s in sheets if s.scorer_id == user.pk and s.superseded_at is None), None)
    if score_form is None and may_score:
        initial = {}
        if mine:
            initial = {**{k: str(v) for k, v in mine.values().items()}}
            initial.update(
                {f"{k}_rationale": getattr(mine, f"{k}_rationale") for k in mine.values()}
            )
        score_form = ScoreForm(initial=initial, suggested=None if mine else suggested)
    consensus = usecase_consensus(sheets=sheets, model=model) if visible else None
    may_move = user.has_perm("usecases.move_stage", use_case)
    if stage_form is None and may_move:
        stage_form = StageMoveForm(use_case=use_case)
    return {
        "use_case": use_case,
        "model": model,
        "flags": [
            flag
            for flag in usecase_flags(use_case, model)
            if visible or flag.key not in SCORE_FLAGS
        ],
        "estimate": usecase_value_estimate(use_case),
        "sheets_visible": visible,
        "current_sheets": [s for s in sheets if s.superseded_at is None],
        "consensus": consensus,
        "widest_labels": [
            scoring.CRITERIA[key][0] for key in (consensus.widest if consensus else [])
        ],
        "criteria": scoring.CRITERIA,
        "history_chart": score_history_chart(sheets) if visible and sheets else None,
        "stage_history": usecase_stage_history(use_case),
        "score_form": score_form if may_score else None,
        "my_sheet": mine,
        "suggested_complexity": suggested["integration_complexity"],
        "stage_form": stage_form if may_move else None,
        "may_edit": user.has_perm("usecases.change_usecase", use_case),
        "may_reveal": user.has_perm("usecases.reveal_scores", use_case)
        and use_case.scores_revealed_at is None,
        "missing": _missing(use_case),
    }


def _missing(use_case: UseCase) -> dict[str, str]:
    return usecase_missing_fields(use_case) if use_case.is_draft else {}


@require_POST
@write_required
def score(request: HttpRequest, pk: int) -> HttpResponse:
    """Submit (or re-submit) the signed-in scorer's sheet."""
    use_case = _get_use_case(request, pk, "usecases.score_usecase")
    form = ScoreForm(request.POST)
    if form.is_valid():
        try:
            score_submit(
                use_case=use_case,
                scorer=request.user,
                values=form.values(),
                rationales=form.rationales(),
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, "Your score is in.")
            return redirect(use_case)
    model = scoring_model_current()
    ranked = usecase_portfolio(scoring_model=model, viewer=request.user).get(pk=use_case.pk)
    context = _detail_context(request, ranked, model, score_form=form)
    return render(request, "usecases/detail.html", context, status=400)


@require_POST
@write_required
def reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner reveals every scorer's sheet."""
    use_case = _get_use_case(request, pk, "usecases.reveal_scores")
    usecase_reveal_scores(use_case=use_case, actor=request.user)
    messages.success(request, "Scores revealed to everyone.")
    return redirect(use_case)


@require_POST
@write_required
def move_stage(request: HttpRequest, pk: int) -> HttpResponse:
    """A product owner moves their team's use case to the next stage."""
    use_case = _get_use_case(request, pk, "usecases.move_stage")
    form = StageMoveForm(request.POST, use_case=use_case)
    if form.is_valid():
        try:
            usecase_move_stage(
                use_case=use_case,
                to_stage=form.cleaned_data["to_stage"],
                actor=request.user,
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, "Stage changed.")
            return redirect(use_case)
    model = scoring_model_current()
    ranked = usecase_portfolio(scoring_model=model, viewer=request.user).get(pk=use_case.pk)
    context = _detail_context(request, ranked, model, stage_form=form)
    return render(request, "usecases/detail.html", context, status=400)


# --- Import and settings ---------------------------------------------------------------------------


@write_required
@permission_required("usecases.add_usecase")
def import_file(request: HttpRequest) -> HttpResponse:
    """Create or update many use cases from CSV or Excel: all rows or none.

    A small file is imported at once; a large one becomes a job whose page shows its progress.
    """
    report = None
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        outcome = usecase_import_submit(actor=request.user, name=upload.name, content=upload.read())
        if isinstance(outcome, ImportJob):
            return redirect("usecases:import_job", pk=outcome.pk)
        report = outcome
        if report.ok:
            messages.success(
                request, f"Imported: {report.created} created, {report.updated} updated."
            )
            return redirect("usecases:portfolio")
    refused = (report is not None and not report.ok) or (form.is_bound and not form.is_valid())
    context = {
        "form": form,
        "report": report,
        "limits": import_limits().describe(),
        "inline_rows": settings.USECASE_IMPORT_INLINE_ROWS,
    }
    return render(request, "usecases/import.html", context, status=400 if refused else 200)


def _get_import_job(request: HttpRequest, pk: int) -> ImportJob:
    """The import job, if this user sent it (or is an admin); anyone else gets a 404."""
    job = get_object_or_404(ImportJob.objects.defer("content"), pk=pk)
    if not request.user.has_perm("usecases.view_importjob", job):
        raise Http404("No such import.")
    return job


@require_safe
@permission_required("usecases.add_usecase")
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    """A background import's progress; htmx polls the card every second until it ends."""
    job = _get_import_job(request, pk)
    template = "usecases/partials/import_job.html" if request.htmx else "usecases/import_job.html"
    return render(request, template, {"job": job})


@write_required
@permission_required("usecases.view_usecase")
def scoring_models(request: HttpRequest) -> HttpResponse:
    """Every scoring-model version; admins create the next one."""
    may_add = request.user.has_perm("usecases.add_scoringmodel")
    current = scoring_model_current()
    form = None
    if request.method == "POST":
        require(request.user, "usecases.add_scoringmodel")
        form = ScoringModelForm(request.POST)
        if form.is_valid():
            try:
                model = scoring_model_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                messages.success(request, f"Scoring model v{model.version} is now in use.")
                return redirect("usecases:scoring_models")
    elif may_add:
        form = ScoringModelForm(instance=current, initial={"note": ""})
    return render(
        request,
        "usecases/scoring_models.html",
        {"models": scoring_model_list(), "current": current, "form": form},
    )


@write_required
@permission_required("usecases.view_usecase")
def teams(request: HttpRequest) -> HttpResponse:
    """Teams, their product owners and hourly costs; admins and the team's owner edit the cost."""
    if request.method == "POST" and "create_functions" in request.POST:
        require(request.user, "usecases.add_team")
        created = team_create_missing_functions(actor=request.user)
        messages.success(request, f"Created {len(created)} team{'s' if len(created) != 1 else ''}.")
        return redirect("usecases:teams")
    team_list = list(Team.objects.select_related("product_owner"))
    if request.method == "POST":
        team_id = request.POST.get("team", "")
        # A hand-made POST with a non-numeric team would otherwise be a ValueError (500).
        team = get_object_or_404(Team, pk=team_id if team_id.isascii() and team_id.isdigit() else 0)
        require(request.user, "usecases.change_team", team)
        # The form cleans into its own copy, so the message below names the saved team.
        form = TeamCostForm(request.POST, instance=Team.objects.get(pk=team.pk))
        if form.is_valid():
            team_set_hourly_cost(
                team=team, actor=request.user, hourly_cost=form.cleaned_data["hourly_cost"]
            )
            messages.success(request, f"{team} hourly cost saved.")
            return redirect("usecases:teams")
        messages.error(request, f"{team}: " + "; ".join(form.errors.get("hourly_cost", [])))
    for team in team_list:
        team.may_edit = request.user.has_perm("usecases.change_team", team)
    context = {
        "teams": team_list,
        "missing_functions": len(TeamFunction) - len(team_list),
        "may_add": request.user.has_perm("usecases.add_team"),
    }
    return render(request, "usecases/teams.html", context)
