"""Backup and restore: the database and the uploaded files in one archive, checked on the way back.

An archive is a plain tar file (the dump is compressed already, uploads mostly are):

- ``database.dump`` — ``pg_dump --format=custom`` of the PostgreSQL database, or
  ``database.sqlite3`` — a copy made with SQLite's online backup API (the embedded default);
- ``media/…`` — every file under ``MEDIA_ROOT`` (uploaded evidence);
- ``manifest.json`` — format, time, opsai version, the migrations applied, the row count
  of every table, and the size and SHA-256 of the dump and of every file.

On PostgreSQL the row counts are taken inside the snapshot pg_dump dumps
(``pg_export_snapshot``), so they describe the dump exactly while opsai keeps running.
The files are copied after that snapshot: a file uploaded meanwhile is extra, never missing.

A restore refuses a target that already holds tables or files unless forced, checks
every member against the manifest before it touches anything, restores the database in
one transaction (``pg_restore --single-transaction``), puts the files back, then counts
every table and hashes every file again and compares them with the manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import IO, Any

import psycopg
from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.migrations.loader import MigrationLoader

FORMAT = 1
MANIFEST = "manifest.json"
MEDIA = "media"
DUMP_NAMES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
ENGINES = {
    "django.db.backends.postgresql": "postgresql",
    "django.db.backends.sqlite3": "sqlite",
}
ENGINE_LABELS = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
CHUNK = 1 << 20

# Every table in every schema pg_dump dumps by default (not the system ones).
PG_TABLES = r"""
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
ORDER BY 1, 2
"""
SQLITE_TABLES = (
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    " ORDER BY name"
)


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Database:
    """The database DATABASE_URL names, as the dump and restore tools need it."""

    engine: str
    config: dict[str, Any]

    @classmethod
    def from_settings(cls) -> Database:
        config = settings.DATABASES["default"]
        engine = ENGINES.get(config["ENGINE"], "")
        if not engine:
            raise BackupError(
                f"DATABASE_URL: backups cover PostgreSQL and SQLite, not {config['ENGINE']}"
            )
        return cls(engine=engine, config=config)

    @property
    def name(self) -> str:
        return str(self.config["NAME"])

    def libpq_env(self) -> dict[str, str]:
        """The environment for pg_dump/pg_restore: the password never shows in `ps`."""
        env = {**os.environ, "PGDATABASE": self.name, "PGCONNECT_TIMEOUT": "5"}
        for key, variable in (
            ("HOST", "PGHOST"),
            ("PORT", "PGPORT"),
            ("USER", "PGUSER"),
            ("PASSWORD", "PGPASSWORD"),
        ):
            if self.config.get(key):
                env[variable] = str(self.config[key])
        if sslmode := self.config.get("OPTIONS", {}).get("sslmode"):
            env["PGSSLMODE"] = str(sslmode)
        return env

    def connect_pg(self) -> psycopg.Connection[Any]:
        params = {
            "dbname": self.name,
            "host": self.config.get("HOST") or None,
            "port": self.config.get("PORT") or None,
            "user": self.config.get("USER") or None,
            "password": self.config.get("PASSWORD") or None,
            "sslmode": self.config.get("OPTIONS", {}).get("sslmode"),
        }
        try:
            return psycopg.connect(
                connect_timeout=5, **{key: value for key, value in params.items() if value}
            )
        except psycopg.OperationalError as error:
            raise BackupError(f"DATABASE_URL: cannot connect to {self.name} ({error})") from error


@dataclass
class Contents:
    """What a database holds, as far as a backup's check goes."""

    counts: dict[str, int]
    migrations: list[str]
    references: set[str] = field(default_factory=set)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


@dataclass
class BackupResult:
    """A written archive and its manifest."""

    path: Path
    manifest: dict[str, Any]


@dataclass
class RestoreResult:
    """A restored, verified archive: what was checked and what is left to do."""

    manifest: dict[str, Any]
    database: str
    media_root: Path
    pending_migrations: list[str]
    extra_tables: list[str]


