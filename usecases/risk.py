"""Risk classification: the one owner of the risk scheme a use case is classified under.

A scheme is a set of risk classes, each with its label and the **lane floor** it
implies — the least strict governance lane a use case of that class may land in,
whatever the lane policy's other rules say ("" = no floor). Lane values are plain
strings here ("allowed", "reviewed", "prohibited") because ``usecases`` sits below
``governance`` and cannot import its ``Lane`` choices; governance checks them.

The scheme in force is ``settings.RISK_SCHEME`` (default ``"eu_ai_act"``). The
high-impact determination (yes/no with a justification) stands beside the class in
every scheme and implies a floor of its own, :data:`HIGH_IMPACT_FLOOR`.

To add a scheme: add an entry to :data:`SCHEMES` (a key → :class:`RiskScheme`) with
its classes in order from strictest to least strict, and set ``RISK_SCHEME`` to its
key. Class values are stored in ``UseCase.risk_class`` (at most 20 characters); the
model's choices come from :func:`risk_class_choices`, so no migration is needed, but
use cases already classified under another scheme keep values the new one does not
know — reclassify them (the page shows an unknown value as the raw text).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from usecases.choices import RiskClass


@dataclass(frozen=True)
class RiskClassDef:
    """One class of a scheme: stored value, label, and the least strict lane it allows."""

    value: str
    label: str
    lane_floor: str = ""  # "", "reviewed" or "prohibited"


@dataclass(frozen=True)
class RiskScheme:
    """A named set of risk classes, strictest first."""

    key: str
    label: str
    classes: tuple[RiskClassDef, ...]

    def get(self, value: str) -> RiskClassDef | None:
        return next((c for c in self.classes if c.value == value), None)


SCHEMES: dict[str, RiskScheme] = {
    "eu_ai_act": RiskScheme(
        key="eu_ai_act",
        label="EU AI Act",
        classes=(
            # Article 5 practices: not to be deployed at all.
            RiskClassDef(RiskClass.PROHIBITED, RiskClass.PROHIBITED.label, "prohibited"),
            # Annex III / product-safety systems: conformity, oversight, logging — a review.
            RiskClassDef(RiskClass.HIGH, RiskClass.HIGH.label, "reviewed"),
            RiskClassDef(RiskClass.LIMITED, RiskClass.LIMITED.label),
            RiskClassDef(RiskClass.MINIMAL, RiskClass.MINIMAL.label),
        ),
    ),
}

# A high-impact determination (e.g. OMB M-24-10's "rights- or safety-impacting") is reviewed.
HIGH_IMPACT_FLOOR = "reviewed"


def risk_scheme() -> RiskScheme:
    """The scheme in force (``settings.RISK_SCHEME``)."""
    key = getattr(settings, "RISK_SCHEME", "eu_ai_act")
    try:
        return SCHEMES[key]
    except KeyError:
        known = ", ".join(SCHEMES)
        raise ValueError(f"RISK_SCHEME={key!r} is not a known scheme ({known}).") from None


def risk_class_choices() -> list[tuple[str, str]]:
    """(value, label) of every class of the scheme in force: the model's and forms' choices."""
    return [(c.value, c.label) for c in risk_scheme().classes]


def risk_class_label(value: str) -> str:
    """The class's label; a value the scheme does not know is shown as it is stored."""
    found = risk_scheme().get(value)
    return found.label if found else value


def risk_lane_floor(*, risk_class: str, high_impact: bool | None) -> tuple[str, str]:
    """(the least strict lane allowed, why in words) — ("", "") when nothing sets a floor."""
    found = risk_scheme().get(risk_class or "")
    floors = []
    if found and found.lane_floor:
        floors.append((found.lane_floor, f"{risk_scheme().label} risk class “{found.label}”"))
    if high_impact:
        floors.append((HIGH_IMPACT_FLOOR, "a high-impact determination"))
    if not floors:
        return "", ""
    # "prohibited" > "reviewed": the strictest floor wins.
    floors.sort(key=lambda floor: floor[0] == "prohibited", reverse=True)
    return floors[0]


def risk_validate(*, high_impact: bool | None, justification: str) -> dict[str, str]:
    """Field → problem, for a classification that does not hold together (empty when it does).

    (The class itself is checked against the scheme by the model field's choices.)
    """
    problems = {}
    if high_impact and not (justification or "").strip():
        problems["high_impact_justification"] = (
            "Say why it is high-impact: a justification is required when high-impact is yes."
        )
    return problems
