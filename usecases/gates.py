"""What the use-case app itself asks of a move (registered in ``UsecasesConfig.ready``).

Guard:
- a use case leaves scoring for review only with the score sheets the scoring model
  requires (:data:`usecases.scoring.SHEETS_REQUIRED_FOR_REVIEW`): a ranking, quick-win
  flag and review with no score at all would read "value ? below 4".
"""

from __future__ import annotations

from django.urls import reverse

from usecases import lifecycle, scoring
from usecases.choices import Stage
from usecases.lifecycle import Condition, StageMove
from usecases.models import Score


def scores_guard(move: StageMove) -> Condition | None:
    """Leaving scoring forward needs the required current (not superseded) score sheets."""
    if move.from_stage != Stage.SCORING or not move.advancing:
        return None
    required = scoring.SHEETS_REQUIRED_FOR_REVIEW
    have = Score.objects.filter(use_case=move.use_case, superseded_at__isnull=True).count()
    if have >= required:
        return None
    sheets = "sheet" if required == 1 else "sheets"
    return Condition(
        f"Needs {required} complete score {sheets} (every criterion scored) before "
        f"{move.to_stage.label.lower()} — it has {have}.",
        reverse("usecases:detail", args=[move.use_case.pk]) + "#score",
        "Open the scoring form",
    )


def register() -> None:
    """Hook the use-case app's own guard into the lifecycle."""
    lifecycle.register_guard("usecases.scores", scores_guard)
