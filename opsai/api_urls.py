"""The REST API under ``/api/``: each app's router (``<app>/api/urls.py``) mounted side by side."""

from django.urls import include, path

urlpatterns = [
    path("", include("usecases.api.urls")),
    path("", include("kpis.api.urls")),
    path("", include("governance.api.urls")),
]
