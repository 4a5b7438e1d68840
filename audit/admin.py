"""Every change made through the Django admin goes on the audit trail.

``AuditedAdmin`` records each add, change and delete — the acting user, the object, the
changed fields with their old and new values (bounded, secrets never) — with
``audit_record`` inside the admin's own transaction, so the record and the change commit
or roll back together. Every admin registered by opsai's apps derives from it or from
``opsai.admin.ReadOnlyAdmin`` (``tests/audit/test_admin_audit.py`` fails otherwise);
Django's user and group admins are registered again here as audited subclasses, and
:func:`audit_library_admins` (called in ``AuditConfig.ready``) does the same for any
other library's admin (django-axes, DRF tokens).

A custom admin action must call a service, which audits, or record its own event.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse

from audit.models import AuditEvent
from audit.services import audit_record
from opsai.admin import ReadOnlyAdmin
from opsai.models import UserProfile

# One recorded value is cut to this many characters, a many-to-many value to this many
# items: the trail shows what changed without a pasted document or a 10,000-row selection
# making one event huge.
VALUE_MAX_CHARS = 200
ITEMS_MAX = 50
# A field whose name holds one of these is recorded as changed, never with its value.
SECRET_WORDS = ("password", "secret", "token", "digest", "salt")
SECRET_NAMES = {"key"}
NOT_RECORDED = "(changed, not recorded)"
# The packages whose admins must derive from AuditedAdmin or ReadOnlyAdmin by hand; the
# admins of libraries are given an audited subclass by audit_library_admins.
OPSAI_PACKAGES = {"opsai", "audit", "usecases", "kpis", "governance"}


def is_secret(name: str) -> bool:
    """Whether a field called ``name`` holds a secret (a password, a token, its hash)."""
    lowered = name.lower()
    return (
        lowered in SECRET_NAMES
        or lowered.endswith("_key")
        or any(w in lowered for w in SECRET_WORDS)
    )


def bounded_value(value: Any) -> Any:
    """``value`` as JSON the trail can hold: short text, numbers, lists of at most ITEMS_MAX."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, models.QuerySet):
        value = list(value[: ITEMS_MAX + 1])
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        shown = [bounded_value(item) for item in items[:ITEMS_MAX]]
        if len(items) > ITEMS_MAX:
            shown.append(f"… and more (over {ITEMS_MAX})")
        return shown
    text = str(value)
    return text if len(text) <= VALUE_MAX_CHARS else text[: VALUE_MAX_CHARS - 1] + "…"


def _initial_value(form: forms.BaseForm, name: str) -> Any:
    """The value ``name`` had before the form changed it (a foreign key as its object)."""
    value = form.initial.get(name)
    field = form.fields.get(name)
    single_choice = isinstance(field, forms.ModelChoiceField) and not isinstance(
        field, forms.ModelMultipleChoiceField
    )
    if single_choice and value not in (None, "") and not isinstance(value, models.Model):
        # The form keeps a foreign key's old value as its id; name the object as the new
        # value is named, so the trail reads "Support → Finance", not "3 → Finance".
        value = field.queryset.model._default_manager.filter(pk=value).first() or value
    return value


