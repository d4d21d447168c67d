"""django-q2 jobs of the verification app; they call services and nothing else."""

from verification.services import bodies

EXPIRY_REMINDER_SCHEDULE = "Verification body expiry reminders"


def expiry_reminders_send() -> int:
    """Daily: remind bodies whose registration ends in 180, 90 or 30 days (each reminder once)."""
    return bodies.expiry_reminders_send()
