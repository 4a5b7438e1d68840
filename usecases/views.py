"""Pages for use cases: portfolio, intake, the use-case page, scoring, import, settings.

Views are short: check the permission (``opsai.permissions``), call a selector or
service, render. Service ``ValidationError``s come back to the person as messages
naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import rules
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST, require_safe

from opsai.forms import form_add_errors
from opsai.needs import needs_count_remember, needs_for, needs_total
from opsai.paging import paginate, query_without, sort_links
from opsai.permissions import (
    is_admin,
    is_product_owner,
    is_read_only,
    permission_required,
    require,
    role_names,
    write_required,
)
from usecases import exports, lifecycle, scoring
from usecases.catalog import TEMPLATE_FIELDS, USE_CASE_TEMPLATES
from usecases.choices import ImportState, Stage
from usecases.contacts import contact_invite
from usecases.custom_fields import custom_fields, custom_values_display
from usecases.filters import SORT_LABELS, UseCaseFilterSet
from usecases.forms import (
    CustomFieldForm,
    ImportForm,
    OnboardingMappingForm,
    OnboardingUploadForm,
    ScoreForm,
    ScoringModelForm,
    StageMoveForm,
    TeamCostForm,
    UnitForm,
    UnitMoveForm,
    UseCaseForm,
)
from usecases.imports import import_limits, usecase_import_submit
from usecases.models import CustomField, ImportJob, ImportMapping, Team, UseCase
from usecases.move_words import moved_text
from usecases.onboarding import columns_csv as onboarding_columns_csv
from usecases.onboarding import sample_csv as onboarding_sample_csv
from usecases.onboarding import targets as onboarding_targets
from usecases.onboarding_jobs import (
    error_report_csv,
    onboarding_confirm,
    onboarding_mapping_set,
    onboarding_remap,
    onboarding_upload,
)
from usecases.risk import risk_class_label, risk_scheme
from usecases.selectors import (
    SCORE_FLAGS,
    portfolio_chart,
    portfolio_sensitivity,
    portfolio_totals,
    score_history_chart,
    scores_visible_to,
    scoring_model_current,
    scoring_model_list,
    units_product_owned_by,
    usecase_consensus,
    usecase_flags,
    usecase_open_obligations,
    usecase_portfolio,
    usecase_radar,
    usecase_sheets,
    usecase_stage_counts,
    usecase_stage_history,
    usecase_value_estimate,
    usecase_visible_to,
)
from usecases.services import (
    custom_field_create,
    custom_field_delete,
    custom_field_update,
    score_submit,
    scoring_model_create,
    team_set_hourly_cost,
    unit_create,
    unit_update,
    usecase_create,
    usecase_missing_fields,
    usecase_move_stage,
    usecase_reveal_scores,
    usecase_update,
)
from usecases.units import unit_rollups


@require_safe
@permission_required("opsai.view_site")
def home(request: HttpRequest) -> HttpResponse:
    """The signed-in landing page: who you are and where to go next.

    Executives only read, and what they read first is whether the business moved:
    their home is the portfolio dashboard.
    """
    if is_read_only(request.user):
        return redirect("kpis:portfolio")

    needs = needs_for(request.user)
    decisions = needs_for(request.user, decision=True)
    # The page has just counted everything: the navigation badge shows the same number.
    needs_count_remember(request.user, needs_total(needs) + needs_total(decisions))
    context = {
        "roles": role_names(request.user),
        "needs": needs,
        "decisions": decisions,
        "stage_counts": usecase_stage_counts(request.user, own=True),
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
    the chart's top bubbles (a LIMIT query) and one GROUP BY for the value-by-bucket
    totals, the open obligations and the chart's density grid (whose counts also size
    the paginator).
    Exports hold every filtered row.
    """
    model = scoring_model_current()
    queryset = usecase_portfolio(scoring_model=model, viewer=request.user)
    filterset = UseCaseFilterSet(request.GET, queryset=queryset)
    filtered = filterset.qs
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        return exports.portfolio_export(filtered, model=model, kind=export)
    # The bucket totals, open obligations and chart grid: one GROUP BY over the selection.
    totals = portfolio_totals(filtered)
    # The bucket totals already counted the selection: no second COUNT query.
    listing = paginate(
        request,
        filtered,
        target="#portfolio-results",
        count=sum(entry["use_cases"] for entry in totals.value_by_bucket),
    )
    # The page's ids first, in a subquery that sorts only the narrow sort keys, then the
    # 50 wide rows by id: sorting every wide annotated row for a LIMIT cost twice as much.
    rows = list(filtered.filter(pk__in=listing.page.object_list.values("pk")))
    for row in rows:  # flags with their reasons, for the rows shown only
        row.flag_list = [
            flag
            for flag in usecase_flags(row, model)
            if flag.on and not (row.score_hidden and flag.key in SCORE_FLAGS)
        ]
    chart = portfolio_chart(filtered, cells=totals.cells)
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
        "value_by_bucket": totals.value_by_bucket,
        "sort_links": sort_links(request.GET, SORT_LABELS, default="-score"),
        "query": query_without(request.GET, "export", "page").urlencode(),
        "may_add": request.user.has_perm("usecases.add_usecase"),
        # The rule alone (not the model backend's permission tables: no extra queries).
        "may_define_fields": rules.has_perm("usecases.change_customfield", request.user),
        # Gates the selection is past without having passed them.
        "obligations": [o for o in totals.obligations if o.count],
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
            saved = _intake_save(
                request,
                form,
                lambda submit: usecase_create(
                    actor=request.user,
                    data=form.intake_data(),
                    template_key=template_key,
                    submit=submit,
                ),
                submitting=submitting,
                saved_text="Draft saved.",
            )
            if saved is not None:
                return saved
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
            saved = _intake_save(
                request,
                form,
                lambda submit: usecase_update(
                    use_case=use_case, actor=request.user, data=form.intake_data(), submit=submit
                ),
                submitting=submitting,
                saved_text="Saved.",
            )
            if saved is not None:
                return saved
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


