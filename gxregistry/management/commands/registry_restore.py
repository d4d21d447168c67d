"""python manage.py registry_restore /backups/gxregistry-… — restore a backup into an empty database."""

from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from gxregistry import backup


class Command(BaseCommand):
    help = ("Check a backup's SHA-256s, restore it into the (empty) database of DATABASE_URL and the private files "
            "into their folder, then reconcile the ledger.")

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)

    def handle(self, *args, folder, **options):
        try:
            described = backup.restore(folder)
        except backup.BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Restored the backup of {described['created_at']} (ledger up to transaction "
                          f"{described['ledger_last_transaction']}).")
        call_command("reconcile_ledger", stdout=self.stdout, stderr=self.stderr)
