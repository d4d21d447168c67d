"""The verification app's models, by subject; import them from here."""

from verification.models.bodies import (
    ActivityReport,
    ConflictDeclaration,
    ExpiryReminder,
    RegistrationApplication,
    RequirementEvidence,
    VerificationBody,
)
from verification.models.engagements import Engagement, Misstatement, Opinion, WorkLogEntry
from verification.models.reports import CoverageDecision, EmissionFactor, EmissionsLine, EmissionsReport

__all__ = [
    "ActivityReport", "ConflictDeclaration", "CoverageDecision", "EmissionFactor", "EmissionsLine",
    "EmissionsReport", "Engagement", "ExpiryReminder", "Misstatement", "Opinion", "RegistrationApplication",
    "RequirementEvidence", "VerificationBody", "WorkLogEntry",
]
