"""Loading data.police.uk files: counts checked against an independent count of the raw files
(Python's csv module, not DuckDB), idempotence, duplicates, quirks and bad input."""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from cspkit.errors import InputError
from cspkit.ingest import ingest_police
from cspkit.store import transaction
from tests.conftest import extract, table_counts


def load(con, *paths, replace=False):  # type: ignore[no-untyped-def]
    with transaction(con):
        return ingest_police(con, [str(p) for p in paths], run_id="test", replace=replace)


def independent_counts(data: bytes) -> dict[str, int]:
    """Rows, ASB rows, rows without an LSOA and repeated Crime IDs, by plain csv parsing."""
    text = data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    ids = Counter(r["Crime ID"] for r in rows if r["Crime ID"])
    return {
        "rows": len(rows),
        "asb": sum(r["Crime type"] == "Anti-social behaviour" for r in rows),
        "no_lsoa": sum(not r["LSOA code"] for r in rows),
        "repeats": sum(n - 1 for n in ids.values() if n > 1),
    }


def test_every_cambridgeshire_month_matches_an_independent_count(warehouse, cambridgeshire_zip):
    report = load(warehouse, cambridgeshire_zip)
    assert report.rows_in == report.rows_loaded + report.rows_quarantined
    with zipfile.ZipFile(cambridgeshire_zip) as archive:
        street = [n for n in archive.namelist() if n.endswith("-street.csv")]
        assert len(street) == 8
        for name in street:
            expected = independent_counts(archive.read(name))
            month = name[:7]
            got = warehouse.execute(
                """SELECT count(*), count(*) FILTER (WHERE category = 'Anti-social behaviour'),
                          count(*) FILTER (WHERE lsoa_code IS NULL)
                   FROM events WHERE strftime(month, '%Y-%m') = ?""", [month]).fetchone()
            assert got == (expected["rows"] - expected["repeats"], expected["asb"],
                           expected["no_lsoa"]), name
    # SOURCES.md: 53,596 street rows in all, 10,395 of them ASB.
    assert warehouse.execute("SELECT count(*) FROM events").fetchone()[0] == 53_596
    assert warehouse.execute("SELECT count(*) FROM events WHERE category = "
                             "'Anti-social behaviour'").fetchone()[0] == 10_395


def test_asb_rows_have_no_crime_id_and_unlocated_rows_are_kept(warehouse, cambridgeshire_zip):
    load(warehouse, cambridgeshire_zip)
    asb_with_id = warehouse.execute(
        "SELECT count(*) FROM events WHERE category = 'Anti-social behaviour' "
        "AND record_id IS NOT NULL").fetchone()[0]
    assert asb_with_id == 0
    unlocated, no_lsoa = warehouse.execute(
        "SELECT count(*) FILTER (WHERE NOT located), count(*) FILTER (WHERE lsoa_code IS NULL) "
        "FROM events").fetchone()
    assert unlocated == no_lsoa == 53_596 - 51_916  # SOURCES.md: 51,916 rows carry an LSOA


def test_repeated_crime_ids_are_quarantined_with_the_first_line(warehouse, bedfordshire_zip,
                                                                tmp_path):
    member = "2022-01/2022-01-bedfordshire-street.csv"
    path = extract(bedfordshire_zip, member, tmp_path)
    expected = independent_counts(path.read_bytes())
    assert expected["repeats"] == 178
    report = load(warehouse, path)
    (record,) = report.records
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (
        expected["rows"], expected["rows"] - 178, 178)
    reasons = warehouse.execute("SELECT reason, line_no, raw FROM quarantine").fetchall()
    assert all(r[0].startswith("duplicate Crime ID: first seen at line ") for r in reasons)
    # The quarantined line really repeats the Crime ID of the line it names.
    lines = path.read_text(encoding="utf-8").splitlines()
    reason, line_no, raw = reasons[0]
    first = int(reason.rsplit(" ", 1)[1])
    assert lines[line_no - 1] == raw
    assert lines[first - 1].split(",")[0] == raw.split(",")[0]


