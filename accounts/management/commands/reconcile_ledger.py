"""python manage.py reconcile_ledger — prove the ledger adds up; exit 1 and alert on any difference."""

import sys

from django.core.management.base import BaseCommand

from accounts.tasks import reconcile_and_alert


class Command(BaseCommand):
    help = ("Check that entries equal balances, each unit sums to zero, issued = held + retired + cancelled and "
            "nothing but the issuance account is below zero; alert administrators otherwise.")

    def handle(self, *args, **options):
        report = reconcile_and_alert()
        for unit, (issued, held, retired, cancelled) in sorted(report.units.items()):
            self.stdout.write(f"{unit}: issued {issued:,} = held {held:,} + retired {retired:,} "
                              f"+ cancelled {cancelled:,}")
        if report.clean:
            self.stdout.write(self.style.SUCCESS("Ledger reconciles."))
            return
        for difference in report.differences:
            self.stderr.write(difference)
        sys.exit(1)
