"""The command line: help with examples everywhere, and the JSON status contract."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cspkit
from cspkit.cli import app
from tests.conftest import extract

runner = CliRunner()

COMMANDS = [[], ["demo"], ["status"], ["area"], ["ingest"], ["ingest", "police"],
            ["ingest", "reference"], ["fetch"], ["fetch", "police"], ["setup"], ["export"],
            ["serve"], ["users"], ["users", "add"], ["users", "list"], ["users", "remove"],
            ["users", "password"]]


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


def test_measure_similar_lists_the_family_and_refuses_in_one_line(
        demo_warehouse_path: Path, monkeypatch, capsys):
    """`cspkit measure similar` needs no period (the demo holds no police data for most
    districts); a district with no family is one error line, exit code non-zero."""
    result = CliRunner().invoke(app, ["measure", "similar", "--area", "Bedford", "--db",
                                      str(demo_warehouse_path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("rank,code,name,distance,region,population,")
    assert lines[1].startswith("0,E06000055,Bedford,0.0,") and len(lines) == 17
    code, output = _main(["measure", "similar", "--area", "Cardiff", "--db",
                          str(demo_warehouse_path)], monkeypatch, capsys)
    assert code != 0
    assert "Cardiff (W06000015) lacks imd_score" in _one_error_line(output)


# --------------------------------------------------------------------------- bad paths

OUT_COMMANDS = {
    "assess": ["assess", "--area", "Bedford", "--no-pdf"],
    "places": ["places", "--area", "Bedford", "--no-pdf"],
    "profile": ["profile", "--name", "X", "--lsoas", "E01017539", "--no-pdf"],
    "demo": ["demo"],
}


def _main(args: list[str], monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run `cspkit ARGS` as the console script does (errors printed by `main`), in-process so
    a test can stand in for what root cannot see; any traceback fails the test."""
    from cspkit import cli

    monkeypatch.setattr(sys, "argv", ["cspkit", *args])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out + captured.err


@pytest.mark.parametrize("command", OUT_COMMANDS)
def test_out_that_is_a_file_is_a_clean_error(command, tmp_path, monkeypatch, capsys):
    file = tmp_path / "existing.txt"
    file.write_text("x")
    db = str(tmp_path / "never-opened.duckdb")
    code, output = _main([*OUT_COMMANDS[command], "--db", db, "--out", str(file)],
                         monkeypatch, capsys)
    assert code == 2
    text = " ".join(output.split())   # rich wraps long lines
    assert text.startswith("error: --out ") and "existing.txt: is a file, not a folder" in text
    assert "Traceback" not in output
    assert not Path(db).exists()      # refused before any work


@pytest.mark.parametrize("command", OUT_COMMANDS)
def test_out_in_a_read_only_folder_is_a_clean_error(command, tmp_path, monkeypatch, capsys):
    from cspkit import cli_checks

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:   # root writes anywhere: let the check see the mode bits
        monkeypatch.setattr(cli_checks, "_writable", lambda p: bool(p.stat().st_mode & 0o200))
    try:
        code, output = _main([*OUT_COMMANDS[command], "--db", str(tmp_path / "w.duckdb"),
                              "--out", str(locked / "reports")], monkeypatch, capsys)
    finally:
        locked.chmod(0o755)
    assert code == 2
    assert "locked is not writable" in " ".join(output.split())
    assert "Traceback" not in output


def test_fetch_dest_that_is_a_file_is_a_clean_error(tmp_path, monkeypatch, capsys):
    file = tmp_path / "existing.txt"
    file.write_text("x")
    code, output = _main(["fetch", "police", "--force", "bedfordshire", "--from", "2023-01",
                          "--to", "2023-01", "--dest", str(file),
                          "--base-url", "http://127.0.0.1:9"], monkeypatch, capsys)
    assert code == 2 and "Traceback" not in output
    assert "--dest " in output and "existing.txt: is a file, not a folder" in " ".join(
        output.split())


