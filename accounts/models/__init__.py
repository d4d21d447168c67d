"""The accounts app's models, by subject; Django and every caller import them from here."""

from accounts.models.compliance import (  # noqa: F401
    CompliancePeriod,
    EmissionsSource,
    PenaltyAssessment,
    SurrenderRecord,
    SurrenderRecordQuerySet,
    UpperLimitPayment,
    VerifiedEmissions,
)
from accounts.models.identity import (  # noqa: F401
    CloseStakeholder,
    JointNotificationGroup,
    Membership,
    Organisation,
    OrganisationGroupObjectPermission,
    OrganisationUserObjectPermission,
    Sector,
    User,
    UserManager,
    audited,
)
from accounts.models.ledger import (  # noqa: F401
    CASH_KINDS,
    CREDIT_TYPES,
    GOVERNMENT_KINDS,
    HELD_UNIT_CHOICES,
    SOURCE_KINDS,
    YEN_VINTAGE,
    Balance,
    BookingRequest,
    CreditBatch,
    DailyBalanceChange,
    HoldingAccount,
    LedgerEntry,
    LedgerTransaction,
    TransferRequest,
    TrustedAccount,
    UnitType,
)
