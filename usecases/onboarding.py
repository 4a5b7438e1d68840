"""Onboarding an existing inventory: what a column can mean, and the mapping opsai proposes.

Another tool's export names its columns its own way ("Use Case Name", "Agency",
"Stage of development") and spells its values its own way ("Operation and
Maintenance", "Yes"/"No"/blank). This module owns:

- the **targets** a column can map to (:func:`targets`): every intake field, the unit
  levels (``unit_1`` … ``unit_6``, or one ``unit_path`` "A > B > C", or ``team`` — a
  unit by name), ``stage`` and the dates it was reached, ``source_id`` (the other
  tool's id), ``opsai_id``, the contact, the risk classification and ``custom:<key>``
  per custom field;
- the **proposal** (:func:`mapping_propose`): a target per column, by its name
  (normalised, with synonyms) and by a sample of its values (emails, dates, yes/no,
  values that match a choice's labels), and a value mapping per choice column, built
  from the distinct values seen, that the user confirms or edits;
- **value matching** (:func:`value_match`) — what the proposal offers is also what
  a value the sample never showed is matched by when the rows are checked;
- the **sample file** (:func:`sample_csv`): every column with its allowed values.

Rows are checked in ``usecases.onboarding_rows`` and written in ``usecases.onboarding_jobs``.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from usecases.catalog import USE_CASE_TEMPLATES
from usecases.choices import (
    Audience,
    Autonomy,
    DataSensitivity,
    Frequency,
    RiskClass,
    Stage,
    System,
    ValueBucket,
)
from usecases.custom_fields import custom_fields
from usecases.models import CustomField

UNIT_LEVELS = 6
# The stages an inventory row may be registered at: an idea, or one it reached in the world.
IMPORT_STAGES: tuple[Stage, ...] = (Stage.IDEA, Stage.PILOT, Stage.PRODUCTION, Stage.RETIRED)
REGISTERED_STAGES: tuple[Stage, ...] = (Stage.PILOT, Stage.PRODUCTION, Stage.RETIRED)
STAGE_DATES: dict[str, Stage] = {
    "pilot_since": Stage.PILOT,
    "production_since": Stage.PRODUCTION,
    "retired_on": Stage.RETIRED,
}
# How many rows of a file the proposal looks at (the header and the values it shows).
SAMPLE_ROWS = 1000
SAMPLES_SHOWN = 3
DISTINCT_SHOWN = 40
YES = {"yes", "y", "true", "1", "x", "checked"}
NO = {"no", "n", "false", "0", "none", "not applicable", "n a", "na"}


@dataclass(frozen=True)
class Target:
    """One thing a column can mean. ``kind`` decides how a cell is read (``onboarding_rows``)."""

    key: str
    label: str
    kind: str  # text, choice, multi, int, decimal, share, bool, flag, date, unit, owner, email, custom
    choices: tuple[tuple[str, str], ...] = ()
    synonyms: tuple[str, ...] = ()
    help: str = ""
    custom: CustomField | None = field(default=None, compare=False)

    @property
    def has_values(self) -> bool:
        """Whether its values are mapped one by one (a choice, a list of choices, yes/no)."""
        return self.kind in ("choice", "multi", "bool", "flag") or (
            self.custom is not None and self.custom.kind in ("choice", "yes_no")
        )

    @property
    def allowed(self) -> str:
        """The allowed values, in words (the import page and the sample file)."""
        if self.choices:
            return ", ".join(value for value, _ in self.choices)
        return self.help


def _choices(text_choices: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(value), str(label)) for value, label in text_choices.choices)


YES_NO_CHOICES = (("yes", "Yes"), ("no", "No"))

# One row per target: key, label, kind, choices, name synonyms (normalised, joined by "|"),
# what the import page says it allows. The key and label count as synonyms too.
_STAGE_CHOICES = tuple((s.value, s.label) for s in IMPORT_STAGES)
_TEMPLATE_CHOICES = tuple((k, k) for k in USE_CASE_TEMPLATES)
# fmt: off
_FIELDS: list[tuple[str, str, str, tuple[tuple[str, str], ...], str, str]] = [
    ("title", "Title", "text", (),
     "use case name|use case|name|use case title|project name|ai use case|system name|project title",
     "Required for a new use case."),
    ("team", "Organisation unit (by name)", "unit", (),
     "unit|organisation unit|organization unit|owning team",
     "A unit's name or its full path."),
    ("unit_path", "Organisation unit path", "unit", (),
     "unit path|org path|organisation path|organization path|hierarchy",
     'Levels joined by ">": "Treasury > IRS > Taxpayer services".'),
    ("unit_1", "Organisation level 1", "unit", (),
     "agency|department|dept|organisation|organization|ministry|level 1|unit 1|agency name|department name",
     "The unit's name at this level."),
    ("unit_2", "Organisation level 2", "unit", (),
     "bureau|division|component|sub agency|subagency|directorate|level 2|unit 2|bureau name|division name",
     "The unit's name at this level."),
    ("unit_3", "Organisation level 3", "unit", (),
     "office|branch|section|level 3|unit 3",
     "The unit's name at this level."),
    ("unit_4", "Organisation level 4", "unit", (),
     "level 4|unit 4|sub team",
     "The unit's name at this level."),
    ("unit_5", "Organisation level 5", "unit", (),
     "level 5|unit 5",
     "The unit's name at this level."),
    ("unit_6", "Organisation level 6", "unit", (),
     "level 6|unit 6",
     "The unit's name at this level."),
    ("owner", "Owner (a user)", "owner", (),
     "owner username|username|owner user",
     "A username or a user's email."),
    ("contact_name", "Owner's name (contact)", "text", (),
     "contact name|owner name|point of contact|poc|poc name|contact|responsible|accountable official",
     ""),
    ("contact_email", "Owner's email (contact)", "email", (),
     "contact email|owner email|email|e mail|poc email|contact e mail|email address",
     "An email address."),
    ("problem", "Problem", "text", (),
     "problem statement|purpose|description|purpose and benefits|summary|intended purpose|use case description|what problem does it solve|use case summary",
     ""),
    ("current_workflow", "Current workflow", "text", (),
     "current process|workflow|as is process",
     ""),
    ("business_outcome", "Business outcome", "text", (),
     "outcome|expected outcome|expected benefits|benefits|outputs|ai system outputs|intended outcome",
     ""),
    ("value_bucket", "Value bucket", "choice", _choices(ValueBucket),
     "value type|benefit type|value category",
     ""),
    ("value_claim", "Value claim", "text", (),
     "measurable claim",
     ""),
    ("systems_touched", "Systems touched", "multi", _choices(System),
     "systems|systems used|integrations",
     "Several, separated by commas."),
    ("cases_per_week", "Cases per week", "int", (),
     "volume per week|weekly volume|volume",
     "A whole number."),
    ("minutes_per_case", "Minutes per case", "decimal", (),
     "handling time|aht|average handle time",
     "A number of minutes."),
    ("rework_share", "Share of cases reworked", "share", (),
     "rework|rework rate",
     "0–1, or a percentage."),
    ("approvals_needed", "Approvals needed", "int", (),
     "approvals",
     "A whole number."),
    ("teams_touched", "Teams touched", "int", (),
     "",
     "A whole number."),
    ("kpis_touched", "KPIs touched", "int", (),
     "",
     "A whole number."),
    ("rules_clarity", "Rules clarity", "int", (),
     "",
     "0–5."),
    ("frequency", "Frequency", "choice", _choices(Frequency),
     "how often",
     ""),
    ("expected_automation_share", "Expected automation share", "share", (),
     "automation share",
     "0–1, or a percentage."),
    ("data_sensitivity", "Data sensitivity", "choice", _choices(DataSensitivity),
     "data classification|pii|personal data|contains pii|involves pii",
     ""),
    ("audience", "Audience", "choice", _choices(Audience),
     "customer facing|public facing|user facing",
     ""),
    ("autonomy", "Autonomy", "choice", _choices(Autonomy),
     "autonomy level|level of autonomy",
     ""),
    ("money_movement", "Money movement", "bool", YES_NO_CHOICES,
     "moves money|payments",
     ""),
    ("vendor_model", "Vendor model", "bool", YES_NO_CHOICES,
     "third party model|commercial model|vendor ai|uses vendor model",
     ""),
    ("trains_on_customer_data", "Trains on customer data", "flag", YES_NO_CHOICES,
     "",
     ""),
    ("exports_data", "Exports data", "flag", YES_NO_CHOICES,
     "",
     ""),
    ("risk_class", "Risk class", "choice", _choices(RiskClass),
     "risk classification|eu ai act risk class|risk level|ai act risk|risk category|risk tier",
     ""),
    ("high_impact", "High-impact", "bool", YES_NO_CHOICES,
     "rights impacting|safety impacting|rights or safety impacting|is high impact|high impact ai|rights impacting ai|safety or rights impacting|high impact use case|is the ai use case rights impacting or safety impacting",
     ""),
    ("high_impact_justification", "High-impact justification", "text", (),
     "justification|high impact reason|impact justification",
     ""),
    ("stage", "Stage", "choice", _STAGE_CHOICES,
     "status|stage of development|development stage|lifecycle stage|phase|current stage|life cycle stage",
     "Pilot, production or retired registers it as found."),
    ("stage_since", "In its stage since", "date", (),
     "stage date|status date|stage since",
     "A date (YYYY-MM-DD, or MM/DD/YYYY)."),
    ("pilot_since", "Pilot since", "date", (),
     "pilot start|pilot start date|date piloted|pilot date",
     "A date."),
    ("production_since", "Production since", "date", (),
     "date operational|implemented|date implemented|implementation date|deployed|date deployed|deployment date|operational since|go live|go live date|in production since|date in production",
     "A date."),
    ("retired_on", "Retired on", "date", (),
     "date retired|retirement date|retired|decommissioned|date decommissioned",
     "A date."),
    ("source_id", "Id in the source", "text", (),
     "id|use case id|external id|source id|reference|ref|identifier|uid|inventory id|record id|use case identifier",
     "Re-imports from the same source update the use case with this id."),
    ("opsai_id", "opsai id", "int", (),
     "opsai id",
     "Only to update opsai's own use cases."),
    ("template_key", "Template", "choice", _TEMPLATE_CHOICES,
     "template key",
     ""),
]
# fmt: on


def normalise(text: str) -> str:
    """Lower case, letters and digits only, single spaces: "Use-Case_ID " → "use case id"."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def targets(fields: list[CustomField] | None = None) -> list[Target]:
    """Every target a column can map to, the organisation's custom fields last."""
    result = [
        Target(key, label, kind, choices, tuple(synonyms.split("|")) if synonyms else (), help_text)
        for key, label, kind, choices, synonyms, help_text in _FIELDS
    ]
    for custom in custom_fields() if fields is None else fields:
        choices = tuple((c, c) for c in custom.choices) if custom.kind == "choice" else ()
        if custom.kind == "yes_no":
            choices = YES_NO_CHOICES
        result.append(
            Target(
                key=f"custom:{custom.key}",
                label=custom.label,
                kind="custom",
                choices=choices,
                synonyms=(normalise(custom.key), normalise(custom.label)),
                help=custom.get_kind_display(),
                custom=custom,
            )
        )
    return result


