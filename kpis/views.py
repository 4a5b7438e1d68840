"""Pages for KPIs: portfolio and use-case dashboards, KPI page, data ingest, weekly review."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST, require_safe

from kpis import selectors
from kpis.choices import BatchStatus
from kpis.filters import KPI_LIST_SORTS, KPIListFilterSet
from kpis.forms import AnnotationForm, CheckInForm, KPIForm, MeasurementForm, UploadForm
from kpis.models import KPI, IngestBatch
from kpis.review import weekly_review
from kpis.services import (
    annotation_create,
    checkin_record,
    kpi_create,
    kpi_update,
    measurement_record,
    measurements_upload,
    week_start,
)
from opsai import formatting
from opsai.forms import error_text, form_add_errors
from opsai.needs import needs_for
from opsai.paging import paginate, sort_links
from opsai.permissions import can_write, permission_required, require
from usecases.models import UseCase
from usecases.selectors import usecase_visible_to
from usecases.units import unit_from_query


@require_safe
@permission_required("kpis.view_kpi")
def portfolio(request: HttpRequest) -> HttpResponse:
    """The executives' home: value, stages, business-KPI status, movers, pilot purgatory."""
    unit = unit_from_query(request.GET.get("unit"))
    context = selectors.portfolio_dashboard(request.user, unit=unit)
    # The "needs a decision" strip (opsai.needs): stalled pilots, off-track KPIs, paused workers.
    context["decisions"] = needs_for(request.user, decision=True)
    return render(request, "kpis/portfolio.html", context)


@require_safe
@permission_required("kpis.view_kpi")
def index(request: HttpRequest) -> HttpResponse:
    """Every KPI, stack by stack, with its current status: filtered, sorted and paged in
    PostgreSQL. An htmx request (a filter, a sort or a page link) gets only the list."""
    kpis = selectors.kpi_list(viewer=request.user, hide_vanity=not can_write(request.user))
    filterset = KPIListFilterSet(request.GET, queryset=kpis)
    listing = paginate(request, filterset.qs, target="#kpi-list")
    context = {
        "listing": listing,
        "kpis": listing.page.object_list,
        "filterset": filterset,
        "sort_links": sort_links(request.GET, KPI_LIST_SORTS, default="usecase"),
    }
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, "kpis/partials/kpi_list.html", context)
    else:
        context["freshness"] = selectors.freshness()
        response = render(request, "kpis/index.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_safe
@permission_required("kpis.view_kpi")
def usecase(request: HttpRequest, pk: int) -> HttpResponse:
    """One use case: the business outcome as headline, then the KPI stack as a tree."""
    use_cases = usecase_visible_to(UseCase.objects.select_related("team", "owner"), request.user)
    use_case = get_object_or_404(use_cases, pk=pk)
    context = selectors.usecase_dashboard(use_case, hide_vanity=True)
    context["annotation_form"] = AnnotationForm()
    context["can_write"] = can_write(request.user)
    return render(request, "kpis/usecase.html", context)


@permission_required("kpis.view_kpi")
def kpi(request: HttpRequest, pk: int) -> HttpResponse:
    """One KPI: full series, snapshot history, batches, check-ins (and the check-in form)."""
    kpis = KPI.objects.select_related("use_case__team", "owner", "current_snapshot")
    kpi = get_object_or_404(selectors.kpi_visible_to(kpis, request.user), pk=pk)
    form = CheckInForm(request.POST or None)
    if request.method == "POST":
        require(request.user, "kpis.check_in", kpi)
        if form.is_valid():
            try:
                checkin_record(actor=request.user, kpi=kpi, **form.cleaned_data)
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                messages.success(request, "Check-in recorded.")
                return redirect(kpi)
    context = selectors.kpi_detail(kpi)
    context.update(
        form=form,
        can_check_in=request.user.has_perm("kpis.check_in", kpi),
        can_change=request.user.has_perm("kpis.change_kpi", kpi),
        can_annotate=request.user.has_perm("kpis.add_annotation"),
        annotation_form=AnnotationForm(),
        this_week=week_start(timezone.localdate()),
    )
    return render(request, "kpis/kpi.html", context)


@permission_required("kpis.manage_kpis")
def kpi_add(request: HttpRequest, use_case_pk: int) -> HttpResponse:
    """Add a KPI to a use case's stack (the use case's team's, or an admin)."""
    use_cases = usecase_visible_to(UseCase.objects.select_related("team"), request.user)
    use_case = get_object_or_404(use_cases, pk=use_case_pk)
    require(request.user, "kpis.change_kpi", use_case)
    form = KPIForm(request.POST or None, use_case=use_case)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            created = kpi_create(actor=request.user, use_case=use_case, **fields)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, f"KPI “{created.name}” added.")
            return redirect(created)
    return render(request, "kpis/kpi_form.html", {"form": form, "use_case": use_case, "kpi": None})


