"""Governance pages: short views — get the object, check the permission, call a service, render."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from audit.filters import AuditEventFilterSet
from audit.selectors import audit_event_list
from governance import selectors, services
from governance.choices import CHECKLIST_QUESTIONS, ReviewStatus, WorkerStatus
from governance.forms import (
    AIWorkerForm,
    ChecklistItemForm,
    IncidentForm,
    IncidentStepForm,
    LaneRuleForm,
    LaneRuleFormSet,
    NoteForm,
    PolicyNoteForm,
    ReasonForm,
    ReleaseForm,
    SignOffForm,
    VendorForm,
)
from governance.models import (
    AIWorker,
    ChecklistItem,
    EvidenceFile,
    Incident,
    IncidentStep,
    LanePolicy,
    Release,
    SignOff,
    Vendor,
)
from governance.policy import describe_conditions
from governance.rules import user_can_sign_role
from opsai.permissions import permission_required, require, write_required
from usecases.choices import Stage
from usecases.lifecycle import REVIEWED_STAGES
from usecases.models import UseCase
from usecases.services import usecase_move_stage


def _error_text(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return " ".join(" ".join(messages_) for messages_ in error.message_dict.values())
    return " ".join(error.messages)


def _attempt(request: HttpRequest, action: Callable[[], Any], success: str) -> bool:
    """Run a service; show its refusal as a message naming what was wrong."""
    try:
        action()
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return False
    messages.success(request, success)
    return True


# --- Governance page, use cases, policy -------------------------------------------------------


@require_safe
@permission_required("governance.view")
def index(request: HttpRequest) -> HttpResponse:
    """Use cases by lane, open reviews and their age, paused workers, open incidents, overdue vendors."""
    return render(request, "governance/index.html", selectors.governance_overview())


@permission_required("governance.view")
@write_required
def usecase(request: HttpRequest, pk: int) -> HttpResponse:
    """A use case's lane (and why), reviews, AI workers and incidents; send it to review."""
    use_case = get_object_or_404(UseCase.objects.select_related("team"), pk=pk)
    if request.method == "POST":
        require(request.user, "governance.open_review")
        if request.POST.get("action") == "rereview":
            _attempt(
                request,
                lambda: services.review_open(
                    use_case=use_case, actor=request.user, reason="Re-review requested"
                ),
                "A new review is open.",
            )
        else:
            _attempt(
                request,
                lambda: usecase_move_stage(
                    use_case=use_case, to_stage=Stage.REVIEW, actor=request.user
                ),
                "Sent to review.",
            )
        return redirect("governance:usecase", pk=pk)
    lane = selectors.lane_assignment_of(use_case)  # a page view never writes
    reviews = list(use_case.reviews.order_by("-opened_at", "-pk"))
    context = {
        "use_case": use_case,
        "lane": lane,
        "reviews": reviews,
        "workers": list(selectors.worker_list().filter(use_case=use_case)),
        "incidents": list(use_case.incidents.order_by("-opened_at")),
        "can_send_to_review": use_case.stage == Stage.SCORING,
        "can_rereview": bool(reviews) and reviews[0].status == ReviewStatus.REJECTED,
        "can_add_worker": use_case.stage in REVIEWED_STAGES
        and request.user.has_perm("governance.change_worker", use_case),
    }
    return render(request, "governance/usecase.html", context)


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
            messages.error(request, _error_text(error))
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


# --- Reviews ----------------------------------------------------------------------------------


