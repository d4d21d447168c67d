"""Allocation's tables: the engine's inputs (facilities) and the FY's cycle (applications, runs, notices)."""

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

__all__ = [
    "FISCAL_YEAR_RANGE", "AllocationApplication", "AllocationNotice", "AllocationParameterSet", "AllocationRun",
    "ApplicationStatus", "EntityFinancials", "Facility", "FacilityEvent", "FacilitySuccession", "Prefecture",
    "Process", "ProcessYear", "SectorAllocationProfile", "SectorBenchmark", "SectorBenchmarkOfficialValue",
]
