from opsai.api import IntRouter
from usecases.api.views import ImportJobViewSet, OnboardingViewSet, UseCaseViewSet

router = IntRouter()
router.register("usecases/onboarding", OnboardingViewSet, basename="api-usecase-onboarding")
router.register("usecases/imports", ImportJobViewSet, basename="api-usecase-import-job")
router.register("usecases", UseCaseViewSet, basename="api-usecase")

urlpatterns = router.urls
