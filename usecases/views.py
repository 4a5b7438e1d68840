"""Pages for use cases."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from opsai.permissions import permission_required
from usecases.selectors import usecase_list


@permission_required("usecases.view_usecase")
def portfolio(request: HttpRequest) -> HttpResponse:
    """Every use case, one row each."""
    return render(request, "usecases/portfolio.html", {"use_cases": usecase_list()})


@permission_required("usecases.view_usecase")
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One use case, its outcome as the headline."""
    use_case = get_object_or_404(usecase_list(), pk=pk)
    return render(request, "usecases/detail.html", {"use_case": use_case})
