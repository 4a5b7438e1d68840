"""The API's one exception handler: every validation error has the same shape.

A 400 from any endpoint under ``/api/`` — a serializer, a filter (django-filter), or a
service raising Django's ``ValidationError`` — answers::

    {"<field>": ["<message>", ...], ..., "errors": ["<message about no single field>", ...]}

e.g. ``{"to_stage": ['"launch" is not a valid choice.']}`` from a serializer,
``{"since": ["Use an ISO 8601 date or date-time."]}`` from a filter and
``{"errors": ["This incident is already closed."]}`` from a service.

Each field names a list of messages; the messages that concern no single field sit
under ``"errors"`` (``REST_FRAMEWORK["NON_FIELD_ERRORS_KEY"]``). A nested serializer or
list field nests the same shape under its name. Every other error (401, 403, 404, 405,
415, 429, a malformed body) keeps DRF's ``{"detail": "..."}``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.fields import get_error_detail
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler


def validation_error_body(detail: Any) -> dict[str, Any]:
    """``detail`` of a DRF ``ValidationError`` as ``{field: [messages], "errors": [messages]}``.

    A bare list (or message) is non-field; Django's ``__all__`` key becomes ``"errors"``.
    """
    key = api_settings.NON_FIELD_ERRORS_KEY
    if not isinstance(detail, dict):
        return {key: detail if isinstance(detail, list) else [detail]}
    body: dict[str, Any] = {}
    for field, value in detail.items():
        name = key if field == NON_FIELD_ERRORS else field
        messages = [value] if isinstance(value, str) else value
        body[name] = body[name] + messages if name in body else messages
    return body


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with Django's ``ValidationError`` as a 400 and one shape for all 400s.

    Services raise Django's ``ValidationError``; views call them without a try/except and
    the error reaches the client here, in the shape this module's docstring describes.
    """
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(get_error_detail(exc))
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = validation_error_body(response.data)
    return response
