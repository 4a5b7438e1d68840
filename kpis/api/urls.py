from rest_framework.routers import SimpleRouter

from kpis.api import views

router = SimpleRouter()
router.register("kpis", views.KPIViewSet, basename="api-kpi")
router.register("measurements", views.MeasurementViewSet, basename="api-measurement")
router.register("snapshots", views.SnapshotViewSet, basename="api-snapshot")
router.register("checkins", views.CheckInViewSet, basename="api-checkin")
router.register("annotations", views.AnnotationViewSet, basename="api-annotation")
router.register("alerts", views.AlertViewSet, basename="api-alert")

urlpatterns = router.urls
