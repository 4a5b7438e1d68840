"""The profile page's forms: a new API token, which token to revoke, the weekly digest."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.selectors import token_default_lifetime, token_lifetime_choices
from accounts.services import NAME_MAX


class ApiTokenForm(forms.Form):
    """A name for the token and one of the lifetimes on offer."""

    name = forms.CharField(
        max_length=NAME_MAX,
        help_text="What will use it, e.g. “Nightly KPI export”.",
    )
    days = forms.TypedChoiceField(coerce=int, label="Lifetime")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["days"].choices = [(d, f"{d} days") for d in token_lifetime_choices()]
        self.fields["days"].initial = token_default_lifetime()


class ApiTokenRevokeForm(forms.Form):
    """Which of the person's tokens to revoke (its public ``uid``)."""

    token = forms.UUIDField()


class DigestForm(forms.Form):
    """Whether the person gets the weekly "Needs you" email (an unticked box is off)."""

    weekly_digest = forms.BooleanField(
        required=False,
        label="Email me every Monday what needs me",
        help_text="Sent only in a week when something waits on you.",
    )
