"""factory_boy factories for KPI tests."""

from __future__ import annotations

import factory

from kpis.models import KPI, Measurement
from tests.factories import UseCaseFactory


class KPIFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KPI

    use_case = factory.SubFactory(UseCaseFactory)
    name = factory.Sequence(lambda n: f"KPI {n}")
    level = "business"
    unit = "GBP"
    direction = "up"
    cadence = "daily"


class MeasurementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Measurement

    kpi = factory.SubFactory(KPIFactory)
    value = 1.0
