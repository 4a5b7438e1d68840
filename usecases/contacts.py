"""Contacts: a use case's owner named by name and email before they are a user.

When an account with that email exists — created by an admin, by the invite below, or
already there — the use cases naming it as their contact and having no owner get that
user as owner (audited). The link is made by ``contact_link_user``, which the receiver in
``usecases.receivers`` calls whenever a user is created or their email changes.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from audit.services import audit_record
from opsai.mail import absolute_url, mail_on_commit
from usecases.models import UseCase


def contact_user(email: str) -> Any:
    """The active account with ``email`` (any case), or ``None``: a contact who is a user."""
    email = (email or "").strip()
    if not email:
        return None
    return (
        get_user_model().objects.filter(email__iexact=email, is_active=True).order_by("pk").first()
    )


@transaction.atomic
def contact_link_user(*, user: Any, actor: Any = None) -> list[UseCase]:
    """Make ``user`` the owner of every use case naming their email as contact and having no
    owner yet; returns those use cases. Nothing happens for a user without an email."""
    email = (user.email or "").strip()
    if not email:
        return []
    use_cases = list(
        UseCase.objects.select_for_update().filter(contact_email__iexact=email, owner__isnull=True)
    )
    for use_case in use_cases:
        use_case.owner = user
        use_case.save(update_fields=["owner", "updated_at"])
        audit_record(
            actor=actor,
            action="usecase.contact_linked",
            target=use_case,
            before={"owner": None, "contact_email": use_case.contact_email},
            after={"owner": user.pk},
        )
    return use_cases


def _free_username(email: str) -> str:
    """A username from the email's local part, made unique with a number if taken."""
    User = get_user_model()
    limit = User._meta.get_field(User.USERNAME_FIELD).max_length or 150
    base = re.sub(r"[^\w.@+-]", "", email.split("@", 1)[0])[: limit - 6] or "user"
    name, n = base, 1
    while User.objects.filter(**{f"{User.USERNAME_FIELD}__iexact": name}).exists():
        n += 1
        name = f"{base}{n}"
    return name


@transaction.atomic
def contact_invite(*, use_case: UseCase, actor: Any) -> Any:
    """Invite ``use_case``'s contact: an account is created for their email (no usable
    password, no role yet), every use case naming them is linked to it, and they are
    emailed a link to set their password. An existing account is linked, not duplicated.
    """
    email = (use_case.contact_email or "").strip()
    if not email:
        raise ValidationError({"contact_email": "Name the contact's email to invite them."})
    if use_case.owner_id is not None:
        raise ValidationError({"owner": "This use case already has an owner who is a user."})
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).order_by("pk").first()
    if user is not None:
        contact_link_user(user=user, actor=actor)
        return user
    first, _, last = (use_case.contact_name or "").strip().partition(" ")
    user = User(username=_free_username(email), email=email, first_name=first, last_name=last)
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()  # the receiver links the use cases naming this email
    audit_record(
        actor=actor,
        action="user.invited",
        target=user,
        after={"username": user.get_username(), "email": email, "use_case": use_case.pk},
    )
    link = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    mail_on_commit(
        subject=f"You are invited to opsai: {use_case.title}",
        body=(
            f"{actor.get_full_name() or actor.get_username()} named you as the owner of "
            f"“{use_case.title}” in opsai.\n\n"
            f"Your username is {user.get_username()}. Set your password here:\n"
            f"{absolute_url(link)}\n\n"
            "An admin gives you your role once you are in."
        ),
        recipients=[email],
    )
    return user
