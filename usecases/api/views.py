from rest_framework import viewsets

from usecases.api.serializers import UseCaseSerializer
from usecases.selectors import usecase_list


class UseCaseViewSet(viewsets.ReadOnlyModelViewSet):
    """Use cases of the portfolio."""

    serializer_class = UseCaseSerializer

    def get_queryset(self):
        return usecase_list().order_by("pk")
