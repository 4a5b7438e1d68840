"""Measurement ingest: all-or-nothing batches, named bad rows, re-sent values update."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from kpis.models import IngestBatch, Measurement
from kpis.services import csv_records, measurement_record, measurements_ingest, measurements_upload
from tests.kpis.factories import KPIFactory

pytestmark = pytest.mark.django_db


def test_it_saves_nothing_from_a_csv_with_a_bad_row_and_names_the_row(ops_lead) -> None:
    kpi = KPIFactory()
    text = (
        "kpi,timestamp,value\n"
        f"{kpi.pk},2026-01-01,10\n"
        f"{kpi.pk},2026-01-02,eleven\n"
        f"{kpi.pk},2026-01-03,12\n"
        f"999999,2026-01-04,13\n"
        f"{kpi.pk},not-a-date,14\n"
        f"{kpi.pk},2999-01-01,15\n"
        f"{kpi.pk},,16\n"
    )
    batch = measurements_upload(actor=ops_lead, filename="values.csv", content=text.encode())

    assert Measurement.objects.count() == 0
    assert batch.status == "rejected"
    assert batch.rows_accepted == 0 and batch.rows_rejected == 5
    assert batch.errors == [
        {"line": 3, "reason": "value 'eleven' is not a number"},
        {"line": 5, "reason": "unknown KPI '999999'"},
        {"line": 6, "reason": "timestamp 'not-a-date' is not a date (use YYYY-MM-DD)"},
        {"line": 7, "reason": "timestamp 2999-01-01 is in the future"},
        {"line": 8, "reason": "missing timestamp"},
    ]
    # The batch is still recorded, with who sent it, and audited.
    assert batch.created_by == ops_lead and batch.source == "csv"
    assert AuditEvent.objects.filter(
        action="kpi.measurements_ingested", object_id=str(batch.pk)
    ).exists()


def test_it_numbers_rows_by_the_line_they_start_on_after_a_cell_with_a_line_break(
    ops_lead,
) -> None:
    kpi = KPIFactory()
    text = (
        "kpi,timestamp,value\n"
        '"Cash\ncollected",2026-01-01,1\n'  # lines 2-3
        f"{kpi.pk},2026-01-02,x\n"  # line 4
    )
    batch = measurements_upload(actor=ops_lead, filename="values.csv", content=text.encode())
    assert batch.errors == [
        {"line": 2, "reason": "unknown KPI 'Cash\\ncollected'"},
        {"line": 4, "reason": "value 'x' is not a number"},
    ]


def test_it_updates_a_re_sent_value_instead_of_duplicating_it(ops_lead) -> None:
    kpi = KPIFactory()
    first = measurements_upload(
        actor=ops_lead,
        filename="a.csv",
        content=f"kpi,timestamp,value\n{kpi.pk},2026-01-01,10\n{kpi.pk},2026-01-02,11\n".encode(),
    )
    again = measurements_upload(
        actor=ops_lead,
        filename="b.csv",
        content=f"kpi,timestamp,value\n{kpi.pk},2026-01-01,42\n".encode(),
    )

    assert first.status == again.status == "saved"
    values = dict(Measurement.objects.filter(kpi=kpi).values_list("timestamp", "value"))
    assert values == {
        datetime(2026, 1, 1, tzinfo=UTC): 42.0,
        datetime(2026, 1, 2, tzinfo=UTC): 11.0,
    }
    assert (
        Measurement.objects.get(kpi=kpi, timestamp=datetime(2026, 1, 1, tzinfo=UTC)).batch == again
    )


def test_it_accepts_kpi_names_and_a_default_kpi(ops_lead) -> None:
    kpi = KPIFactory(name="Cash collected uniquely")
    batch = measurements_ingest(
        actor=ops_lead,
        source="api",
        records=[
            (
                1,
                {
                    "kpi": "Cash collected uniquely",
                    "timestamp": "2026-01-01T10:00:00Z",
                    "value": "1,250.5",
                },
            )
        ],
    )
    assert batch.status == "saved"
    assert Measurement.objects.get(kpi=kpi).value == 1250.5
    other = KPIFactory()
    by_default = measurements_upload(
        actor=ops_lead,
        filename="one.csv",
        content=b"timestamp,value\n2026-01-05,3\n",
        default_kpi=other,
    )
    assert by_default.status == "saved" and other.measurements.count() == 1


def test_it_refuses_a_file_without_the_header_row(ops_lead) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="kpi, timestamp, value"):
        csv_records("1,2026-01-01,3\n")
    assert IngestBatch.objects.count() == 0


def test_it_reads_excel_uploads(ops_lead) -> None:
    import io

    from openpyxl import Workbook

    kpi = KPIFactory()
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["kpi", "timestamp", "value"])
    sheet.append([kpi.pk, datetime(2026, 2, 1), 7.5])
    sheet.append([kpi.pk, "2026-02-02", "oops"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    batch = measurements_upload(actor=ops_lead, filename="values.xlsx", content=buffer.getvalue())

    assert batch.source == "excel" and batch.status == "rejected"
    assert batch.errors == [{"line": 3, "reason": "value 'oops' is not a number"}]
    assert Measurement.objects.count() == 0


def test_it_records_one_value_from_the_form(ops_lead) -> None:
    kpi = KPIFactory()
    when = timezone.now() - timedelta(hours=1)
    batch = measurement_record(actor=ops_lead, kpi=kpi, timestamp=when, value=3.5)
    assert batch.source == "form" and batch.rows_accepted == 1
    assert kpi.measurements.get().value == 3.5


def test_it_queues_uploads_over_ten_thousand_rows_for_a_background_job(ops_lead) -> None:
    kpi = KPIFactory()
    start = datetime(2020, 1, 1, tzinfo=UTC)
    lines = ["kpi,timestamp,value"] + [
        f"{kpi.pk},{(start + timedelta(hours=i)).isoformat()},{i}" for i in range(10_001)
    ]
    batch = measurements_upload(
        actor=ops_lead, filename="big.csv", content="\n".join(lines).encode()
    )
    assert batch.status == "queued" and batch.rows_total == 10_001
    assert Measurement.objects.count() == 0  # the job saves them

    from kpis.services import ingest_batch_process

    done = ingest_batch_process(batch_id=batch.pk)
    assert done.status == "saved" and done.rows_processed == 10_001
    assert Measurement.objects.count() == 10_001
    assert ingest_batch_process(batch_id=batch.pk).status == "saved"  # a second run does nothing
    assert Measurement.objects.count() == 10_001


def test_it_names_unknown_kpis_even_when_the_id_is_absurd(ops_lead) -> None:
    batch = measurements_ingest(
        actor=ops_lead,
        source="api",
        records=[(1, {"kpi": "99999999999999999999999", "timestamp": "2026-01-01", "value": 1})],
    )
    assert batch.errors == [{"line": 1, "reason": "unknown KPI '99999999999999999999999'"}]


def test_it_refuses_duplicate_rows_in_one_batch_and_names_the_first(ops_lead) -> None:
    kpi = KPIFactory()
    text = (
        "kpi,timestamp,value\n"
        f"{kpi.pk},2026-01-01T00:00:00Z,10\n"
        f"{kpi.pk},2026-01-02,11\n"
        # The same instant in another offset is the same timestamp.
        f"{kpi.pk},2026-01-01T01:00:00+01:00,12\n"
    )
    batch = measurements_upload(actor=ops_lead, filename="dup.csv", content=text.encode())

    assert batch.status == "rejected" and Measurement.objects.count() == 0
    assert batch.errors == [
        {"line": 4, "reason": "same KPI and timestamp as line 2; send one value"}
    ]


def test_it_finds_duplicates_across_the_chunks_of_a_background_batch(ops_lead) -> None:
    from django.conf import settings

    from kpis.services import ingest_batch_process

    kpi = KPIFactory()
    start = datetime(2020, 1, 1, tzinfo=UTC)
    lines = ["kpi,timestamp,value"] + [
        f"{kpi.pk},{(start + timedelta(hours=i)).isoformat()},{i}" for i in range(10_001)
    ]
    lines.append(f"{kpi.pk},{start.isoformat()},1")  # line 10,003 repeats line 2, chunks apart
    batch = measurements_upload(
        actor=ops_lead, filename="big.csv", content="\n".join(lines).encode()
    )
    assert settings.INGEST_CHUNK_ROWS < 10_002

    done = ingest_batch_process(batch_id=batch.pk)
    assert done.status == "rejected" and Measurement.objects.count() == 0
    assert done.errors == [
        {"line": 10_003, "reason": "same KPI and timestamp as line 2; send one value"}
    ]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            "12,5",
            "value '12,5' is not a number (use a dot for decimals; commas only between thousands)",
        ),
        ("1e16", "value '1e16' is too large (the limit is ±1e+15)"),
        ("-1e300", "value '-1e300' is too large (the limit is ±1e+15)"),
        ("1e400", "value '1e400' is not a number"),
        ("NaN", "value 'NaN' is not a number"),
        ("-inf", "value '-inf' is not a number"),
        ("1\x00", "contains a NUL byte (not text)"),
    ],
)
def test_it_names_an_unusable_value(ops_lead, raw: str, reason: str) -> None:
    kpi = KPIFactory()
    batch = measurements_ingest(
        actor=ops_lead,
        source="api",
        records=[(1, {"kpi": kpi.pk, "timestamp": "2026-01-01", "value": raw})],
    )
    assert batch.status == "rejected" and batch.errors == [{"line": 1, "reason": reason}]
    assert Measurement.objects.count() == 0


def test_it_reads_thousands_separators_and_treats_a_naive_timestamp_as_utc(ops_lead) -> None:
    kpi = KPIFactory()
    batch = measurements_ingest(
        actor=ops_lead,
        source="api",
        records=[(1, {"kpi": kpi.pk, "timestamp": "2026-01-01T09:30", "value": "1,234,567.5"})],
    )
    assert batch.status == "saved"
    measurement = Measurement.objects.get()
    assert measurement.value == 1234567.5
    assert measurement.timestamp == datetime(2026, 1, 1, 9, 30, tzinfo=UTC)


def test_it_names_a_nul_byte_in_the_kpi_column_instead_of_failing(ops_lead) -> None:
    text = "kpi,timestamp,value\nsales\x00,2026-01-01,1\n"
    batch = measurements_upload(actor=ops_lead, filename="bin.csv", content=text.encode())
    assert batch.errors == [{"line": 2, "reason": "contains a NUL byte (not text)"}]


def test_it_names_the_line_of_a_csv_the_csv_reader_cannot_read(ops_lead) -> None:
    from django.core.exceptions import ValidationError

    text = "kpi,timestamp,value\n1,2026-01-01,1\n1,2026-01-02," + "9" * 200_000 + "\n"
    with pytest.raises(ValidationError) as error:
        measurements_upload(actor=ops_lead, filename="huge.csv", content=text.encode())
    assert error.value.message_dict["file"][0].startswith("Line 3: not readable as CSV")
    assert IngestBatch.objects.count() == 0


def test_it_says_to_use_commas_when_a_file_is_semicolon_separated(ops_lead) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        csv_records("kpi;timestamp;value\n1;2026-01-01;12,5\n")
    assert error.value.message_dict["file"] == [
        "The first row must name the columns: kpi, timestamp, value. "
        "Separate the columns with commas, not semicolons or tabs."
    ]