def test_loading_the_same_files_twice_changes_nothing(warehouse, cambridgeshire_zip, tmp_path):
    load(warehouse, cambridgeshire_zip)
    before = table_counts(warehouse)
    # Same bytes, reached another way: a month folder extracted from the archive.
    extract(cambridgeshire_zip, "2019-01/2019-01-cambridgeshire-street.csv", tmp_path)
    report = load(warehouse, cambridgeshire_zip, tmp_path)
    assert report.records == []
    assert len(report.unchanged) == 13
    assert table_counts(warehouse) == before


def test_a_second_file_for_the_same_force_and_month_is_reported(warehouse, cambridgeshire_zip,
                                                                 tmp_path):
    member = "2018-10/2018-10-cambridgeshire-street.csv"  # an LF file
    original = extract(cambridgeshire_zip, member, tmp_path / "a")
    crlf = tmp_path / "b" / "2018-10-cambridgeshire-street.csv"
    crlf.parent.mkdir()
    crlf.write_bytes(original.read_bytes().replace(b"\n", b"\r\n"))
    load(warehouse, original)
    events = table_counts(warehouse)["events"]
    report = load(warehouse, crlf)
    assert report.conflicts and "already loaded" in report.conflicts[0]
    (record,) = report.records
    assert record.status == "duplicate-coverage"
    assert record.rows_loaded == 0 and record.rows_quarantined == record.rows_in == events
    assert table_counts(warehouse)["events"] == events
    # With --replace the later file takes over, and a CRLF copy loads exactly the same rows.
    report = load(warehouse, crlf, replace=True)
    assert report.records[0].status == "loaded"
    assert table_counts(warehouse)["events"] == events
    statuses = [r[0] for r in warehouse.execute(
        "SELECT status FROM ingests ORDER BY ingest_id").fetchall()]
    assert statuses == ["replaced", "duplicate-coverage", "loaded"]


def test_files_folders_and_zips_in_any_mix(warehouse, bedfordshire_zip, cambridgeshire_zip,
                                           tmp_path):
    folder = tmp_path / "downloads"
    extract(bedfordshire_zip, "2023-05/2023-05-bedfordshire-street.csv", folder)
    single = extract(bedfordshire_zip, "2023-06/2023-06-bedfordshire-street.csv", tmp_path)
    report = load(warehouse, folder, single, cambridgeshire_zip)
    months = {(r.force, r.month) for r in report.records if r.kind == "police-street"}
    assert ("bedfordshire", "2023-05") in months and ("bedfordshire", "2023-06") in months
    assert len([m for m in months if m[0] == "cambridgeshire"]) == 8


def test_bom_and_line_endings_do_not_change_what_loads(warehouse, cambridgeshire_zip, tmp_path):
    original = extract(cambridgeshire_zip, "2019-08/2019-08-cambridgeshire-street.csv", tmp_path)
    assert b"\r\n" in original.read_bytes()[:400]
    variant = tmp_path / "variant" / "2019-08-cambridgeshire-street.csv"
    variant.parent.mkdir()
    variant.write_bytes(b"\xef\xbb\xbf" + original.read_bytes().replace(b"\r\n", b"\n"))
    load(warehouse, original)
    first = warehouse.execute("SELECT * EXCLUDE (event_id, ingest_id) FROM events "
                              "ORDER BY line_no").fetchall()
    load(warehouse, variant, replace=True)
    second = warehouse.execute("SELECT * EXCLUDE (event_id, ingest_id) FROM events "
                               "ORDER BY line_no").fetchall()
    assert first == second and len(first) == 7_363