def _name_index(all_targets: list[Target]) -> dict[str, str]:
    index: dict[str, str] = {}
    for target in all_targets:
        for name in (*target.synonyms, normalise(target.key), normalise(target.label)):
            index.setdefault(name, target.key)
    return index


# --- Values ---------------------------------------------------------------------------------

_STAGE_WORDS: list[tuple[tuple[str, ...], Stage]] = [
    (("retir", "decommission", "discontinu", "sunset", "inactive", "terminated"), Stage.RETIRED),
    (
        (
            "operation and maintenance",
            "production",
            "deploy",
            "operational",
            "in use",
            "live",
            "implemented",
            "in operation",
            "operat",
        ),
        Stage.PRODUCTION,
    ),
    (
        (
            "pilot",
            "develop",
            "test",
            "trial",
            "implementation",
            "proof of concept",
            "poc",
            "acquisition",
            "prototype",
            "build",
        ),
        Stage.PILOT,
    ),
    (("plan", "initiat", "idea", "propos", "concept", "research", "pre "), Stage.IDEA),
]
_RISK_WORDS: list[tuple[tuple[str, ...], RiskClass]] = [
    (("prohibit", "unacceptable", "banned"), RiskClass.PROHIBITED),
    (("high",), RiskClass.HIGH),
    (("limited", "transparency", "medium", "moderate"), RiskClass.LIMITED),
    (("minimal", "low", "no risk"), RiskClass.MINIMAL),
]


