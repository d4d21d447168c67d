"""python manage.py registry_backup /backups — a consistent backup of the database and the private files."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gxregistry import backup


class Command(BaseCommand):
    help = "Write a backup folder (database dump, private files, manifest with SHA-256s) under the given folder."

    def add_arguments(self, parser):
        parser.add_argument("destination", type=Path)

    def handle(self, *args, destination, **options):
        try:
            folder = backup.backup(destination)
        except backup.BackupError as error:
            raise CommandError(str(error)) from error
        described = backup.manifest(folder)
        self.stdout.write(self.style.SUCCESS(
            f"Backup written to {folder} (ledger up to transaction {described['ledger_last_transaction']})."))
