"""The drills' verdicts (``make faults``, ``make load``): a lost job or a slow route fails them.

The drills themselves take minutes and run outside ``make test``; these check that their
tables turn a bad figure into a failure, and that their shared pieces work.
"""

from __future__ import annotations

from scripts import faults, load
from scripts.ownservices import free_port, port_open

GOOD_FAULT = {
    "fault": "(a) Redis stopped, then started", "saves made": 8, "saves lost": 0, "jobs": 9, "runs": 9,
    "jobs lost": 0, "jobs run twice": 0, "5xx": 0, "503": 0, "slowest save": 0.4, "allows_503": False,
}  # fmt: skip


def test_the_faults_table_passes_only_when_nothing_was_lost() -> None:
    assert faults.print_table([GOOD_FAULT]) is True
    for column, bad in [("saves lost", 1), ("jobs lost", 1), ("jobs run twice", 1), ("5xx", 1),
                        ("slowest save", 2.5)]:  # fmt: skip
        assert faults.print_table([GOOD_FAULT, {**GOOD_FAULT, column: bad}]) is False, column


def test_a_503_passes_only_while_the_database_is_down() -> None:
    assert faults.print_table([{**GOOD_FAULT, "503": 3}]) is False
    assert faults.print_table([{**GOOD_FAULT, "503": 3, "allows_503": True}]) is True


def test_the_load_table_fails_a_slow_route_or_an_error() -> None:
    fast = load.Route("api /api/kpis/", "exec", "/api/kpis/", timings=[0.05] * 100)
    assert load.report([fast], p95_limit_ms=300) is True

    slow = load.Route("page /kpis/", "exec", "/kpis/", timings=[0.05] * 90 + [0.5] * 10)
    assert load.report([fast, slow], p95_limit_ms=300) is False

    failing = load.Route("page /", "ops", "/", timings=[0.05] * 10, errors=["/ → 500"])
    assert load.report([fast, failing], p95_limit_ms=300) is False


def test_a_multipart_upload_body_holds_the_fields_and_the_file() -> None:
    body, content_type = faults.multipart(
        {"action": "upload"}, ("file", "a.csv", b"timestamp,value\n")
    )

    boundary = content_type.split("boundary=")[1]
    assert body.startswith(f"--{boundary}\r\n".encode())
    assert b'name="action"\r\n\r\nupload\r\n' in body
    assert b'filename="a.csv"\r\nContent-Type: text/csv\r\n\r\ntimestamp,value\n\r\n' in body
    assert body.endswith(f"--{boundary}--\r\n".encode())


def test_a_free_port_is_free() -> None:
    assert not port_open(free_port())
