from governance.api import views
from opsai.api import IntRouter

router = IntRouter()
router.register("lanes", views.LaneViewSet, basename="lane")
router.register("reviews", views.ReviewViewSet, basename="review")
router.register("workers", views.AIWorkerViewSet, basename="aiworker")
router.register("releases", views.ReleaseViewSet, basename="release")
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("audit-events", views.AuditEventViewSet, basename="auditevent")

urlpatterns = router.urls
