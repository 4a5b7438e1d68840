"""Review pages: the queue, a review's checklist and evidence, sign-offs."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST, require_safe

from governance import selectors, services
from governance.choices import CHECKLIST_QUESTIONS, ChecklistKey, ReviewStatus, SignOffRole
from governance.display import (
    checklist_states,
    decision_copy_json,
    decision_copy_rows,
    sign_off_summary,
)
from governance.forms import (
    ChecklistItemForm,
    ReviewChecklistForm,
    SignOffForm,
)
from governance.models import (
    ChecklistItem,
    EvidenceFile,
    Review,
    SignOff,
)
from governance.rules import user_can_sign_role
from opsai.forms import attempt, error_text
from opsai.paging import paginate, sort_links, sort_value
from opsai.permissions import permission_required, require


@require_safe
@permission_required("governance.view")
def queue(request: HttpRequest) -> HttpResponse:
    """What waits on the signed-in reviewer, longest-waiting first, a page at a time;
    ``?role=`` narrows it to one sign-off role. An htmx request gets only the list."""
    role = request.GET.get("role", "")
    role = role if role in SignOffRole.values else ""
    sort = sort_value(request.GET, selectors.REVIEW_QUEUE_SORTS, default="-waiting")
    sign_offs = selectors.review_queue(request.user, role=role, sort=sort)
    listing = paginate(request, sign_offs, target="#review-queue")
    context = {
        "sign_offs": selectors.with_waiting(listing),
        "listing": listing,
        "sort_links": sort_links(request.GET, selectors.REVIEW_QUEUE_SORTS, default="-waiting"),
        "roles": SignOffRole.choices,
        "role": role,
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = "governance/partials/queue.html" if partial else "governance/queue.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _review_context(
    request: HttpRequest, review: Review, checklist: ReviewChecklistForm | None = None
) -> dict[str, Any]:
    """What the review page shows: the checklist form and each item's state, the sign-off
    panel next to it, and (once decided) the frozen copy."""
    items = list(review.checklist.all())
    states = checklist_states(items)
    is_open = review.status == ReviewStatus.OPEN
    can_edit = is_open and request.user.has_perm("governance.edit_checklist")
    if checklist is None and can_edit:
        checklist = ReviewChecklistForm(items)
    sign_offs = [
        {
            "sign_off": sign_off,
            "form": SignOffForm(prefix=f"signoff{sign_off.pk}")
            if is_open
            and request.user.has_perm("governance.sign_off")
            and user_can_sign_role(request.user, sign_off.role)
            else None,
        }
        for sign_off in review.sign_offs.all()
    ]
    return {
        "review": review,
        "items": [
            {
                "state": state,
                "question": CHECKLIST_QUESTIONS[state.item.key],
                "form": checklist.forms[state.item.key] if checklist else None,
            }
            for state in states
        ],
        "can_edit": can_edit,
        "summary": sign_off_summary(review, states),
        "sign_offs": sign_offs,
        "frozen_rows": decision_copy_rows(review.decision_snapshot),
        "frozen_json": decision_copy_json(review.decision_snapshot),
        "saved": request.session.pop(f"review-saved-{review.pk}", None),
        "sign_off_outcome": request.session.pop(f"review-sign-off-{review.pk}", None),
    }


@require_safe
@permission_required("governance.view")
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """A review: the checklist (one form, each item's state), the sign-offs, and (once decided)
    the frozen copy of what was decided on."""
    review = get_object_or_404(selectors.review_detail_queryset(), pk=pk)
    return render(request, "governance/review.html", _review_context(request, review))


@require_POST
@permission_required("governance.edit_checklist")
def review_checklist_save(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the whole checklist at once; the reviewer stays where they are.

    htmx swaps the checklist form in place (the "Saved" line sits by the Save button);
    without JavaScript the page comes back at the Save button (``#checklist-save``).
    A refusal shows on the item it is about, and nothing is saved.
    """
    review = get_object_or_404(selectors.review_detail_queryset(), pk=pk)
    if review.status != ReviewStatus.OPEN:
        messages.error(request, "This review is decided; its checklist is frozen.")
        return HttpResponseRedirect(review.get_absolute_url())
    checklist = ReviewChecklistForm(list(review.checklist.all()), request.POST, request.FILES)
    saved = None
    if checklist.is_valid():
        try:
            changed = services.review_checklist_save(
                review=review, actor=request.user, entries=checklist.entries
            )
        except ValidationError as error:
            checklist.add_errors(error)
        else:
            saved = _saved_text(changed)
    if saved is not None and not request.htmx:
        request.session[f"review-saved-{review.pk}"] = saved
        return HttpResponseRedirect(f"{review.get_absolute_url()}#checklist-save")
    if saved is not None:
        review = get_object_or_404(selectors.review_detail_queryset(), pk=pk)
        checklist = None
    context = _review_context(request, review, checklist)
    context["saved"] = saved
    context["refused"] = saved is None
    template = "governance/partials/checklist.html" if request.htmx else "governance/review.html"
    return render(request, template, context)


def _saved_text(changed: list[str]) -> str:
    if not changed:
        return "Saved. Nothing had changed."
    return "Saved: " + ", ".join(ChecklistKey(key).label for key in changed) + "."


@require_POST
@permission_required("governance.edit_checklist")
def review_checklist(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    item = get_object_or_404(ChecklistItem, pk=item_pk, review_id=pk)
    form = ChecklistItemForm(request.POST, request.FILES, prefix=f"item{item.pk}")
    if not form.is_valid():
        # Each refusal names its field ("Evidence files: 'x.exe' is not a type …").
        messages.error(
            request,
            f"{item.get_key_display()}: "
            + " ".join(
                f"{form.fields[name].label if name in form.fields else ''}: {e}".lstrip(": ")
                for name, errs in form.errors.items()
                for e in errs
            ),
        )
    else:
        attempt(
            request,
            lambda: services.review_checklist_update(
                item=item, actor=request.user, **form.cleaned_data
            ),
            f"{item.get_key_display()} saved.",
        )
    return HttpResponseRedirect(f"{item.review.get_absolute_url()}#item-{item.key}")


@require_safe
@permission_required("governance.view")
def evidence_file(request: HttpRequest, pk: int, file_pk: int) -> FileResponse:
    """Download an evidence file — only for signed-in users with a role, never from a public URL."""
    evidence = get_object_or_404(EvidenceFile, pk=file_pk, item__review_id=pk)
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError as error:
        # The row outlived its file (a restored database, a cleaned media volume).
        raise Http404(f"The evidence file {evidence.file.name} is missing from storage.") from error
    return FileResponse(handle, as_attachment=True, filename=evidence.file.name.rsplit("/", 1)[-1])


@require_POST
def review_sign_off(request: HttpRequest, pk: int, sign_off_pk: int) -> HttpResponse:
    """Give a sign-off; the outcome (or refusal) is shown in the sign-off panel, where the
    reviewer is, not at the top of the page."""
    sign_off = get_object_or_404(
        SignOff.objects.select_related("review__use_case__team"), pk=sign_off_pk, review_id=pk
    )
    # Asked with the sign-off in hand, so a refusal can say why: separation of duties.
    require(request.user, "governance.sign_off", sign_off)
    form = SignOffForm(request.POST, prefix=f"signoff{sign_off.pk}")
    if not form.is_valid():
        outcome = ("error", "Choose a decision and write a comment.")
    else:
        try:
            services.review_sign_off(sign_off=sign_off, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            outcome = ("error", error_text(error))
        else:
            outcome = ("success", f"{sign_off.get_role_display()} sign-off recorded.")
    request.session[f"review-sign-off-{pk}"] = outcome
    return HttpResponseRedirect(f"{sign_off.review.get_absolute_url()}#sign-offs")
