from rest_framework import serializers

from usecases.models import UseCase


class UseCaseSerializer(serializers.ModelSerializer):
    team = serializers.StringRelatedField()
    owner = serializers.StringRelatedField()

    class Meta:
        model = UseCase
        fields = ["id", "title", "team", "owner", "business_outcome", "value_bucket", "stage"]
