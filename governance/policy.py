"""Lane policy: the attributes rules look at, the default rules, and how a rule matches.

Plain Python over a mapping of attribute values, so it is easy to read and to test.
The default rules are the seed's own examples (section 5): Allowed = internal
drafting, summarising without personal data; Reviewed = customer-facing text,
decision support, vendor models touching operational data; Prohibited = autonomous
refunds, unapproved data exports, training on customer personal data — plus the risk
classification's rules (:func:`risk_policy_rules`, from the scheme in
``usecases.risk``): a class whose floor is Prohibited is prohibited, a high-risk or
high-impact use case is reviewed. They ship as policy version 1 (migration 0004);
a database that had a policy before the risk rules gets them as its next version
(migration 0006). Whatever a later policy says, ``governance.selectors.lane_decide``
keeps every use case at or above its risk floor.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from usecases.choices import Audience, Autonomy, DataSensitivity
from usecases.risk import risk_class_choices, risk_scheme

# The use-case attributes a rule may test, with the values each may take.
YES_NO: dict[Any, str] = {True: "Yes", False: "No"}
LANE_ATTRIBUTES: dict[str, tuple[str, dict[Any, str]]] = {
    "data_sensitivity": ("data sensitivity", dict(DataSensitivity.choices)),
    "audience": ("audience", dict(Audience.choices)),
    "autonomy": ("autonomy", dict(Autonomy.choices)),
    "money_movement": ("money movement", YES_NO),
    "vendor_model": ("vendor model", YES_NO),
    "trains_on_customer_data": ("training on customer data", YES_NO),
    "exports_data": ("data exports", YES_NO),
    "risk_class": ("risk class", dict(risk_class_choices())),
    "high_impact": ("high-impact", YES_NO),
}


def risk_policy_rules() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rules the risk scheme implies: (prohibiting rules, reviewing rules).

    The prohibiting ones go first in a policy; the reviewing ones after every other
    prohibiting rule, so a high-risk autonomous refund is still prohibited.
    """
    scheme = risk_scheme()
    prohibit = [
        {
            "name": f"{scheme.label}: {c.label}",
            "lane": "prohibited",
            "conditions": {"risk_class": [c.value]},
            "reason": f"The {scheme.label} does not allow a use case of this class.",
        }
        for c in scheme.classes
        if c.lane_floor == "prohibited"
    ]
    review = [
        {
            "name": f"{scheme.label}: {c.label}",
            "lane": "reviewed",
            "conditions": {"risk_class": [c.value]},
            "reason": f"{c.label} under the {scheme.label}: reviewed before it goes live.",
        }
        for c in scheme.classes
        if c.lane_floor == "reviewed"
    ]
    review.append(
        {
            "name": "High-impact",
            "lane": "reviewed",
            "conditions": {"high_impact": [True]},
            "reason": "Determined high-impact: reviewed before it goes live.",
        }
    )
    return prohibit, review


