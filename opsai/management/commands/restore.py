"""``manage.py restore ARCHIVE``: restore a backup into DATABASE_URL and MEDIA_ROOT, then verify it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opsai.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restore an archive written by `manage.py backup` into an empty database and "
        "MEDIA_ROOT, then check every table's row count and every file's SHA-256 against "
        "its manifest."
    )
    requires_system_checks: list[str] = []  # the target may be an empty database

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path, help="the .tar file `manage.py backup` wrote")
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace the contents of a database that is not empty (pg_restore --clean) "
            "and add files to a MEDIA_ROOT that is not empty",
        )
        parser.add_argument(
            "--role", default="", help="pg_restore --role: the role that creates the objects"
        )
        parser.add_argument(
            "--no-privileges",
            action="store_true",
            help="pg_restore --no-privileges: skip GRANTs (for roles the target server lacks)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        pg_options = [f"--role={options['role']}"] if options["role"] else []
        if options["no_privileges"]:
            pg_options.append("--no-privileges")
        try:
            result = backup_restore(
                path=options["archive"], force=options["force"], pg_restore_options=pg_options
            )
        except (BackupError, OSError) as error:
            raise CommandError(f"restore failed: {error}") from error
        manifest = result.manifest
        tables, media = manifest["tables"], manifest["media"]
        self.stdout.write(
            f"Restored {options['archive']} (made {manifest.get('created_at', '?')} by opsai "
            f"{manifest.get('opsai_version', '?')}) into {result.database}:"
        )
        self.stdout.write(
            f"  database: {len(tables)} tables, {sum(tables.values()):,} rows — every row "
            f"count matches the manifest"
        )
        self.stdout.write(
            f"  files:    {len(media)} files, {sum(e['size'] for e in media):,} bytes in "
            f"{result.media_root} — every SHA-256 matches, every file a row refers to is there"
        )
        if missing := manifest["missing_files"]:
            self.stdout.write(
                self.style.WARNING(
                    f"  note:     {len(missing)} file(s) rows refer to were already missing "
                    f"when the backup was made: {', '.join(missing[:5])}"
                )
            )
        if result.extra_tables:
            self.stdout.write(
                self.style.WARNING(
                    f"  note:     tables not in the backup were left as they were: "
                    f"{', '.join(result.extra_tables[:10])}"
                )
            )
        if result.pending_migrations:
            self.stdout.write(
                self.style.WARNING(
                    f"  next:     this code has {len(result.pending_migrations)} migration(s) "
                    f"the backup predates: run `python manage.py migrate`"
                )
            )
        self.stdout.write(self.style.SUCCESS("Verified against the manifest."))
