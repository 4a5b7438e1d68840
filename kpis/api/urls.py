from kpis.api import views
from opsai.api import IntRouter

router = IntRouter()
router.register("kpis", views.KPIViewSet, basename="api-kpi")
router.register("measurements", views.MeasurementViewSet, basename="api-measurement")
router.register("snapshots", views.SnapshotViewSet, basename="api-snapshot")
router.register("checkins", views.CheckInViewSet, basename="api-checkin")
router.register("annotations", views.AnnotationViewSet, basename="api-annotation")
router.register("alerts", views.AlertViewSet, basename="api-alert")

urlpatterns = router.urls
