"""A readable name for django-pghistory in the back office (its own app config has none)."""

from django.utils.translation import gettext_lazy as _
from pghistory.apps import PGHistoryConfig


class AuditTrailConfig(PGHistoryConfig):
    """django-pghistory (the audit trail), headed in the reader's language instead of "PGHISTORY"."""

    verbose_name = _("Audit trail")
