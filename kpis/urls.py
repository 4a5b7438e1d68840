"""Pages for KPIs: dashboards, the KPI page, data ingest and the weekly review."""

from django.urls import path

from kpis import views

app_name = "kpis"

urlpatterns = [
    path("", views.index, name="index"),
    path("portfolio/", views.portfolio, name="portfolio"),
    path("data/", views.data, name="data"),
    path("data/batches/<int:pk>/", views.batch, name="batch"),
    path("usecases/<int:pk>/", views.usecase, name="usecase"),
    path("usecases/<int:use_case_pk>/add/", views.kpi_add, name="kpi_add"),
    path("annotations/add/", views.annotation_add, name="annotation_add"),
    path("review/", views.review, name="review"),
    path("review/<str:week>/", views.review, name="review_week"),
    path("<int:pk>/", views.kpi, name="kpi"),
    path("<int:pk>/edit/", views.kpi_edit, name="kpi_edit"),
]