# --- Reading a database ---------------------------------------------------------------------


def _quote(name: str) -> str:
    """An SQL identifier, quoted the same way for PostgreSQL and SQLite."""
    return '"' + name.replace('"', '""') + '"'


def _file_columns() -> list[tuple[str, str]]:
    """(table, column) of every FileField: the rows that point into MEDIA_ROOT."""
    return sorted(
        {
            (model._meta.db_table, model_field.column)
            for model in apps.get_models()
            for model_field in model._meta.concrete_fields
            if isinstance(model_field, models.FileField)
        }
    )


def _pg_tables(connection: psycopg.Connection[Any]) -> dict[str, str]:
    """Label (``table``, or ``schema.table`` outside public) → quoted name."""
    return {
        (table if schema == "public" else f"{schema}.{table}"): f"{_quote(schema)}.{_quote(table)}"
        for schema, table in connection.execute(PG_TABLES).fetchall()
    }


def _sqlite_tables(connection: sqlite3.Connection) -> dict[str, str]:
    return {name: _quote(name) for (name,) in connection.execute(SQLITE_TABLES).fetchall()}


def _contents(connection: Any, tables: dict[str, str]) -> Contents:
    """Count every table, list the applied migrations and the files rows refer to.

    ``connection`` is a psycopg or sqlite3 connection: both take plain SQL here, and the
    names in it come from the database's own catalogue or the models, quoted.
    """
    counts = {
        label: connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]  # noqa: S608
        for label, quoted in tables.items()
    }
    migrations = []
    if "django_migrations" in tables:
        rows = connection.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        migrations = [f"{app}.{name}" for app, name in rows.fetchall()]
    references: set[str] = set()
    for table, column in _file_columns():
        if table in tables:
            query = f"SELECT DISTINCT {_quote(column)} FROM {tables[table]} WHERE {_quote(column)} <> ''"  # noqa: S608
            references.update(value for (value,) in connection.execute(query).fetchall())
    return Contents(counts=counts, migrations=migrations, references=references)


def _database_contents(database: Database) -> Contents:
    if database.engine == "sqlite":
        path = Path(database.name)
        if not path.exists():
            return Contents(counts={}, migrations=[])
        with closing(sqlite3.connect(path)) as connection:
            return _contents(connection, _sqlite_tables(connection))
    with database.connect_pg() as connection:
        return _contents(connection, _pg_tables(connection))


# --- Tools and files ------------------------------------------------------------------------


def _tool(name: str) -> str:
    """The PostgreSQL client program ``name`` from PATH, or a message saying how to get it."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} was not found on PATH. Install the PostgreSQL client tools of the "
            f"server's major version (Debian: apt-get install postgresql-client-15) or add "
            f"their directory (e.g. /usr/lib/postgresql/15/bin) to PATH."
        )
    return path


def _run(command: list[str], database: Database, what: str) -> None:
    done = subprocess.run(
        command, env=database.libpq_env(), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        detail = done.stderr.strip()[-3000:] or f"exit status {done.returncode}"
        raise BackupError(f"{what} failed: {detail}")


class _HashingReader:
    """A file read through: the bytes tarfile copies are the bytes we hash."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file, self.digest = file, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.digest.update(data)
        return data


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _media_files(media_root: Path) -> Iterator[tuple[str, Path]]:
    """(path relative to MEDIA_ROOT, absolute path) of every regular file, in order."""
    if not media_root.is_dir():
        return
    for directory, subdirectories, files in os.walk(media_root):
        subdirectories.sort()
        for name in sorted(files):
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(media_root).as_posix(), path


def _opsai_version() -> str:
    try:
        return metadata.version("opsai")
    except metadata.PackageNotFoundError:
        return "unknown"


# --- Backup ---------------------------------------------------------------------------------


def _archive_path(output: Path | None) -> Path:
    stamp = datetime.now(tz=UTC).strftime("%Y%m%d-%H%M%S")
    name = f"opsai-{stamp}.tar"
    if output is None:
        return Path(settings.VAR_DIR) / "backups" / name
    return output / name if output.is_dir() or not output.suffix else output


