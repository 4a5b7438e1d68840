"""`manage.py backup` and `restore`: a real round trip between two real PostgreSQL databases.

The source is a database of its own (migrated, demo data, an evidence file uploaded
through the governance service into its own MEDIA_ROOT); the target is a fresh empty
one with another MEDIA_ROOT. Every command runs as a subprocess, as `make backup` and
`make restore` run it. Each database this module creates is dropped at the end.
"""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from psycopg import sql

from audit.models import AuditEvent
from governance.models import EvidenceFile
from kpis.models import KPI, Measurement
from usecases.models import UseCase

ROOT = Path(__file__).resolve().parents[2]
EVIDENCE = [
    ("flows.txt", b"data flow diagram: CRM -> triage model -> ticketing\n" * 50),
    ("Überblick review notes.txt", "Ça marche — über alles.\n".encode() * 20),
]
# Runs inside one `manage.py shell` (one start-up, not three) against the source database:
# migrate, the demo data, then evidence uploaded through the governance service.
BUILD_SOURCE = f"""
from django.core.management import call_command
call_command("migrate", "--noinput", verbosity=0)
call_command("load_demo", verbosity=0)
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from governance.models import ChecklistItem
from governance.services import review_checklist_update
item = ChecklistItem.objects.filter(review__status="open").order_by("pk").first()
with transaction.atomic():
    review_checklist_update(
        item=item, actor=get_user_model().objects.get(username="owner"), answer="EU only",
        files=[SimpleUploadedFile(name, data) for name, data in {EVIDENCE!r}],
    )
"""


def _base_url() -> str:
    return os.environ.get("OPSAI_TEST_DATABASE_URL") or os.environ["DATABASE_URL"]


def _url_for(name: str) -> str:
    return urlsplit(_base_url())._replace(path=f"/{name}").geturl()


class Databases:
    """Creates PostgreSQL databases for this module and drops them all at the end."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(_url_for("postgres"), autocommit=True)

    def create(self, label: str) -> str:
        name = f"opsai_backup_{label}_{os.getpid()}"
        with self._admin() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.names.append(name)
        return _url_for(name)

    def drop_all(self) -> None:
        with self._admin() as admin:
            for name in self.names:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def manage(
    *args: str, database_url: str, media_root: Path, check: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "DATABASE_URL": database_url, "MEDIA_ROOT": str(media_root), **env},
    )  # fmt: skip
    if check:
        assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def fingerprints(url: str) -> dict[str, tuple[int, str]]:
    """Per table: the row count and an MD5 of every row's full text, in order."""
    with psycopg.connect(url) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
        query = "SELECT count(*), md5(coalesce(string_agg(row::text, E'\\n' ORDER BY row::text), '')) FROM {} AS row"
        return {
            table: tuple(
                connection.execute(sql.SQL(query).format(sql.Identifier(table))).fetchone()
            )
            for (table,) in tables
        }


def ids(url: str, model: type) -> list[int]:
    table = sql.Identifier(model._meta.db_table)
    with psycopg.connect(url) as connection:
        rows = connection.execute(sql.SQL("SELECT id FROM {} ORDER BY id").format(table)).fetchall()
    return [pk for (pk,) in rows]


@dataclass
class Source:
    url: str
    media_root: Path
    archive: Path
    backup_output: str


@pytest.fixture(scope="module")
def databases() -> Iterator[Databases]:
    made = Databases()
    yield made
    made.drop_all()


