from django.urls import path

from governance.views import audit, incidents, overview, reviews, workers

app_name = "governance"

urlpatterns = [
    path("", overview.index, name="index"),
    path("policy/", overview.policy, name="policy"),
    path("policy/new/", overview.policy_new, name="policy_new"),
    path("usecases/<int:pk>/", overview.usecase, name="usecase"),
    path("usecases/<int:pk>/workers/new/", workers.worker_new, name="worker_new"),
    path("usecases/<int:pk>/incidents/new/", incidents.incident_new, name="incident_new"),
    path("queue/", reviews.queue, name="queue"),
    path("reviews/<int:pk>/", reviews.review, name="review"),
    path(
        "reviews/<int:pk>/checklist/", reviews.review_checklist_save, name="review_checklist_save"
    ),
    path(
        "reviews/<int:pk>/checklist/<int:item_pk>/",
        reviews.review_checklist,
        name="review_checklist",
    ),
    path("reviews/<int:pk>/evidence/<int:file_pk>/", reviews.evidence_file, name="evidence_file"),
    path(
        "reviews/<int:pk>/sign-offs/<int:sign_off_pk>/",
        reviews.review_sign_off,
        name="review_sign_off",
    ),
    path("workers/", workers.workers, name="workers"),
    path("workers/<int:pk>/", workers.worker, name="worker"),
    path("workers/<int:pk>/edit/", workers.worker_edit, name="worker_edit"),
    path("workers/<int:pk>/token/", workers.worker_token, name="worker_token"),
    path("workers/<int:pk>/pause/", workers.worker_pause, name="worker_pause"),
    path("workers/<int:pk>/resume/", workers.worker_resume, name="worker_resume"),
    path("workers/<int:pk>/releases/", workers.release_new, name="release_new"),
    path(
        "workers/<int:pk>/releases/<int:release_pk>/rollback/",
        workers.release_rollback,
        name="release_rollback",
    ),
    path("incidents/", incidents.incidents, name="incidents"),
    path("incidents/<int:pk>/", incidents.incident, name="incident"),
    path("incidents/<int:pk>/steps/<int:step_pk>/", incidents.incident_step, name="incident_step"),
    path("incidents/<int:pk>/close/", incidents.incident_close, name="incident_close"),
    path("vendors/", incidents.vendors, name="vendors"),
    path("vendors/new/", incidents.vendor_edit, name="vendor_new"),
    path("vendors/<int:pk>/", incidents.vendor_edit, name="vendor_edit"),
    path("audit/", audit.audit, name="audit"),
]
