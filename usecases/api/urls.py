from rest_framework.routers import SimpleRouter

from usecases.api.views import UseCaseViewSet

router = SimpleRouter()
router.register("usecases", UseCaseViewSet, basename="api-usecase")

urlpatterns = router.urls
