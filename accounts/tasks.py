"""django-q2 jobs of the accounts app; they call services and nothing else."""

import logging

from django.core.mail import send_mail

from accounts import ledger
from accounts.ledger import transfers
from accounts.models import User
from accounts.roles import ADMINISTRATORS_GROUP

logger = logging.getLogger(__name__)
RECONCILIATION_SCHEDULE = "Nightly ledger reconciliation"
TRANSFER_SCHEDULE = "Execute due transfers"


def transfers_execute_due() -> int:
    """Every minute: execute the approved transfers whose time has come."""
    return transfers.transfers_execute_due()


def reconcile_and_alert() -> ledger.Reconciliation:
    """Reconcile the ledger; on any difference, log it and e-mail every active administrator."""
    report = ledger.reconcile()
    if not report.clean:
        logger.error("ledger reconciliation found %d differences: %s", len(report.differences), report.differences)
        recipients = list(User.objects.filter(groups__name=ADMINISTRATORS_GROUP, is_active=True)
                          .values_list("email", flat=True))
        if recipients:
            send_mail(
                subject="[GX-ETS registry] Ledger reconciliation found differences",
                message="The nightly reconciliation found:\n\n" + "\n".join(report.differences),
                from_email=None, recipient_list=recipients,
            )
    return report
