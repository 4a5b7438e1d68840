"""Annotations: dated markers on KPI charts (releases, incidents, pauses, notes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.services import audit_record
from kpis.choices import AnnotationKind
from kpis.models import KPI, Annotation
from opsai.permissions import acting_user
from usecases.models import UseCase


@transaction.atomic
def annotation_create(
    *,
    actor: Any,
    kind: str,
    text: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    use_case: UseCase | None = None,
    kpi: KPI | None = None,
) -> Annotation:
    """Put a dated marker on KPI charts: a release, incident, pause or note.

    Scoped to ``kpi``, to ``use_case``, or (both ``None``) to the whole portfolio.
    Given only a KPI, the annotation is also attached to the KPI's use case.
    """
    if kind not in AnnotationKind.values:
        raise ValidationError(
            {"kind": f"Unknown kind {kind!r}; use one of {AnnotationKind.values}."}
        )
    if kpi is not None and use_case is None:
        use_case = kpi.use_case
    if kpi is not None and use_case is not None and kpi.use_case_id != use_case.pk:
        raise ValidationError({"kpi": f"KPI {kpi.pk} does not belong to use case {use_case.pk}."})
    annotation = Annotation(
        kind=kind,
        text=text.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        use_case=use_case,
        kpi=kpi,
        created_by=acting_user(actor),
    )
    annotation.full_clean()
    annotation.save()
    audit_record(
        actor=actor,
        action="annotation.created",
        target=annotation,
        after={
            "kind": kind,
            "text": annotation.text,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat() if ends_at else None,
            "use_case": use_case.pk if use_case else None,
            "kpi": kpi.pk if kpi else None,
        },
    )
    return annotation


@transaction.atomic
def annotation_end_open_range(
    *, actor: Any, kind: str, use_case_id: int, starts_at: datetime, ends_at: datetime
) -> Annotation | None:
    """Turn the open marker of ``kind`` that started at ``starts_at`` into a range ending now.

    Matched on the start instant, not the text, so a renamed worker still closes its
    pause marker; ``None`` when there is no such marker (made before markers existed,
    or removed).
    """
    marker = (
        Annotation.objects.select_for_update()
        .filter(kind=kind, use_case_id=use_case_id, starts_at=starts_at, ends_at__isnull=True)
        .order_by("-pk")
        .first()
    )
    if marker is None:
        return None
    marker.ends_at = ends_at
    marker.full_clean()
    marker.save(update_fields=["ends_at"])
    audit_record(
        actor=actor, action="annotation.ended", target=marker,
        before={"ends_at": None}, after={"ends_at": ends_at.isoformat()},
    )  # fmt: skip
    return marker
