"""The one way pages show a service's refusal (on the form, or as a message in words), and text caps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.http import HttpRequest

from opsai import bounds
from opsai.bounds import LONG_TEXT_MAX, MAX_ABS_VALUE


def form_add_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show ``error`` on ``form``: on the field it names when the form has it, else on top."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def error_text(error: ValidationError) -> str:
    """All of ``error``'s messages as one sentence, for a flash message."""
    if hasattr(error, "error_dict"):
        return " ".join(" ".join(messages) for messages in error.message_dict.values())
    return " ".join(error.messages)


def attempt(request: HttpRequest, action: Callable[[], Any], success: str) -> bool:
    """Run a service; flash ``success``, or its refusal naming what was wrong."""
    try:
        action()
    except ValidationError as error:
        messages.error(request, error_text(error))
        return False
    messages.success(request, success)
    return True


class BoundedInputMixin:
    """Bounds a form's fields that have no limit of their own (see ``opsai.bounds``).

    Text fields without ``max_length`` get ``LONG_TEXT_MAX`` (model text fields have no
    limit: a 1M-character paste would be stored and shown on every page); float fields
    without ``max_value`` get ``±MAX_ABS_VALUE`` (the snapshot maths overflows beyond);
    date-times must lie in ``bounds``' window (charts cannot draw year 1).
    Applied when the form is cleaned, so fields a form adds in its ``__init__`` count too.
    """

    fields: dict[str, forms.Field]

    def full_clean(self) -> None:
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and field.max_length is None:
                field.max_length = LONG_TEXT_MAX
                field.validators.append(MaxLengthValidator(LONG_TEXT_MAX))
            elif isinstance(field, forms.FloatField) and field.max_value is None:
                field.max_value, field.min_value = MAX_ABS_VALUE, -MAX_ABS_VALUE
                field.validators += [
                    MaxValueValidator(MAX_ABS_VALUE),
                    MinValueValidator(-MAX_ABS_VALUE),
                ]
            elif isinstance(field, forms.DateTimeField):
                field.validators.append(instant_in_window)
        super().full_clean()  # type: ignore[misc]


def instant_in_window(value: Any) -> None:
    """Refuse a date-time outside ``opsai.bounds``' window, saying which end it passed."""
    try:
        bounds.instant_utc(value)
    except ValueError as error:
        raise ValidationError(f"This date-time {error}.", code="range") from None