def _intake_save(
    request: HttpRequest,
    form: UseCaseForm,
    save: Callable[[bool], UseCase],
    *,
    submitting: bool,
    saved_text: str,
) -> HttpResponse | None:
    """Save the intake with ``save(submit)``: the redirect to the use case, or ``None`` when
    the form shows why nothing was saved.

    A submission the lifecycle refuses (no business KPI yet, a Prohibited lane) is not
    half-made: nothing of it is kept, the intake is saved as a draft instead (so what was
    typed is not lost and the links have a use case to point at), and the use case page
    says, at its top, every condition the move on to scoring needs, each with its link.
    """
    try:
        use_case = save(submitting)
    except lifecycle.MoveRefused as refusal:
        if not submitting:
            form_add_errors(form, refusal)
            return None
        try:
            use_case = save(False)
        except ValidationError as error:
            form_add_errors(form, error)
            return None
        # Asked again of the draft now saved: a new one's links need its id (the refused
        # submission's was rolled back with it).
        conditions = lifecycle.unmet_conditions(
            use_case, refusal.to_stage, actor=request.user, submitting=True
        )
        heading = (
            f"Saved as a draft, not submitted. To move on to "
            f"{lifecycle.stage_label(refusal.to_stage)} it needs"
        )
        _refusal_remember(request, use_case, conditions or refusal.conditions, heading=heading)
        return redirect(use_case)
    except ValidationError as error:
        form_add_errors(form, error)
        return None
    messages.success(request, _submitted_text(use_case) if submitting else saved_text)
    return redirect(use_case)


def _submitted_text(use_case: UseCase) -> str:
    """What a submission did: where the use case is now, and what the rework radar found."""
    radar = usecase_radar(use_case, scoring_model_current())
    return f"Submitted: now in {use_case.get_stage_display()}. Rework radar: {radar.reason}."


# --- Refused moves: said at the top of the use case page, after a redirect ----------------------


def _refusal_key(use_case: UseCase) -> str:
    return f"usecases.refused.{use_case.pk}"


def _refusal_remember(
    request: HttpRequest,
    use_case: UseCase,
    conditions: list[lifecycle.Condition],
    *,
    heading: str,
    note: str = "",
) -> None:
    """Keep a refusal for the use case page the browser is sent to next (Post/Redirect/Get:
    the address bar shows the use case, and a reload does not post the move again)."""
    request.session[_refusal_key(use_case)] = {
        "heading": heading,
        "conditions": [condition.as_dict() for condition in conditions],
        "note": note,
    }


