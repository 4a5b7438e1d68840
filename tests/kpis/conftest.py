"""Fixed people for KPI tests: the ops lead belongs to the team every factory KPI is in."""

from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import UseCaseFactory


@pytest.fixture
def ops_lead(make_user: Callable[..., Any]) -> Any:
    """An ops lead of the Support team (where ``KPIFactory`` puts every KPI's use case):
    opsai knows a team's people by the use cases they own, so she owns one of its drafts.
    The KPI object rule (``kpis.rules``) lets her change its KPIs, send their
    measurements and check in on them."""
    user = make_user("Ops lead", username="ops")
    UseCaseFactory(owner=user, title="The Support ops lead's draft", submitted_at=None)
    return user