def _yes_no(word: str) -> bool | None:
    if word in YES:
        return True
    if word in NO or word.startswith(("not ", "no ", "neither")):
        return False
    if "impacting" in word or word in ("both", "high impact"):  # "Rights-impacting"
        return True
    return None


def value_match(target: Target, raw: str) -> str | None:
    """opsai's value for a file's value, when the match is plain; ``None`` when it is not.

    Yes/no targets answer "yes" or "no"; a blank value answers ``""`` (left blank).
    """
    word = normalise(raw)
    if not word:
        return ""
    if target.kind in ("bool", "flag") or (target.custom and target.custom.kind == "yes_no"):
        answer = _yes_no(word)
        return None if answer is None else ("yes" if answer else "no")
    for value, label in target.choices:
        if word in (normalise(value), normalise(label)):
            return value
    if target.key == "stage":
        for words, stage in _STAGE_WORDS:
            if any(w in f"{word} " for w in words):
                return stage.value
    if target.key == "risk_class":
        for words, risk in _RISK_WORDS:
            if any(w in word for w in words):
                return risk.value
    if target.key == "data_sensitivity":
        answer = _yes_no(word)  # "Contains PII: Yes"
        if answer is not None:
            return DataSensitivity.PERSONAL.value if answer else DataSensitivity.NONE.value
    if target.key == "audience":
        answer = _yes_no(word)  # "Customer-facing: Yes"
        if answer is not None:
            return Audience.CUSTOMER_FACING.value if answer else Audience.INTERNAL.value
    return None