def form_changes(form: forms.BaseForm) -> tuple[dict[str, Any], dict[str, Any]]:
    """The changed fields of a submitted admin form: ``({field: old}, {field: new})``."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in form.changed_data:
        if is_secret(name):
            after[name] = NOT_RECORDED
            continue
        before[name] = bounded_value(_initial_value(form, name))
        after[name] = bounded_value(form.cleaned_data.get(name))
    return before, after


def field_values(obj: models.Model) -> dict[str, Any]:
    """Every column of ``obj`` (a foreign key as its id), bounded, secrets left out."""
    return {
        field.attname: bounded_value(field.value_from_object(obj))
        for field in obj._meta.concrete_fields
        if not is_secret(field.name)
    }


def _inline_changes(formsets: Iterable[Any]) -> list[str]:
    """What the inline formsets of one save added, changed and deleted, one line each."""
    lines: list[str] = []
    for formset in formsets:
        label = formset.model._meta.verbose_name
        lines += [f"added {label} {bounded_value(obj)}" for obj in formset.new_objects]
        lines += [
            f"changed {label} {bounded_value(obj)}: {', '.join(fields)}"
            for obj, fields in formset.changed_objects
        ]
        lines += [f"deleted {label} {bounded_value(obj)}" for obj in formset.deleted_objects]
    return lines


class AuditedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose every add, change and delete writes an audit event.

    The event is written in the admin's transaction (``changeform_view`` and
    ``delete_view`` run in one; a bulk delete gets its own here): ``admin.added``,
    ``admin.changed`` (the changed fields, old → new, many-to-many and inlines
    included — group and permission grants among them) or ``admin.deleted`` (the row's
    columns before it went).
    """

    def audit_target(self, obj: models.Model) -> models.Model | None:
        """The object the event names, or ``None`` when its id or name is a secret (a token)."""
        return None if is_secret(obj._meta.pk.name) else obj

    def _record(
        self,
        request: HttpRequest,
        action: str,
        obj: models.Model,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> AuditEvent:
        target = self.audit_target(obj)
        if target is None:
            after = {"model": obj._meta.label_lower, **(after or {})}
        return audit_record(
            actor=request.user, action=action, target=target, before=before, after=after
        )

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        # After save_model and the many-to-many and inline saves: one event for the lot.
        super().save_related(request, form, formsets, change)
        before, after = form_changes(form)
        inlines = _inline_changes(formsets or [])
        if inlines:
            after["inlines"] = inlines
        action = "admin.changed" if change else "admin.added"
        self._record(request, action, form.instance, before if change else None, after)

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        # Deleting clears obj.pk; the copy keeps the id the event names.
        gone, before = copy.copy(obj), field_values(obj)
        super().delete_model(request, obj)
        self._record(request, "admin.deleted", gone, before, None)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        # The admin's "delete selected" action runs outside any transaction: make one, so
        # the rows and their events go together or not at all.
        with transaction.atomic(using=queryset.db):
            objects = list(queryset)
            super().delete_queryset(request, queryset)
            for obj in objects:
                self._record(
                    request, "admin.deleted", obj, field_values(obj), {"batch": len(objects)}
                )


User = get_user_model()
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(AuditedAdmin, UserAdmin):
    """Django's user admin, audited: adding people, granting groups, superuser, passwords."""

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        # Django's password view saves without a transaction and without save_model: give
        # it both, through log_change, which it calls only once the password is saved.
        with transaction.atomic(using=self.get_queryset(request).db):
            request._opsai_password_view = True
            return super().user_change_password(request, id, form_url)

    def log_change(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        if getattr(request, "_opsai_password_view", False):
            self._record(request, "admin.password_changed", obj, None, {"password": NOT_RECORDED})
        return super().log_change(request, obj, message)


@admin.register(Group)
class AuditedGroupAdmin(AuditedAdmin, GroupAdmin):
    """Django's group admin, audited: a role's permissions are grants too."""


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the audit trail is append-only."""

    list_display = ["occurred_at", "actor_name", "action", "object_type", "object_repr"]
    list_filter = ["action", "object_type"]


@admin.register(UserProfile)
class UserProfileAdmin(AuditedAdmin):
    """A person's reviewer specialty, which decides the sign-offs they may give."""

    list_display = ["user", "reviewer_specialty"]


def audit_library_admins(site: admin.AdminSite) -> list[str]:
    """Replace each library's admin (not opsai's own) with an audited subclass of it.

    Called once every admin module is imported (``AuditConfig.ready``): django-axes'
    access attempts and DRF's tokens can be deleted or added in the admin, and those are
    changes too. opsai's own admins are left alone, so one that forgets its base class
    fails ``tests/audit/test_admin_audit.py`` instead of being patched over. Returns the
    models whose admin was replaced.
    """
    replaced = []
    for model, model_admin in list(site._registry.items()):
        admin_class = type(model_admin)
        if isinstance(model_admin, AuditedAdmin | ReadOnlyAdmin):
            continue
        if admin_class.__module__.split(".")[0] in OPSAI_PACKAGES:
            continue
        audited = type(f"Audited{admin_class.__name__}", (AuditedAdmin, admin_class), {})
        site.unregister(model)
        site.register(model, audited)
        replaced.append(model._meta.label)
    return replaced