@permission_required("kpis.manage_kpis")
def kpi_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a KPI's definition (recorded in the audit trail)."""
    kpis = KPI.objects.select_related("use_case__team")
    kpi = get_object_or_404(selectors.kpi_visible_to(kpis, request.user), pk=pk)
    require(request.user, "kpis.change_kpi", kpi)
    form = KPIForm(request.POST or None, instance=kpi, use_case=kpi.use_case)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            kpi_update(actor=request.user, kpi=KPI.objects.get(pk=pk), **fields)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, "KPI saved.")
            return redirect(kpi)
    return render(
        request, "kpis/kpi_form.html", {"form": form, "use_case": kpi.use_case, "kpi": kpi}
    )


def _posted(model: type[Any], raw: str) -> Any:
    """The object a hidden id field names, ``None`` if empty; 404 if it names nothing."""
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404(f"No {model._meta.verbose_name} {raw!r}.")
    return get_object_or_404(model, pk=raw)


@require_POST
@permission_required("kpis.add_annotation")
def annotation_add(request: HttpRequest) -> HttpResponse:
    """Add an annotation to a KPI, a use case, or (neither) the whole portfolio."""
    use_case = _posted(UseCase, request.POST.get("use_case", ""))
    kpi = _posted(KPI, request.POST.get("kpi", ""))
    form = AnnotationForm(request.POST)
    back = (
        kpi.get_absolute_url()
        if kpi
        else (
            reverse("kpis:usecase", args=[use_case.pk]) if use_case else reverse("kpis:portfolio")
        )
    )
    if not form.is_valid():
        for name, errors in form.errors.items():
            messages.error(request, f"Annotation not added — {name}: {' '.join(errors)}")
        return redirect(back)
    try:
        annotation_create(actor=request.user, use_case=use_case, kpi=kpi, **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, f"Annotation not added — {error_text(error)}")
    else:
        messages.success(request, "Annotation added.")
    return redirect(back)


@permission_required("kpis.view_kpi")
def data(request: HttpRequest) -> HttpResponse:
    """Send measurements (one value or a file) and see the batch history."""
    measure_form = MeasurementForm(
        request.POST if request.POST.get("action") == "measure" else None
    )
    upload_form = UploadForm(
        request.POST if request.POST.get("action") == "upload" else None,
        request.FILES if request.POST.get("action") == "upload" else None,
    )
    for form in (measure_form, upload_form):
        # Someone else's draft's KPIs are neither offered nor accepted (a 404-like "not a choice").
        field = form.fields["kpi"]
        field.queryset = selectors.kpi_visible_to(field.queryset, request.user)
    batch: IngestBatch | None = None
    if request.method == "POST":
        require(request.user, "kpis.manage_kpis")  # each row's KPI: the ingest service
        try:
            if measure_form.is_bound and measure_form.is_valid():
                batch = measurement_record(actor=request.user, **measure_form.cleaned_data)
            elif upload_form.is_bound and upload_form.is_valid():
                upload = upload_form.cleaned_data["file"]
                batch = measurements_upload(
                    actor=request.user,
                    filename=upload.name,
                    content=upload.read(),
                    default_kpi=upload_form.cleaned_data["kpi"],
                )
        except ValidationError as error:
            form_add_errors(upload_form if upload_form.is_bound else measure_form, error)
        if batch is not None and batch.status != BatchStatus.REJECTED:
            if batch.status == BatchStatus.SAVED:
                messages.success(
                    request, f"Saved {formatting.count_noun(batch.rows_accepted, 'measurement')}."
                )
            return redirect(f"{reverse('kpis:data')}?batch={batch.pk}")
    shown = batch
    if shown is None and request.GET.get("batch", "").isdigit():
        shown = IngestBatch.objects.filter(pk=request.GET["batch"]).defer("payload").first()
    return render(
        request,
        "kpis/data.html",
        {
            "measure_form": measure_form,
            "upload_form": upload_form,
            "batch": shown,
            "batches": selectors.batch_list(),
            "runs": selectors.last_refresh_runs(),
            "can_ingest": request.user.has_perm("kpis.manage_kpis"),
        },
    )


@require_safe
@permission_required("kpis.view_kpi")
def batch(request: HttpRequest, pk: int) -> HttpResponse:
    """One batch's status and progress (the data page polls this while a job runs)."""
    shown = get_object_or_404(IngestBatch.objects.defer("payload"), pk=pk)
    return render(request, "kpis/_batch.html", {"batch": shown})


@require_safe
@permission_required("kpis.view_kpi")
def review(request: HttpRequest, week: str | None = None) -> HttpResponse:
    """The weekly review: what moved, what slipped, stale data, stage changes. Printable."""
    try:
        day = date.fromisoformat(week) if week else None
    except ValueError:
        day = None
    try:
        context = weekly_review(week=day)
    except OverflowError:  # a week at the very edge of the calendar (year 1 or 9999)
        raise Http404("No review for that week.") from None
    return render(request, "kpis/review.html", context)