def test_outcomes_and_stop_and_search_go_to_their_own_tables(warehouse, bedfordshire_zip,
                                                             tmp_path):
    outcomes = extract(bedfordshire_zip, "2022-03/2022-03-bedfordshire-outcomes.csv", tmp_path)
    searches = extract(bedfordshire_zip, "2022-05/2022-05-bedfordshire-stop-and-search.csv",
                       tmp_path)
    # Renamed so only the header can tell what they are.
    renamed_o = outcomes.rename(tmp_path / "a.csv")
    renamed_s = searches.rename(tmp_path / "b.csv")
    report = load(warehouse, renamed_o, renamed_s)
    kinds = sorted(r.kind for r in report.records)
    assert kinds == ["police-outcomes", "police-stop-and-search"]
    counts = table_counts(warehouse)
    assert counts["events"] == 0
    assert counts["police_outcomes"] == 4_287  # SOURCES.md
    n_search = len(list(csv.DictReader(io.StringIO(renamed_s.read_text("utf-8-sig")))))
    assert counts["stop_search"] == n_search
    # Without a name, the month comes from the rows (this file starts on 2022-04-30).
    month = warehouse.execute("SELECT DISTINCT strftime(month, '%Y-%m') FROM stop_search"
                              ).fetchall()
    assert month == [("2022-05",)]


STREET_HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,"
                 "LSOA code,LSOA name,Crime type,Last outcome category,Context")


def test_bad_rows_are_quarantined_with_line_and_reason(warehouse, tmp_path):
    good = "abc1,2023-01,Bedfordshire Police,Bedfordshire Police,-0.4,52.1,On or near X,E01017491,Bedford 007D,Burglary,Under investigation,"
    rows = [
        STREET_HEADER,
        good,                                                                       # 2 ok
        good.replace("abc1", "abc2").replace("2023-01", "2023-13"),                 # 3 month
        good.replace("abc1", "abc3").replace("-0.4", "west"),                      # 4 lon
        good.replace("abc1", "abc4").replace("E01017491", "E0101749"),              # 5 lsoa
        "abc5,2023-01,Bedfordshire Police",                                         # 6 fields
        good.replace("abc1", "abc6").replace("On or near X", '"On or near\nX, Y"'),  # 7-8 ok
        good.replace("abc1", "abc7").replace(",Burglary,", ",,"),                   # 9 type
        ",2023-01,Bedfordshire Police,Bedfordshire Police,,,No location,,,Anti-social behaviour,,",  # 10 ok
        good.replace("abc1", "abc8").replace("2023-01", "2023-02"),                 # 11 month
    ]
    path = tmp_path / "2023-01-bedfordshire-street.csv"
    path.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    report = load(warehouse, path)
    (record,) = report.records
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (9, 3, 6)
    got = warehouse.execute("SELECT line_no, column_name, reason FROM quarantine "
                            "ORDER BY line_no").fetchall()
    assert [(line, column) for line, column, _ in got] == [
        (3, "Month"), (4, "Longitude"), (5, "LSOA code"), (6, None), (9, "Crime type"),
        (11, "Month")]
    assert "expected 12 fields, found 3" in got[3][2]
    assert "2023-02 in a file for 2023-01" in got[5][2]
    loaded = warehouse.execute("SELECT line_no, location, located FROM events ORDER BY line_no"
                               ).fetchall()
    assert loaded == [(2, "On or near X", True), (7, "On or near\nX, Y", True),
                      (10, "No location", False)]


