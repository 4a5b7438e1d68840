"""Governance pages: the overview, a use case's lane and reviews, the lane policy."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import (
    HttpRequest,
    HttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from governance import selectors, services
from governance.choices import ReviewStatus
from governance.forms import (
    LaneRuleForm,
    LaneRuleFormSet,
    PolicyNoteForm,
)
from governance.models import (
    LanePolicy,
)
from governance.policy import describe_conditions
from opsai.forms import attempt, error_text
from opsai.paging import paginate, sort_links, sort_value
from opsai.permissions import permission_required, require, write_required
from usecases.choices import Stage
from usecases.lifecycle import REVIEWED_STAGES, MoveRefused, entry_words_before
from usecases.models import UseCase
from usecases.move_words import moved_text, refused_text
from usecases.selectors import usecase_open_obligations, usecase_visible_to
from usecases.services import usecase_move_stage
from usecases.units import unit_from_query

# The obligation governance registers (governance.lifecycle): no approved review.
REVIEW_OBLIGATION = "governance.review"


@require_safe
@permission_required("governance.view")
def index(request: HttpRequest) -> HttpResponse:
    """Use cases by lane, open reviews and their age (paged, sortable), paused workers,
    open incidents, overdue vendors. An htmx request gets only the open reviews."""
    unit = unit_from_query(request.GET.get("unit"))
    sort = sort_value(request.GET, selectors.OPEN_REVIEW_SORTS, default="-age")
    reviews = selectors.open_reviews(viewer=request.user, sort=sort, unit=unit)
    listing = paginate(request, reviews, target="#open-reviews", default_size=25)
    context = {
        "reviews": listing,
        "review_rows": selectors.with_age(listing),
        "review_sort_links": sort_links(request.GET, selectors.OPEN_REVIEW_SORTS, default="-age"),
    }
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, "governance/partials/open_reviews.html", context)
    else:
        context.update(selectors.governance_overview(viewer=request.user, unit=unit))
        response = render(request, "governance/index.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@permission_required("governance.view")
@write_required
def usecase(request: HttpRequest, pk: int) -> HttpResponse:
    """A use case's lane (and why), reviews, AI workers and incidents; send it to review."""
    use_cases = usecase_visible_to(UseCase.objects.select_related("team"), request.user)
    use_case = get_object_or_404(use_cases, pk=pk)
    if request.method == "POST":
        require(request.user, "governance.open_review")
        if request.POST.get("action") == "open_review":
            attempt(
                request,
                lambda: services.review_open(
                    use_case=use_case,
                    actor=request.user,
                    reason=f"Open obligation: {use_case.get_stage_display()} with no approved review",
                ),
                "A review is open.",
            )
        elif request.POST.get("action") == "rereview":
            attempt(
                request,
                lambda: services.review_open(
                    use_case=use_case, actor=request.user, reason="Re-review requested"
                ),
                "A new review is open.",
            )
        else:
            _send_to_review(request, use_case)
        return redirect("governance:usecase", pk=pk)
    lane = selectors.lane_assignment_of(use_case)  # a page view never writes
    obligations = usecase_open_obligations(use_case)
    reviews = list(use_case.reviews.order_by("-opened_at", "-pk"))
    context = {
        "use_case": use_case,
        "lane": lane,
        "reviews": reviews,
        "workers": list(selectors.worker_list().filter(use_case=use_case)),
        "incidents": list(use_case.incidents.order_by("-opened_at")),
        "can_send_to_review": use_case.stage == Stage.SCORING,
        "send_to_review_brings": "; ".join(entry_words_before(use_case, Stage.REVIEW)),
        "can_rereview": bool(reviews) and reviews[0].status == ReviewStatus.REJECTED,
        # Past approved with no approved review (registered as found): a review can be
        # opened where it stands, without moving it out of its stage.
        "obligations": obligations,
        "can_open_review": any(o.key == REVIEW_OBLIGATION for o in obligations)
        and not any(review.status == ReviewStatus.OPEN for review in reviews),
        "can_add_worker": use_case.stage in REVIEWED_STAGES
        and request.user.has_perm("governance.change_worker", use_case),
    }
    return render(request, "governance/usecase.html", context)


def _send_to_review(request: HttpRequest, use_case: UseCase) -> None:
    """Move the use case to review: say what that opened (linked), or every unmet condition
    with the link that resolves it (``usecases.move_words``, as on the use case page)."""
    try:
        moved = usecase_move_stage(use_case=use_case, to_stage=Stage.REVIEW, actor=request.user)
    except MoveRefused as refusal:
        messages.error(request, refused_text("Not sent to review. It needs", refusal.conditions))
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, moved_text(moved, Stage.REVIEW))


@require_safe
@permission_required("governance.view")
def policy(request: HttpRequest) -> HttpResponse:
    """The lane policy in force, its rules in order, and older versions."""
    policies = list(LanePolicy.objects.prefetch_related("rules").select_related("created_by"))
    for version in policies:
        version.rule_rows = [
            (rule, describe_conditions(rule.conditions)) for rule in version.rules.all()
        ]
    return render(request, "governance/policy.html", {"policies": policies})


@permission_required("governance.edit_policy")
def policy_new(request: HttpRequest) -> HttpResponse:
    """Admins change the rules by creating a new version, prefilled from the current one."""
    current = selectors.lane_policy_current()
    initial = [LaneRuleForm.initial_for(rule) for rule in current.rules.all()] if current else []
    formset = LaneRuleFormSet(request.POST or None, initial=initial, prefix="rules")
    note_form = PolicyNoteForm(request.POST or None)
    if request.method == "POST" and formset.is_valid() and note_form.is_valid():
        rules = [
            {key: form.cleaned_data[key] for key in ("name", "lane", "conditions", "reason")}
            for form in formset.forms
            if form.has_changed() or form.initial
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        try:
            new = services.lane_policy_create(
                actor=request.user, note=note_form.cleaned_data["note"], rules=rules
            )
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(
                request, f"Lane policy v{new.version} is in force; every use case was re-placed."
            )
            return redirect("governance:policy")
    return render(
        request,
        "governance/policy_new.html",
        {"formset": formset, "note_form": note_form, "current": current},
    )
