"""The allocation engine: pure Python, no Django (§5, §6 of the interim report).

    from allocation.engine import allocate
    allocation = allocate(entity, 2027, benchmarks, parameters)

Inputs are the frozen dataclasses of ``inputs``; parameters come from ``parameters``.
The web workflow reaches the engine only through ``allocation.adapter``.
"""

from allocation.engine.benchmarks import (
    IntensityPoint,
    Level,
    activity_weighted_level,
    benchmark_value,
    sector_levels,
)
from allocation.engine.calculate import (
    CORRECTING_KINDS,
    Allocation,
    AllocationLine,
    EngineInputError,
    LineKind,
    allocate,
)
from allocation.engine.inputs import (
    EarlyReduction,
    EmissionType,
    Entity,
    EventKind,
    Facility,
    FacilityEvent,
    Financials,
    Method,
    Process,
    RDCategory,
    SectorBenchmark,
    Succession,
    SuccessionKind,
    YearData,
)
from allocation.engine.parameters import ParameterMissing, Parameters, YearParameters

__all__ = [
    "CORRECTING_KINDS", "Allocation", "AllocationLine", "EarlyReduction", "EmissionType", "EngineInputError",
    "Entity", "EventKind", "Facility", "FacilityEvent", "Financials", "IntensityPoint", "Level", "LineKind",
    "Method", "ParameterMissing", "Parameters", "Process", "RDCategory", "SectorBenchmark", "Succession",
    "SuccessionKind", "YearData", "YearParameters", "activity_weighted_level", "allocate", "benchmark_value",
    "sector_levels",
]
