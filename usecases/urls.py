from django.urls import path

from usecases import views

app_name = "usecases"

urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("new/", views.intake, name="intake"),
    path("import/", views.import_file, name="import"),
    path("imports/<int:pk>/", views.import_job, name="import_job"),
    path("onboarding/", views.onboarding, name="onboarding"),
    path(
        "onboarding/sample.csv",
        views.onboarding_sample,
        {"kind": "sample"},
        name="onboarding_sample",
    ),
    path(
        "onboarding/columns.csv",
        views.onboarding_sample,
        {"kind": "columns"},
        name="onboarding_columns",
    ),
    path("onboarding/<int:pk>/", views.onboarding_job, name="onboarding_job"),
    path("onboarding/<int:pk>/confirm/", views.onboarding_confirm_view, name="onboarding_confirm"),
    path("onboarding/<int:pk>/errors.csv", views.onboarding_errors, name="onboarding_errors"),
    path("sensitivity/", views.sensitivity, name="sensitivity"),
    path("scoring-models/", views.scoring_models, name="scoring_models"),
    path("teams/", views.teams, name="teams"),
    path("fields/", views.custom_field_list, name="custom_fields"),
    path("fields/<int:pk>/", views.custom_field_edit, name="custom_field_edit"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/score/", views.score, name="score"),
    path("<int:pk>/reveal/", views.reveal, name="reveal"),
    path("<int:pk>/stage/", views.move_stage, name="move_stage"),
    path("<int:pk>/invite/", views.invite, name="invite"),
]
