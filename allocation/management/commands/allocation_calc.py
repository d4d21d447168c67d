"""python manage.py allocation_calc SCENARIO.json [--fy 2027] [--format json|table]

Prints an entity's allocation, line by line, from a scenario file (docs/allocation-scenarios.md).
No database is read or written. A bad scenario exits with status 2 and names the JSON path.
"""

import json
import sys
from dataclasses import asdict
from decimal import Decimal

from django.core.management.base import BaseCommand

from allocation.engine import EngineInputError, ParameterMissing, allocate
from allocation.engine.scenario import ScenarioError, load_scenario


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value))


def render_table(allocation, provenance) -> str:
    rows = [("facility", "process", "method", "baseline", "factor", "amount", "rule")]
    for line in allocation.lines:
        rows.append((
            line.facility or "—", line.process or "—", line.kind.value,
            "" if line.baseline is None else f"{line.baseline:,.3f} {line.baseline_unit}",
            "" if line.factor is None else f"{line.factor:.6f}",
            f"{line.amount:,.3f}", f"{line.section} {line.rule}",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    out = []
    for number, row in enumerate(rows):
        cells = [row[i].rjust(widths[i]) if i in (3, 4, 5) else row[i].ljust(widths[i]) for i in range(6)]
        out.append("  ".join(cells) + "  " + row[6])
        if number == 0:
            out.append("-" * (sum(widths) + 12 + len(row[6])))
    out.append("")
    out.append(f"Total before rounding: {allocation.total_before_rounding:,.6f} t-CO2")
    out.append(f"Allocation FY{allocation.fiscal_year} ({allocation.corporate_number}): {allocation.total:,} allowances")
    for line in allocation.lines:
        out.append(f"  [{line.kind.value} {line.facility or ''} {line.process or ''}] baseline: "
                   f"{line.baseline_derivation or '—'}; factor: {line.factor_derivation or '—'}")
    for key, text in provenance.items():
        out.append(f"  benchmark {key}: {text}")
    for note in allocation.notes:
        out.append(f"  note: {note}")
    return "\n".join(out)


class Command(BaseCommand):
    help = "Compute an allocation from a JSON scenario and print the breakdown."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("scenario", help="path to the scenario JSON file")
        parser.add_argument("--fy", type=int, help="fiscal year (overrides the scenario's fiscal_year)")
        parser.add_argument("--format", choices=["json", "table"], default="table")

    def handle(self, *args, scenario, fy, format, **options):
        try:
            with open(scenario, encoding="utf-8") as handle:
                data = json.load(handle)
        except OSError as error:
            self._fail(f"{scenario}: {error.strerror}")
        except json.JSONDecodeError as error:
            self._fail(f"{scenario}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})")
        try:
            loaded = load_scenario(data)
        except ScenarioError as error:
            self._fail(f"{scenario}: {error}")
        year = fy or loaded.fiscal_year
        if year is None:
            self._fail(f"{scenario}: $.fiscal_year: give the fiscal year in the scenario or with --fy")
        try:
            allocation = allocate(loaded.entity, year, loaded.benchmarks, loaded.parameters)
        except (EngineInputError, ParameterMissing) as error:
            self._fail(f"{scenario}: {error}")
        if format == "json":
            payload = asdict(allocation)
            payload["benchmark_provenance"] = loaded.provenance
            self.stdout.write(json.dumps(payload, default=_json_default, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(render_table(allocation, loaded.provenance))

    def _fail(self, message):
        self.stderr.write(message)
        sys.exit(2)
