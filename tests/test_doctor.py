"""`cspkit doctor`: each system requirement found or missing, with the command that installs
the missing ones; exit code 0 only when everything is present."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from cspkit import doctor
from cspkit.cli import app

runner = CliRunner()
INSTALL_ALL = ("sudo apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 "
               "chromium")


@pytest.fixture
def everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "find_library", lambda name: f"lib{name}.so.0")
    monkeypatch.setattr(doctor, "find_program", lambda path: path)


def test_all_present_exits_0(everything: None) -> None:
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok") and "Python 3." in lines[0]
    assert "found    Pango (libpango-1.0), for PDFs (WeasyPrint): libpango-1.0.so.0" in lines
    assert any(line.startswith("found") and "libharfbuzz-subset.so.0" in line for line in lines)
    assert any(line.startswith("found") and "/usr/bin/chromium" in line for line in lines)
    assert lines[-1] == "Everything cspkit needs is present."
    assert "apt-get" not in result.stdout


def test_missing_ones_are_named_with_their_install_command(everything: None,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setattr(doctor, "find_library",
                        lambda name: None if name == "harfbuzz-subset" else f"lib{name}.so.0")
    monkeypatch.setattr(doctor, "find_program", lambda path: None)
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    out = result.stdout
    assert ("MISSING  HarfBuzz-Subset (libharfbuzz-subset), for PDF fonts (WeasyPrint); install "
            "with: sudo apt-get install -y libharfbuzz-subset0") in out
    assert ("MISSING  Chromium (/usr/bin/chromium), for browser tests and the web app; install "
            "with: sudo apt-get install -y chromium") in out
    assert "found    Pango (libpango-1.0)" in out
    assert out.splitlines()[-2:] == ["2 missing. On Debian, install them all with:",
                                     "    sudo apt-get install -y libharfbuzz-subset0 chromium"]


def test_nothing_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "find_library", lambda name: None)
    monkeypatch.setattr(doctor, "find_program", lambda path: None)
    diagnosis = doctor.diagnose()
    assert not diagnosis.ok and len(diagnosis.missing) == 4
    assert doctor.report(diagnosis)[-1] == "    " + INSTALL_ALL


def test_an_old_python_is_reported(everything: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "MIN_PYTHON", (99, 0))
    diagnosis = doctor.diagnose()
    assert not diagnosis.ok and not diagnosis.missing
    assert "cspkit needs Python 99.0 or later" in doctor.report(diagnosis)[0]


def test_the_finders(tmp_path) -> None:
    program = tmp_path / "tool"
    program.write_text("#!/bin/sh\n")
    assert doctor.find_program(str(program)) is None     # not executable
    program.chmod(0o755)
    assert doctor.find_program(str(program)) == str(program)
    assert doctor.find_program(str(tmp_path / "absent")) is None
    assert doctor.find_library("c") is not None          # the C library is everywhere
    assert doctor.find_library("surely-no-such-library-cspkit") is None


def test_help_has_an_example() -> None:
    result = runner.invoke(app, ["doctor", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "Example" in result.output and "cspkit doctor" in result.output


def test_this_machine_has_everything_where_required() -> None:
    """CI sets CSPKIT_REQUIRE_SYSTEM_DEPS=1: there a missing library or program fails here by
    name (and the tests that use it fail too), never skips."""
    diagnosis = doctor.diagnose()
    if not diagnosis.ok and os.environ.get("CSPKIT_REQUIRE_SYSTEM_DEPS") != "1":
        pytest.skip("missing: " + ", ".join(r.name for r in diagnosis.missing)
                    + " (`cspkit doctor` says how to install them)")
    assert diagnosis.ok, "\n".join(doctor.report(diagnosis))