@contextmanager
def _dumped(database: Database, dump: Path) -> Iterator[Contents]:
    """Dump the database to ``dump``; yield its contents as of the very same snapshot.

    The snapshot stays open while the block runs, so the files a row refers to are read
    from the state that was dumped.
    """
    if database.engine == "sqlite":
        source_path = Path(database.name)
        if not source_path.exists():
            raise BackupError(f"DATABASE_URL: there is no SQLite database at {source_path}")
        with (
            closing(sqlite3.connect(source_path)) as source,
            closing(sqlite3.connect(dump)) as copy,
        ):
            source.backup(copy)
            yield _contents(copy, _sqlite_tables(copy))
        return
    pg_dump = _tool("pg_dump")
    with database.connect_pg() as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        with connection.transaction():
            snapshot = connection.execute("SELECT pg_export_snapshot()").fetchone()[0]
            command = [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={dump}"]
            _run(command, database, "pg_dump")
            yield _contents(connection, _pg_tables(connection))


def _add_file(archive: tarfile.TarFile, path: Path, arcname: str) -> dict[str, Any]:
    info = archive.gettarinfo(path, arcname)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o644
    with path.open("rb") as file:
        reader = _HashingReader(file)
        try:
            archive.addfile(info, reader)  # type: ignore[arg-type]
        except OSError as error:
            raise BackupError(f"{path} changed while it was copied ({error}); try again") from error
    return {"size": info.size, "sha256": reader.digest.hexdigest()}


def _add_bytes(archive: tarfile.TarFile, arcname: str, data: bytes) -> None:
    info = tarfile.TarInfo(arcname)
    info.size, info.mode, info.mtime = len(data), 0o644, int(datetime.now(tz=UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def backup_create(*, output: Path | None = None) -> BackupResult:
    """Write one archive of the database and MEDIA_ROOT; return its path and manifest.

    The archive is written under a temporary name beside its final one and renamed when
    complete, so no half-written archive ever carries a backup's name.
    """
    database = Database.from_settings()
    media_root = Path(settings.MEDIA_ROOT).resolve()
    target = _archive_path(output).resolve()
    if target.is_relative_to(media_root):
        raise BackupError(f"--output {target} is inside MEDIA_ROOT; put backups elsewhere")
    target.parent.mkdir(parents=True, exist_ok=True)
    created_at = datetime.now(tz=UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".backup-") as staging:
        dump = Path(staging) / DUMP_NAMES[database.engine]
        partial = Path(staging) / target.name
        with (
            _dumped(database, dump) as contents,
            tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive,
        ):
            dump_entry = _add_file(archive, dump, dump.name)
            media = [
                {"path": relative, **_add_file(archive, path, f"{MEDIA}/{relative}")}
                for relative, path in _media_files(media_root)
            ]
            archived = {entry["path"] for entry in media}
            manifest = {
                "format": FORMAT,
                "created_at": created_at,
                "opsai_version": _opsai_version(),
                "database": {
                    "engine": database.engine,
                    "name": Path(database.name).name,
                    "file": dump.name,
                    **dump_entry,
                },
                "migrations": contents.migrations,
                "tables": contents.counts,
                "media": media,
                # Rows that already pointed at a missing file: reported, not a restore failure.
                "missing_files": sorted(contents.references - archived),
            }
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
        os.replace(partial, target)
    return BackupResult(path=target, manifest=manifest)


# --- Restore --------------------------------------------------------------------------------


@contextmanager
def _open_archive(path: Path) -> Iterator[tarfile.TarFile]:
    if not path.is_file():
        raise BackupError(f"there is no backup archive at {path}")
    try:
        with tarfile.open(path, "r:") as archive:
            archive.getmembers()  # reads every header now: a cut-short archive fails here
            yield archive
    except (tarfile.TarError, EOFError) as error:
        raise BackupError(
            f"{path} is not a readable tar archive ({error}): it is damaged or not an opsai "
            f"backup. Nothing was restored."
        ) from error


def _read_manifest(archive: tarfile.TarFile, path: Path) -> dict[str, Any]:
    try:
        member = archive.getmember(MANIFEST)
    except KeyError:
        raise BackupError(
            f"{path} has no {MANIFEST}: it is not an opsai backup, or it was cut short. "
            f"Nothing was restored."
        ) from None
    file = archive.extractfile(member)
    try:
        manifest = json.loads(file.read() if file else b"")
    except (ValueError, UnicodeDecodeError) as error:
        raise BackupError(f"{path}: {MANIFEST} is not valid JSON ({error})") from error
    expected = {"format", "database", "migrations", "tables", "media", "missing_files"}
    if not isinstance(manifest, dict) or not expected <= set(manifest):
        raise BackupError(f"{path}: {MANIFEST} lacks {sorted(expected - set(manifest or {}))}")
    if manifest["format"] != FORMAT:
        raise BackupError(
            f"{path}: archive format {manifest['format']!r}; this opsai reads format {FORMAT}"
        )
    return manifest


def _safe_media_path(name: str) -> str | None:
    """The path under MEDIA_ROOT of archive member ``name``, if it is a safe one."""
    parts = PurePosixPath(name).parts
    if len(parts) < 2 or parts[0] != MEDIA or any(part in {"", ".", ".."} for part in parts):
        return None
    return "/".join(parts[1:])


def _check_members(archive: tarfile.TarFile, manifest: dict[str, Any]) -> None:
    """Every member is the manifest, the dump or a listed file, and every listed one is there."""
    dump_name = manifest["database"]["file"]
    listed = {entry["path"] for entry in manifest["media"]}
    found = set()
    for member in archive.getmembers():
        if member.name in {MANIFEST, dump_name} and member.isfile():
            continue
        relative = _safe_media_path(member.name)
        if relative is None or not member.isfile() or relative not in listed:
            raise BackupError(
                f"unexpected entry {member.name!r} in the archive: it was altered or is not "
                f"an opsai backup. Nothing was restored."
            )
        found.add(relative)
    absent = sorted(listed - found) + ([] if dump_name in archive.getnames() else [dump_name])
    if absent:
        raise BackupError(
            f"the archive lacks {len(absent)} file(s) its manifest lists ({', '.join(absent[:5])}). "
            f"Nothing was restored."
        )


def _check_target(database: Database, manifest: dict[str, Any], *, force: bool) -> None:
    """Refuse a mismatched engine, a newer backup, or a target with data (unless forced)."""
    engine = manifest["database"]["engine"]
    if engine != database.engine:
        raise BackupError(
            f"this is a backup of a {ENGINE_LABELS.get(engine, engine)} database; DATABASE_URL "
            f"points to {ENGINE_LABELS[database.engine]}. Restore it into the same kind."
        )
    # Every migration file on disk, squashed and replaced ones included.
    known = {f"{app}.{name}" for app, name in MigrationLoader(None).disk_migrations}
    unknown = sorted(set(manifest["migrations"]) - known)
    if unknown and not force:
        raise BackupError(
            f"this backup was made by a newer opsai: {len(unknown)} migration(s) this code "
            f"does not know ({', '.join(unknown[:3])}). Restore it with that version, or pass "
            f"--force."
        )
    tables = _database_contents(database).counts
    if tables and not force:
        raise BackupError(
            f"the target database {database.name} is not empty ({len(tables)} tables, "
            f"{sum(tables.values()):,} rows). Restore fills an empty database only: create a new "
            f"one, or pass --force (make restore … FORCE=1) to replace its contents."
        )
    media_root = Path(settings.MEDIA_ROOT)
    if not force and next(_media_files(media_root), None) is not None:
        raise BackupError(
            f"MEDIA_ROOT {media_root} already holds files. Restore into an empty MEDIA_ROOT, "
            f"or pass --force to add the backup's files beside them (same names are replaced)."
        )


def _extract_checked(
    archive: tarfile.TarFile, manifest: dict[str, Any], staging: Path
) -> tuple[Path, Path]:
    """Extract the dump and the files into ``staging``, each checked against the manifest."""
    expected = {manifest["database"]["file"]: manifest["database"]}
    expected.update({f"{MEDIA}/{entry['path']}": entry for entry in manifest["media"]})
    for name, entry in expected.items():
        source = archive.extractfile(name)
        destination = staging / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with source, destination.open("wb") as out:  # type: ignore[union-attr]
            while chunk := source.read(CHUNK):  # type: ignore[union-attr]
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        if size != entry["size"] or digest.hexdigest() != entry["sha256"]:
            raise BackupError(
                f"{name} in the archive does not match its checksum in the manifest: the "
                f"archive is damaged. Nothing was restored."
            )
    return staging / manifest["database"]["file"], staging / MEDIA


def _restore_database(database: Database, dump: Path, *, force: bool, options: list[str]) -> None:
    if database.engine == "sqlite":
        target = Path(database.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(dump)) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)  # replaces the target's pages whole, in one step
        return
    command = [_tool("pg_restore"), "--no-owner", "--single-transaction", "--exit-on-error"]
    if force:
        command += ["--clean", "--if-exists"]
    command += [*options, f"--dbname={database.name}", str(dump)]
    try:
        _run(command, database, "pg_restore")
    except BackupError as error:
        raise BackupError(
            f"{error}\nThe restore ran in one transaction: nothing was restored."
        ) from error


def _place_media(staged: Path, media_root: Path) -> None:
    for relative, path in list(_media_files(staged)):
        destination = media_root / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, destination)


def _verify(database: Database, manifest: dict[str, Any], media_root: Path) -> Contents:
    """Count and hash again; raise with every difference from the manifest."""
    contents = _database_contents(database)
    problems = [
        f"table {label}: {contents.counts.get(label, 'no')} rows, the backup has {expected}"
        for label, expected in manifest["tables"].items()
        if contents.counts.get(label) != expected
    ]
    for entry in manifest["media"]:
        path = media_root / entry["path"]
        if not path.is_file():
            problems.append(f"file {entry['path']}: missing from MEDIA_ROOT")
        elif _sha256(path) != entry["sha256"]:
            problems.append(f"file {entry['path']}: its content differs from the backup")
    known_missing = set(manifest["missing_files"])
    problems += [
        f"file {reference}: a row refers to it but it is not in MEDIA_ROOT"
        for reference in sorted(contents.references - known_missing)
        if not (media_root / reference).is_file()
    ]
    if problems:
        raise BackupError(
            f"the restored data does not match the backup's manifest ({len(problems)} "
            f"difference(s)):\n  " + "\n  ".join(problems[:50])
        )
    return contents


def backup_restore(
    *, path: Path, force: bool = False, pg_restore_options: list[str] | None = None
) -> RestoreResult:
    """Restore an archive into DATABASE_URL and MEDIA_ROOT, then verify it against its manifest."""
    database = Database.from_settings()
    media_root = Path(settings.MEDIA_ROOT)
    with _open_archive(path) as archive:
        manifest = _read_manifest(archive, path)
        _check_members(archive, manifest)
        _check_target(database, manifest, force=force)
        if database.engine == "postgresql":
            _tool("pg_restore")  # before anything is extracted
        media_root.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=media_root.parent, prefix=".restore-") as staging:
            try:
                dump, staged_media = _extract_checked(archive, manifest, Path(staging))
            except (tarfile.TarError, EOFError) as error:
                raise BackupError(f"{path} is damaged ({error}). Nothing was restored.") from error
            _restore_database(database, dump, force=force, options=pg_restore_options or [])
            _place_media(staged_media, media_root)
    contents = _verify(database, manifest, media_root)
    known = {f"{app}.{name}" for app, name in MigrationLoader(None).graph.nodes}
    return RestoreResult(
        manifest=manifest,
        database=database.name,
        media_root=media_root,
        pending_migrations=sorted(known - set(contents.migrations)),
        extra_tables=sorted(set(contents.counts) - set(manifest["tables"])),
    )