def test_missing_or_bad_polygon_is_a_clean_error(tmp_path, monkeypatch, capsys,
                                                 demo_warehouse_path):
    base = ["profile", "--name", "X", "--db", str(demo_warehouse_path), "--polygon"]
    code, output = _main([*base, str(tmp_path / "absent.geojson")], monkeypatch, capsys)
    assert code == 2 and "Traceback" not in output
    assert "--polygon " in output and "absent.geojson: no such file" in " ".join(output.split())
    code, output = _main([*base, str(tmp_path)], monkeypatch, capsys)
    assert code == 2 and "is a folder, not a file" in " ".join(output.split())
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "Feature",\n "geometry": ')
    code, output = _main([*base, str(broken)], monkeypatch, capsys)
    text = " ".join(output.split())
    assert code == 2 and "Traceback" not in output
    assert "broken.geojson, line 2: not valid JSON" in text and "expected a GeoJSON" in text
    listed = tmp_path / "list.geojson"
    listed.write_text("[]")
    code, output = _main([*base, str(listed)], monkeypatch, capsys)
    assert code == 2 and "holds a JSON list, not an object" in " ".join(output.split())



# --------------------------------------------------------------------------- the --db path


def _one_error_line(output: str) -> str:
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    return lines[0]


def test_a_db_that_is_not_a_warehouse_is_one_line_and_changes_nothing(
        monkeypatch, capsys, tmp_path, cambridgeshire_zip):
    monkeypatch.setenv("COLUMNS", "60")  # one line even where the terminal is narrow
    existing = tmp_path / "existing.csv"
    existing.write_text("Crime ID,Month\nabc,2023-01\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("a warehouse? no\n")
    empty = tmp_path / "empty.duckdb"
    empty.touch()
    police = str(cambridgeshire_zip)
    cases = [
        (["ingest", "police", police, "--db", str(existing)], "existing.csv is not a warehouse"),
        (["status", "--db", str(existing)], "existing.csv is not a warehouse"),
        (["area", "Bedford", "--db", str(notes)], "notes.txt is not a warehouse"),
        (["status", "--db", str(tmp_path)], "is a folder: expected a warehouse file"),
        (["ingest", "police", police, "--db", str(tmp_path)], "is a folder"),
        (["status", "--db", str(tmp_path / "missing.duckdb")], "no warehouse at"),
        (["assess", "--area", "Bedford", "--db", str(tmp_path / "missing.duckdb")],
         "no warehouse at"),
        (["measure", "counts", "--area", "Bedford", "--db", str(empty)], "is empty"),
    ]
    for args, expected in cases:
        code, output = _main([*args], monkeypatch, capsys)
        assert code != 0, args
        assert expected in _one_error_line(output), args
    assert existing.read_text() == "Crime ID,Month\nabc,2023-01\n"
    assert notes.read_text() == "a warehouse? no\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.duckdb", "existing.csv",
                                                          "notes.txt"]


def test_a_read_only_warehouse_or_folder_is_refused_to_an_ingest(
        monkeypatch, capsys, tmp_path, cambridgeshire_zip):
    from cspkit.store import connect

    folder = tmp_path / "shared"
    folder.mkdir()
    db = folder / "w.duckdb"
    connect(db).close()
    before = db.read_bytes()
    police = str(cambridgeshire_zip)
    db.chmod(0o444)
    try:
        code, output = _main(["ingest", "police", police, "--db", str(db)], monkeypatch, capsys)
        assert code != 0 and "w.duckdb is read-only" in _one_error_line(output)
        db.chmod(0o644)
        folder.chmod(0o555)
        for target in (db, folder / "new.duckdb"):
            code, output = _main(["ingest", "police", police,
                                 "--db", str(target)], monkeypatch, capsys)
            assert code != 0 and "is read-only" in _one_error_line(output)
        # Reading a read-only warehouse is fine.
        code, output = _main(["status", "--db", str(db), "--format", "json"], monkeypatch, capsys)
        assert code == 0 and json.loads(output)["ingests"] == []
    finally:
        folder.chmod(0o755)
        db.chmod(0o644)
    assert db.read_bytes() == before


