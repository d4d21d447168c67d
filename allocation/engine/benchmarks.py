"""Sector benchmark levels and their yearly path (§5-2)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from allocation.engine.inputs import ZERO, SectorBenchmark
from allocation.engine.parameters import Parameters

TOP_50 = Decimal("50")
TOP_32_5 = Decimal("32.5")


class BenchmarkDataError(ValueError):
    pass


@dataclass(frozen=True)
class IntensityPoint:
    """One entity's intensity (t-CO2 per unit) and activity for a sector benchmark."""

    entity: str
    intensity: Decimal
    activity: Decimal


@dataclass(frozen=True)
class Level:
    """The top-X % level with where it was read off the cumulative activity curve."""

    percent: Decimal
    value: Decimal
    entity: str
    cumulative_share: Decimal  # share of sector activity at and below this entity's intensity


def activity_weighted_level(points: Iterable[IntensityPoint], percent: Decimal) -> Level:
    """The intensity at which the best performers cover ``percent`` % of the sector's activity.

    Entities are ordered from the lowest intensity; the level is the intensity of the first
    entity whose cumulative activity reaches the share (a step, no interpolation between
    entities: the level is always an intensity some entity really achieved).
    """
    ordered = sorted((p for p in points if p.activity > 0), key=lambda p: (p.intensity, p.entity))
    if not ordered:
        raise BenchmarkDataError("no entity with activity above zero")
    if any(p.intensity < 0 for p in ordered):
        raise BenchmarkDataError("an intensity is below zero")
    total = sum((p.activity for p in ordered), ZERO)
    share_needed = percent / Decimal(100)
    cumulative = ZERO
    for point in ordered:
        cumulative += point.activity
        if cumulative / total >= share_needed:
            return Level(percent, point.intensity, point.entity, cumulative / total)
    last = ordered[-1]  # unreachable: cumulative reaches 1
    return Level(percent, last.intensity, last.entity, Decimal(1))


def sector_levels(points: Iterable[IntensityPoint]) -> tuple[Level, Level]:
    points = list(points)
    return activity_weighted_level(points, TOP_50), activity_weighted_level(points, TOP_32_5)


@dataclass(frozen=True)
class BenchmarkValue:
    value: Decimal
    derivation: str


def benchmark_value(benchmark: SectorBenchmark, fy: int, parameters: Parameters) -> BenchmarkValue:
    """The benchmark for ``fy``: an official value if set, else the §5-2 path.

    The path starts at the top-50 % level in the base year (FY2025) and reaches the FY2030
    target linearly; the same path serves entities whatever year they join.
    """
    if fy in benchmark.official:
        return BenchmarkValue(benchmark.official[fy], f"official value for FY{fy}")
    p = parameters.for_year(fy)
    base_fy = p.bm_base_fy
    special = fy <= p.bm_special_measure_last_fy
    target = benchmark.top_32_5
    target_text = f"top 32.5 % {benchmark.top_32_5}"
    if special:
        floor = benchmark.top_50 * p.bm_special_measure_factor
        if floor > target:
            target = floor
            target_text = f"special measure: top 50 % {benchmark.top_50} x {p.bm_special_measure_factor} = {floor}"
    steps = p.bm_target_fy - base_fy
    elapsed = fy - base_fy
    if elapsed >= steps or steps <= 0:
        return BenchmarkValue(target, f"FY{fy} target, {target_text}")
    if elapsed <= 0:
        return BenchmarkValue(benchmark.top_50, f"baseline level, top 50 % {benchmark.top_50}")
    value = benchmark.top_50 + (target - benchmark.top_50) * Decimal(elapsed) / Decimal(steps)
    return BenchmarkValue(
        value,
        f"top 50 % {benchmark.top_50} + ({target_text} - {benchmark.top_50}) x {elapsed}/{steps}",
    )
