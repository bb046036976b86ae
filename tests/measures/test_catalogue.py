"""The `cspkit measure` contract: column names, output formats, accepted periods and the errors
a user sees, on the demo warehouse."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from cspkit.cli import app
from cspkit.measures.catalogue import MEASURES, run_measure

runner = CliRunner()
BEDFORD_2023 = ["--area", "Bedford", "--period", "2023"]


def measure(db, *args: str) -> pd.DataFrame:
    result = runner.invoke(app, ["measure", *args, "--db", str(db)])
    assert result.exit_code == 0, (result.output, result.exception)
    return pd.read_csv(io.StringIO(result.stdout))


def test_counts_csv_columns(demo_warehouse_path, bedfordshire_events):
    frame = measure(demo_warehouse_path, "counts", *BEDFORD_2023, "--by", "category",
                    "--format", "csv")
    assert list(frame.columns[:3]) == ["category", "count", "rate_per_1000"]
    rows = bedfordshire_events[(bedfordshire_events["lad_code"] == "E06000055")
                               & bedfordshire_events["month"].str.startswith("2023-")]
    assert frame["count"].sum() == len(rows)


def test_change_csv_columns(demo_warehouse_path):
    frame = measure(demo_warehouse_path, "change", *BEDFORD_2023, "--baseline", "2022",
                    "--format", "csv")
    assert list(frame.columns[:3]) == ["category", "count", "baseline_count"]
    assert {"pct_change", "p_value", "verdict"} <= set(frame.columns)


def test_wards_csv_columns(demo_warehouse_path):
    frame = measure(demo_warehouse_path, "wards", *BEDFORD_2023, "--baseline", "2022",
                    "--category", "Anti-social behaviour", "--format", "csv")
    assert list(frame.columns[:4]) == ["ward_code", "ward_name", "count", "baseline_count"]
    assert "change" in frame.columns
    assert len(frame) == 28
    assert (frame["change"] == frame["count"] - frame["baseline_count"]).all()


def test_json_output_parses(demo_warehouse_path):
    result = runner.invoke(app, ["measure", "counts", *BEDFORD_2023, "--format", "json",
                                 "--db", str(demo_warehouse_path)])
    assert result.exit_code == 0, (result.output, result.exception)
    records = json.loads(result.stdout)
    assert isinstance(records, list) and records
    assert {"category", "count", "rate_per_1000"} <= set(records[0])


@pytest.mark.parametrize(("period", "label", "months"),
                         [("2023/24", "2023/24", 12),
                          ("2023-01..2023-06", "Jan 2023 to Jun 2023", 6)])
def test_period_forms_accepted(demo_warehouse_path, bedfordshire_events, period, label,
                               months):
    frame = measure(demo_warehouse_path, "counts", "--area", "Bedford", "--period", period,
                    "--format", "csv")
    assert (frame["period"] == label).all()
    assert (frame["months_in_data"] == months).all()
    first = "2023-04" if period == "2023/24" else "2023-01"
    wanted = [str(p) for p in pd.period_range(first, periods=months, freq="M")]
    rows = bedfordshire_events[(bedfordshire_events["lad_code"] == "E06000055")
                               & bedfordshire_events["month"].isin(wanted)]
    assert frame["count"].sum() == len(rows)


def cli(db, *args: str, seed: str | None = None) -> subprocess.CompletedProcess[str]:
    """The installed entry point (`main`), which turns user errors into exit status 2."""
    env = {**os.environ, "COLUMNS": "200"}
    if seed is not None:
        env["PYTHONHASHSEED"] = seed
    return subprocess.run([sys.executable, "-m", "cspkit.cli", "measure", *args, "--db",
                           str(db)], capture_output=True, text=True, env=env)


def test_bad_area_name_exits_2_and_suggests(demo_warehouse_path):
    result = cli(demo_warehouse_path, "counts", "--area", "Bedfrod", "--period", "2023")
    assert result.returncode == 2, result.stderr
    assert "Did you mean" in result.stderr and "Bedford" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_measure_is_a_clear_error(demo_warehouse, demo_warehouse_path):
    with pytest.raises(ValueError, match="no measure called 'crimes'") as caught:
        run_measure(demo_warehouse, "crimes", area="Bedford", period="2023")
    assert all(name in str(caught.value) for name in MEASURES)
    result = cli(demo_warehouse_path, "crimes", "--area", "Bedford", "--period", "2023")
    assert result.returncode == 2
    assert "no measure called 'crimes'" in result.stderr and "counts" in result.stderr
    assert "Traceback" not in result.stderr


def test_change_output_is_the_same_on_every_run(demo_warehouse_path):
    args = ("change", *BEDFORD_2023, "--baseline", "2022", "--format", "csv")
    first, second = cli(demo_warehouse_path, *args, seed="0"), cli(demo_warehouse_path,
                                                                    *args, seed="1")
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout


def test_the_light_list_of_names_matches_the_catalogue():
    """The CLI's help reads measure_names without importing the measures: it must list exactly
    the catalogue's measures, with the catalogue's descriptions."""
    from cspkit.measures.catalogue import MEASURES
    from cspkit.measures.measure_names import DESCRIPTIONS, PORTABLE

    assert list(DESCRIPTIONS) == list(MEASURES)
    assert {name: text for name, (text, _) in MEASURES.items()} == DESCRIPTIONS
    assert set(PORTABLE) <= set(MEASURES)
