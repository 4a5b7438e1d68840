"""AI worker pages: workers, releases and rollbacks, the kill switch, runtime tokens."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import (
    HttpRequest,
    HttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from governance import selectors, services
from governance.choices import WorkerStatus
from governance.display import (
    KILL_SWITCH_CONSEQUENCE,
    ROTATE_CONSEQUENCE,
    rollback_button,
    rollback_consequence,
    rollback_target,
)
from governance.forms import (
    AIWorkerForm,
    ConfirmForm,
    KillSwitchForm,
    NoteForm,
    ReleaseForm,
    RollbackForm,
)
from governance.models import (
    AIWorker,
    Release,
)
from opsai.forms import attempt, form_add_errors
from opsai.permissions import permission_required, require
from usecases.models import UseCase
from usecases.selectors import usecase_visible_to


def _get_worker(request: HttpRequest, pk: int, permission: str) -> AIWorker:
    """The AI worker ``pk`` if the user holds ``permission`` on it (404 / 403 otherwise)."""
    worker = get_object_or_404(AIWorker.objects.select_related("use_case__team"), pk=pk)
    require(request.user, permission, worker)
    return worker


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
    releases = list(worker.releases.select_related("deployed_by", "rollback_of", "rolled_back_by"))
    serving = rollback_target(releases)
    current = serving["current"]
    context = {
        "worker": worker,
        "current": current,
        "previous": serving["previous"],
        "releases": releases,
        "rollback_form": RollbackForm(auto_id="rollback_%s") if current else None,
        "rollback_button": rollback_button(current, serving) if current else "",
        "rollback_consequence": rollback_consequence(current, serving) if current else "",
        "incidents": list(worker.incidents.order_by("-opened_at")),
        "can_pause": worker.status == WorkerStatus.ACTIVE
        and user.has_perm("governance.pause_worker", worker),
        "can_resume": worker.status == WorkerStatus.PAUSED
        and user.has_perm("governance.resume_worker", worker),
        "can_manage": user.has_perm("governance.change_worker", worker),
        "pause_form": KillSwitchForm(auto_id="pause_%s"),
        "token_form": ConfirmForm(auto_id="token_%s"),
        "kill_switch_consequence": KILL_SWITCH_CONSEQUENCE,
        "rotate_consequence": ROTATE_CONSEQUENCE,
        "resume_form": NoteForm(),
        "release_form": ReleaseForm(),
        "runtime_token": request.session.pop(f"worker-token-{worker.pk}", None),
    }
    return render(request, "governance/worker.html", context)


@permission_required("governance.manage_worker")
def worker_new(request: HttpRequest, pk: int) -> HttpResponse:
    use_cases = usecase_visible_to(UseCase.objects.select_related("team"), request.user)
    use_case = get_object_or_404(use_cases, pk=pk)
    require(request.user, "governance.change_worker", use_case)
    form = AIWorkerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            new = services.aiworker_create(
                use_case=use_case, actor=request.user, data=form.cleaned_data
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            # Shown once on the next page; only its hash is stored.
            request.session[f"worker-token-{new.pk}"] = new.runtime_token
            return redirect(new)
    return render(request, "governance/worker_form.html", {"form": form, "use_case": use_case})


@permission_required("governance.manage_worker")
def worker_edit(request: HttpRequest, pk: int) -> HttpResponse:
    worker = _get_worker(request, pk, "governance.change_worker")
    form = AIWorkerForm(request.POST or None, instance=AIWorker.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.aiworker_update(worker=worker, actor=request.user, data=form.cleaned_data)
        except ValidationError as error:
            form_add_errors(form, error)
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
    """Issue a new runtime token (the old one stops working); shown once on the worker page.

    Only with the box ticked that says so: a post without it changes nothing.
    """
    worker = _get_worker(request, pk, "governance.change_worker")
    if not ConfirmForm(request.POST).is_valid():
        messages.error(
            request,
            "No new token was issued: tick “I understand” first — "
            + ROTATE_CONSEQUENCE[0].upper()
            + ROTATE_CONSEQUENCE[1:],
        )
        return redirect(worker)
    token = services.aiworker_rotate_token(worker=worker, actor=request.user)
    request.session[f"worker-token-{worker.pk}"] = token
    messages.success(
        request, "New runtime token issued; the old one no longer works. Give the worker this one."
    )
    return redirect(worker)


@require_POST
@permission_required("governance.view")
def worker_pause(request: HttpRequest, pk: int) -> HttpResponse:
    """The kill switch: a reason and the box ticked that names what it does, then one click."""
    worker = _get_worker(request, pk, "governance.pause_worker")
    form = KillSwitchForm(request.POST)
    if not form.is_valid():
        problems = []
        if "reason" in form.errors:
            problems.append("Reason: say why the worker is paused.")
        if "confirm" in form.errors:
            problems.append("Tick “I understand” to use the kill switch.")
        messages.error(request, "Kill switch not used. " + " ".join(problems))
    else:
        attempt(
            request,
            lambda: services.aiworker_pause(
                worker=worker, actor=request.user, reason=form.cleaned_data["reason"]
            ),
            f"Kill switch used: {worker} is paused. Its runtime sees “paused” from now on.",
        )
    return redirect(worker)


@require_POST
@permission_required("governance.view")
def worker_resume(request: HttpRequest, pk: int) -> HttpResponse:
    worker = _get_worker(request, pk, "governance.resume_worker")
    form = NoteForm(request.POST)
    form.is_valid()
    attempt(
        request,
        lambda: services.aiworker_resume(
            worker=worker, actor=request.user, note=form.cleaned_data.get("note", "")
        ),
        f"Kill switch off: {worker} is active again.",
    )
    return redirect(worker)


@require_POST
@permission_required("governance.manage_worker")
def release_new(request: HttpRequest, pk: int) -> HttpResponse:
    worker = _get_worker(request, pk, "governance.change_worker")
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Version: give the version released.")
    else:
        attempt(
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
    serving = rollback_target(
        list(release.worker.releases.select_related("rollback_of", "rolled_back_by"))
    )
    form = RollbackForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            f"Not rolled back: tick “I understand” first — {rollback_consequence(release, serving)}",
        )
        return redirect("governance:worker", pk=pk)
    previous = serving["previous"] if serving["current"] == release else None
    attempt(
        request,
        lambda: services.release_rollback(
            release=release, actor=request.user, notes=form.cleaned_data.get("note", "")
        ),
        f"Rolled back to {previous.version}: release {release.version} no longer serves."
        if previous
        else f"Release {release.version} rolled back.",
    )
    return redirect("governance:worker", pk=pk)
