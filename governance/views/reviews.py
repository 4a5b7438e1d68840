"""Review pages: the queue, a review's checklist and evidence, sign-offs."""

from __future__ import annotations

from django.contrib import messages
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST, require_safe

from governance import selectors, services
from governance.choices import CHECKLIST_QUESTIONS, ReviewStatus, SignOffRole
from governance.forms import (
    ChecklistItemForm,
    SignOffForm,
)
from governance.models import (
    ChecklistItem,
    EvidenceFile,
    SignOff,
)
from governance.rules import user_can_sign_role
from opsai.forms import attempt
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


@require_safe
@permission_required("governance.view")
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """A review: the checklist with evidence, the sign-offs, and (once decided) the frozen copy."""
    review = get_object_or_404(selectors.review_detail_queryset(), pk=pk)
    is_open = review.status == ReviewStatus.OPEN
    can_edit = is_open and request.user.has_perm("governance.edit_checklist")
    items = [
        {
            "item": item,
            "question": CHECKLIST_QUESTIONS[item.key],
            "form": ChecklistItemForm(
                initial={
                    "answer": item.answer,
                    "evidence_text": item.evidence_text,
                    "evidence_links": "\n".join(item.evidence_links),
                },
                prefix=f"item{item.pk}",
            )
            if can_edit
            else None,
        }
        for item in review.checklist.all()
    ]
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
    return render(
        request,
        "governance/review.html",
        {"review": review, "items": items, "sign_offs": sign_offs},
    )


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
    sign_off = get_object_or_404(
        SignOff.objects.select_related("review__use_case__team"), pk=sign_off_pk, review_id=pk
    )
    # Asked with the sign-off in hand, so a refusal can say why: separation of duties.
    require(request.user, "governance.sign_off", sign_off)
    form = SignOffForm(request.POST, prefix=f"signoff{sign_off.pk}")
    if not form.is_valid():
        messages.error(request, "Choose a decision and write a comment.")
    else:
        attempt(
            request,
            lambda: services.review_sign_off(
                sign_off=sign_off, actor=request.user, **form.cleaned_data
            ),
            f"{sign_off.get_role_display()} sign-off recorded.",
        )
    return redirect("governance:review", pk=pk)