def split_multi(raw: str) -> list[str]:
    """A cell holding several values: "ERP, CRM; Finance" → ["ERP", "CRM", "Finance"]."""
    return [part.strip() for part in re.split(r"[,;|\n]", raw) if part.strip()]


# --- Proposing a mapping --------------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)


def parse_date(raw: str) -> date | None:
    """A date in the forms inventories use: 2024-03-01, 2024/03/01, 03/01/2024, 2024-03, 2024."""
    text = raw.strip()
    if not text:
        return None
    for form in ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d.%m.%Y", "%Y-%m", "%B %Y", "%b %Y", "%Y"):
        try:
            return datetime.strptime(text[:10] if form == "%Y-%m-%d" else text, form).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    return None


def _looks(values: list[str], test: Any) -> bool:
    return bool(values) and sum(1 for v in values if test(v)) >= 0.8 * len(values)


def _by_values(header: str, values: list[str], taken: set[str], all_targets: list[Target]) -> str:
    """A target guessed from a column's values (when its name said nothing)."""
    name = normalise(header)
    if _looks(values, lambda v: _EMAIL.match(v.strip())) and "contact_email" not in taken:
        return "contact_email"
    if _looks(values, lambda v: parse_date(v) is not None and not v.strip().isdigit()):
        for words, key in (
            (("pilot",), "pilot_since"),
            (("retir", "decommission"), "retired_on"),
            (("operat", "deploy", "implement", "production", "live"), "production_since"),
        ):
            if any(w in name for w in words) and key not in taken:
                return key
        return ""
    if _looks(values, lambda v: _yes_no(normalise(v)) is not None):
        for words, key in (
            (("impact", "rights", "safety"), "high_impact"),
            (("money", "payment", "refund"), "money_movement"),
            (("vendor", "third party", "commercial"), "vendor_model"),
        ):
            if any(w in name for w in words) and key not in taken:
                return key
        return ""
    distinct = set(values)
    for target in all_targets:
        if target.kind == "choice" and target.key not in taken and target.key != "template_key":
            exact = {
                v
                for v in distinct
                if normalise(v) in {normalise(x) for pair in target.choices for x in pair}
            }
            if distinct and len(exact) >= 0.8 * len(distinct):
                return target.key
    return ""


def value_table(target: Target, cells: list[str], known: dict[str, str]) -> dict[str, str]:
    """The value mapping offered for a column: its most frequent values → opsai's (or "")."""
    seen = Counter(
        part for v in cells if v for part in (split_multi(v) if target.kind == "multi" else [v])
    )
    shown = [v for v, _ in seen.most_common(DISTINCT_SHOWN)]
    return {v: known[v] if v in known else (value_match(target, v) or "") for v in shown}


@dataclass
class Proposal:
    """A mapping for one file: column → target key ("" = left out), values, options."""

    columns: dict[str, str]
    values: dict[str, dict[str, str]]
    options: dict[str, Any]
    samples: dict[str, list[str]]
    distinct: dict[str, list[str]]
    saved: bool = False


DEFAULT_OPTIONS: dict[str, Any] = {
    "clear_blank": False,
    "create_units": False,
    "register_as_found": True,
    "default_unit": None,
}


