from opsai.api import IntRouter
from usecases.api.views import UseCaseViewSet

router = IntRouter()
router.register("usecases", UseCaseViewSet, basename="api-usecase")

urlpatterns = router.urls