def _refusal_take(request: HttpRequest, use_case: UseCase) -> dict[str, Any] | None:
    """The refusal kept for this use case's page, said once."""
    return request.session.pop(_refusal_key(use_case), None)


# --- The use-case page ---------------------------------------------------------------------------


@require_safe
@permission_required("usecases.view_usecase")
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One use case: outcome as headline, radar, scores, flags, value estimate, stage history."""
    model = scoring_model_current()
    use_case = get_object_or_404(usecase_portfolio(scoring_model=model, viewer=request.user), pk=pk)
    refused = _refusal_take(request, use_case)
    context = _detail_context(request, use_case, model, refused=refused)
    return render(request, "usecases/detail.html", context)


def _detail_context(
    request: HttpRequest,
    use_case: UseCase,
    model: Any,
    score_form: ScoreForm | None = None,
    stage_form: StageMoveForm | None = None,
    refused: dict[str, Any] | None = None,
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
        note = (refused or {}).get("note", "")
        stage_form = StageMoveForm(use_case=use_case, initial={"note": note})
    return {
        "use_case": use_case,
        "refused": refused,
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
        "to_submit": _submit_conditions(use_case, user),
        "risk_scheme": risk_scheme(),
        "risk_class_label": risk_class_label(use_case.risk_class),
        "custom_values": custom_values_display(use_case.custom, custom_fields()),
        "obligations": usecase_open_obligations(use_case),
        "may_invite": bool(use_case.contact_email)
        and use_case.owner_id is None
        and user.has_perm("usecases.invite_contact", use_case),
    }


def _missing(use_case: UseCase) -> dict[str, str]:
    return usecase_missing_fields(use_case) if use_case.is_draft else {}


def _submit_conditions(use_case: UseCase, user: Any) -> list[lifecycle.Condition]:
    """What submitting a draft would still be refused for (moving on to scoring), said
    before its editor tries rather than after."""
    if not use_case.is_draft or not user.has_perm("usecases.change_usecase", use_case):
        return []
    return lifecycle.unmet_conditions(use_case, Stage.SCORING, actor=user, submitting=True)


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
    """A product owner moves their team's use case to another stage, then back to its page:
    with a message linking to what the move opened, or — refused — every unmet condition
    at the top of the page, each with the link that resolves it."""
    use_case = _get_use_case(request, pk, "usecases.move_stage")
    form = StageMoveForm(request.POST, use_case=use_case)
    to_stage = request.POST.get("to_stage", "")
    heading = f"Not moved to {lifecycle.stage_label(to_stage)}. It needs"
    if not form.is_valid():
        # A stage no longer offered (moved meanwhile in another tab), or a note too long.
        conditions = [
            lifecycle.Condition(f"{form[name].label}: {message}")
            for name, errors in form.errors.items()
            for message in errors
        ]
        if "to_stage" in form.errors:
            conditions = lifecycle.unmet_conditions(use_case, to_stage) or conditions
        _refusal_remember(
            request, use_case, conditions, heading=heading, note=form.data.get("note", "")[:300]
        )
        return redirect(use_case)
    note = form.cleaned_data["note"]
    try:
        moved = usecase_move_stage(
            use_case=use_case, to_stage=to_stage, actor=request.user, note=note
        )
    except lifecycle.MoveRefused as refusal:
        _refusal_remember(request, use_case, refusal.conditions, heading=heading, note=note)
    except ValidationError as error:  # a step's own refusal: in words, without a link
        conditions = [lifecycle.Condition(message) for message in error.messages]
        _refusal_remember(request, use_case, conditions, heading=heading, note=note)
    else:
        messages.success(request, moved_text(moved, to_stage))
    return redirect(use_case)


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
    """The organisation units as a tree: path, product owner, hourly cost, and the use cases
    and value estimate of each unit with everything below it. Admins add, rename and move
    units; admins and a unit's product owner edit its hourly cost."""
    add_form = UnitForm(prefix="add")
    move_form = UnitMoveForm(prefix="move")
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "add":
            add_form = UnitForm(request.POST, prefix="add")
            if _unit_add(request, add_form):
                return redirect("usecases:teams")
        elif action == "move":
            move_form = UnitMoveForm(request.POST, prefix="move")
            if _unit_move(request, move_form):
                return redirect("usecases:teams")
        elif _unit_cost(request):
            return redirect("usecases:teams")
    user = request.user
    # Whose hourly cost this user may edit: the set form of ``usecases.change_team`` (its
    # SQL twin), one query for the page instead of one per unit without its own owner.
    admin = is_admin(user)
    owned: set[int] = set()
    if is_product_owner(user) and not admin:
        owned = set(units_product_owned_by(user).values_list("pk", flat=True))
    rollups = unit_rollups(user)
    context = {
        "rollups": rollups,
        "editable": [r.unit for r in rollups if admin or r.unit.pk in owned],
        "unit_options": [(r.unit.pk, r.unit.path_label) for r in rollups],
        "may_add": user.has_perm("usecases.add_team"),
        "may_organise": user.has_perm("usecases.organise_units"),
        "add_form": add_form,
        "move_form": move_form,
    }
    status = 400 if add_form.errors or move_form.errors else 200
    return render(request, "usecases/teams.html", context, status=status)


