"""Signals through which other apps react to use-case changes, inside the same transaction.

The use-case services send them; ``kpis`` and ``governance`` connect receivers in
their ``AppConfig.ready``. Every signal is sent *inside* the transaction of the
change, so a receiver's writes (and audit events) commit or roll back with it.

- ``usecase_created(use_case, actor)`` — after a use case is created (from a
  template or blank); ``use_case.template_key`` says which template.
- ``usecase_changed(use_case, actor, changed_fields, before)`` — after intake fields
  change; ``before`` maps each changed field to its old value.
- ``usecase_stage_changing(use_case, actor, from_stage, to_stage)`` — before a stage
  move; a receiver vetoes the move by raising ``ValidationError`` with the reason.
- ``usecase_stage_changed(use_case, actor, from_stage, to_stage)`` — after the move.
"""

from django.dispatch import Signal

usecase_created = Signal()
usecase_changed = Signal()
usecase_stage_changing = Signal()
usecase_stage_changed = Signal()