@pytest.fixture(scope="module")
def source(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Source:
    url = databases.create("src")
    media_root = tmp_path_factory.mktemp("source-media")
    manage("shell", "-c", BUILD_SOURCE, database_url=url, media_root=media_root)
    archive = tmp_path_factory.mktemp("backups") / "opsai.tar"
    done = manage("backup", "--output", str(archive), database_url=url, media_root=media_root)
    return Source(url=url, media_root=media_root, archive=archive, backup_output=done.stdout)


@pytest.fixture(scope="module")
def restored(
    source: Source, databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path, str]:
    url = databases.create("dst")
    media_root = tmp_path_factory.mktemp("target-media") / "media"
    done = manage("restore", str(source.archive), database_url=url, media_root=media_root)
    return url, media_root, done.stdout


def test_the_archive_holds_the_dump_the_files_and_a_manifest(source: Source):
    assert "Backup written" in source.backup_output
    with tarfile.open(source.archive) as archive:
        names = archive.getnames()
        manifest = json.loads(archive.extractfile("manifest.json").read())
    assert "database.dump" in names
    media = {entry["path"]: entry for entry in manifest["media"]}
    assert len(media) == len(EVIDENCE)
    for path, entry in media.items():
        data = (source.media_root / path).read_bytes()
        assert f"media/{path}" in names
        assert entry == {"path": path, "size": len(data), "sha256": sha256(data).hexdigest()}
    counted = {table: count for table, (count, _) in fingerprints(source.url).items()}
    assert manifest["tables"] == counted
    assert manifest["tables"][AuditEvent._meta.db_table] > 0
    assert "governance.0001_initial" in manifest["migrations"]
    assert manifest["missing_files"] == []


def test_a_restore_into_an_empty_database_brings_back_everything(
    source: Source, restored: tuple[str, Path, str]
):
    """GIVEN a backup of a database with demo data and two uploaded evidence files
    WHEN it is restored into a fresh empty database and another MEDIA_ROOT
    THEN every table holds the same rows (ids and content), every evidence file has the
    same bytes, and the command says it verified the result against the manifest."""
    url, media_root, output = restored
    assert "Verified against the manifest." in output
    for model in (UseCase, KPI, Measurement, EvidenceFile, AuditEvent):
        source_ids = ids(source.url, model)
        assert source_ids, f"the demo data has no {model.__name__}: the test proves nothing"
        assert ids(url, model) == source_ids, model.__name__
    assert fingerprints(url) == fingerprints(source.url)
    with psycopg.connect(url) as connection:
        stored = [
            name for (name,) in connection.execute("SELECT file FROM governance_evidencefile")
        ]
    assert sorted((media_root / name).read_bytes() for name in stored) == sorted(
        data for _, data in EVIDENCE
    )
    for name in stored:
        assert (media_root / name).read_bytes() == (source.media_root / name).read_bytes()


def test_the_audit_trail_stays_append_only_after_a_restore(restored: tuple[str, Path, str]):
    url, _, _ = restored
    with psycopg.connect(url) as connection, pytest.raises(psycopg.Error):
        connection.execute(
            sql.SQL("DELETE FROM {}").format(sql.Identifier(AuditEvent._meta.db_table))
        )


def test_restore_refuses_a_database_that_is_not_empty_unless_forced(
    source: Source, restored: tuple[str, Path, str]
):
    url, media_root, _ = restored
    before = fingerprints(url)
    refused = manage(
        "restore", str(source.archive), database_url=url, media_root=media_root, check=False
    )
    assert refused.returncode == 1
    assert "is not empty" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert fingerprints(url) == before

    forced = manage(
        "restore", str(source.archive), "--force", database_url=url, media_root=media_root
    )
    assert "Verified against the manifest." in forced.stdout
    assert fingerprints(url) == fingerprints(source.url)


def test_restore_refuses_a_media_root_that_already_holds_files(
    source: Source, databases: Databases, tmp_path: Path
):
    url = databases.create("media")
    (tmp_path / "someone-elses.pdf").write_bytes(b"%PDF")
    refused = manage(
        "restore", str(source.archive), database_url=url, media_root=tmp_path, check=False
    )
    assert refused.returncode == 1
    assert "MEDIA_ROOT" in refused.stderr and "already holds files" in refused.stderr
    assert fingerprints(url) == {}


def _flip_a_byte_in(archive: Path, member: str, into: Path) -> Path:
    with tarfile.open(archive) as tar:
        info = tar.getmember(member)
    data = bytearray(archive.read_bytes())
    data[info.offset_data + info.size // 2] ^= 0xFF
    into.write_bytes(bytes(data))
    return into


@pytest.fixture
def restore_here(settings: Any) -> Callable[..., None]:
    """``manage.py restore`` in this process (a subprocess costs seconds of start-up) with
    DATABASE_URL and MEDIA_ROOT pointed elsewhere; the backup module reads both from settings."""

    def restore(archive: Path, *, database_url: str, media_root: Path) -> None:
        settings.DATABASES = {
            **settings.DATABASES,
            "default": environ.Env.db_url_config(database_url),
        }
        settings.MEDIA_ROOT = media_root
        call_command("restore", str(archive))

    return restore


def _with_manifest(archive: Path, into: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of ``archive`` whose manifest ``change`` altered."""
    with tarfile.open(archive) as source, tarfile.open(into, "w") as copy:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    return into


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_a_damaged_archive_gives_a_clear_error_and_restores_nothing(
    source: Source, databases: Databases, tmp_path: Path, restore_here: Callable[..., None]
):
    url = databases.create("damaged")
    whole = source.archive.read_bytes()
    (tmp_path / "cut.tar").write_bytes(whole[: len(whole) // 2])
    cut = manage(
        "restore", str(tmp_path / "cut.tar"), database_url=url, media_root=tmp_path / "media-cut",
        check=False,
    )  # fmt: skip
    assert cut.returncode == 1
    assert cut.stderr.startswith("CommandError: restore failed:")
    assert "Nothing was restored" in cut.stderr and "Traceback" not in cut.stderr

    (tmp_path / "notes.tar").write_bytes(b"these are not the backups you are looking for\n" * 20)
    first_file = json.loads(_manifest_bytes(source.archive))["media"][0]["path"]
    cases = {
        tmp_path / "notes.tar": "not a readable tar archive",
        _flip_a_byte_in(source.archive, "database.dump", tmp_path / "dump.tar"): (
            "database.dump in the archive does not match its checksum"
        ),
        _flip_a_byte_in(source.archive, f"media/{first_file}", tmp_path / "media.tar"): (
            f"media/{first_file} in the archive does not match its checksum"
        ),
        _with_manifest(
            source.archive, tmp_path / "unlisted.tar", lambda manifest: manifest["media"].pop()
        ): "unexpected entry",
        tmp_path / "absent.tar": "there is no backup archive at",
    }
    for archive, message in cases.items():
        media_root = tmp_path / f"media-{archive.stem}"
        with pytest.raises(CommandError, match=re.escape(message)):
            restore_here(archive, database_url=url, media_root=media_root)
        assert fingerprints(url) == {}, archive.name
        assert not any(media_root.rglob("*")), archive.name
        assert [path.name for path in tmp_path.glob(".restore-*")] == []


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_a_restore_that_does_not_match_its_manifest_fails_and_says_where(
    source: Source, databases: Databases, tmp_path: Path, restore_here: Callable[..., None]
):
    table = UseCase._meta.db_table

    def claim_one_more_use_case(manifest: dict[str, Any]) -> None:
        manifest["tables"][table] += 1

    archive = _with_manifest(source.archive, tmp_path / "claims.tar", claim_one_more_use_case)
    expected = len(ids(source.url, UseCase))
    with pytest.raises(CommandError) as refused:
        restore_here(
            archive, database_url=databases.create("claims"), media_root=tmp_path / "media"
        )
    assert "does not match the backup's manifest (1 difference(s))" in str(refused.value)
    assert f"table {table}: {expected} rows, the backup has {expected + 1}" in str(refused.value)


def _manifest_bytes(archive: Path) -> bytes:
    with tarfile.open(archive) as tar:
        return tar.extractfile("manifest.json").read()


def test_backup_names_the_missing_pg_dump(source: Source, tmp_path: Path):
    done = manage(
        "backup", "--output", str(tmp_path), database_url=source.url,
        media_root=source.media_root, check=False, PATH=str(Path(sys.executable).parent),
    )  # fmt: skip
    assert done.returncode == 1
    assert "pg_dump was not found on PATH" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def _sqlite_rows(path: Path) -> dict[str, list[tuple]]:
    with closing(sqlite3.connect(path)) as connection:
        tables = [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
        )]  # fmt: skip
        return {
            table: sorted(connection.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)  # noqa: S608
            for table in tables
        }


def test_the_embedded_sqlite_database_round_trips(tmp_path: Path):
    """The embedded default is backed up as a consistent copy of the SQLite file. The
    source is a small hand-made file (migrating and loading the demo on SQLite takes a
    minute on the shared machine; the PostgreSQL tests cover every real table) with an
    evidence row that points at a file in MEDIA_ROOT."""
    source, target = tmp_path / "source.sqlite3", tmp_path / "target.sqlite3"
    source_media, target_media = tmp_path / "source-media", tmp_path / "target-media"
    evidence = "governance/evidence/2026/11/flows.txt"
    (source_media / evidence).parent.mkdir(parents=True)
    (source_media / evidence).write_bytes(EVIDENCE[0][1])
    with closing(sqlite3.connect(source)) as connection, connection:
        connection.execute(
            "CREATE TABLE django_migrations (id integer primary key, app, name, applied)"
        )
        connection.execute("CREATE TABLE governance_evidencefile (id integer primary key, file)")
        connection.execute("INSERT INTO governance_evidencefile (file) VALUES (?)", [evidence])
        connection.execute("CREATE TABLE notes (id integer primary key, body)")
        connection.executemany(
            "INSERT INTO notes (body) VALUES (?)", [[f"n{i}"] for i in range(500)]
        )
    archive = tmp_path / "embedded.tar"
    url = f"sqlite:///{source}"
    manage("backup", "--output", str(archive), database_url=url, media_root=source_media)

    done = manage(
        "restore", str(archive), database_url=f"sqlite:///{target}", media_root=target_media
    )
    assert "Verified against the manifest." in done.stdout
    assert "run `python manage.py migrate`" in done.stdout  # the hand-made file has none
    assert _sqlite_rows(target) == _sqlite_rows(source)
    assert len(_sqlite_rows(target)["notes"]) == 500
    assert (target_media / evidence).read_bytes() == EVIDENCE[0][1]

    refused = manage(
        "restore", str(archive), database_url=f"sqlite:///{target}",
        media_root=tmp_path / "empty-media", check=False,
    )  # fmt: skip
    assert refused.returncode == 1 and "is not empty" in refused.stderr
