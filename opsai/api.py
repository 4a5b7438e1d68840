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
415, 429, a malformed body) keeps DRF's ``{"detail": "..."}``; a 403's detail is the
refusal in words that the 403 page shows (``opsai.permissions.refusal``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import exceptions, pagination, serializers
from rest_framework.fields import get_error_detail
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from opsai import bounds
from opsai.paging import MAX_PAGE_SIZE


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
    """DRF's handler, with Django's ``ValidationError`` as a 400 and one shape for all 400s,
    and Django's ``PermissionDenied`` as a 403 that keeps its words.

    Services raise Django's ``ValidationError``; views call them without a try/except and
    the error reaches the client here, in the shape this module's docstring describes.
    """
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(get_error_detail(exc))
    elif isinstance(exc, DjangoPermissionDenied) and str(exc):
        # DRF's own conversion drops the message; keep the sentence ``require`` wrote.
        exc = exceptions.PermissionDenied(str(exc))
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = validation_error_body(response.data)
    return response


class PageNumberPagination(pagination.PageNumberPagination):
    """Every API list: ``?page=`` and ``?page_size=`` (default ``PAGE_SIZE``, at most
    :data:`opsai.paging.MAX_PAGE_SIZE`, the pages' own largest size; more is clamped)."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


class IntRouter(SimpleRouter):
    """A router whose detail routes match only whole numbers: ``/usecases/null/`` is a 404.

    DRF's default lookup matches any text, which then reaches the database as an id
    (``int("null")`` — a 500). A viewset may still set its own ``lookup_value_regex``.
    """

    def get_lookup_regex(self, viewset: Any, lookup_prefix: str = "") -> str:
        if getattr(viewset, "lookup_value_regex", None) is None:
            viewset.lookup_value_regex = r"\d+"
        return super().get_lookup_regex(viewset, lookup_prefix)


class BoundedFloatField(serializers.FloatField):
    """A float that is finite and within ``bounds.MAX_ABS_VALUE`` (``1e400`` is infinity in JSON)."""

    def to_internal_value(self, data: Any) -> float:
        value = super().to_internal_value(data)
        problem = bounds.number_problem(value)
        if problem:
            raise serializers.ValidationError(problem, code="out_of_range")
        return value


class BoundedDateTimeField(serializers.DateTimeField):
    """An instant within ``bounds.EARLIEST_INSTANT`` … ``bounds.LATEST_INSTANT``, kept in UTC."""

    def to_internal_value(self, value: Any) -> datetime:
        parsed = super().to_internal_value(value)
        try:
            return bounds.instant_utc(parsed)
        except ValueError as error:
            raise serializers.ValidationError(f"This date-time {error}.", code="range") from None


def long_text_field(**kwargs: Any) -> serializers.CharField:
    """A free-text field capped at ``bounds.LONG_TEXT_MAX`` characters (unless told otherwise)."""
    kwargs.setdefault("max_length", bounds.LONG_TEXT_MAX)
    return serializers.CharField(**kwargs)


class BoundedModelSerializer(serializers.ModelSerializer):
    """A model serializer whose floats, instants and texts are bounded (see ``opsai.bounds``).

    Model text fields without a ``max_length`` get ``LONG_TEXT_MAX``; DRF's CharField
    already refuses NUL characters.
    """

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.FloatField: BoundedFloatField,
        models.DateTimeField: BoundedDateTimeField,
    }

    def build_standard_field(self, field_name: str, model_field: Any) -> tuple[Any, dict]:
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        free_text = isinstance(model_field, models.TextField) and "choices" not in kwargs
        if free_text and "max_length" not in kwargs and "read_only" not in kwargs:
            kwargs["max_length"] = bounds.LONG_TEXT_MAX
        return field_class, kwargs
