"""Incident and vendor pages: the playbook steps, closing with a rule change, vendors."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import (
    HttpRequest,
    HttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from governance import services
from governance.forms import (
    IncidentForm,
    IncidentStepForm,
    VendorForm,
)
from governance.models import (
    Incident,
    IncidentStep,
    Vendor,
)
from opsai.forms import attempt, form_add_errors
from opsai.permissions import permission_required
from usecases.models import UseCase
from usecases.selectors import usecase_visible_to


@require_safe
@permission_required("governance.view")
def incidents(request: HttpRequest) -> HttpResponse:
    rows = list(
        Incident.objects.select_related("use_case", "worker").order_by("status", "-opened_at")
    )
    return render(request, "governance/incidents.html", {"incidents": rows})


@permission_required("governance.manage_incident")
def incident_new(request: HttpRequest, pk: int) -> HttpResponse:
    use_case = get_object_or_404(usecase_visible_to(UseCase.objects.all(), request.user), pk=pk)
    form = IncidentForm(request.POST or None, use_case=use_case)
    if request.method == "POST" and form.is_valid():
        try:
            incident = services.incident_open(
                use_case=use_case, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form_add_errors(form, error)
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
        attempt(
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
    attempt(
        request,
        lambda: services.incident_close(incident=incident, actor=request.user),
        "Incident closed.",
    )
    return redirect(incident)


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
            form_add_errors(form, error)
        else:
            messages.success(request, "Vendor saved.")
            return redirect("governance:vendors")
    return render(request, "governance/vendor_form.html", {"form": form, "vendor": vendor})