@require_safe
@permission_required("governance.view")
def queue(request: HttpRequest) -> HttpResponse:
    """What waits on the signed-in reviewer, oldest first."""
    return render(
        request, "governance/queue.html", {"sign_offs": selectors.review_queue(request.user)}
    )


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
        messages.error(
            request,
            f"{item.get_key_display()}: "
            + " ".join(e for errs in form.errors.values() for e in errs),
        )
    else:
        _attempt(
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
@permission_required("governance.sign_off")
def review_sign_off(request: HttpRequest, pk: int, sign_off_pk: int) -> HttpResponse:
    sign_off = get_object_or_404(SignOff, pk=sign_off_pk, review_id=pk)
    form = SignOffForm(request.POST, prefix=f"signoff{sign_off.pk}")
    if not form.is_valid():
        messages.error(request, "Choose a decision and write a comment.")
    else:
        _attempt(
            request,
            lambda: services.review_sign_off(
                sign_off=sign_off, actor=request.user, **form.cleaned_data
            ),
            f"{sign_off.get_role_display()} sign-off recorded.",
        )
    return redirect("governance:review", pk=pk)


# --- AI workers, releases, kill switch --------------------------------------------------------


@require_safe
@permission_required("governance.view")
def workers(request: HttpRequest) -> HttpResponse:
    worker_rows = list(selectors.worker_list().order_by("use_case__title", "name"))
    return render(request, "governance/workers.html", {"workers": worker_rows})


@require_safe
@permission_required("governance.view")
def worker(request: HttpRequest, pk: int) -> HttpResponse:
    """An AI worker: what it does, its releases (current version), kill switch and incidents."""
    worker = get_object_or_404(selectors.worker_list(), pk=pk)
    user = request.user
    context = {
        "worker": worker,
        "current": selectors.worker_current_release(worker),
        "releases": list(
            worker.releases.select_related("deployed_by", "rollback_of", "rolled_back_by")
        ),
        "incidents": list(worker.incidents.order_by("-opened_at")),
        "can_pause": worker.status == WorkerStatus.ACTIVE
        and user.has_perm("governance.pause_worker", worker),
        "can_resume": worker.status == WorkerStatus.PAUSED
        and user.has_perm("governance.resume_worker", worker),
        "can_manage": user.has_perm("governance.change_worker", worker),
        "pause_form": ReasonForm(),
        "resume_form": NoteForm(),
        "release_form": ReleaseForm(),
        "runtime_token": request.session.pop(f"worker-token-{worker.pk}", None),
    }
    return render(request, "governance/worker.html", context)


@permission_required("governance.manage_worker")
def worker_new(request: HttpRequest, pk: int) -> HttpResponse:
    use_case = get_object_or_404(UseCase.objects.select_related("team"), pk=pk)
    require(request.user, "governance.change_worker", use_case)
    form = AIWorkerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            new = services.aiworker_create(
                use_case=use_case, actor=request.user, data=form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            # Shown once on the next page; only its hash is stored.
            request.session[f"worker-token-{new.pk}"] = new.runtime_token
            return redirect(new)
    return render(request, "governance/worker_form.html", {"form": form, "use_case": use_case})


@permission_required("governance.manage_worker")
def worker_edit(request: HttpRequest, pk: int) -> HttpResponse:
    worker = get_object_or_404(AIWorker.objects.select_related("use_case__team"), pk=pk)
    require(request.user, "governance.change_worker", worker)
    form = AIWorkerForm(request.POST or None, instance=AIWorker.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.aiworker_update(worker=worker, actor=request.user, data=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Saved.")
            return redirect(worker)
    return render(
        request,
        "governance/worker_form.html",
        {"form": form, "use_case": worker.use_case, "worker": worker},
    )


@require_POST
@permission_required("governance.manage_worker")
def worker_token(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue a new runtime token (the old one stops working); shown once on the worker page."""
    worker = get_object_or_404(AIWorker.objects.select_related("use_case__team"), pk=pk)
    require(request.user, "governance.change_worker", worker)
    token = services.aiworker_rotate_token(worker=worker, actor=request.user)
    request.session[f"worker-token-{worker.pk}"] = token
    return redirect(worker)


@require_POST
@permission_required("governance.view")
def worker_pause(request: HttpRequest, pk: int) -> HttpResponse:
    """The kill switch: one click and a reason."""
    worker = get_object_or_404(AIWorker.objects.select_related("use_case__team"), pk=pk)
    require(request.user, "governance.pause_worker", worker)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Reason: say why the worker is paused.")
    else:
        _attempt(
            request,
            lambda: services.aiworker_pause(
                worker=worker, actor=request.user, reason=form.cleaned_data["reason"]
            ),
            f"{worker} is paused. Its runtime sees “paused” from now on.",
        )
    return redirect(worker)


@require_POST
@permission_required("governance.view")
def worker_resume(request: HttpRequest, pk: int) -> HttpResponse:
    worker = get_object_or_404(AIWorker.objects.select_related("use_case__team"), pk=pk)
    require(request.user, "governance.resume_worker", worker)
    form = NoteForm(request.POST)
    form.is_valid()
    _attempt(
        request,
        lambda: services.aiworker_resume(
            worker=worker, actor=request.user, note=form.cleaned_data.get("note", "")
        ),
        f"{worker} is active again.",
    )
    return redirect(worker)


@require_POST
@permission_required("governance.manage_worker")
def release_new(request: HttpRequest, pk: int) -> HttpResponse:
    worker = get_object_or_404(AIWorker.objects.select_related("use_case__team"), pk=pk)
    require(request.user, "governance.change_worker", worker)
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Version: give the version released.")
    else:
        _attempt(
            request,
            lambda: services.release_create(worker=worker, actor=request.user, **form.cleaned_data),
            f"Release {form.cleaned_data['version']} recorded.",
        )
    return redirect(worker)


@require_POST
@permission_required("governance.manage_worker")
def release_rollback(request: HttpRequest, pk: int, release_pk: int) -> HttpResponse:
    release = get_object_or_404(
        Release.objects.select_related("worker__use_case__team"), pk=release_pk, worker_id=pk
    )
    require(request.user, "governance.change_worker", release)
    note = NoteForm(request.POST)
    note.is_valid()
    _attempt(
        request,
        lambda: services.release_rollback(
            release=release, actor=request.user, notes=note.cleaned_data.get("note", "")
        ),
        f"{release.version} rolled back.",
    )
    return redirect("governance:worker", pk=pk)


# --- Incidents --------------------------------------------------------------------------------


@require_safe
@permission_required("governance.view")
def incidents(request: HttpRequest) -> HttpResponse:
    rows = list(
        Incident.objects.select_related("use_case", "worker").order_by("status", "-opened_at")
    )
    return render(request, "governance/incidents.html", {"incidents": rows})


@permission_required("governance.manage_incident")
def incident_new(request: HttpRequest, pk: int) -> HttpResponse:
    use_case = get_object_or_404(UseCase, pk=pk)
    form = IncidentForm(request.POST or None, use_case=use_case)
    if request.method == "POST" and form.is_valid():
        try:
            incident = services.incident_open(
                use_case=use_case, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect(incident)
    return render(request, "governance/incident_form.html", {"form": form, "use_case": use_case})


@require_safe
@permission_required("governance.view")
def incident(request: HttpRequest, pk: int) -> HttpResponse:
    """An incident and its playbook steps, each with owner and time."""
    incident = get_object_or_404(
        Incident.objects.select_related("use_case", "worker", "opened_by"), pk=pk
    )
    can_manage = incident.status == "open" and request.user.has_perm("governance.manage_incident")
    steps = [
        {
            "step": step,
            "form": IncidentStepForm(
                initial={"owner": step.owner_id, "notes": step.notes}, prefix=f"step{step.pk}"
            )
            if can_manage
            else None,
        }
        for step in incident.steps.select_related("owner", "done_by")
    ]
    return render(
        request,
        "governance/incident.html",
        {"incident": incident, "steps": steps, "can_manage": can_manage},
    )


@require_POST
@permission_required("governance.manage_incident")
def incident_step(request: HttpRequest, pk: int, step_pk: int) -> HttpResponse:
    step = get_object_or_404(IncidentStep, pk=step_pk, incident_id=pk)
    form = IncidentStepForm(request.POST, prefix=f"step{step.pk}")
    if not form.is_valid():
        messages.error(request, f"{step.get_kind_display()}: check the owner.")
    else:
        _attempt(
            request,
            lambda: services.incident_step_update(
                step=step, actor=request.user, **form.cleaned_data
            ),
            f"{step.get_kind_display()} saved.",
        )
    return redirect("governance:incident", pk=pk)


@require_POST
@permission_required("governance.manage_incident")
def incident_close(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=pk)
    _attempt(
        request,
        lambda: services.incident_close(incident=incident, actor=request.user),
        "Incident closed.",
    )
    return redirect(incident)


# --- Vendors ----------------------------------------------------------------------------------


@require_safe
@permission_required("governance.view")
def vendors(request: HttpRequest) -> HttpResponse:
    from django.utils import timezone

    return render(
        request,
        "governance/vendors.html",
        {"vendors": list(Vendor.objects.all()), "today": timezone.localdate()},
    )


@permission_required("governance.manage_vendor")
def vendor_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    vendor = get_object_or_404(Vendor, pk=pk) if pk else None
    form = VendorForm(request.POST or None, instance=vendor)
    if request.method == "POST" and form.is_valid():
        try:
            services.vendor_save(actor=request.user, data=form.cleaned_data, vendor=vendor)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Vendor saved.")
            return redirect("governance:vendors")
    return render(request, "governance/vendor_form.html", {"form": form, "vendor": vendor})


# --- Audit ------------------------------------------------------------------------------------

AUDIT_COLUMNS = ["occurred_at", "actor_name", "action", "object_type", "object_id", "object_repr",
                 "before", "after", "ticket_id", "model_version"]  # fmt: skip


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_safe
@permission_required("governance.view_audit")
def audit(request: HttpRequest) -> HttpResponse:
    """The audit trail filtered by object, actor and date; ``?export=csv`` downloads it."""
    filterset = AuditEventFilterSet(request.GET or None, queryset=audit_event_list(), page=True)
    form = filterset.form
    events = filterset.qs if form.is_valid() else audit_event_list()
    if request.GET.get("export") == "csv" and (not request.GET or form.is_valid()):
        writer = csv.writer(_Echo())
        rows = (
            [
                getattr(e, c).isoformat() if c == "occurred_at" else getattr(e, c)
                for c in AUDIT_COLUMNS
            ]
            for e in events.iterator(chunk_size=2000)
        )
        response = StreamingHttpResponse(
            (writer.writerow(row) for row in _with_header(AUDIT_COLUMNS, rows)),
            content_type="text/csv",
        )
        response["Content-Disposition"] = 'attachment; filename="opsai-audit.csv"'
        return response
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "governance/audit.html", {"form": form, "page": page, "query": query.urlencode()}
    )


def _with_header(header: list[str], rows: Any) -> Any:
    yield header
    yield from rows
