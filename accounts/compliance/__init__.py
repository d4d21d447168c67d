"""Compliance: each entity's obligation for a FY, surrender, upper-limit payments, penalties, and the
public registry report (domain.md: Compliance and prices). ``services`` holds the rules; ``views`` the pages.

``from accounts import compliance`` gives the services' public API.
"""

from accounts.compliance.services import (  # noqa: F401 - the package's public API
    REGISTRY_REPORT_HEADERS,
    ComplianceCard,
    RegistryReportRow,
    compliance_card,
    compliance_year,
    credit_cap,
    penalty_assess,
    period,
    registry_report,
    registry_report_rows,
    surrender,
    surrender_check,
    upper_limit_payment_confirm,
    upper_limit_payment_record,
    verified_emissions_record,
)