def mapping_propose(
    header: list[str],
    rows: list[tuple[int, dict[str, str]]],
    *,
    saved: Any = None,
    all_targets: list[Target] | None = None,
) -> Proposal:
    """Propose a target per column and a value mapping per mapped choice column.

    ``saved`` (an ``ImportMapping`` of the same source) wins for every column it names.
    """
    all_targets = targets() if all_targets is None else all_targets
    by_key = {t.key: t for t in all_targets}
    index = _name_index(all_targets)
    columns = [c for c in header if c]
    values_of = {c: [r.get(c, "").strip() for _, r in rows[:SAMPLE_ROWS]] for c in columns}
    filled = {c: [v for v in vs if v] for c, vs in values_of.items()}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    saved_columns = dict(saved.columns) if saved is not None else {}
    for column in columns:
        key = saved_columns.get(column)
        if key is not None and (key == "" or key in by_key):
            mapping[column] = key
            taken.add(key)
    for column in columns:  # by name
        if column in mapping:
            continue
        key = index.get(normalise(column), "")
        if key and key not in taken:
            mapping[column] = key
            taken.add(key)
    if any(k.startswith("unit_") and k != "unit_path" for k in taken) and "team" in taken:
        # "Agency, Bureau, Team": a team column under levels is the next level down.
        column = next(c for c, k in mapping.items() if k == "team")
        level = 1 + max(int(k[5:]) for k in taken if k[5:].isdigit())
        if level <= UNIT_LEVELS:
            mapping[column] = f"unit_{level}"
            taken.discard("team")
            taken.add(f"unit_{level}")
    for column in columns:  # by values
        if column not in mapping:
            key = _by_values(column, filled[column], taken, all_targets)
            mapping[column] = key
            if key:
                taken.add(key)
    saved_values = dict(saved.values) if saved is not None else {}
    values: dict[str, dict[str, str]] = {}
    distinct: dict[str, list[str]] = {}
    for column in columns:
        seen = Counter(filled[column])
        if len(seen) <= DISTINCT_SHOWN * 4:  # free text has as many values as rows: not shown
            distinct[column] = [v for v, _ in seen.most_common(DISTINCT_SHOWN)]
    for column, key in mapping.items():
        target = by_key.get(key)
        if target is not None and target.has_values:
            values[key] = value_table(target, filled[column], saved_values.get(key, {}))
    options = {**DEFAULT_OPTIONS, **(saved.options if saved is not None else {})}
    samples = {c: list(filled[c][:SAMPLES_SHOWN]) for c in columns}
    return Proposal(mapping, values, options, samples, distinct, saved=saved is not None)


# --- The sample file ------------------------------------------------------------------------


def sample_rows() -> tuple[list[str], list[list[str]]]:
    """The sample file's header (every column opsai reads) and two example rows."""
    header = [t.key for t in targets() if t.key not in ("opsai_id", "team", "unit_path")]
    header = [h for h in header if not (h.startswith("unit_") and int(h[5:]) > 3)]
    example = {
        "title": "Invoice matching assistant",
        "unit_1": "Finance",
        "unit_2": "Accounts payable",
        "unit_3": "Invoice processing",
        "contact_name": "Ada Lovelace",
        "contact_email": "ada@example.org",
        "problem": "Invoices are matched to orders by hand.",
        "business_outcome": "Cut matching time by 30%",
        "value_bucket": "cost",
        "systems_touched": "erp, finance",
        "cases_per_week": "1200",
        "minutes_per_case": "6",
        "rework_share": "0.15",
        "stage": "production",
        "production_since": "2024-03-01",
        "source_id": "INV-001",
        "risk_class": "minimal",
        "high_impact": "no",
        "money_movement": "no",
        "vendor_model": "yes",
    }
    second = {
        **example,
        "title": "Supplier email triage",
        "stage": "pilot",
        "production_since": "",
        "pilot_since": "2025-01-15",
        "source_id": "INV-002",
        "risk_class": "limited",
    }
    return header, [[example.get(h, "") for h in header], [second.get(h, "") for h in header]]


def _csv(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def sample_csv() -> str:
    """The sample file: every column opsai reads, with two example rows."""
    return _csv(*sample_rows())


def columns_csv() -> str:
    """Every column with what it means and its allowed values (the sample's companion)."""
    return _csv(
        ["column", "meaning", "allowed values"],
        [[t.key, t.label, t.allowed] for t in targets()],
    )
