"""The profile page: a person's roles, their API tokens (create, see once, revoke) and
their weekly "Needs you" email (on or off)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST, require_safe

from accounts import selectors, services
from accounts.forms import ApiTokenForm, ApiTokenRevokeForm, DigestForm
from opsai.forms import form_add_errors


def _profile_page(request: HttpRequest, form: ApiTokenForm, **extra: Any) -> HttpResponse:
    person = selectors.person_roles(user=request.user)
    context = {
        **person,
        "digest_form": DigestForm(initial={"weekly_digest": person["weekly_digest"]}),
        "tokens": list(selectors.api_token_list(user=request.user)),
        "form": form,
        "max_days": settings.TOKEN_MAX_DAYS,
        **extra,
    }
    response = render(request, "accounts/profile.html", context)
    # A page that may hold a new key must stay out of the browser's and any proxy's cache.
    add_never_cache_headers(response)
    return response


@require_safe
def profile(request: HttpRequest) -> HttpResponse:
    return _profile_page(request, ApiTokenForm())


@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    """Create a token and show its key in this response only.

    Not redirected to the profile with the key in the session: the key is then kept
    nowhere on the server, not even for the moment between two requests.
    """
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, key = services.api_token_create(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            return _profile_page(request, ApiTokenForm(), new_token=token, new_key=key)
    return _profile_page(request, form)


@require_POST
def token_revoke(request: HttpRequest) -> HttpResponse:
    """Revoke one of the person's own tokens (anyone else's is a 404)."""
    form = ApiTokenRevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Token: choose which of your tokens to revoke.")
        return redirect("accounts:profile")
    token = selectors.api_token_get_own(user=request.user, uid=form.cleaned_data["token"])
    services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Revoked “{token.name}”: it no longer works.")
    return redirect("accounts:profile")


@require_POST
def digest(request: HttpRequest) -> HttpResponse:
    """Turn the person's own weekly "Needs you" email on or off."""
    form = DigestForm(request.POST)
    form.is_valid()  # a lone checkbox: absent or anything unexpected reads as off
    on = bool(form.cleaned_data.get("weekly_digest"))
    services.profile_digest_set(user=request.user, on=on, actor=request.user)
    if on:
        messages.success(request, "You will get the weekly email of what needs you.")
    else:
        messages.success(
            request, "Weekly email turned off. Your home page still lists what needs you."
        )
    return redirect("accounts:profile")
