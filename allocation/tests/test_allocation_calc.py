"""allocation_calc: scenarios in, explained allocation out; bad scenarios name the JSON path."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from allocation.engine.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.json"))


def run(*args):
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "allocation_calc", *map(str, args)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def example():
    return json.loads((ROOT / "docs/examples/steel_entity.json").read_text(encoding="utf-8"))


def test_there_are_documented_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_documented_example_loads(path):
    scenario = load_scenario(json.loads(path.read_text(encoding="utf-8")))
    assert scenario.entity.facilities


def test_json_output_lines_add_up_to_the_total():
    result = run(ROOT / "docs/examples/steel_entity.json", "--format", "json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    from decimal import Decimal

    total = sum(Decimal(line["amount"]) for line in payload["lines"])
    assert Decimal(payload["total_before_rounding"]) == total
    assert payload["total"] == int(total)
    assert {line["section"] for line in payload["lines"]} >= {"§5-2", "§5-3", "§6-1"}
    assert "computed from 4 entities" in payload["benchmark_provenance"]["steel.blast_furnace"]


def test_table_output_and_fy_option(tmp_path):
    result = run(ROOT / "docs/examples/steel_entity.json", "--fy", "2030")
    assert result.returncode == 0, result.stderr
    assert "Allocation FY2030" in result.stdout
    assert "1 - 0.017 x 5 years elapsed" in result.stdout


@pytest.mark.parametrize(("change", "path"), [
    (lambda d: d["entity"]["facilities"][0]["processes"][1]["years"][2].update(emissions_t="many"),
     "$.entity.facilities[0].processes[1].years[2].emissions_t"),
    (lambda d: d["entity"]["facilities"][1]["processes"][0]["years"][0].update(emissions_t="-5"),
     "$.entity.facilities[1].processes[0].years[0].emissions_t"),
    (lambda d: d["entity"]["facilities"][0].update(opened_on="1964/04/01"), "$.entity.facilities[0].opened_on"),
    (lambda d: d["entity"]["facilities"][0]["processes"][0].update(method="benchmark"),
     "$.entity.facilities[0].processes[0].method"),
    (lambda d: d["entity"]["facilities"][0]["processes"][0].update(sector_benchmark="steel.eaf"),
     "$.entity.facilities[0].processes[0].sector_benchmark"),
    (lambda d: d["parameters"]["by_year"]["2026"].update(gf_energy_rte="0.02"),
     "$.parameters.by_year.2026.gf_energy_rte"),
    (lambda d: d["entity"].pop("start_fy"), "$.entity.start_fy"),
    (lambda d: d["sector_benchmarks"][0]["intensities"][1].update(activity=[1]),
     "$.sector_benchmarks[0].intensities[1].activity"),
])
def test_a_bad_field_is_named_by_its_json_path(change, path):
    data = example()
    change(data)
    with pytest.raises(ScenarioError) as error:
        load_scenario(data)
    assert error.value.path == path


def test_command_exits_2_naming_the_path(tmp_path):
    data = example()
    data["entity"]["facilities"][0]["energy_use_kl"] = "lots"
    scenario = tmp_path / "bad.json"
    scenario.write_text(json.dumps(data), encoding="utf-8")
    result = run(scenario)
    assert result.returncode == 2
    assert "$.entity.facilities[0].energy_use_kl" in result.stderr


def test_command_exits_2_on_broken_json_and_missing_data(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert run(broken).returncode == 2
    data = example()
    del data["entity"]["facilities"][1]["processes"][0]["years"][1]
    gap = tmp_path / "gap.json"
    gap.write_text(json.dumps(data), encoding="utf-8")
    result = run(gap)
    assert result.returncode == 2
    assert "facility F002, process LK1, FY2024" in result.stderr
