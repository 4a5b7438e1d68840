"""The one permissions module: who may do what in opsai.

Roles are Django groups (:mod:`opsai.roles`); the predicates below are built with
`rules <https://github.com/dfunckt/django-rules>`_ so they compose (``is_ops_lead |
is_admin``) and can look at an object (``is_use_case_owner``). Each app registers
its permissions in its own ``rules.py`` using these predicates; every view goes
through :func:`require` (or :func:`permission_required`), every API view through
:class:`HasRole` plus :func:`require`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any

import rules
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import SAFE_METHODS, BasePermission

from opsai.roles import Role


@rules.predicate
def is_admin(user: Any) -> bool:
    return bool(user and user.is_authenticated) and (
        user.is_superuser or Role.ADMIN in _group_names(user)
    )


def _group_names(user: Any) -> set[str]:
    # rules' own is_group_member caches the same way: one query per request user.
    if not hasattr(user, "_group_names_cache"):
        user._group_names_cache = set(user.groups.values_list("name", flat=True))
    return user._group_names_cache


def _has_group(role: Role) -> Callable[[Any], bool]:
    @rules.predicate(name=f"is_{role.name.lower()}")
    def predicate(user: Any) -> bool:
        return bool(user and user.is_authenticated) and role.value in _group_names(user)

    return predicate


is_ops_lead = _has_group(Role.OPS_LEAD)
is_executive = _has_group(Role.EXECUTIVE)
is_product_owner = _has_group(Role.PRODUCT_OWNER)
is_reviewer = _has_group(Role.REVIEWER)

has_any_role = is_ops_lead | is_executive | is_product_owner | is_reviewer | is_admin
# Executives read; any other role they also hold lets them write.
can_write = is_ops_lead | is_product_owner | is_reviewer | is_admin
is_read_only = has_any_role & ~can_write


def reviewer_specialty(user: Any) -> str:
    """The reviewer's specialty (``ReviewerSpecialty`` value) or ``""``."""
    profile = getattr(user, "profile", None)
    return profile.reviewer_specialty if profile else ""


def team_of(obj: Any) -> Any:
    """The team a team, use case, KPI, AI worker or release belongs to (``None`` if none)."""
    for hop in ("worker", "use_case", "team"):
        obj = getattr(obj, hop, obj)
    return obj


@rules.predicate
def is_team_product_owner(user: Any, obj: Any) -> bool:
    """A product owner of the unit of ``obj`` (a unit, use case, KPI, AI worker or release).

    A unit's product owner is the nearest one named on the way up the organisation tree
    (its own, else its parent's, …): whoever owns a department owns its teams until a
    team names its own. While none is named anywhere above the unit, any product owner
    stands in for it, as for the product-owner sign-off: otherwise nobody could move or
    resume its work. The queryset twin is ``usecases.selectors.units_product_owned_by``.
    """
    if obj is None or not is_product_owner(user):
        return False
    owner_id = _nearest_owner_for(user, team_of(obj))
    return owner_id is None or owner_id == user.pk


def _nearest_owner_for(user: Any, unit: Any) -> int | None:
    """:func:`nearest_product_owner_id`, remembered on the request's user per unit: a list
    checked row by row (a bulk KPI batch) asks about the same few units many times."""
    if unit is None or getattr(unit, "product_owner_id", None) is not None:
        return nearest_product_owner_id(unit)
    cache = user.__dict__.setdefault("_nearest_owner_cache", {})
    key = (unit.pk, unit.path)
    if key not in cache:
        cache[key] = nearest_product_owner_id(unit)
    return cache[key]


def nearest_product_owner_id(unit: Any) -> int | None:
    """The id of the product owner named nearest ``unit`` on its way up the tree, or ``None``.

    No query when the unit names its own; else one, over the ancestors in its path.
    """
    if unit is None:
        return None
    if getattr(unit, "product_owner_id", None) is not None:
        return unit.product_owner_id
    ancestors = [int(part) for part in (unit.path or "").strip("/").split("/")[:-1] if part]
    if not ancestors:
        return None
    owners = dict(
        type(unit)
        ._default_manager.filter(pk__in=ancestors, product_owner__isnull=False)
        .values_list("pk", "product_owner_id")
    )
    return next((owners[pk] for pk in reversed(ancestors) if pk in owners), None)


