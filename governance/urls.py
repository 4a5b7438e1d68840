from django.urls import path

from governance import views

app_name = "governance"

urlpatterns = [
    path("", views.index, name="index"),
    path("policy/", views.policy, name="policy"),
    path("policy/new/", views.policy_new, name="policy_new"),
    path("usecases/<int:pk>/", views.usecase, name="usecase"),
    path("usecases/<int:pk>/workers/new/", views.worker_new, name="worker_new"),
    path("usecases/<int:pk>/incidents/new/", views.incident_new, name="incident_new"),
    path("queue/", views.queue, name="queue"),
    path("reviews/<int:pk>/", views.review, name="review"),
    path(
        "reviews/<int:pk>/checklist/<int:item_pk>/", views.review_checklist, name="review_checklist"
    ),
    path("reviews/<int:pk>/evidence/<int:file_pk>/", views.evidence_file, name="evidence_file"),
    path(
        "reviews/<int:pk>/sign-offs/<int:sign_off_pk>/",
        views.review_sign_off,
        name="review_sign_off",
    ),
    path("workers/", views.workers, name="workers"),
    path("workers/<int:pk>/", views.worker, name="worker"),
    path("workers/<int:pk>/edit/", views.worker_edit, name="worker_edit"),
    path("workers/<int:pk>/token/", views.worker_token, name="worker_token"),
    path("workers/<int:pk>/pause/", views.worker_pause, name="worker_pause"),
    path("workers/<int:pk>/resume/", views.worker_resume, name="worker_resume"),
    path("workers/<int:pk>/releases/", views.release_new, name="release_new"),
    path(
        "workers/<int:pk>/releases/<int:release_pk>/rollback/",
        views.release_rollback,
        name="release_rollback",
    ),
    path("incidents/", views.incidents, name="incidents"),
    path("incidents/<int:pk>/", views.incident, name="incident"),
    path("incidents/<int:pk>/steps/<int:step_pk>/", views.incident_step, name="incident_step"),
    path("incidents/<int:pk>/close/", views.incident_close, name="incident_close"),
    path("vendors/", views.vendors, name="vendors"),
    path("vendors/new/", views.vendor_edit, name="vendor_new"),
    path("vendors/<int:pk>/", views.vendor_edit, name="vendor_edit"),
    path("audit/", views.audit, name="audit"),
]
