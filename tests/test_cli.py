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


# --- hostile YAML through the commands that read it --------------------------------------------

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True))
BAD_YAML = {"billion-laughs": (BILLION_LAUGHS.encode(), "billion laughs"),
            "latin-1": ("name: Café\n".encode("latin-1"), "byte 0xE9 is not UTF-8"),
            "folder": (None, "")}


def run_main(args: list[str], monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """cspkit as the console script runs it (main(), which prints user errors), in-process."""
    from rich.console import Console

    from cspkit import cli

    # Wide enough that rich does not wrap the one error line.
    monkeypatch.setattr(cli, "console", Console(stderr=True, width=1000))
    monkeypatch.setattr(sys, "argv", ["cspkit", *args])
    with pytest.raises(SystemExit) as caught:
        cli.main()
    return int(caught.value.code or 0), capsys.readouterr().err


def bad_yaml(tmp_path: Path, case: str) -> Path:
    path = tmp_path / "bad.yaml"
    data = BAD_YAML[case][0]
    if data is None:
        path.mkdir()
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", list(BAD_YAML))
def test_a_bad_schema_file_is_one_clean_error_line(tmp_path, monkeypatch, capsys, case):
    data = tmp_path / "x.csv"
    data.write_text("a,b\n1,2\n")
    schema = bad_yaml(tmp_path, case)
    code, err = run_main(["ingest", "partner", str(data), "--schema", str(schema),
                          "--db", str(tmp_path / "w.duckdb")], monkeypatch, capsys)
    assert code != 0 and "Traceback" not in err
    # The progress bar may have drawn its first line; the error is one line after it.
    errors = [line for line in err.splitlines() if line.strip()][-1:]
    assert errors[0].startswith("error: ") and err.count("error:") == 1, err
    assert str(schema) in errors[0] and BAD_YAML[case][1] in errors[0]


@pytest.mark.parametrize("case", list(BAD_YAML))
def test_a_bad_config_file_is_one_clean_error_line(tmp_path, monkeypatch, capsys, case):
    config = bad_yaml(tmp_path, case)
    code, err = run_main(["assess", "--area", "Bedford", "--config", str(config),
                          "--db", str(tmp_path / "w.duckdb"), "--out", str(tmp_path / "out")],
                         monkeypatch, capsys)
    assert code != 0 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ") and str(config) in err and BAD_YAML[case][1] in err
    assert not (tmp_path / "out").exists()


def test_an_unexpected_failure_is_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    """A bug or an environment failure the code did not foresee still ends as one line."""
    import cspkit.ingest.pipeline as pipeline

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("something nobody foresaw\nsecond line")

    monkeypatch.setattr(pipeline, "run_ingest", boom)
    monkeypatch.setattr("cspkit.ingest.run_ingest", boom)
    csv = tmp_path / "2023-01-bedfordshire-street.csv"
    csv.write_text("Crime ID,Month\n")
    code, err = run_main(["ingest", "police", str(csv), "--db", str(tmp_path / "w.duckdb")],
                         monkeypatch, capsys)
    assert code == 1
    assert "Traceback (most recent" not in err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1
    assert "unexpected RuntimeError: something nobody foresaw" in err and "CSPKIT_DEBUG" in err


def test_an_os_error_names_the_file(tmp_path, monkeypatch, capsys):
    import cspkit.ingest.pipeline as pipeline

    def denied(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError(13, "Permission denied", "/somewhere/file.csv")

    monkeypatch.setattr(pipeline, "run_ingest", denied)
    monkeypatch.setattr("cspkit.ingest.run_ingest", denied)
    csv = tmp_path / "x.csv"
    csv.write_text("a\n")
    code, err = run_main(["ingest", "police", str(csv), "--db", str(tmp_path / "w.duckdb")],
                         monkeypatch, capsys)
    assert code == 2 and "Traceback" not in err
    assert "/somewhere/file.csv: Permission denied" in err
