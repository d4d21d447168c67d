"""Small builders for engine inputs, so each test states only what its rule reads."""

from datetime import date
from decimal import Decimal

from allocation.engine import (
    EmissionType,
    Entity,
    Facility,
    Method,
    Parameters,
    Process,
    SectorBenchmark,
    YearData,
    YearParameters,
)

D = Decimal
STEEL = "steel"


def params(**changes) -> Parameters:
    changes.setdefault("gf_process_rate", D("0.010"))
    by_year = changes.pop("by_year", {})
    return Parameters(YearParameters(**changes), by_year)


def no_special_measure(**changes) -> Parameters:
    """The report's plain path example (1.50 ... 1.20) is drawn without the special measure."""
    return params(bm_special_measure_last_fy=2025, **changes)


def benchmark(top_50="1.50", top_32_5="1.20", key=STEEL, kind=Method.PRODUCT_BENCHMARK, **extra) -> SectorBenchmark:
    return SectorBenchmark(key, kind, D(top_50), D(top_32_5), **extra)


def years(values, start=2023, field="both", **extra):
    """YearData for consecutive FYs; ``field`` says whether values are activity, emissions or both."""
    out = []
    for i, value in enumerate(values):
        if value is None:
            continue
        v = D(str(value))
        kwargs = dict(extra)
        if field in ("both", "activity"):
            kwargs["activity"] = v
        if field == "fuel":
            kwargs["fuel_input_gj"] = v
        emissions = v if field in ("both", "emissions", "fuel") else D(0)
        out.append(YearData(start + i, emissions, **kwargs))
    return tuple(out)


def gf(values, code="P1", emission_type=EmissionType.ENERGY, start=2023, field="emissions", **extra) -> Process:
    return Process(code, code, Method.GRANDFATHERING, emission_type, years(values, start, field, **extra))


def product_bm(values, code="P1", start=2023, key=STEEL, **extra) -> Process:
    mix = extra.pop("product_mix_factor", D(1))
    return Process(code, code, Method.PRODUCT_BENCHMARK, EmissionType.ENERGY, years(values, start, "both", **extra),
                   sector_benchmark=key, product_mix_factor=mix)


def facility(*processes, code="F1", energy_use_kl="50000", opened_on=None, closed_on=None, **extra) -> Facility:
    return Facility(code, code, D(energy_use_kl), tuple(processes), opened_on=opened_on, closed_on=closed_on, **extra)


def entity(*facilities, start_fy=2026, **extra) -> Entity:
    return Entity("5010401089234", "Entity", start_fy, tuple(facilities), **extra)


def lines_of(allocation, kind=None, process=None):
    return [line for line in allocation.lines
            if (kind is None or line.kind == kind) and (process is None or line.process == process)]


def one(allocation, kind, process=None):
    found = lines_of(allocation, kind, process)
    assert len(found) == 1, (kind, allocation.lines)
    return found[0]


def fy_days(fy: int) -> int:
    return (date(fy + 1, 4, 1) - date(fy, 4, 1)).days