def with_risk_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rules`` with the risk rules in place (prohibiting first, reviewing after the
    last prohibiting rule); unchanged when they already test a risk attribute."""
    if any({"risk_class", "high_impact"} & set(rule["conditions"]) for rule in rules):
        return list(rules)
    prohibit, review = risk_policy_rules()
    last_prohibiting = max(
        (i for i, rule in enumerate(rules) if rule["lane"] == "prohibited"), default=-1
    )
    head, tail = rules[: last_prohibiting + 1], rules[last_prohibiting + 1 :]
    return [*prohibit, *head, *review, *tail]


SEED_POLICY_RULES: list[dict[str, Any]] = [
    {
        "name": "Autonomous refunds",
        "lane": "prohibited",
        "conditions": {"autonomy": ["act"], "money_movement": [True]},
        "reason": "An AI worker may not move money on its own.",
    },
    {
        "name": "Unapproved data exports",
        "lane": "prohibited",
        "conditions": {"exports_data": [True]},
        "reason": "Exporting data out of our systems needs a separate, explicit approval.",
    },
    {
        "name": "Training on customer personal data",
        "lane": "prohibited",
        "conditions": {"trains_on_customer_data": [True], "data_sensitivity": ["personal"]},
        "reason": "Customer personal data is never used to train models.",
    },
    {
        "name": "Customer-facing text",
        "lane": "reviewed",
        "conditions": {"audience": ["customer_facing"]},
        "reason": "Customers read what it writes.",
    },
    {
        "name": "Decision support",
        "lane": "reviewed",
        "conditions": {"autonomy": ["suggest", "act"]},
        "reason": "It suggests or takes decisions people act on.",
    },
    {
        "name": "Vendor model touching operational data",
        "lane": "reviewed",
        "conditions": {"vendor_model": [True], "data_sensitivity": ["internal", "personal"]},
        "reason": "Operational data leaves for a vendor's model.",
    },
    {
        "name": "Personal data",
        "lane": "reviewed",
        "conditions": {"data_sensitivity": ["personal"]},
        "reason": "It handles personal data.",
    },
    {
        "name": "Internal drafting and summarising",
        "lane": "allowed",
        "conditions": {
            "audience": ["internal"],
            "autonomy": ["draft"],
            "data_sensitivity": ["none", "internal"],
            "money_movement": [False, None],
        },
        "reason": "Low risk: internal drafts or summaries with no personal data.",
    },
    {
        "name": "Anything else",
        "lane": "reviewed",
        "conditions": {},
        "reason": "No rule above places it, so it is reviewed (the safe default).",
    },
]

DEFAULT_POLICY_RULES: list[dict[str, Any]] = with_risk_rules(SEED_POLICY_RULES)


def rule_matches(conditions: dict[str, list[Any]], attributes: dict[str, Any]) -> bool:
    """True when every condition's attribute holds one of its listed values."""
    return all(attributes.get(name) in values for name, values in conditions.items())


def describe_match(conditions: dict[str, list[Any]], attributes: dict[str, Any]) -> str:
    """Why a rule matched, in words: ``"autonomy is Act and money movement is Yes"``."""
    if not conditions:
        return "no other rule matched"
    parts = []
    for name, _values in conditions.items():
        label, choices = LANE_ATTRIBUTES[name]
        value = attributes.get(name)
        parts.append(
            f"{label} is {choices.get(value, 'not set') if value is not None else 'not set'}"
        )
    return " and ".join(parts)


def describe_conditions(conditions: dict[str, list[Any]]) -> str:
    """A rule's conditions in words, for the policy page."""
    if not conditions:
        return "always"
    parts = []
    for name, values in conditions.items():
        label, choices = LANE_ATTRIBUTES[name]
        shown = " or ".join(
            choices.get(v, "not set") if v is not None else "not set" for v in values
        )
        parts.append(f"{label} is {shown}")
    return " and ".join(parts)


def parse_conditions(text: str) -> dict[str, list[Any]]:
    """Parse ``"autonomy=act; money_movement=yes"`` into a conditions mapping.

    Raises ``ValidationError`` naming the attribute or value that is not known.
    """
    conditions: dict[str, list[Any]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, raw = part.partition("=")
        name = name.strip()
        if not sep or name not in LANE_ATTRIBUTES:
            known = ", ".join(LANE_ATTRIBUTES)
            raise ValidationError(f'"{part}" is not attribute=value; attributes: {known}.')
        choices = LANE_ATTRIBUTES[name][1]
        values: list[Any] = []
        for token in filter(None, (t.strip().lower() for t in raw.split(","))):
            value = _parse_value(token, choices)
            if value is _UNKNOWN:
                allowed = ", ".join(str(k).lower() for k in choices)
                raise ValidationError(f'{name}: "{token}" is not one of {allowed} (or unset).')
            values.append(value)
        if not values:
            raise ValidationError(f"{name}: give at least one value.")
        conditions[name] = values
    return conditions


_UNKNOWN = object()


def _parse_value(word: str, choices: dict[Any, str]) -> Any:
    if word == "unset":
        return None
    if True in choices:
        return {"yes": True, "true": True, "no": False, "false": False}.get(word, _UNKNOWN)
    return word if word in choices else _UNKNOWN


def format_conditions(conditions: dict[str, list[Any]]) -> str:
    """The inverse of :func:`parse_conditions`, to prefill the new-version form."""
    parts = []
    for name, values in conditions.items():
        shown = ",".join(
            "unset" if v is None else ("yes" if v is True else "no" if v is False else str(v))
            for v in values
        )
        parts.append(f"{name}={shown}")
    return "; ".join(parts)
