"""Allocation's tables: the engine's inputs (facilities), the FY's cycle (applications, runs, notices) and
transition plans."""

from allocation.models.cycle import (
    AllocationApplication,
    AllocationNotice,
    AllocationRun,
    ApplicationStatus,
)
from allocation.models.facilities import (
    FISCAL_YEAR_RANGE,
    AllocationParameterSet,
    EntityFinancials,
    Facility,
    FacilityEvent,
    FacilitySuccession,
    Prefecture,
    Process,
    ProcessYear,
    SectorAllocationProfile,
    SectorBenchmark,
    SectorBenchmarkOfficialValue,
)
from allocation.models.plans import (
    PROJECTION_YEARS,
    PUBLIC_PROJECTION_YEAR,
    PlanDocument,
    PlanEmissions,
    PlanInvestment,
    PlanResearch,
    TransitionPlan,
)

__all__ = [
    "FISCAL_YEAR_RANGE", "AllocationApplication", "AllocationNotice", "AllocationParameterSet", "AllocationRun",
    "ApplicationStatus", "EntityFinancials", "Facility", "FacilityEvent", "FacilitySuccession", "Prefecture",
    "Process", "ProcessYear", "SectorAllocationProfile", "SectorBenchmark", "SectorBenchmarkOfficialValue",
    "PROJECTION_YEARS", "PUBLIC_PROJECTION_YEAR", "PlanDocument", "PlanEmissions", "PlanInvestment", "PlanResearch",
    "TransitionPlan",
]
