"""The one way pages show a service's refusal: on the form, or as a message in words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest


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
