"""One error shape for the whole API (``opsai.api.exception_handler``).

A 400 is ``{field: [messages], "errors": [messages]}`` whichever app, serializer, filter
or service refused; every other error keeps DRF's ``{"detail": "..."}``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.test import APIClient

from opsai.api import exception_handler
from tests.factories import TeamFactory
from tests.governance.factories import use_case_like
from tests.usecases.factories import make_use_case
from usecases.scoring import CRITERION_KEYS

pytestmark = pytest.mark.django_db


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def assert_error_shape(response: Any) -> dict[str, list[str]]:
    """A 400 whose JSON body maps each field (or ``errors``) to a list of messages."""
    assert response.status_code == 400, response.content
    body = response.json()
    assert isinstance(body, dict) and body
    for name, messages in body.items():
        assert isinstance(messages, list) and messages, name
        assert all(isinstance(message, str) for message in messages), name
    return body


def test_a_usecases_service_refusal_without_a_field_is_under_errors(ops_lead: Any) -> None:
    draft = make_use_case(ops_lead, submit=False)
    sheet: dict[str, Any] = dict.fromkeys(CRITERION_KEYS, 3)
    sheet.update({f"{key}_rationale": "because" for key in CRITERION_KEYS})
    response = _client(ops_lead).post(f"/api/usecases/{draft.pk}/scores/", sheet, format="json")
    assert assert_error_shape(response) == {"errors": ["Submit the use case before scoring it."]}


def test_a_kpis_bad_filter_and_a_bad_batch_name_their_parameter(ops_lead: Any) -> None:
    client = _client(ops_lead)
    bad_filter = client.get("/api/measurements/?since=yesterday")
    assert assert_error_shape(bad_filter) == {"since": ["Use an ISO 8601 date or date-time."]}
    bad_batch = client.post("/api/measurements/", {"rows": []}, format="json")
    assert assert_error_shape(bad_batch) == {
        "measurements": ["Send a list of {kpi, timestamp, value} objects."]
    }


def test_a_governance_service_refusal_without_a_field_is_under_errors(product_owner: Any) -> None:
    TeamFactory(name="Support", product_owner=product_owner)
    use_case = use_case_like("support_triage", stage="approved")
    client = _client(product_owner)
    body = {"use_case": use_case.pk, "title": "Wrong refund", "severity": "high",
            "what_happened": "x"}  # fmt: skip
    incident = client.post("/api/incidents/", body).json()
    response = client.post(f"/api/incidents/{incident['id']}/close/")
    (message,) = assert_error_shape(response)["errors"]
    assert message.startswith("Cannot close: the post-incident review step must be done")


def test_a_serializer_and_a_service_field_error_have_the_same_shape(ops_lead: Any) -> None:
    client = _client(ops_lead)
    serializer_error = client.post("/api/usecases/", {"title": "X", "team": "Nowhere"})
    assert set(assert_error_shape(serializer_error)) == {"team"}
    draft = make_use_case(ops_lead, submit=False, problem="")
    service_error = client.post(f"/api/usecases/{draft.pk}/submit/")
    assert assert_error_shape(service_error)["problem"] == ["Problem is required to submit."]


def test_not_found_and_forbidden_keep_drfs_detail(ops_lead: Any, executive: Any) -> None:
    missing = _client(ops_lead).get("/api/usecases/999999/")
    assert missing.status_code == 404
    assert set(missing.json()) == {"detail"}
    use_case = make_use_case(ops_lead)
    refused = _client(executive).patch(f"/api/usecases/{use_case.pk}/", {"title": "x"})
    assert refused.status_code == 403
    assert isinstance(refused.json()["detail"], str)


def test_djangos_non_field_key_and_a_plain_message_become_errors() -> None:
    error = DjangoValidationError({"__all__": ["Ends before it starts."], "title": "Too long."})
    response = exception_handler(error, {})
    assert response is not None and response.status_code == 400
    assert response.data == {"errors": ["Ends before it starts."], "title": ["Too long."]}
    assert exception_handler(DjangoValidationError("No."), {}).data == {"errors": ["No."]}


def test_a_serializers_own_non_field_error_is_under_errors() -> None:
    class RangeSerializer(serializers.Serializer):
        start = serializers.IntegerField()
        end = serializers.IntegerField()

        def validate(self, attrs: dict[str, int]) -> dict[str, int]:
            if attrs["end"] < attrs["start"]:
                raise serializers.ValidationError("The end is before the start.")
            return attrs

    data = RangeSerializer(data={"start": 2, "end": 1})
    assert not data.is_valid()
    response = exception_handler(serializers.ValidationError(data.errors), {})
    assert response.data == {"errors": ["The end is before the start."]}
    assert exception_handler(NotFound(), {}).data == {"detail": "Not found."}
