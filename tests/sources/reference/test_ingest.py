"""The reference ingest as a whole: the ingest log, reloading, progress, and files that cannot
be loaded (each fails with the file named and what was expected, leaving the warehouse as it
was)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import duckdb
import pytest

from cspkit.errors import InputError
from tests.sources.reference.conftest import Loaded
from tests.sources.reference.helpers import (
    DATA_TABLES,
    RURAL_URBAN,
    WARD_HIERARCHY,
    counts,
    ingest,
    scalar,
)

# Every shipped reference file and the kind it must be recognised as.
EXPECTED_KINDS = {"reference-lookup": 5, "reference-classification": 1,
                  "reference-centroids": 1, "reference-boundaries": 17,
                  "reference-population": 7, "reference-imd": 3, "reference-imd-district": 1}


def test_every_demo_file_recognised_and_logged(reference: Loaded) -> None:
    kinds: dict[str, int] = {}
    for record in reference.records:
        kinds[record.kind] = kinds.get(record.kind, 0) + 1
        assert record.status == "loaded"
        assert record.rows_in == record.rows_loaded + record.rows_quarantined > 0
    assert kinds == EXPECTED_KINDS
    logged = reference.con.execute(
        """SELECT count(*), count(*) FILTER (WHERE rows_in = rows_loaded + rows_quarantined),
                  sum(rows_quarantined) FROM ingests WHERE status = 'loaded'""").fetchone()
    assert logged == (len(reference.records), len(reference.records), 0)


def fingerprint(con: duckdb.DuckDBPyConnection) -> tuple[object, ...]:
    return tuple(scalar(con, sql) for sql in (
        "SELECT round(sum(persons), 3) FROM population",
        "SELECT sum(rank) FROM imd",
        "SELECT round(sum(value), 3) FROM imd_district",
        "SELECT count(DISTINCT name) FROM areas",
        "SELECT round(sum(area_km2), 6) FROM area_geometry",
        "SELECT string_agg(DISTINCT method, ',' ORDER BY method) FROM area_links"))


def test_reload_changes_nothing(reference: Loaded) -> None:
    con = reference.con
    before = counts(con, [*DATA_TABLES, "ingests"])
    sums = fingerprint(con)
    records = ingest(con, *{Path(r.file.split("!")[0]) for r in reference.records})
    assert len(records) == len(reference.records)
    assert {r.status for r in records} == {"unchanged"}
    assert all("loaded by ingest" in (r.note or "") for r in records)
    assert counts(con, [*DATA_TABLES, "ingests"]) == before
    assert fingerprint(con) == sums


def test_same_file_twice_in_one_ingest(fresh: duckdb.DuckDBPyConnection, tmp_path: Path
                                       ) -> None:
    copy = tmp_path / "copy.csv.gz"
    shutil.copy(RURAL_URBAN, copy)
    progress: list[tuple[str, int, int]] = []
    records = ingest(fresh, RURAL_URBAN, copy, on_file=lambda f, i, n: progress.append(
        (Path(f).name, i, n)))
    assert [r.status for r in records] == ["loaded", "unchanged"]
    assert progress == [(RURAL_URBAN.name, 1, 2), ("copy.csv.gz", 2, 2)]
    assert counts(fresh, ["ingests"]) == {"ingests": 1}  # the copy changed nothing


def test_kind_can_be_named(fresh: duckdb.DuckDBPyConnection) -> None:
    [record] = ingest(fresh, WARD_HIERARCHY, kind="lookup")
    assert record.kind == "reference-lookup"
    with pytest.raises(InputError, match="Rural-Urban") as raised:
        ingest(fresh, WARD_HIERARCHY, kind="classification")
    assert WARD_HIERARCHY.name in str(raised.value)
    with pytest.raises(InputError, match="unknown kind"):
        ingest(fresh, WARD_HIERARCHY, kind="weather")


def write_bad(tmp_path: Path, case: str) -> Path:
    if case == "wrong header":
        path = tmp_path / "lookup.csv"
        path.write_text("Area,Parent,Count\nA,B,1\n")
    elif case == "html":
        path = tmp_path / "lookup.csv"
        path.write_text("<!DOCTYPE html>\n<html><body>Service unavailable</body></html>\n")
    elif case == "html as xlsx":
        path = tmp_path / "File_1.xlsx"
        path.write_text("<html><body>Sign in</body></html>")
    elif case == "empty":
        path = tmp_path / "lookup.csv"
        path.write_bytes(b"")
    elif case == "bad gzip":
        path = tmp_path / "lookup.csv.gz"
        path.write_bytes(b"\x1f\x8b\x08\x00 this is not gzip data")
    elif case == "truncated gzip":
        path = tmp_path / "lookup.csv.gz"
        path.write_bytes(gzip.compress(WARD_HIERARCHY.read_bytes())[:5000])
    elif case == "not an xlsx":
        path = tmp_path / "File_1.xlsx"
        path.write_bytes(b"PK\x03\x04 truncated")
    else:
        path = tmp_path / "wards.geojson"
        path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                        '"properties": {"name": "x"}, "geometry": null}]}')
    return path


@pytest.mark.parametrize("case, message", [
    ("wrong header", "not recognised as reference data; its first row is: Area, Parent"),
    ("html", "HTML page"),
    ("html as xlsx", "HTML page"),
    ("empty", "empty"),
    ("bad gzip", "gzip"),
    ("truncated gzip", "gzip"),
    ("not an xlsx", "not a readable Excel workbook"),
    ("no code property", "no area code among the features' properties"),
])
def test_bad_files_fail_and_leave_the_warehouse_unchanged(
        fresh: duckdb.DuckDBPyConnection, tmp_path: Path, case: str, message: str) -> None:
    loaded, pending = tmp_path / "loaded.csv", tmp_path / "pending.csv"
    loaded.write_text("WD23CD,WD23NM,LAD23CD,LAD23NM\nE05000001,Ward,E07000009,District\n")
    pending.write_text("WD23CD,WD23NM,LAD23CD,LAD23NM\nE05000002,Other,E07000009,District\n")
    ingest(fresh, loaded)
    before = counts(fresh)
    bad = write_bad(tmp_path, case)
    # A good file in the same ingest is loaded first (lookups go first), then rolled back.
    with pytest.raises(InputError) as raised:
        ingest(fresh, pending, bad)
    text = str(raised.value)
    assert message in text
    assert raised.value.file == str(bad)
    assert "expected" in text
    assert counts(fresh) == before


def test_unrecognised_file_lists_what_is_expected(fresh: duckdb.DuckDBPyConnection,
                                                  tmp_path: Path) -> None:
    bad = write_bad(tmp_path, "wrong header")
    with pytest.raises(InputError) as raised:
        ingest(fresh, bad)
    expected = raised.value.expected or ""
    for example in ("LSOA21CD", "WD23CD", "Mid-2018 population", "LSOA code (2011)",
                    "Local Authority District code (2019)", "RUC11CD", "x, y", "GeoJSON"):
        assert example in expected


def test_folder_with_nothing_to_load(fresh: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="no reference files"):
        ingest(fresh, tmp_path)


def test_a_header_only_file_is_recorded_as_empty(fresh: duckdb.DuckDBPyConnection,
                                                  tmp_path: Path) -> None:
    path = tmp_path / "lookup.csv"
    path.write_text("LSOA21CD,WD23CD,LAD23CD\n")
    (record,) = ingest(fresh, path)
    assert (record.status, record.rows_in, record.rows_loaded) == ("empty", 0, 0)
    assert "no data rows" in (record.note or "")
    assert fresh.execute("SELECT count(*) FROM areas").fetchone() == (0,)


def test_unrecognised_files_are_all_listed_and_nothing_is_loaded(
        fresh: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    good = tmp_path / "wards.csv"
    good.write_text("WD23CD,WD23NM,LAD23CD,LAD23NM\nE05000001,Ward,E07000009,District\n")
    first = tmp_path / "notes.csv"
    first.write_text("Area,Parent\nx,y\n")
    second = tmp_path / "denominators.csv"
    second.write_text("Something,Else\n1,2\n")
    before = counts(fresh)
    with pytest.raises(InputError) as raised:
        ingest(fresh, good, first, second)
    text = str(raised.value)
    assert "2 files" in text and str(first) in text and str(second) in text
    assert "--skip-unknown" in text and "LSOA21CD" in (raised.value.expected or "")
    assert counts(fresh) == before


def test_skip_unknown_loads_the_recognised_files_and_reports_the_others(
        fresh: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    good = tmp_path / "wards.csv"
    good.write_text("WD23CD,WD23NM,LAD23CD,LAD23NM\nE05000001,Ward,E07000009,District\n")
    other = tmp_path / "notes.csv"
    other.write_text("Area,Parent\nx,y\n")
    report = ingest(fresh, good, other, skip_unknown=True)
    assert [(r.file, r.status) for r in report.files] == [(str(good), "loaded"),
                                                          (str(other), "skipped")]
    assert "not recognised" in (report.skipped[0].note or "")
    assert report.rows_in == report.rows_loaded == 1
    assert fresh.execute("SELECT count(*) FROM ingests").fetchone() == (1,)
