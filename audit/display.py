"""The audit trail as people read it: actions by name, before → after as labelled changes.

Actions are dotted codes (kept as they are in the trail, the API and the CSV); the app
that writes an action registers its label here from its ``AppConfig.ready``
(``aiworker.paused`` → "Kill switch: AI worker paused"). An action nobody labelled is
written out in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from audit.models import AuditEvent
from opsai.display import Change, changed_rows, humanise_key, model_for, raw_json

_LABELS: dict[str, str] = {}
# action → the model whose fields its before/after hold, when that is not the target's
# ("review.signed_off" is recorded on the review; its fields are the sign-off's).
_FIELDS_OF: dict[str, str] = {}


def register_action_labels(
    labels: Mapping[str, str], fields_of: Mapping[str, str] | None = None
) -> None:
    """Name actions for people (``{"release.rolled_back": "Release rolled back"}``), and say
    which model (``"app_label.model"``) describes an action's before/after when the target's does not."""
    _LABELS.update(labels)
    _FIELDS_OF.update(fields_of or {})


def action_label(action: str) -> str:
    """The label of ``action``: the registered one, else its code in words."""
    if action in _LABELS:
        return _LABELS[action]
    subject, _, verb = action.partition(".")
    return humanise_key(f"{subject}_{verb}" if verb else subject)


@dataclass(frozen=True)
class AuditEntry:
    """One audit event ready for a page: its label, what changed, and the stored JSON."""

    event: AuditEvent
    label: str
    changes: list[Change]
    raw: str


def _as_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return value if isinstance(value, dict) else {"value": value}


def audit_entries(events: Iterable[AuditEvent]) -> list[AuditEntry]:
    """``events`` (a page of them) with labelled before → after changes; no query per event."""
    return [
        AuditEntry(
            event=event,
            label=action_label(event.action),
            changes=changed_rows(
                _as_dict(event.before),
                _as_dict(event.after),
                model=model_for(_FIELDS_OF.get(event.action, event.object_type)),
            ),
            raw=raw_json(before=event.before, after=event.after),
        )
        for event in events
    ]
