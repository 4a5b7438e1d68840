"""How governance's records read to people: the review checklist's states, the frozen decision
copy as labelled rows, the release a rollback returns to, and the audit actions' labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from governance.choices import ReviewStatus, SignOffDecision
from governance.models import (
    AIWorker,
    ChecklistItem,
    LaneAssignment,
    Release,
    Review,
    SignOff,
)
from opsai.display import Row, display_rows, raw_json
from usecases.models import UseCase

# The kill switch is called the kill switch wherever people read about it.
AUDIT_ACTION_LABELS: dict[str, str] = {
    "aiworker.created": "AI worker added",
    "aiworker.updated": "AI worker changed",
    "aiworker.paused": "Kill switch: AI worker paused",
    "aiworker.resumed": "AI worker resumed after the kill switch",
    "aiworker.token_rotated": "Runtime token replaced (old one stopped working)",
    "release.deployed": "Release deployed",
    "release.rolled_back": "Release rolled back",
    "review.opened": "Review opened",
    "review.checklist_updated": "Review checklist answered",
    "review.signed_off": "Review signed off",
    "review.sign_offs_added": "Review sign-offs added",
    "review.withdrawn": "Review withdrawn",
    "review.approved": "Review approved",
    "review.rejected": "Review rejected",
    "lane.assigned": "Lane assigned",
    "lane_policy.created": "Lane policy saved",
    "vendor.saved": "Vendor saved",
    "incident.opened": "Incident opened",
    "incident.step_updated": "Incident step updated",
    "incident.closed": "Incident closed",
}

# Actions recorded on one object whose before/after hold another model's fields.
AUDIT_ACTION_FIELDS: dict[str, str] = {
    "review.signed_off": "governance.signoff",
    "lane.assigned": "governance.laneassignment",
    "release.rolled_back": "governance.release",
}


@dataclass(frozen=True)
class ChecklistState:
    """Where one checklist item stands: answered or not, and the evidence attached."""

    item: ChecklistItem
    answered: bool
    files: list[tuple[int, str]]  # (evidence file id, the name it was uploaded with)

    @property
    def has_evidence(self) -> bool:
        return bool(self.files or self.item.evidence_links or self.item.evidence_text.strip())


def file_name(path: str) -> str:
    """The name a person gave an evidence file, without the storage folders."""
    return path.rsplit("/", 1)[-1]


def checklist_states(items: list[ChecklistItem]) -> list[ChecklistState]:
    """Each item's state; reads the prefetched files, so no query per item."""
    return [
        ChecklistState(
            item=item,
            answered=bool(item.answer.strip()),
            files=[(f.pk, file_name(f.file.name)) for f in item.files.all()],
        )
        for item in items
    ]


def sign_off_summary(review: Review, states: list[ChecklistState]) -> dict[str, Any]:
    """What the sign-off panel says: which items are (not) answered, who signed, who has yet to."""
    sign_offs = list(review.sign_offs.all())
    signed = [s for s in sign_offs if s.decision != SignOffDecision.PENDING]
    return {
        "answered": [s for s in states if s.answered],
        "unanswered": [s for s in states if not s.answered],
        "total": len(states),
        "signed": signed,
        "waiting": [s for s in sign_offs if s.decision == SignOffDecision.PENDING],
        "can_approve": review.status == ReviewStatus.OPEN and all(s.answered for s in states),
    }


def decision_copy_rows(snapshot: dict[str, Any] | None) -> list[Row]:
    """The frozen copy of what a review decided on, as labelled sections of human values."""
    if not snapshot:
        return []
    copy = dict(snapshot)
    use_case = {k: v for k, v in (copy.get("use_case") or {}).items() if k != "id"}
    sections = {
        "use_case": use_case,
        "lane": copy.get("lane"),
        "ai_workers": [
            {k: v for k, v in w.items() if k != "id"} for w in copy.get("ai_workers") or []
        ],
        "checklist": [
            {
                **{k: v for k, v in item.items() if k != "files"},
                "evidence_files": [file_name(f) for f in item.get("files", [])],
            }
            for item in copy.get("checklist") or []
        ],
        # Named as the model names them, so they are labelled "Decided by" and "Decided at".
        "sign_offs": [
            {
                **{k: v for k, v in s.items() if k not in ("by", "at")},
                "decided_by": s.get("by"),
                "decided_at": s.get("at"),
            }
            for s in copy.get("sign_offs") or []
        ],
    }
    rows = display_rows(
        {"use_case": sections["use_case"], "lane": sections["lane"]},
        nested={"use_case": UseCase, "lane": LaneAssignment},
        labels={"use_case": "Use case", "lane": "Lane"},
    )
    for key, label, model, item_label in (
        ("ai_workers", "AI workers", AIWorker, "name"),
        ("checklist", "Checklist", ChecklistItem, "key"),
        ("sign_offs", "Sign-offs", SignOff, "role"),
    ):
        rows += display_rows(
            {key: sections[key]}, nested={key: model}, labels={key: label}, item_label=item_label
        )
    return rows


def decision_copy_json(snapshot: dict[str, Any] | None) -> str:
    return raw_json(snapshot or {})


def rollback_target(releases: list[Release]) -> dict[str, Release | None]:
    """The release serving now and the one a rollback returns to, from the worker's releases
    (newest first, ``rolled_back_by`` loaded): the two newest that are neither a rollback
    nor rolled back."""
    serving = [r for r in releases if r.rollback_of_id is None and not _rolled_back(r)]
    return {
        "current": serving[0] if serving else None,
        "previous": serving[1] if len(serving) > 1 else None,
    }


def _rolled_back(release: Release) -> bool:
    try:
        return release.rolled_back_by is not None
    except Release.DoesNotExist:
        return False


# What the confirmations say: each names the consequence before the box is ticked.
ROTATE_CONSEQUENCE = "the old token stops working at once; the worker must be given the new one."
KILL_SWITCH_CONSEQUENCE = (
    "its runtime is told “paused” on its next status check, its escalation contacts are "
    "emailed, and only a product owner of its team can resume it."
)


def rollback_consequence(release: Release, serving: dict[str, Release | None]) -> str:
    """What rolling ``release`` back does, given ``rollback_target``'s current and previous."""
    current, previous = serving["current"], serving["previous"]
    if current is None or release.pk != current.pk:
        keeps = f"; {current.version} keeps serving" if current else ""
        return f"release {release.version} is marked rolled back{keeps}."
    if previous is None:
        return f"release {release.version} stops serving and no earlier release is left to serve."
    return f"release {release.version} stops serving and {previous.version} serves again."


def rollback_button(release: Release, serving: dict[str, Release | None]) -> str:
    """The rollback control's words: it rolls back *to* the previous release, so it says so."""
    previous = serving["previous"]
    current = serving["current"]
    if current is not None and release.pk == current.pk and previous is not None:
        return f"Roll back to {previous.version}"
    return f"Roll back {release.version}"
