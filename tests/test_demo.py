"""`cspkit demo`: the shipped data builds a complete warehouse, and building again changes
nothing."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from cspkit.cli import app
from cspkit.demo import demo_data_dir
from cspkit.store import connect
from tests.conftest import table_counts


def test_the_demo_warehouse_holds_everything(demo_warehouse):
    con = demo_warehouse
    events = dict(con.execute("SELECT force, count(*) FROM events WHERE source = 'police.uk' "
                              "GROUP BY 1").fetchall())
    # SOURCES.md row counts less the repeated Crime IDs (184, all Bedfordshire).
    assert events == {"bedfordshire": 182_113 - 184, "cambridgeshire": 53_596}
    ingests = con.execute("SELECT rows_in, rows_loaded, rows_quarantined FROM ingests").fetchall()
    assert all(n == loaded + bad for n, loaded, bad in ingests)
    editions = dict(con.execute(
        "SELECT kind, count(DISTINCT lsoa_vintage) FROM ingests WHERE kind = 'police-street' "
        "GROUP BY 1").fetchall())
    assert editions == {"police-street": 2}
    assert {r[0] for r in con.execute("SELECT DISTINCT edition FROM imd").fetchall()} == {
        "2019", "2025"}
    years = {r[0] for r in con.execute("SELECT DISTINCT year FROM population").fetchall()}
    assert {2011, 2017, 2018, 2019} <= years
    forces = dict(con.execute("SELECT lad_name, any_value(force_name) FROM lsoa_geography "
                              "WHERE lad_code IN ('E06000055', 'E07000009') GROUP BY 1"
                              ).fetchall())
    assert forces == {"Bedford": "Bedfordshire Police",
                      "East Cambridgeshire": "Cambridgeshire Constabulary"}


def test_the_demo_command_again_changes_nothing(demo_warehouse_path, tmp_path):
    db = tmp_path / "again.duckdb"
    shutil.copy(demo_warehouse_path, db)
    con = connect(db)
    before = table_counts(con)
    con.close()
    out = tmp_path / "assessment"
    result = CliRunner().invoke(app, ["demo", "--db", str(db), "--out", str(out)],
                                env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    # The demo ends by writing the strategic assessment for a shipped district.
    html = out / "strategic-assessment-E06000055-2023.html"
    assert html.exists() and (out / "strategic-assessment-E06000055-2023.pdf").exists()
    assert f"strategic assessment (HTML): {html.resolve()}" in result.output
    assert "police.uk bedfordshire: 181,929 crimes and ASB incidents, 36 months" in result.output
    assert "44 force-months" in result.output
    con = connect(db)
    assert table_counts(con) == before


def test_the_demo_data_is_documented_and_small():
    root = demo_data_dir()
    assert (root / "SOURCES.md").read_text().count("Open Government Licence") >= 1
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert size <= 60 * 1024 * 1024