def _led_team_ids(user: Any) -> set[int]:
    """Teams whose use cases the user owns or submitted (cached on the request's user)."""
    if not hasattr(user, "_led_team_ids_cache"):
        owned = user.owned_use_cases.values_list("team_id", flat=True)
        submitted = user.submitted_use_cases.values_list("team_id", flat=True)
        user._led_team_ids_cache = set(owned) | set(submitted)
    return user._led_team_ids_cache


@rules.predicate
def is_team_member(user: Any, obj: Any) -> bool:
    """Someone of the team of ``obj``: its product owner (the nearest one named up the
    tree), or the owner or submitter of one of its use cases (opsai records no other
    team membership).

    Unlike :func:`is_team_product_owner` there is no stand-in: a team without a named
    product owner is not open to every product owner here.
    """
    if obj is None or not (user and user.is_authenticated):
        return False
    team = team_of(obj)
    if team is None:
        return False
    if is_product_owner(user) and _nearest_owner_for(user, team) == user.pk:
        return True
    return team.pk in _led_team_ids(user)


def acting_user(actor: Any) -> Any:
    """The user to store as the author of a change, or ``None`` for the system (a job)."""
    return actor if getattr(actor, "is_authenticated", False) else None


def role_names(user: Any) -> list[str]:
    """The user's roles, in the order of :class:`Role`, for display."""
    if not (user and user.is_authenticated):
        return []
    names = _group_names(user)
    roles = [role.label for role in Role if role.value in names]
    if user.is_superuser and Role.ADMIN.label not in roles:
        roles.append(Role.ADMIN.label)
    return roles


# Refusals in words. A refused user is told why in a sentence, never a permission's
# codename. Each app registers the words for its permissions in its rules.py, next to the
# rule (one owner); this module only keeps the registry, as it keeps the predicates.
Explain = Callable[[Any, Any], str | None]

NO_ROLE = "Your account has no opsai role yet. Ask an admin for one."
# For a permission nobody gave words to (a test keeps every registered one covered).
LAST_RESORT = "Your role in opsai does not allow this. Ask an admin if you need it."

_ROLE_PLURALS = {
    Role.OPS_LEAD: "ops leads",
    Role.EXECUTIVE: "executives",
    Role.PRODUCT_OWNER: "product owners",
    Role.REVIEWER: "reviewers",
    Role.ADMIN: "admins",
}
_ROLE_WITH_ARTICLE = {
    Role.OPS_LEAD: "an ops lead",
    Role.EXECUTIVE: "an executive",
    Role.PRODUCT_OWNER: "a product owner",
    Role.REVIEWER: "a reviewer",
    Role.ADMIN: "an admin",
}


@dataclass(frozen=True)
class _Refusal:
    explain: Explain | None
    fallback: str


_REFUSALS: dict[str, _Refusal] = {}


def register_refusal(permission: str, explain: Explain | None = None, *, fallback: str) -> None:
    """Give ``permission`` its words: ``explain(user, obj)`` says why this user is refused
    (``None`` when it has nothing to add), else ``fallback`` is said.

    Called from each app's ``rules.py`` next to the rule, so the rule and its words change
    together; :func:`refuse_unless` builds the usual role-aware ``explain``.
    """
    _REFUSALS[permission] = _Refusal(explain, fallback)


def refusal_fallback(permission: str) -> str | None:
    """The fallback sentence registered for ``permission`` (``None`` if it has no words)."""
    entry = _REFUSALS.get(permission)
    return entry.fallback if entry else None


def _roles_of(user: Any) -> list[Role]:
    names = _group_names(user)
    roles = [role for role in Role if role.value in names]
    if user.is_superuser and Role.ADMIN not in roles:
        roles.append(Role.ADMIN)
    return roles


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def who_does(roles: Sequence[Role]) -> str:
    """``(Role.OPS_LEAD, Role.ADMIN)`` as "Ops leads and admins"."""
    return _join([_ROLE_PLURALS[role] for role in roles]).capitalize()


