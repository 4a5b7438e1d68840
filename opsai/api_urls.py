"""The REST API: one router; each app registers its viewsets in ``<app>/api/urls.py``."""

from django.urls import include, path

urlpatterns = [
    path("", include("usecases.api.urls")),
    path("", include("kpis.api.urls")),
    path("", include("governance.api.urls")),
]
