"""Scenarios: an entity, its sector benchmarks and parameters as JSON (docs/allocation-scenarios.md).

``load_scenario`` turns the JSON into engine inputs; any bad field raises ScenarioError naming
its JSON path (``$.entity.facilities[0].processes[1].years[2].emissions_t``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum

from allocation.engine.benchmarks import BenchmarkDataError, IntensityPoint, sector_levels
from allocation.engine.inputs import Entity, Method, SectorBenchmark
from allocation.engine.parameters import Parameters, YearParameters


class ScenarioError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Scenario:
    entity: Entity
    benchmarks: dict[str, SectorBenchmark]
    parameters: Parameters
    fiscal_year: int | None
    provenance: dict[str, str]


def _convert(value, kind, path: str):
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        if value is None:
            return None
        return _convert(value, options[0], path)
    if kind is Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ScenarioError(path, "must be a number (a string such as \"1.25\" keeps every digit)")
        try:
            result = Decimal(str(value))
        except InvalidOperation:
            raise ScenarioError(path, f"{value!r} is not a number") from None
        if not result.is_finite():
            raise ScenarioError(path, "must be a finite number")
        return result
    if kind is bool:
        if not isinstance(value, bool):
            raise ScenarioError(path, "must be true or false")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(path, "must be a whole number")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ScenarioError(path, "must be a string")
        return value
    if kind is date:
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ScenarioError(path, "must be a date as YYYY-MM-DD") from None
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(item.value for item in kind)
            raise ScenarioError(path, f"{value!r} is not one of: {allowed}") from None
    if origin is tuple:
        if not isinstance(value, list):
            raise ScenarioError(path, "must be a list")
        item_kind = typing.get_args(kind)[0]
        return tuple(_convert(item, item_kind, f"{path}[{i}]") for i, item in enumerate(value))
    if origin in (Mapping, dict, typing.Mapping):
        key_kind, value_kind = typing.get_args(kind)
        if not isinstance(value, dict):
            raise ScenarioError(path, "must be an object")
        result = {}
        for key, item in value.items():
            if key_kind is int:
                try:
                    converted_key = int(key)
                except ValueError:
                    raise ScenarioError(f"{path}.{key}", "key must be a fiscal year such as \"2027\"") from None
            else:
                converted_key = _convert(key, key_kind, f"{path}.{key}")
            result[converted_key] = item if value_kind is object else _convert(item, value_kind, f"{path}.{key}")
        return result
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, path)
    raise ScenarioError(path, f"unsupported type {kind}")  # a programming error, not bad input


def _build(cls, data, path: str, skip: frozenset[str] = frozenset()):
    if not isinstance(data, dict):
        raise ScenarioError(path, "must be an object")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(known) - skip
    if unknown:
        name = sorted(unknown)[0]
        raise ScenarioError(f"{path}.{name}", f"unknown field; expected one of: {', '.join(known)}")
    values = {}
    for name, f in known.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ScenarioError(f"{path}.{name}", "is required")
            continue
        values[name] = _convert(data[name], hints[name], f"{path}.{name}")
    return cls(**values)


def _parameters(data, path: str) -> Parameters:
    if data is None:
        return Parameters()
    if not isinstance(data, dict):
        raise ScenarioError(path, "must be an object")
    unknown = set(data) - {"default", "by_year"}
    if unknown:
        raise ScenarioError(f"{path}.{sorted(unknown)[0]}", "unknown field; expected default or by_year")
    default = _build(YearParameters, data.get("default", {}), f"{path}.default")
    by_year = {}
    for key, changes in (data.get("by_year") or {}).items():
        year_path = f"{path}.by_year.{key}"
        try:
            fy = int(key)
        except ValueError:
            raise ScenarioError(year_path, "key must be a fiscal year such as \"2027\"") from None
        by_year[fy] = parameter_changes(changes, year_path)
    return Parameters(default, by_year)


def parameter_changes(changes, path: str) -> dict:
    """Parameter names and JSON values checked and converted (scenario files and the database)."""
    if not isinstance(changes, dict):
        raise ScenarioError(path, "must be an object")
    hints = typing.get_type_hints(YearParameters)
    converted = {}
    for name, value in changes.items():
        if name not in hints:
            raise ScenarioError(f"{path}.{name}", "unknown parameter")
        converted[name] = _convert(value, hints[name], f"{path}.{name}")
    return converted


def _benchmark(data, path: str) -> tuple[SectorBenchmark, str]:
    """A sector benchmark given by its levels, or by the sector's intensity data to compute them."""
    if not isinstance(data, dict):
        raise ScenarioError(path, "must be an object")
    if "intensities" in data:
        points = _convert(data["intensities"], tuple[IntensityPoint, ...], f"{path}.intensities")
        try:
            top_50, top_32_5 = sector_levels(points)
        except BenchmarkDataError as error:
            raise ScenarioError(f"{path}.intensities", str(error)) from None
        fields = {k: v for k, v in data.items() if k != "intensities"}
        fields.update(top_50=str(top_50.value), top_32_5=str(top_32_5.value))
        provenance = (f"computed from {len(points)} entities: top 50 % {top_50.value} ({top_50.entity}, "
                      f"cumulative {top_50.cumulative_share:.3f}), top 32.5 % {top_32_5.value} ({top_32_5.entity}, "
                      f"cumulative {top_32_5.cumulative_share:.3f})")
    else:
        fields, provenance = data, "levels given in the scenario"
    benchmark = _build(SectorBenchmark, fields, path)
    if benchmark.kind not in (Method.PRODUCT_BENCHMARK, Method.FUEL_BENCHMARK):
        raise ScenarioError(f"{path}.kind", "must be product_bm or fuel_bm")
    return benchmark, provenance


def load_scenario(data) -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError("$", "a scenario is a JSON object")
    unknown = set(data) - {"fiscal_year", "entity", "sector_benchmarks", "parameters", "description"}
    if unknown:
        raise ScenarioError(f"$.{sorted(unknown)[0]}", "unknown field")
    if "entity" not in data:
        raise ScenarioError("$.entity", "is required")
    fiscal_year = _convert(data.get("fiscal_year"), int | None, "$.fiscal_year")
    parameters = _parameters(data.get("parameters"), "$.parameters")
    benchmarks, provenance = {}, {}
    raw = data.get("sector_benchmarks", [])
    if not isinstance(raw, list):
        raise ScenarioError("$.sector_benchmarks", "must be a list")
    for i, item in enumerate(raw):
        benchmark, text = _benchmark(item, f"$.sector_benchmarks[{i}]")
        benchmarks[benchmark.key] = benchmark
        provenance[benchmark.key] = text
    entity = _build(Entity, data["entity"], "$.entity")
    for f, facility in enumerate(entity.facilities):
        for p, process in enumerate(facility.processes):
            where = f"$.entity.facilities[{f}].processes[{p}]"
            if process.method != Method.GRANDFATHERING and process.sector_benchmark not in benchmarks:
                raise ScenarioError(f"{where}.sector_benchmark",
                                    f"{process.sector_benchmark!r} is not in $.sector_benchmarks")
            for y, year in enumerate(process.years):
                for name in ("emissions_t", "activity", "fuel_input_gj", "by_product_fuel_gj",
                             "by_product_fuel_supplied_gj", "purchased_electricity_mwh"):
                    value = getattr(year, name)
                    if value is not None and value < 0:
                        raise ScenarioError(f"{where}.years[{y}].{name}", "must not be negative")
    return Scenario(entity, benchmarks, parameters, fiscal_year, provenance)