def you_are(user: Any) -> str:
    """The user's roles as "you are a reviewer" ("… and an admin" when more than one)."""
    return "you are " + _join([_ROLE_WITH_ARTICLE[role] for role in _roles_of(user)])


def refuse_unless(
    permission: str,
    roles: Sequence[Role],
    action: str,
    *,
    explain: Explain | None = None,
    reads: bool = False,
    fallback: str | None = None,
) -> None:
    """Register the usual words for ``permission``, given to ``roles`` to do ``action``.

    In order: an executive refused a write hears "Executives read; they do not <action>.";
    then ``explain(user, obj)`` (the object's own reason: whose unit it is, separation of
    duties); then someone without any of ``roles`` hears "<Roles> <action>; you are a
    reviewer."; else ``fallback`` (by default "<Roles> <action>."). ``reads`` marks a
    permission executives hold, so they are never told they only read.
    """
    allowed = set(roles)

    def explained(user: Any, obj: Any) -> str | None:
        if not reads and is_read_only(user):
            return f"Executives read; they do not {action}."
        sentence = explain(user, obj) if explain else None
        if sentence:
            return sentence
        if not allowed & set(_roles_of(user)):
            return f"{who_does(roles)} {action}; {you_are(user)}."
        return None

    register_refusal(permission, explained, fallback=fallback or f"{who_does(roles)} {action}.")


def refused_as_unit_product_owner(sentence: str) -> Explain:
    """An ``explain`` for a product owner refused on another unit's thing: ``sentence``
    with ``{unit}`` as the path of the unit of ``obj`` (e.g. "Only the product owner of
    {unit} (or an admin) moves its stages."). Says nothing to anyone else."""

    def explain(user: Any, obj: Any) -> str | None:
        unit = team_of(obj) if obj is not None else None
        if unit is None or not is_product_owner(user):
            return None
        return sentence.format(unit=unit.path_label)

    return explain


def refusal(user: Any, permission: str, obj: Any = None) -> str:
    """Why ``user`` may not have ``permission`` (on ``obj``), in a sentence for them."""
    if not (user and user.is_authenticated):
        return "Sign in first."
    if not has_any_role(user):
        return NO_ROLE
    entry = _REFUSALS.get(permission)
    if entry is None:
        return LAST_RESORT
    return (entry.explain(user, obj) if entry.explain else None) or entry.fallback


def require(user: Any, permission: str, obj: Any = None) -> None:
    """Raise ``PermissionDenied`` unless ``user`` has ``permission`` (on ``obj``); its
    message is :func:`refusal`'s sentence, shown on the 403 page and in the API's detail."""
    if not user.has_perm(permission, obj):
        raise PermissionDenied(refusal(user, permission, obj))


def permission_required(permission: str) -> Callable:
    """Decorate a view so only users with ``permission`` reach it (403 otherwise)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            require(request.user, permission)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def write_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuse unsafe methods (POST, …) to read-only users such as executives."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in SAFE_METHODS:
            require(request.user, "opsai.write")
        return view(request, *args, **kwargs)

    return wrapped


class HasRole(BasePermission):
    """API default: signed in with a role; executives (read-only) may only read.

    Object- and action-level rules are checked by the view with :func:`require`.
    """

    message = NO_ROLE

    def has_permission(self, request: Any, view: Any) -> bool:
        # DRF makes a permission per request, so the message can be this user's refusal.
        user = request.user
        if not has_any_role(user):
            self.message = NO_ROLE
            return False
        if request.method in SAFE_METHODS or can_write(user):
            return True
        self.message = refusal(user, "opsai.write")
        return False


rules.add_perm("opsai.view_site", has_any_role)
rules.add_perm("opsai.write", can_write)
WRITERS = (Role.OPS_LEAD, Role.PRODUCT_OWNER, Role.REVIEWER, Role.ADMIN)
EVERY_ROLE = (Role.OPS_LEAD, Role.EXECUTIVE, Role.PRODUCT_OWNER, Role.REVIEWER, Role.ADMIN)
refuse_unless("opsai.view_site", EVERY_ROLE, "use opsai", reads=True)
refuse_unless("opsai.write", WRITERS, "change anything in opsai")
