"""Onboarding an existing inventory: mapping proposal, preview, matching, registration as found.

The jobs run in this process (``onboarding_run``, what the worker calls); the real
worker behind the shipped gunicorn is in ``test_onboarding_gunicorn.py``.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from governance.models import LaneAssignment, LanePolicy, Review
from scripts.inventory import generate_inventory, import_inventory
from usecases.choices import ImportState, Stage
from usecases.imports import usecase_import
from usecases.models import CustomField, ImportJob, ImportMapping, StageChange, Team, UseCase
from usecases.onboarding import mapping_propose
from usecases.onboarding_jobs import (
    onboarding_confirm,
    onboarding_mapping_set,
    onboarding_run,
    onboarding_upload,
)

FOREIGN = [
    "Use Case ID",
    "Use Case Name",
    "Agency",
    "Bureau",
    "Stage of development",
    "Date Implemented",
    "Rights-Impacting",
    "Contact email",
    "Summary",
]


@pytest.fixture(autouse=True)
def units(db: None) -> None:
    treasury = Team.objects.create(name="Treasury")
    Team.objects.create(name="IRS", parent=treasury)
    Team.objects.create(name="Mint", parent=treasury)
    Team.objects.create(name="Support")


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def inventory(*rows: list[str]) -> bytes:
    return csv_bytes(FOREIGN, list(rows))


def row(
    n: int, *, stage: str = "Operation and Maintenance", unit: str = "IRS", **more: str
) -> list[str]:
    cells = {
        "Use Case ID": f"AG-{n}",
        "Use Case Name": f"Case {n}",
        "Agency": "Treasury",
        "Bureau": unit,
        "Stage of development": stage,
        "Date Implemented": "03/15/2023",
        "Rights-Impacting": "No",
        "Contact email": f"poc{n}@example.gov",
        "Summary": "Reads forms",
        **more,
    }
    return [cells[c] for c in FOREIGN]


def upload(actor: Any, content: bytes, *, source: str = "fed") -> ImportJob:
    return onboarding_upload(actor=actor, name="inventory.csv", content=content, source=source)


def run(actor: Any, content: bytes, *, source: str = "fed", **options: Any) -> ImportJob:
    """Upload, confirm the proposal (with ``options``), preview, confirm, import."""
    job = upload(actor, content, source=source)
    job = onboarding_mapping_set(
        job=job,
        actor=actor,
        columns=job.mapping["columns"],
        values=job.mapping["values"],
        options={**job.mapping["options"], **options},
    )
    assert job.mapping["phase"] == "preview"
    onboarding_confirm(job=job, actor=actor)
    return onboarding_run(job_id=job.pk)


# --- The proposal ------------------------------------------------------------------------------


def test_a_foreign_header_gets_a_mapping_by_name_and_by_values(ops_lead: Any) -> None:
    header = [*FOREIGN, "Owner mail", "Went live", "Uses a vendor", "Tier"]
    rows = [
        (
            n + 2,
            {
                **dict(zip(FOREIGN, row(n), strict=True)),
                "Owner mail": f"a{n}@x.org",
                "Went live": "2024-01-02",
                "Uses a vendor": "yes",
                "Tier": "High risk",
            },
        )
        for n in range(5)
    ]

    proposal = mapping_propose(header, rows)

    assert proposal.columns == {
        "Use Case ID": "source_id",
        "Use Case Name": "title",
        "Agency": "unit_1",
        "Bureau": "unit_2",
        "Stage of development": "stage",
        "Date Implemented": "production_since",
        "Rights-Impacting": "high_impact",
        "Contact email": "contact_email",
        "Summary": "problem",
        "Owner mail": "",
        "Went live": "production_since" if False else "",
        "Uses a vendor": "vendor_model",
        "Tier": "risk_class",
    }
    assert proposal.values["stage"] == {"Operation and Maintenance": "production"}
    assert proposal.values["high_impact"] == {"No": "no"}
    assert proposal.values["risk_class"] == {"High risk": "high"}


def test_stage_values_from_other_tools_are_proposed(ops_lead: Any) -> None:
    stages = [
        "Deployed",
        "In production",
        "Operation and Maintenance",
        "Retired",
        "Pilot",
        "Development",
        "Planned",
        "Initiated",
        "Something else",
    ]
    job = upload(ops_lead, inventory(*[row(n, stage=s) for n, s in enumerate(stages)]))

    assert job.mapping["values"]["stage"] == {
        "Deployed": "production",
        "In production": "production",
        "Operation and Maintenance": "production",
        "Retired": "retired",
        "Pilot": "pilot",
        "Development": "pilot",
        "Planned": "idea",
        "Initiated": "idea",
        "Something else": "",
    }


def test_the_saved_mapping_is_offered_for_the_next_file_from_the_same_source(ops_lead: Any) -> None:
    job = upload(ops_lead, inventory(row(1)))
    columns = {**job.mapping["columns"], "Summary": "business_outcome"}
    values = {**job.mapping["values"], "stage": {"Operation and Maintenance": "pilot"}}
    onboarding_mapping_set(job=job, actor=ops_lead, columns=columns, values=values)
    assert ImportMapping.objects.get(source="fed").columns["Summary"] == "business_outcome"

    again = upload(ops_lead, inventory(row(2)))
    other = upload(ops_lead, inventory(row(3)), source="another tool")

    assert again.mapping["saved"] is True
    assert again.mapping["columns"]["Summary"] == "business_outcome"
    assert again.mapping["values"]["stage"] == {"Operation and Maintenance": "pilot"}
    assert other.mapping["columns"]["Summary"] == "problem"


def test_edited_value_mappings_decide_what_is_stored(ops_lead: Any) -> None:
    job = upload(ops_lead, inventory(row(1, stage="Phase 2"), row(2, stage="Live")))
    assert job.mapping["values"]["stage"]["Phase 2"] == ""
    values = {**job.mapping["values"], "stage": {"Phase 2": "pilot", "Live": "production"}}
    job = onboarding_mapping_set(
        job=job, actor=ops_lead, columns=job.mapping["columns"], values=values
    )
    onboarding_confirm(job=job, actor=ops_lead)
    onboarding_run(job_id=job.pk)

    assert dict(UseCase.objects.values_list("external_id", "stage")) == {
        "AG-1": "pilot",
        "AG-2": "production",
    }


# --- Preview and refused rows ------------------------------------------------------------------


def test_the_preview_shows_rows_as_stored_and_names_refused_rows_by_line_and_field(
    ops_lead: Any,
) -> None:
    content = inventory(
        row(1),
        row(2, stage="Initiated", **{"Date Implemented": ""}),
        row(3, unit="Nowhere"),
        row(4, **{"Contact email": "not-an-email", "Date Implemented": "2099-01-01"}),
        row(5, **{"Use Case ID": "AG-1"}),
    )
    job = upload(ops_lead, content)
    job = onboarding_mapping_set(
        job=job, actor=ops_lead, columns=job.mapping["columns"], values=job.mapping["values"]
    )

    preview = job.mapping["preview"]
    assert (preview["create"], preview["refused"], preview["registered"]) == (2, 3, 1)
    first = preview["rows"][0]
    assert (
        first["line"],
        first["title"],
        first["unit"],
        first["stage"],
        first["registered"],
        first["since"],
    ) == (2, "Case 1", "Treasury › IRS", "Production", True, "2023-03-15")
    problems = {(e["line"], e["field"]) for e in job.errors}
    assert problems == {
        (4, "Bureau"),
        (5, "Contact email"),
        (5, "Date Implemented"),
        (6, "Use Case ID"),
    }
    assert any("Nowhere" in e["problem"] for e in job.errors)
    assert UseCase.objects.count() == 0  # the preview writes nothing


def test_the_error_report_downloads_every_refused_row(client: Client, ops_lead: Any) -> None:
    job = run(ops_lead, inventory(row(1), row(2, unit="Nowhere"), row(3, **{"Contact email": "x"})))
    client.force_login(ops_lead)

    response = client.get(reverse("usecases:onboarding_errors", args=[job.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0] == ["line", "field", "problem"]
    assert [(line, field) for line, field, _ in lines[1:]] == [
        ("3", "Bureau"),
        ("4", "Contact email"),
    ]
    assert job.created == 1 and job.mapping["result"]["refused"] == 2


# --- Matching -------------------------------------------------------------------------------------


def test_a_foreign_id_never_touches_an_unrelated_use_case(ops_lead: Any) -> None:
    mine = UseCase.objects.create(title="Mine", team=Team.objects.get(name="Support"))
    header = ["id", "Use Case Name", "Agency", "Bureau"]
    content = csv_bytes(header, [[str(mine.pk), "Their case", "Treasury", "IRS"]])

    job = run(ops_lead, content)

    mine.refresh_from_db()
    assert job.mapping["columns"]["id"] == "source_id"
    assert mine.title == "Mine" and mine.team.name == "Support"
    theirs = UseCase.objects.get(title="Their case")
    assert (theirs.source, theirs.external_id) == ("fed", str(mine.pk))


def test_an_opsai_id_whose_title_differs_is_refused_and_changes_nothing(ops_lead: Any) -> None:
    mine = UseCase.objects.create(title="Mine", team=Team.objects.get(name="Support"), problem="p")
    header = ["opsai_id", "title", "problem"]
    content = csv_bytes(
        header,
        [[str(mine.pk), "Someone else's", "overwritten"], [str(mine.pk + 1000), "Nobody", "x"]],
    )

    job = run(ops_lead, content)

    mine.refresh_from_db()
    assert mine.problem == "p"
    assert [(e["line"], e["field"]) for e in job.errors] == [(2, "title"), (3, "opsai_id")]
    assert "is not the title of use case" in job.errors[0]["problem"]
    assert job.created == job.updated == 0


def test_the_opsai_import_refuses_an_id_whose_title_differs(admin_user: Any) -> None:
    mine = UseCase.objects.create(title="Mine", team=Team.objects.get(name="Support"), problem="p")
    report = usecase_import(
        actor=admin_user, name="x.csv", content=f"id,title,problem\n{mine.pk},Other,q\n".encode()
    )
    mine.refresh_from_db()
    assert not report.ok and "is not the title of use case" in report.errors[0]
    assert mine.problem == "p"


def test_a_reimport_from_the_same_source_updates_instead_of_duplicating(
    ops_lead: Any, admin_user: Any
) -> None:
    run(ops_lead, inventory(row(1), row(2)))
    changed = row(2, **{"Summary": "Reads forms and letters"})

    refused = run(ops_lead, inventory(row(1), changed))  # registered: no longer the lead's draft
    job = run(admin_user, inventory(row(1), changed))

    assert [(e["line"], e["field"]) for e in refused.errors] == [(3, "Use Case ID")]

    assert UseCase.objects.count() == 2
    assert (job.created, job.updated) == (0, 1)  # row 1 is unchanged
    assert UseCase.objects.get(external_id="AG-2").problem == "Reads forms and letters"
    assert job.mapping["preview"]["unchanged"] == job.mapping["result"]["unchanged"] == 1


def test_blank_cells_leave_fields_unchanged_unless_asked_to_clear(admin_user: Any) -> None:
    run(admin_user, inventory(row(1)))
    blank = row(1, **{"Summary": "", "Contact email": ""})

    job = run(admin_user, inventory(blank))
    kept = UseCase.objects.get(external_id="AG-1")
    assert (kept.problem, kept.contact_email) == ("Reads forms", "poc1@example.gov")
    assert (job.updated, job.error_count) == (0, 0)

    run(admin_user, inventory(blank), clear_blank=True)
    cleared = UseCase.objects.get(external_id="AG-1")
    assert (cleared.problem, cleared.contact_email, cleared.title) == ("", "", "Case 1")


def test_the_opsai_import_leaves_blank_cells_unchanged_on_update(admin_user: Any) -> None:
    mine = UseCase.objects.create(title="Mine", team=Team.objects.get(name="Support"), problem="p")
    report = usecase_import(
        actor=admin_user,
        name="x.csv",
        content=f"id,title,problem,business_outcome\n{mine.pk},Mine,,Faster\n".encode(),
    )
    mine.refresh_from_db()
    assert report.ok, report.errors
    assert (mine.problem, mine.business_outcome) == ("p", "Faster")


# --- Registered as found -----------------------------------------------------------------------


def test_a_deployed_row_is_registered_in_production_with_its_dates_and_no_gate_run(
    ops_lead: Any,
) -> None:
    header = [*FOREIGN, "Date Retired", "Pilot start"]
    deployed = [*row(1), "", "2022-06-01"]
    retired = [*row(2, stage="Retired"), "2024-12-31", ""]
    idea = [*row(3, stage="Planned", **{"Date Implemented": ""}), "", ""]

    job = run(ops_lead, csv_bytes(header, [deployed, retired, idea]))

    use_case = UseCase.objects.get(external_id="AG-1")
    assert use_case.stage == Stage.PRODUCTION
    assert use_case.registered_by == ops_lead and use_case.registered_at is not None
    assert use_case.registered_from.startswith(f"Import {job.pk} from fed")
    assert not use_case.is_draft  # it exists in the world: not private to the importer
    moves = list(
        StageChange.objects.filter(use_case=use_case).values_list(
            "from_stage", "to_stage", "changed_at__date", "note"
        )
    )
    note = f"Registered as found (import {job.pk} from fed)"
    assert [(f, t, str(d), n) for f, t, d, n in moves] == [
        ("", "pilot", "2022-06-01", note),
        ("pilot", "production", "2023-03-15", note),
    ]
    assert use_case.stage_entered_at.date().isoformat() == "2023-03-15"
    assert UseCase.objects.get(external_id="AG-2").stage == Stage.RETIRED
    assert UseCase.objects.get(external_id="AG-3").stage == Stage.IDEA
    assert UseCase.objects.get(external_id="AG-3").registered_at is None
    # No review was opened and no KPI was demanded; the lane is placed (in bulk).
    assert Review.objects.count() == 0
    assert LaneAssignment.objects.count() == 3
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count("usecase.registered") == 2 and actions.count("usecase.created") == 1
    assert actions.count("usecase.import_finished") == 1


def test_registering_as_found_can_be_turned_off(ops_lead: Any) -> None:
    run(ops_lead, inventory(row(1)), register_as_found=False)
    use_case = UseCase.objects.get(external_id="AG-1")
    assert (use_case.stage, use_case.registered_at) == (Stage.IDEA, None)


def test_custom_fields_and_risk_are_imported(ops_lead: Any) -> None:
    CustomField.objects.create(key="impact_assessment", label="Impact assessment", kind="url")
    header = ["Use Case Name", "Agency", "Impact assessment", "Risk level", "High impact"]
    run(ops_lead, csv_bytes(header, [["A", "Treasury", "https://x.gov/ia", "High", "Yes"]]))
    use_case = UseCase.objects.get(title="A")
    assert use_case.custom == {"impact_assessment": "https://x.gov/ia"}
    assert (use_case.risk_class, use_case.high_impact) == ("high", True)
    # The register's own determination stands as the justification the rule asks for.
    assert use_case.high_impact_justification.startswith("Determined high-impact in ")


def test_missing_units_are_created_only_for_an_admin(ops_lead: Any, admin_user: Any) -> None:
    job = upload(ops_lead, inventory(row(1, unit="New bureau")))
    with pytest.raises(Exception, match="Only an admin"):
        onboarding_mapping_set(
            job=job, actor=ops_lead, columns=job.mapping["columns"], options={"create_units": True}
        )

    run(admin_user, inventory(row(1, unit="New bureau")), create_units=True)

    assert UseCase.objects.get(external_id="AG-1").team.path_label == "Treasury › New bureau"


# --- Scale -----------------------------------------------------------------------------------------


def _queries_to_import(actor: Any, rows: int, tmp_path: Any) -> int:
    path = generate_inventory(rows, tmp_path / f"inv-{rows}.csv")
    job = upload(actor, path.read_bytes(), source=f"scale-{rows}")
    job = onboarding_mapping_set(
        job=job,
        actor=actor,
        columns=job.mapping["columns"],
        values=job.mapping["values"],
        options={"create_units": True},
        check=False,
    )
    with CaptureQueriesContext(connection) as queries:
        job = onboarding_run(job_id=job.pk)
    assert job.state == ImportState.DONE and job.created == rows, job.errors[:3]
    return len(queries)


def test_the_query_count_of_an_import_does_not_grow_with_its_rows(
    admin_user: Any, tmp_path: Any
) -> None:
    generate_inventory(40, tmp_path / "units.csv")
    import_inventory(tmp_path / "units.csv", actor=admin_user, source="units")  # every unit exists

    small = _queries_to_import(admin_user, 100, tmp_path)
    large = _queries_to_import(admin_user, 1000, tmp_path)

    assert large == small
    assert large <= 60


# --- Pages and API ---------------------------------------------------------------------------


def test_the_pages_take_a_file_from_upload_to_done(client: Client, ops_lead: Any) -> None:
    client.force_login(ops_lead)
    page = client.get(reverse("usecases:onboarding"))
    assert page.status_code == 200
    assert b"sample file (CSV)" in page.content and b"production_since" in page.content

    response = client.post(
        reverse("usecases:onboarding"),
        {
            "source": "fed",
            "file": SimpleUploadedFile("inv.csv", inventory(row(1), row(2, unit="Nowhere"))),
        },
    )
    job = ImportJob.objects.get(source="fed")
    assert response.status_code == 302 and response["Location"] == reverse(
        "usecases:onboarding_job", args=[job.pk]
    )

    mapping = client.get(response["Location"])
    text = mapping.content.decode()
    assert '<label for="id_column_1">Use Case Name</label>' in text
    assert "Operation and Maintenance" in text and "Register at their real stage" in text
    form = mapping.context["form"]
    data = {
        name: field.initial
        for name, field in form.fields.items()
        if field.initial not in (None, False)
    }
    data["register_as_found"] = "on"
    checked = client.post(response["Location"], data)
    assert checked.status_code == 302
    preview = client.get(response["Location"]).content.decode()
    assert "1 use case will be created" in preview and "Line 3: Bureau:" in preview

    client.post(reverse("usecases:onboarding_confirm", args=[job.pk]), {"action": "confirm"})
    queued = client.get(response["Location"]).content.decode()
    assert 'role="progressbar"' in queued and 'aria-valuenow="0"' in queued
    onboarding_run(job_id=job.pk)
    done = client.get(response["Location"]).content.decode()
    assert "1 created" in done and "Download the error report" in done
    assert UseCase.objects.get(external_id="AG-1").stage == Stage.PRODUCTION


def test_the_samples_download(client: Client, ops_lead: Any) -> None:
    client.force_login(ops_lead)
    sample = client.get(reverse("usecases:onboarding_sample")).content.decode()
    columns = client.get(reverse("usecases:onboarding_columns")).content.decode()
    header = next(csv.reader(io.StringIO(sample)))
    assert {"title", "unit_1", "stage", "production_since", "source_id", "risk_class"} <= set(
        header
    )
    assert "prohibited, high, limited, minimal" in columns


def test_the_sample_file_imports_cleanly(admin_user: Any) -> None:
    from usecases.onboarding import sample_csv

    job = run(admin_user, sample_csv().encode(), source="sample", create_units=True)
    assert (job.created, job.error_count) == (2, 0), job.errors


def test_the_api_proposes_previews_and_imports(ops_lead: Any, product_owner: Any) -> None:
    api = APIClient()
    api.force_authenticate(ops_lead)
    url = reverse("api-usecase-onboarding-list")
    created = api.post(
        url,
        {"file": SimpleUploadedFile("i.csv", inventory(row(1))), "source": "fed"},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["phase"] == "mapping" and body["mapping"]["columns"]["Use Case Name"] == "title"

    mapped = api.post(
        reverse("api-usecase-onboarding-mapping", args=[body["id"]]),
        {"columns": body["mapping"]["columns"], "values": body["mapping"]["values"]},
        format="json",
    )
    assert mapped.status_code == 200 and mapped.json()["preview"]["create"] == 1
    confirmed = api.post(reverse("api-usecase-onboarding-confirm", args=[body["id"]]))
    assert confirmed.status_code == 202
    onboarding_run(job_id=body["id"])
    assert api.get(confirmed["Location"]).json()["state"] == "done"

    other = APIClient()
    other.force_authenticate(product_owner)
    assert other.get(confirmed["Location"]).status_code in (403, 404)


def test_the_api_one_shot_answers_202_and_a_bad_mapping_400(ops_lead: Any) -> None:
    api = APIClient()
    api.force_authenticate(ops_lead)
    url = reverse("api-usecase-onboarding-list")
    answer = api.post(
        url,
        {"file": SimpleUploadedFile("i.csv", inventory(row(1))), "source": "fed", "run": "true"},
        format="multipart",
    )
    assert answer.status_code == 202 and answer.json()["state"] == "queued"
    bad = api.post(
        url,
        {
            "file": SimpleUploadedFile("i.csv", inventory(row(1))),
            "source": "fed",
            "mapping": '{"columns": {"Use Case Name": "nonsense"}}',
        },
        format="multipart",
    )
    assert bad.status_code == 400 and "nonsense" in bad.content.decode()


def test_another_users_onboarding_is_a_404(client: Client, ops_lead: Any, make_user: Any) -> None:
    job = upload(ops_lead, inventory(row(1)))
    client.force_login(make_user("Ops lead", username="ops2"))
    assert client.get(reverse("usecases:onboarding_job", args=[job.pk])).status_code == 404
    assert client.get(reverse("usecases:onboarding_errors", args=[job.pk])).status_code == 404


def test_lanes_placed_in_bulk_are_the_lanes_the_policy_gives_one_by_one(ops_lead: Any) -> None:
    from governance.selectors import lane_decide, lane_policy_current

    header = ["Use Case Name", "Agency", "Autonomy", "Moves money", "Exports data", "Audience"]
    rows = [["A", "Treasury", "act", "yes", "no", "internal"],
            ["B", "Treasury", "suggest", "no", "yes", "customer_facing"],
            ["C", "Treasury", "draft", "no", "no", "internal"]]  # fmt: skip
    run(ops_lead, csv_bytes(header, rows))

    policy = lane_policy_current()
    placed = {
        a.use_case.title: (a.lane, a.reason)
        for a in LaneAssignment.objects.select_related("use_case")
    }
    expected = {u.title: lane_decide(policy=policy, use_case=u) for u in UseCase.objects.all()}
    assert placed == {title: (lane, reason) for title, (lane, _, reason) in expected.items()}
    assert placed["A"][0] == "prohibited"


def test_a_unit_named_from_below_the_root_is_found_by_its_path(ops_lead: Any) -> None:
    run(ops_lead, csv_bytes(["Use Case Name", "Bureau"], [["A", "IRS"]]))
    assert UseCase.objects.get(title="A").team.path_label == "Treasury › IRS"


def test_a_large_file_is_checked_by_the_job_before_its_preview(
    ops_lead: Any, settings: Any, tmp_path: Any
) -> None:
    """GIVEN a file past what a request checks WHEN its mapping is confirmed
    THEN the worker checks every row (phase check) and the job comes back with the preview."""
    settings.USECASE_IMPORT_INLINE_ROWS = 2  # a request reads 10 rows
    rows = [row(n) for n in range(30)] + [row(99, unit="Nowhere")]
    job = upload(ops_lead, inventory(*rows))
    assert job.mapping["small"] is False
    job = onboarding_mapping_set(job=job, actor=ops_lead, columns=job.mapping["columns"],
                                 values=job.mapping["values"])  # fmt: skip
    assert (job.state, job.mapping["phase"]) == (ImportState.QUEUED, "check")

    job = onboarding_run(job_id=job.pk)

    assert (job.state, job.mapping["phase"]) == (ImportState.MAPPING, "preview")
    assert (job.mapping["preview"]["create"], job.mapping["preview"]["refused"]) == (30, 1)
    assert [e["line"] for e in job.errors] == [32]
    onboarding_confirm(job=job, actor=ops_lead)
    assert onboarding_run(job_id=job.pk).created == 30


def test_an_excel_inventory_is_onboarded(admin_user: Any, tmp_path: Any) -> None:
    path = generate_inventory(50, tmp_path / "inventory.xlsx")
    outcome = import_inventory(path, actor=admin_user, source="excel")
    assert (outcome["state"], outcome["created"], outcome["refused"]) == ("done", 50, 0)
    assert UseCase.objects.filter(source="excel", stage=Stage.RETIRED).exists()


def test_registered_use_cases_show_on_their_page_and_the_portfolio(
    client: Client, ops_lead: Any
) -> None:
    run(ops_lead, inventory(row(1), row(2, stage="Retired")))
    client.force_login(ops_lead)
    use_case = UseCase.objects.get(external_id="AG-1")

    assert client.get(reverse("usecases:detail", args=[use_case.pk])).status_code == 200
    portfolio = client.get(reverse("usecases:portfolio"))
    assert portfolio.status_code == 200 and b"Case 1" in portfolio.content


def test_a_reimport_that_changes_risk_moves_the_lane(admin_user: Any) -> None:
    header = ["Use Case ID", "Use Case Name", "Agency", "Autonomy", "Moves money"]
    run(admin_user, csv_bytes(header, [["X1", "A", "Treasury", "draft", "no"]]))
    assert LaneAssignment.objects.get().lane != "prohibited"

    job = run(admin_user, csv_bytes(header, [["X1", "A", "Treasury", "act", "yes"]]))

    assert job.updated == 1
    assert LaneAssignment.objects.get().lane == "prohibited"
    assert AuditEvent.objects.filter(action="usecase.updated").count() == 1


def test_an_import_into_a_database_with_no_lane_policy_places_each_use_case_once(
    ops_lead: Any,
) -> None:
    """GIVEN a database whose lane policies were flushed (the default is made on first need,
    and making it re-places every use case — the import's new ones included)
    WHEN an inventory is imported
    THEN each use case has exactly one lane, and the import is done (it was a unique
    violation in the bulk lane insert, found by the full suite's order)."""
    LanePolicy.objects.all().delete()
    job = run(ops_lead, inventory(row(1), row(2, stage="Retired"), row(3, stage="Initiated")))
    assert job.state == ImportState.DONE and job.created == 3, job.errors
    imported = UseCase.objects.filter(source="fed")
    assert LaneAssignment.objects.filter(use_case__in=imported).count() == 3


def test_an_import_that_stops_on_an_unexpected_error_is_failed_and_saves_nothing(
    ops_lead: Any,
) -> None:
    """GIVEN a database that refuses stage-history rows (a real trigger, standing in for
    any error the import does not expect)
    WHEN the import job runs
    THEN the error reaches the worker's log, nothing is saved, and the job says it failed
    instead of showing "running" until its claim goes stale."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_rows() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;"
            "CREATE TRIGGER refuse_stage_changes BEFORE INSERT ON usecases_stagechange"
            " FOR EACH ROW EXECUTE FUNCTION refuse_rows();"
        )
    job = upload(ops_lead, inventory(row(1), row(2)))
    job = onboarding_mapping_set(
        job=job, actor=ops_lead, columns=job.mapping["columns"], values=job.mapping["values"],
        check=False,
    )  # fmt: skip
    with pytest.raises(Exception, match="refused by the test"):
        onboarding_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == ImportState.FAILED
    assert "stopped on an unexpected error and saved nothing" in job.errors[0]["problem"]
    assert not UseCase.objects.filter(source="fed").exists()