def test_quoted_comma_in_an_otherwise_unquoted_file(warehouse, bedfordshire_zip, tmp_path):
    # Real file: line 1396 has "Bournemouth, Christchurch and Poole 022C", nothing else quoted.
    path = extract(bedfordshire_zip, "2022-10/2022-10-bedfordshire-street.csv", tmp_path)
    load(warehouse, path)
    row = warehouse.execute("SELECT lsoa_name, category FROM events WHERE line_no = 1396"
                            ).fetchone()
    assert row == ("Bournemouth, Christchurch and Poole 022C", "Violence and sexual offences")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("2023-01-x-street.csv", b"", "empty"),
        ("2023-01-x-street.csv", b"<!DOCTYPE html><html><body>Server error</body></html>",
         "HTML page"),
        ("2023-01-x-street.csv", b"Month,Crime type\n2023-01,Burglary\n", "unrecognised header"),
        ("2023-01-x-street.csv",
         b"abc,2023-01,Bedfordshire Police,Bedfordshire Police,-0.4,52.1,X,E01017491,B,"
         b"Burglary,,\n", "unrecognised header"),
        ("2023-01-x-street.csv", (STREET_HEADER + "\nabc,2023-01,Caf\xe9\n").encode("latin-1"),
         "not valid UTF-8"),
    ],
)
def test_malformed_files_are_refused_and_nothing_changes(warehouse, cambridgeshire_zip,
                                                         tmp_path, name, content, message):
    load(warehouse, cambridgeshire_zip)
    before = table_counts(warehouse)
    bad = tmp_path / name
    bad.write_bytes(content)
    good = extract(Path(cambridgeshire_zip), "2019-01/2019-01-cambridgeshire-street.csv",
                   tmp_path / "other")
    good.write_bytes(good.read_bytes() + b"")  # same bytes: would be 'unchanged' anyway
    with pytest.raises(InputError) as caught:
        load(warehouse, bad)
    assert str(bad) in str(caught.value) and message in str(caught.value)
    assert table_counts(warehouse) == before


def test_error_names_line_for_bad_encoding(warehouse, tmp_path):
    bad = tmp_path / "2023-01-bedfordshire-street.csv"
    bad.write_bytes((STREET_HEADER + "\r\nabc,2023-01\r\nabd,2023-01,Caf\xe9\r\n").encode("latin-1"))
    with pytest.raises(InputError) as caught:
        load(warehouse, bad)
    assert caught.value.line == 3
    assert "expected UTF-8" in str(caught.value)


def test_a_bad_file_in_a_batch_rolls_back_the_good_ones(warehouse, bedfordshire_zip, tmp_path):
    before = table_counts(warehouse)
    good = extract(bedfordshire_zip, "2023-01/2023-01-bedfordshire-street.csv", tmp_path)
    truncated = tmp_path / "broken.zip"
    truncated.write_bytes(bedfordshire_zip.read_bytes()[:200_000])
    with pytest.raises(InputError) as caught:
        load(warehouse, good, truncated)
    assert "broken.zip" in str(caught.value) and "zip" in str(caught.value)
    assert table_counts(warehouse) == before


def test_a_failure_while_loading_leaves_the_store_as_it_was(warehouse, cambridgeshire_zip,
                                                             monkeypatch):
    import cspkit.ingest.pipeline as pipeline

    before = table_counts(warehouse)

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline.ingest_log, "finish_ingests", boom)
    with pytest.raises(RuntimeError):
        load(warehouse, cambridgeshire_zip)
    assert table_counts(warehouse) == before


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_blank_lines_keep_line_numbers_exact(warehouse, tmp_path, newline):
    """A blank line between records is not a row, and every later line keeps its own number
    (the file is read by the exact, line-counting path)."""
    good = "abc1,2023-01,Bedfordshire Police,Bedfordshire Police,-0.4,52.1,On or near X,E01017491,Bedford 007D,Burglary,Under investigation,"
    rows = [STREET_HEADER, good,                                          # 1-2
            "",                                                           # 3 blank
            good.replace("abc1", "abc2"),                                 # 4 ok
            good.replace("abc1", "abc3").replace("2023-01", "2023-13"),   # 5 bad month
            "", "",                                                       # 6-7 blank
            good.replace("abc1", "abc4")]                                 # 8 ok
    path = tmp_path / "2023-01-bedfordshire-street.csv"
    path.write_text(newline.join(rows) + newline, encoding="utf-8")
    report = load(warehouse, path)
    (record,) = report.records
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (4, 3, 1)
    assert warehouse.execute("SELECT line_no FROM quarantine").fetchall() == [(5,)]
    assert warehouse.execute("SELECT line_no, record_id FROM events ORDER BY line_no"
                             ).fetchall() == [(2, "abc1"), (4, "abc2"), (8, "abc4")]