def _unit_add(request: HttpRequest, form: UnitForm) -> bool:
    require(request.user, "usecases.add_team")
    if not form.is_valid():
        return False
    try:
        unit = unit_create(actor=request.user, **form.cleaned_data)
    except ValidationError as error:
        form_add_errors(form, error)
        return False
    messages.success(request, f"{unit.path_label} added.")
    return True


def _unit_move(request: HttpRequest, form: UnitMoveForm) -> bool:
    require(request.user, "usecases.organise_units")
    if not form.is_valid():
        return False
    try:
        unit = unit_update(unit=form.cleaned_data["unit"], actor=request.user, **form.changes())
    except ValidationError as error:
        form_add_errors(form, error)
        return False
    messages.success(request, f"Saved: {unit.path_label}.")
    return True


def _unit_cost(request: HttpRequest) -> bool:
    """A unit's hourly cost from its row's form; an error becomes a message."""
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
        messages.success(request, f"{team.path_label} hourly cost saved.")
        return True
    messages.error(request, f"{team.path_label}: " + "; ".join(form.errors.get("hourly_cost", [])))
    return False


# --- Custom fields ---------------------------------------------------------------------------


@write_required
@permission_required("usecases.change_customfield")
def custom_field_list(request: HttpRequest) -> HttpResponse:
    """The organisation's own use-case fields; admins add one here (edit on its own page)."""
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            field = custom_field_create(
                actor=request.user, key=form.cleaned_data["key"], **form.attributes()
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, f"Added the field “{field.label}”.")
            return redirect("usecases:custom_fields")
    context = {"fields": CustomField.objects.all(), "form": form}
    return render(
        request, "usecases/custom_fields.html", context, status=400 if form.errors else 200
    )


@write_required
@permission_required("usecases.change_customfield")
def custom_field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a custom field's label, kind, choices, help or order — or delete it."""
    field = get_object_or_404(CustomField, pk=pk)
    if request.method == "POST" and "delete" in request.POST:
        custom_field_delete(field=field, actor=request.user)
        messages.success(request, f"Deleted “{field.label}”; stored values stay, shown as text.")
        return redirect("usecases:custom_fields")
    form = CustomFieldForm(request.POST or None, instance=CustomField.objects.get(pk=field.pk))
    if request.method == "POST" and form.is_valid():
        try:
            custom_field_update(field=field, actor=request.user, **form.attributes())
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, f"Saved “{form.cleaned_data['label']}”.")
            return redirect("usecases:custom_fields")
    context = {"field": field, "form": form}
    status = 400 if form.errors else 200
    return render(request, "usecases/custom_field_edit.html", context, status=status)


# --- Onboarding an existing inventory ------------------------------------------------------------


