from django.urls import path

from usecases import views

app_name = "usecases"

urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("new/", views.intake, name="intake"),
    path("import/", views.import_file, name="import"),
    path("imports/<int:pk>/", views.import_job, name="import_job"),
    path("sensitivity/", views.sensitivity, name="sensitivity"),
    path("scoring-models/", views.scoring_models, name="scoring_models"),
    path("teams/", views.teams, name="teams"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/score/", views.score, name="score"),
    path("<int:pk>/reveal/", views.reveal, name="reveal"),
    path("<int:pk>/stage/", views.move_stage, name="move_stage"),
    path("<int:pk>/invite/", views.invite, name="invite"),
]
