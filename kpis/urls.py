from django.urls import path  # noqa: F401 - pages are added as the app grows

app_name = "kpis"

urlpatterns: list = []