def test_a_warehouse_held_open_by_another_program_is_one_line(monkeypatch, capsys, tmp_path):
    from cspkit.store import connect

    db = tmp_path / "w.duckdb"
    connect(db).close()
    script = ("import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
              "print('open', flush=True); time.sleep(30)")
    holder = subprocess.Popen([sys.executable, "-c", script, str(db)], stdout=subprocess.PIPE,
                              text=True)
    monkeypatch.setenv("CSPKIT_LOCK_WAIT", "0.3")
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        code, output = _main(["status", "--db", str(db)], monkeypatch, capsys)
    finally:
        holder.kill()
        holder.wait()
    assert "Traceback" not in output and code != 0
    waiting, error = output.splitlines()
    assert waiting.startswith(f"waiting for another program (pid {holder.pid})")
    assert error.startswith(f"error: {db} is held open for writing by another program "
                            f"(pid {holder.pid})")


# Stops itself (SIGSTOP) once its private copy of the warehouse is made, then carries on.
STOPPING_CLI = """
import os, signal
from cspkit.store import warehouse
copy = warehouse._copy_from_fd
def stopping_copy(*args):
    copy(*args)
    os.kill(os.getpid(), signal.SIGSTOP)
warehouse._copy_from_fd = stopping_copy
from cspkit.cli import main
main()
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_status_measure_and_a_second_ingest_beside_a_running_ingest(
        monkeypatch, capsys, tmp_path, demo_warehouse_path, cambridgeshire_zip):
    db = tmp_path / "w.duckdb"
    shutil.copyfile(demo_warehouse_path, db)
    month = extract(cambridgeshire_zip, "2018-03/2018-03-cambridgeshire-street.csv", tmp_path)
    month.write_text("".join(month.read_text().splitlines(keepends=True)[:-1]))  # a new version
    env = {**os.environ, "COLUMNS": "200",
           "PYTHONPATH": os.pathsep.join([str(Path(cspkit.__file__).parents[1]),
                                          os.environ.get("PYTHONPATH", "")])}
    before = _status(db)
    ingest = subprocess.Popen([sys.executable, "-c", STOPPING_CLI, "ingest", "police", str(month),
                               "--replace", "--db", str(db)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        _, status = os.waitpid(ingest.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status), ingest.communicate()
        # This process is the other one: the commands run here, beside the stopped ingest.
        code, output = _main(["status", "--format", "json", "--db", str(db)], monkeypatch, capsys)
        assert code == 0 and json.loads(output) == before  # the old state
        code, output = _main(["measure", "counts", "--area", "Bedford",
                             "--period", "2023", "--format", "csv", "--db", str(db)], monkeypatch, capsys)
        assert code == 0 and "Anti-social behaviour" in output
        monkeypatch.setenv("CSPKIT_LOCK_WAIT", "0.5")
        code, output = _main(["ingest", "police", str(month),
                             "--db", str(db)], monkeypatch, capsys)
        assert code == 2 and "Traceback" not in output
        assert output.splitlines() == [
            f"waiting for another ingest (pid {ingest.pid}) to finish with {db}...",
            f"error: another ingest (pid {ingest.pid}) is still writing {db}; gave up after "
            "waiting 0.5 s (set CSPKIT_LOCK_WAIT to wait longer)"]
    finally:
        ingest.send_signal(signal.SIGCONT)
    out, err = ingest.communicate(timeout=120)
    assert ingest.returncode == 0, err
    assert "rows in" in out
    after = _status(db)  # a new reader sees the new state
    assert len(after["ingests"]) == len(before["ingests"]) + 1
    assert after["ingests"][-1]["file"] == str(month)


def _status(db: Path) -> dict:  # type: ignore[type-arg]
    from cspkit.store import open_reader
    from cspkit.store.coverage import coverage

    with open_reader(db) as con:
        return json.loads(json.dumps(coverage(con).as_json()))  # as the CLI prints it


def test_ingest_reference_lists_unrecognised_files_or_skips_them(tmp_path, monkeypatch,
                                                                 capsys):
    good = tmp_path / "wards.csv"
    good.write_text("WD23CD,WD23NM,LAD23CD,LAD23NM\nE05000001,Ward,E07000009,District\n")
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text(f"Area,Parent\n{name},y\n")
    db = tmp_path / "w.duckdb"
    args = ["ingest", "reference", str(good), str(tmp_path / "a.csv"), str(tmp_path / "b.csv"),
            "--db", str(db)]
    code, err = run_main(args, monkeypatch, capsys)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1
    assert "a.csv" in errors[0] and "b.csv" in errors[0] and "--skip-unknown" in errors[0]
    code, err = run_main([*args, "--skip-unknown"], monkeypatch, capsys)
    assert code == 0
    assert "skipped, not recognised" in err and "a.csv" in err


# --- former districts -------------------------------------------------------------------------


def test_area_shows_a_former_districts_successor_and_a_current_ones_former_names(
        demo_warehouse_path: Path):
    result = CliRunner().invoke(app, ["area", "Aylesbury Vale", "--db", str(demo_warehouse_path)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Aylesbury Vale (lad E07000004)" in result.stdout
    assert ("no longer exists: Aylesbury Vale (E07000004) became part of Buckinghamshire "
            "(E06000060) in 2020") in result.stdout
    result = CliRunner().invoke(app, ["area", "Buckinghamshire", "--db",
                                      str(demo_warehouse_path)], env={"COLUMNS": "200"})
    assert "includes the former district Aylesbury Vale (E07000004, until 2020)" in result.stdout


def test_a_measure_given_a_former_district_uses_its_successor_and_says_so(
        demo_warehouse_path: Path):
    result = CliRunner().invoke(app, ["measure", "deprivation", "--area", "Aylesbury Vale",
                                      "--edition", "2019", "--db", str(demo_warehouse_path),
                                      "--format", "csv"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert ("Aylesbury Vale (E07000004) became part of Buckinghamshire (E06000060) in 2020; "
            "using Buckinghamshire") in " ".join(result.stderr.split())
    # Every 2011 LSOA of Buckinghamshire, Aylesbury Vale's (E01017663) among them.
    assert result.stdout.count("\nE01") == 319 and "\nE01017663," in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--all"], "--all takes exactly one of --force, --county, --region or --areas"),
    (["--all", "--force", "bedfordshire", "--county", "Cambridgeshire"], "exactly one of"),
    (["--all", "--force", "bedfordshire", "--area", "Bedford"], "(and no --area)"),
    (["--force", "bedfordshire"], "give --area, or --all with one of"),
    ([], "give --area, or --all with one of"),
    (["--all", "--areas", "missing.txt"], "--areas missing.txt: no such file"),
    (["--all", "--force", "bedfordshire", "--jobs", "0"], "--jobs must be at least 1"),
])
def test_assess_all_arguments_are_one_clean_error(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    code, err = run_main(["assess", *args, "--db", str(tmp_path / "w.duckdb"), "--out",
                          str(tmp_path / "out")], monkeypatch, capsys)
    assert code == 2 and err.startswith("error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1


def test_export_writes_the_tables_asked_for_and_says_what_was_withheld(
        demo_warehouse_path: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export", "csv", "--db", str(demo_warehouse_path),
                                      "--out", str(tmp_path), "--tables", "ingests,indicators"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "data-dictionary.csv", "export.json", "indicators.csv", "ingests.csv"]
    assert "withheld (restricted): istv, police-markers" in result.output
    bad = CliRunner().invoke(app, ["export", "xml", "--db", str(demo_warehouse_path),
                                   "--out", str(tmp_path)])
    assert bad.exit_code != 0


@pytest.mark.parametrize("args, said", [
    (["measure", "hotspots", "--engine", "spark"], "needs the DuckDB warehouse"),
    (["measure", "counts", "--engine", "spark"], "needs --data FOLDER"),
    (["measure", "counts", "--engine", "polars"], "unknown engine 'polars'"),
])
def test_measure_engine_is_checked_before_any_work(tmp_path, args, said):
    """`--engine spark` refuses measures not in the query layer and a missing export folder
    before starting Spark; an unknown engine is named (a user error: `main` prints it and
    exits 2)."""
    from cspkit.store.tables import EngineError

    result = runner.invoke(app, [*args, "--area", "Bedford", "--db", str(tmp_path / "w.duckdb")],
                           env={"CSPKIT_SPARK_DATA": ""})
    assert isinstance(result.exception, EngineError), result.output
    assert said in str(result.exception)
