"""``manage.py backup``: one archive of the database and the uploaded files (MEDIA_ROOT)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opsai.backup import ENGINE_LABELS, BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Write one tar archive holding the database (pg_dump -Fc, or a copy of the SQLite "
        "file), every file under MEDIA_ROOT and a manifest of row counts and SHA-256 sums."
    )
    requires_system_checks: list[str] = []  # a backup must run even when a check would fail

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            type=Path,
            default=None,
            help="archive path (….tar) or directory (default: var/backups/opsai-<UTC time>.tar)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = backup_create(output=options["output"])
        except (BackupError, OSError) as error:
            raise CommandError(f"backup failed: {error}") from error
        manifest = result.manifest
        database, media = manifest["database"], manifest["media"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup written: {result.path} ({result.path.stat().st_size:,} bytes)"
            )
        )
        self.stdout.write(
            f"  database: {ENGINE_LABELS[database['engine']]} {database['name']} — "
            f"{len(manifest['tables'])} tables, {sum(manifest['tables'].values()):,} rows, "
            f"{len(manifest['migrations'])} migrations applied"
        )
        self.stdout.write(
            f"  files:    {len(media)} files from MEDIA_ROOT, {sum(e['size'] for e in media):,} bytes"
        )
        if missing := manifest["missing_files"]:
            self.stdout.write(
                self.style.WARNING(
                    f"  warning:  {len(missing)} file(s) that rows refer to were already missing "
                    f"from MEDIA_ROOT: {', '.join(missing[:5])}"
                )
            )
