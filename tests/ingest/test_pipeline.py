"""The one ingest pipeline: file-level rules every source shares (empty files, impossible
months, control characters, field limits), one report type, and the layers it joins."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import duckdb
import pytest

from cspkit.errors import InputError
from cspkit.ingest import SOURCES, IngestReport, ingest_police
from cspkit.store import transaction
from tests.conftest import table_counts

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
          "LSOA name,Crime type,Last outcome category,Context\n")
SRC = Path(__file__).resolve().parents[2] / "src" / "cspkit"


def row(month: str = "2023-01", crime_id: str = "abc", category: str = "Burglary",
        location: str = "On or near X") -> str:
    return (f"{crime_id},{month},Bedfordshire Police,Bedfordshire Police,-0.4,52.1,{location},"
            f"E01017491,Bedford 001A,{category},,\n")


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def load(con: duckdb.DuckDBPyConnection, *paths: Path, replace: bool = False) -> IngestReport:
    with transaction(con):
        return ingest_police(con, [str(p) for p in paths], run_id="t", replace=replace)


def test_a_header_only_file_is_empty_not_coverage(warehouse, tmp_path):
    name = "2023-01-bedfordshire-street.csv"
    (record,) = load(warehouse, write(tmp_path / "a" / name, HEADER)).files
    assert (record.status, record.rows_in) == ("empty", 0)
    assert "no data rows" in (record.note or "")
    # The real file for that force and month then loads: the empty one covered nothing.
    report = load(warehouse, write(tmp_path / "b" / name, HEADER + row()))
    assert [r.status for r in report.files] == ["loaded"]
    assert report.conflicts == []
    assert table_counts(warehouse)["events"] == 1


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "2010-11"])
def test_rows_for_months_that_cannot_exist_are_quarantined(warehouse, tmp_path, month):
    path = write(tmp_path / "x.csv", HEADER + row() + row(month, "def"))
    report = load(warehouse, path)
    assert (report.rows_in, report.rows_loaded, report.rows_quarantined) == (2, 1, 1)
    reason, line = warehouse.execute("SELECT reason, line_no FROM quarantine").fetchone()
    assert line == 3 and month in reason and "outside the months" in reason


def test_a_month_in_the_future_is_quarantined(warehouse, tmp_path):
    future = (dt.date.today().replace(day=1) + dt.timedelta(days=40)).strftime("%Y-%m")
    report = load(warehouse, write(tmp_path / "x.csv", HEADER + row(future)))
    assert report.rows_quarantined == 1 and report.rows_loaded == 0


def test_a_row_month_that_is_no_month_is_quarantined(warehouse, tmp_path):
    report = load(warehouse, write(tmp_path / "x.csv", HEADER + row("2019-13")))
    assert report.rows_quarantined == 1
    (reason,) = warehouse.execute("SELECT reason FROM quarantine").fetchone()
    assert "expected YYYY-MM" in reason


@pytest.mark.parametrize("name_month", ["2019-13", "0000-01", "9999-12"])
def test_a_file_name_with_an_impossible_month_is_refused_cleanly(warehouse, tmp_path,
                                                                  name_month):
    path = write(tmp_path / f"{name_month}-bedfordshire-street.csv", HEADER + row())
    before = table_counts(warehouse)
    with pytest.raises(InputError) as raised:
        load(warehouse, path)
    message = str(raised.value)
    assert path.name in message and name_month in message and "expected YYYY-MM" in message
    assert table_counts(warehouse) == before


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f"])
def test_control_characters_are_removed_and_counted(warehouse, tmp_path, control):
    path = write(tmp_path / "x.csv", HEADER + row(location=f"On or{control} near X",
                                                  category=f"Burglary{control}"))
    report = load(warehouse, path)
    assert report.rows_loaded == 1 and report.control_characters == 1
    location, category = warehouse.execute("SELECT location, category FROM events").fetchone()
    assert (location, category) == ("On or near X", "Burglary")


@pytest.mark.parametrize("slow_path", [False, True])
def test_a_field_longer_than_the_limit_is_refused_cleanly(warehouse, tmp_path, monkeypatch,
                                                          slow_path):
    monkeypatch.setenv("CSPKIT_MAX_FIELD_BYTES", "2000")
    # A blank line sends the file down the careful (Python csv) path.
    text = HEADER + row() + ("\n" if slow_path else "") + row(location="y" * 5000)
    path = write(tmp_path / "x.csv", text)
    before = table_counts(warehouse)
    with pytest.raises(InputError) as raised:
        load(warehouse, path)
    assert "x.csv" in str(raised.value) and "CSPKIT_MAX_FIELD_BYTES" in str(raised.value)
    assert table_counts(warehouse) == before


def test_every_kind_of_source_returns_the_one_report_type(warehouse, tmp_path):
    assert set(SOURCES) == {"police", "reference", "partner"}
    report = load(warehouse, write(tmp_path / "x.csv", HEADER + row()))
    assert isinstance(report, IngestReport)
    assert report.rows_in == report.rows_loaded + report.rows_quarantined == 1


def _imports(package: str) -> set[str]:
    found: set[str] = set()
    for path in (SRC / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return found


def test_sources_and_store_import_neither_each_other_nor_anything_above():
    above = ("cspkit.ingest", "cspkit.measures", "cspkit.products", "cspkit.cli")
    sources = _imports("sources")
    store = _imports("store")
    assert not [m for m in sources if m.startswith(("cspkit.store", *above))]
    assert not [m for m in store if m.startswith(("cspkit.sources", *above))]


def test_a_large_file_spilled_to_parquet_loads_the_same_rows(warehouse, tmp_path, monkeypatch):
    """Files over the batch size are spilled by DuckDB to Parquet and streamed into the
    warehouse: same rows, same quarantine, as the in-memory path (forced here by a tiny
    batch size)."""
    import cspkit.sources.police as police

    text = HEADER + "".join(row(crime_id=f"id{i}") for i in range(50)) + row("0000-01", "bad")
    name = "2023-01-bedfordshire-street.csv"
    monkeypatch.setattr(police, "BATCH_BYTES", 10)
    report = load(warehouse, write(tmp_path / "a" / name, text))
    assert (report.rows_in, report.rows_loaded, report.rows_quarantined) == (51, 50, 1)
    assert warehouse.execute("SELECT count(*), min(line_no), max(line_no) FROM events"
                             ).fetchone() == (50, 2, 51)
    # A second file for the same force and month: every row of the spilled file quarantined.
    again = load(warehouse, write(tmp_path / "b" / name, text + row(crime_id="extra")))
    (record,) = again.records
    assert record.status == "duplicate-coverage"
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (52, 0, 52)
    assert table_counts(warehouse)["events"] == 50


def _three_months(tmp_path: Path) -> list[str]:
    return [str(write(tmp_path / "in" / f"2023-0{m}-bedfordshire-street.csv",
                      HEADER + row(f"2023-0{m}", "a") + row(f"2023-0{m}", "b")))
            for m in (1, 2, 3)]


def _fail_on_write(monkeypatch: pytest.MonkeyPatch, number: int) -> None:
    """The `number`th write of parsed rows fails (as a full disk would)."""
    import cspkit.ingest.pipeline as pipeline

    real = pipeline.writes.write
    calls = []

    def write(*args: object, **kwargs: object) -> int:
        calls.append(1)
        if len(calls) == number:
            raise OSError("disk full")
        return real(*args, **kwargs)   # type: ignore[arg-type]

    monkeypatch.setattr(pipeline.writes, "write", write)


def test_a_writer_commits_in_chunks_and_a_failure_after_one_leaves_the_warehouse(
        tmp_path, monkeypatch):
    """In a writer's private copy the load commits batch by batch (bounded memory); a failure
    after some batches were committed still leaves the warehouse byte for byte as it was,
    because the copy is deleted and nothing is swapped in."""
    import cspkit.ingest.pipeline as pipeline
    from cspkit.store import open_reader, writer

    monkeypatch.setattr(pipeline._Writer, "BATCH_FILES", 1)   # one file, one batch
    commits: list[int] = []
    real_commit = pipeline.commit_point
    monkeypatch.setattr(pipeline, "commit_point",
                        lambda con: (commits.append(1), real_commit(con))[1])
    db = tmp_path / "w.duckdb"
    with writer(db):
        pass
    before = db.read_bytes()
    files = _three_months(tmp_path)
    with monkeypatch.context() as patch:
        _fail_on_write(patch, 3)
        with pytest.raises(OSError, match="disk full"), writer(db) as con:
            ingest_police(con, files, run_id="t")
    assert len(commits) == 2                       # two batches were committed in the copy
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "w.duckdb", "w.duckdb.lock"]
    commits.clear()
    with writer(db) as con:
        report = ingest_police(con, files, run_id="t")
    assert len(commits) >= 3                       # each batch, and between derivations
    assert (report.rows_in, report.rows_loaded) == (6, 6)
    con = open_reader(db)
    assert table_counts(con)["events"] == 6
    assert con.execute("SELECT count(*) FROM ingests WHERE status = 'loaded'").fetchone() == (3,)


def test_in_place_a_load_stays_one_transaction(warehouse, tmp_path, monkeypatch):
    """A connection opened in place has no copy to discard: the load is the caller's one
    transaction, and chunked commits are refused there."""
    import cspkit.ingest.pipeline as pipeline

    monkeypatch.setattr(pipeline._Writer, "BATCH_FILES", 1)
    files = _three_months(tmp_path)
    with pytest.raises(ValueError, match="private copy"), transaction(warehouse):
        ingest_police(warehouse, files, run_id="t", commit_chunks=True)
    with monkeypatch.context() as patch:
        _fail_on_write(patch, 3)
        with pytest.raises(OSError, match="disk full"):
            load(warehouse, *map(Path, files))
    assert table_counts(warehouse)["events"] == 0
    assert warehouse.execute("SELECT count(*) FROM ingests").fetchone() == (0,)
    assert (load(warehouse, *map(Path, files)).rows_loaded) == 6