@write_required
@permission_required("usecases.add_usecase")
def onboarding(request: HttpRequest) -> HttpResponse:
    """Upload an inventory from another tool: the next page proposes how its columns map."""
    form = OnboardingUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = onboarding_upload(
                actor=request.user,
                name=upload.name,
                content=upload.read(),
                source=form.cleaned_data["source"],
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            return redirect("usecases:onboarding_job", pk=job.pk)
    context = {
        "form": form,
        "targets": onboarding_targets(),
        "limits": import_limits().describe(),
        "sources": ImportMapping.objects.values_list("source", flat=True)[:50],
        "jobs": ImportJob.objects.defer("content")
        .filter(created_by=request.user)
        .exclude(source="")[:5],
    }
    return render(
        request, "usecases/onboarding_upload.html", context, status=400 if form.is_bound else 200
    )


@require_safe
@permission_required("usecases.add_usecase")
def onboarding_sample(request: HttpRequest, kind: str) -> HttpResponse:
    """The sample file (every column, two example rows) or the columns and their allowed values."""
    text = onboarding_sample_csv() if kind == "sample" else onboarding_columns_csv()
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    name = "opsai-inventory-sample.csv" if kind == "sample" else "opsai-inventory-columns.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _onboarding_context(request: HttpRequest, job: ImportJob, form: Any = None) -> dict[str, Any]:
    may_create_units = request.user.has_perm("usecases.add_team")
    if form is None and job.state == ImportState.MAPPING and job.mapping.get("phase") == "mapping":
        form = OnboardingMappingForm(
            job=job, all_targets=onboarding_targets(), may_create_units=may_create_units
        )
    return {
        "job": job,
        "phase": job.mapping.get("phase", ""),
        "form": form,
        "columns": form.column_rows(job.mapping.get("samples", {})) if form else [],
        "value_tables": form.value_tables() if form else [],
        "preview": job.mapping.get("preview") or {},
        "result": job.mapping.get("result") or {},
    }


@write_required
@permission_required("usecases.add_usecase")
def onboarding_job(request: HttpRequest, pk: int) -> HttpResponse:
    """One onboarding: the mapping to confirm, the preview, the progress, the outcome.

    htmx polls the status card every second while the worker checks or imports.
    """
    job = _get_import_job(request, pk)
    if request.method == "POST":
        if job.state != ImportState.MAPPING or job.mapping.get("phase") != "mapping":
            messages.error(request, "This import is past its mapping.")
            return redirect("usecases:onboarding_job", pk=job.pk)
        form = OnboardingMappingForm(
            request.POST,
            job=job,
            all_targets=onboarding_targets(),
            may_create_units=request.user.has_perm("usecases.add_team"),
        )
        if form.is_valid():
            columns, values, options = form.mapping()
            try:
                onboarding_mapping_set(
                    job=job, actor=request.user, columns=columns, values=values, options=options
                )
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                return redirect("usecases:onboarding_job", pk=job.pk)
        context = _onboarding_context(request, job, form)
        return render(request, "usecases/onboarding_job.html", context, status=400)
    context = _onboarding_context(request, job)
    if request.htmx:
        if job.state not in (ImportState.QUEUED, ImportState.RUNNING):
            # The check or the import ended: the preview or the outcome is a page of its own.
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
            return response
        return render(request, "usecases/partials/onboarding_status.html", context)
    return render(request, "usecases/onboarding_job.html", context)


@require_POST
@write_required
@permission_required("usecases.add_usecase")
def onboarding_confirm_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Import the previewed rows in the background ("remap": back to the mapping instead)."""
    job = _get_import_job(request, pk)
    try:
        if request.POST.get("action") == "remap":
            onboarding_remap(job=job, actor=request.user)
        else:
            onboarding_confirm(job=job, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("usecases:onboarding_job", pk=job.pk)


@require_safe
@permission_required("usecases.add_usecase")
def onboarding_errors(request: HttpRequest, pk: int) -> HttpResponse:
    """Every refused row of an onboarding, as CSV: line, field, problem."""
    job = _get_import_job(request, pk)
    response = HttpResponse(error_report_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


@require_POST
@write_required
def invite(request: HttpRequest, pk: int) -> HttpResponse:
    """Invite a use case's contact: an account for their email, linked, and a set-password email."""
    use_case = _get_use_case(request, pk, "usecases.invite_contact")
    try:
        user = contact_invite(use_case=use_case, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"{user.email} is now the owner as {user.get_username()}; the invitation is on its way.",
        )
    return redirect(use_case)
