"""The measurement upload page states the upload limits and refuses a file past them."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kpis.models import IngestBatch, Measurement
from tests.kpis.factories import KPIFactory

pytestmark = pytest.mark.django_db


def test_the_upload_page_states_the_limits(client: Any, ops_lead: Any) -> None:
    client.force_login(ops_lead)
    body = client.get(reverse("kpis:data")).content.decode()
    assert (
        "Up to 10 MB, cells of at most 10,000 characters and column names of at most 200." in body
    )
    assert "more than 10,000 rows is saved in the background" in body


def test_a_file_over_the_byte_limit_is_refused_before_it_is_read(
    client: Any, ops_lead: Any, settings: Any
) -> None:
    settings.UPLOAD_MAX_BYTES = 1_000
    kpi = KPIFactory(owner=ops_lead)
    rows = "".join(f"{kpi.pk},2026-01-{day:02d},{day}\n" for day in range(1, 29)) * 3
    content = ("kpi,timestamp,value\n" + rows).encode()
    upload = SimpleUploadedFile("v.csv", content)
    client.force_login(ops_lead)
    response = client.post(reverse("kpis:data"), {"action": "upload", "file": upload})
    message = f"The file is {len(content):,} bytes; the limit is 1,000 bytes."
    assert message in response.content.decode()
    assert not IngestBatch.objects.exists() and not Measurement.objects.exists()


def test_a_huge_column_name_is_refused_with_a_short_message(client: Any, ops_lead: Any) -> None:
    upload = SimpleUploadedFile(
        "v.csv", b"kpi,timestamp,value," + b"h" * 1_000_000 + b"\n1,2,3,4\n"
    )
    client.force_login(ops_lead)
    response = client.post(reverse("kpis:data"), {"action": "upload", "file": upload})
    body = response.content.decode()
    assert "a column name is 1,000,000 characters long" in body
    assert len(body) < 100_000
