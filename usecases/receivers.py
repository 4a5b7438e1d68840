"""Receivers: use cases react to accounts being created or getting an email."""

from __future__ import annotations

from typing import Any

from usecases.contacts import contact_link_user


def user_saved(
    sender: Any, instance: Any, created: bool, update_fields: Any = None, **_: Any
) -> None:
    """A user created, or saved with their email: use cases naming that email as their
    contact (and no owner yet) get them as owner. A save of other fields (the last sign-in)
    changes nothing here, so it costs no query."""
    if update_fields is not None and "email" not in update_fields:
        return
    if instance.email:
        contact_link_user(user=instance)
