"""The command line: help with examples everywhere, and the JSON status contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cspkit.cli import app

runner = CliRunner()

COMMANDS = [[], ["demo"], ["status"], ["area"], ["ingest"], ["ingest", "police"],
            ["ingest", "reference"], ["fetch"], ["fetch", "police"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "cspkit")
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Example" in result.output and "cspkit " in result.output


def test_console_script_runs():
    script = Path(sys.executable).parent / "cspkit"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True,
                            env={**os.environ, "COLUMNS": "200"})
    assert "strategic assessment" in result.stdout


def test_ingest_then_status_json_contract(tmp_path, cambridgeshire_zip):
    db = str(tmp_path / "w.duckdb")
    result = runner.invoke(app, ["ingest", "police", str(cambridgeshire_zip), "--db", db])
    assert result.exit_code == 0, result.output
    assert "rows in 74,730 = loaded 74,730 + quarantined 0" in result.output
    result = runner.invoke(app, ["status", "--db", db, "--format", "json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert {"file", "rows_in", "rows_loaded", "rows_quarantined"} <= set(status["ingests"][0])
    months = status["force_months"]
    assert {"force", "month", "rows", "unlocated"} <= set(months[0])
    assert months[0]["force"] == "cambridgeshire" and months[0]["month"] == "2018-03"
    assert sum(m["rows"] for m in months) == 53_596


def test_user_errors_exit_2_with_a_message_naming_the_file(tmp_path):
    bad = tmp_path / "page.csv"
    bad.write_text("<html><body>Not found</body></html>")
    result = subprocess.run([sys.executable, "-m", "cspkit.cli", "ingest", "police", str(bad),
                             "--db", str(tmp_path / "w.duckdb")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "page.csv" in result.stderr and "HTML" in result.stderr


def test_places_output_says_when_the_ranking_uses_synthetic_data(demo_warehouse_path: Path):
    import io

    import pandas as pd

    result = CliRunner().invoke(app, ["places", "--db", str(demo_warehouse_path), "--area",
                                      "Bedford", "--year", "2023", "--format", "csv",
                                      "--no-stability"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert set(frame["provenance"]) == {"SYNTHETIC sample data"}
    assert "SYNTHETIC DATA" in result.stderr and "deliberate_fires" in result.stderr


def test_measure_csv_neutralises_formula_like_text(demo_warehouse_path: Path, monkeypatch):
    """`cspkit measure --format csv` goes through the same cell safety as every export: a
    category a spreadsheet would run gets a leading quote; numbers are left alone."""
    import csv
    import io

    import pandas as pd

    from cspkit.measures import catalogue

    categories = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tTab", "\rReturn", "Burglary"]
    frame = pd.DataFrame({"category": categories, "count": [-1, 2, 3, 4, 5, 6, 7],
                          "change": ["-12", "+3.5", "-12%", "-1,234", "", "0", "1"]})
    monkeypatch.setattr(catalogue, "run_measure", lambda con, name, **kwargs: frame)
    result = CliRunner().invoke(app, ["measure", "counts", "--area", "Bedford", "--db",
                                      str(demo_warehouse_path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout, newline="")))
    assert rows[0] == ["category", "count", "change"]
    assert [r[0] for r in rows[1:]] == ["'" + c for c in categories[:-1]] + ["Burglary"]
    assert [r[1] for r in rows[1:]] == ["-1", "2", "3", "4", "5", "6", "7"]
    assert [r[2] for r in rows[1:]] == ["-12", "+3.5", "-12%", "-1,234", "", "0", "1"]
