"""Loading each shipped layout, and the ways a partner file goes wrong."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import duckdb
import pytest

from cspkit.errors import InputError
from cspkit.ingest import ingest_partner
from cspkit.store.ingest_log import IngestRecord
from tests.conftest import table_counts
from tests.sources.partner.conftest import (
    AMBULANCE_HEADER,
    AMBULANCE_ROWS,
    BEDFORD,
    DA_HEADER,
    DA_ROWS,
    FIRE_HEADER,
    ISTV_HEADER,
    ISTV_ROWS,
    LUTON,
    MARKERS_HEADER,
    MARKERS_ROWS,
    SAFE_HEADER,
    SAFE_ROWS,
    TREATMENT_HEADER,
    TREATMENT_ROWS,
    fire_rows,
    write_csv,
    write_xlsx,
)


def load(con: duckdb.DuckDBPyConnection, path: Path, schema: str) -> IngestRecord:
    records = ingest_partner(con, [str(path)], schema=schema, run_id="t")
    assert len(records) == 1
    return records[0]


def balanced(con: duckdb.DuckDBPyConnection) -> None:
    """rows_in = loaded + quarantined for every ingest, and the tables agree."""
    for ingest_id, rows_in, loaded, bad in con.execute(
            "SELECT ingest_id, rows_in, rows_loaded, rows_quarantined FROM ingests").fetchall():
        assert rows_in == loaded + bad
        held = con.execute("SELECT count(*) FROM quarantine WHERE ingest_id = ?",
                           [ingest_id]).fetchone()
        assert held == (bad,)


def quarantine(con: duckdb.DuckDBPyConnection) -> list[tuple[int, str | None, str]]:
    return con.execute("SELECT line_no, column_name, reason FROM quarantine "
                       "ORDER BY line_no").fetchall()


# --- every shipped layout loads ----------------------------------------------------------


def test_fire_loads_every_row(warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "fire.csv", FIRE_HEADER, fire_rows())
    record = load(warehouse, path, "fire")
    assert (record.status, record.rows_in, record.rows_loaded, record.rows_quarantined) == \
        ("loaded", 12, 12, 0)
    assert record.kind == "partner-fire"
    rows = warehouse.execute(
        """SELECT source, month, event_date, event_time, category, subcategory, record_id,
                  lsoa_code, lon, lat, located, attributes, line_no
           FROM events ORDER BY line_no""").fetchall()
    assert len(rows) == 12
    assert {r[0] for r in rows} == {"fire"}
    assert [r[1] for r in rows] == [dt.date(2022, m, 1) for m in range(1, 13)]
    assert rows[0][2] == dt.date(2022, 1, 1) and rows[0][3] == dt.time(8, 15)
    assert [r[5] for r in rows[:4]] == ["Deliberate", "Accidental", "Unknown", "Unknown"]
    assert rows[0][4] == "Primary fire" and rows[0][6] == "FRS-0000"
    assert json.loads(rows[0][11]) == {"property_type": "Grassland"}
    assert [r[12] for r in rows] == list(range(2, 14))
    # No geography held: an LSOA alone does not locate; a grid reference does.
    assert rows[0][7] == "E01015000" and rows[0][10] is False
    gridded = rows[4]
    assert gridded[7] is None and gridded[10] is True
    assert gridded[8] == pytest.approx(-0.43, abs=0.02)
    assert gridded[9] == pytest.approx(51.88, abs=0.02)
    balanced(warehouse)


def test_fire_with_geography_sets_vintage(geography: duckdb.DuckDBPyConnection,
                                          tmp_path: Path) -> None:
    path = write_csv(tmp_path / "fire.csv.gz", FIRE_HEADER, fire_rows())
    record = load(geography, path, "fire")
    assert record.rows_loaded == 12 and record.lsoa_vintage == "2021"
    rows = geography.execute("SELECT lsoa_vintage, lsoa_name, located FROM events "
                             "WHERE lsoa_code = 'E01015000'").fetchall()
    assert rows and all(r == ("2021", "Luton 001A", True) for r in rows)


def test_istv_constant_category_weapon_map_and_district(warehouse: duckdb.DuckDBPyConnection,
                                                       tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ed.csv", ISTV_HEADER, ISTV_ROWS)
    record = load(warehouse, path, "istv")
    assert (record.rows_in, record.rows_loaded) == (4, 4)
    assert record.note and "restricted" in record.note
    rows = warehouse.execute("SELECT category, subcategory, lsoa_code, attributes, month "
                             "FROM events ORDER BY line_no").fetchall()
    assert {r[0] for r in rows} == {"Assault attendance"}
    assert [r[1] for r in rows] == ["Knife or sharp object", "Body part or none",
                                    "Glass or bottle", "Not known"]
    assert json.loads(rows[1][3]) == {"age_band": "25-34", "assault_location": "Home",
                                      "district": LUTON, "gender": "Female"}
    assert rows[1][2] is None and rows[2][4] == dt.date(2022, 6, 1)


def test_police_markers_flags_become_booleans(geography: duckdb.DuckDBPyConnection,
                                              tmp_path: Path) -> None:
    path = write_csv(tmp_path / "markers.csv", MARKERS_HEADER, MARKERS_ROWS)
    assert load(geography, path, "police-markers").rows_loaded == 3
    attributes = [json.loads(a) for (a,) in geography.execute(
        "SELECT attributes FROM events WHERE source = 'police-markers' ORDER BY line_no"
    ).fetchall()]
    assert attributes[0] == {"cyber": False, "domestic_abuse": True, "hate": False,
                             "victim_age_band": "25-34"}


def test_treatment_two_indicators_per_row(geography: duckdb.DuckDBPyConnection,
                                          tmp_path: Path) -> None:
    # The England and county comparators are accepted: no country or county areas are held.
    path = write_csv(tmp_path / "treatment.csv", TREATMENT_HEADER, TREATMENT_ROWS)
    record = load(geography, path, "treatment")
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (5, 5, 0)
    assert geography.execute("SELECT count(*) FROM indicators").fetchone() == (10,)
    rows = geography.execute(
        """SELECT source, indicator, area_code, period_start, period_end, period_label, value,
                  unit, attributes FROM indicators
           WHERE area_code = ? AND attributes LIKE '%Opiate%' ORDER BY indicator""",
        [LUTON]).fetchall()
    assert rows == [
        ("treatment", "in_treatment", LUTON, dt.date(2022, 4, 1), dt.date(2023, 3, 31),
         "2022/23", 410.0, "people", '{"area_name": "Luton", "substance_group": "Opiate"}'),
        ("treatment", "successful_completions", LUTON, dt.date(2022, 4, 1),
         dt.date(2023, 3, 31), "2022/23", 21.0, "people",
         '{"area_name": "Luton", "substance_group": "Opiate"}'),
    ]


def test_safe_and_well(warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "saw.csv", SAFE_HEADER, SAFE_ROWS)
    assert load(warehouse, path, "safe-and-well").rows_loaded == 3
    assert warehouse.execute(
        "SELECT sum(value), count(*), min(period_start) FROM indicators "
        "WHERE indicator = 'safe_and_well_visits'").fetchone() == (3530.0, 3, dt.date(2021, 4, 1))


def test_ambulance_sheet_by_name(warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "amb.xlsx", {"Notes": (["About"], [["synthetic"]]),
                                             "Assault callouts": (AMBULANCE_HEADER,
                                                                  AMBULANCE_ROWS)})
    record = load(warehouse, path, "ambulance")
    assert (record.rows_in, record.rows_loaded) == (3, 3)
    rows = warehouse.execute("SELECT area_code, period_label, value, unit, attributes "
                             "FROM indicators ORDER BY value").fetchall()
    assert rows[0] == (BEDFORD, "2022/23", 280.0, "count", '{"area_name": "Bedford"}')


def test_domestic_abuse_workbook(warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "da.xlsx", {"By year": (DA_HEADER, DA_ROWS)})
    record = load(warehouse, path, "domestic-abuse")
    assert (record.rows_in, record.rows_loaded) == (2, 2)
    assert warehouse.execute("SELECT indicator, sum(value) FROM indicators GROUP BY 1 "
                             "ORDER BY 1").fetchall() == [("da_crimes", 4650.0),
                                                          ("da_incidents", 7400.0)]


def test_sheet_by_index_and_sheet_rows(warehouse: duckdb.DuckDBPyConnection,
                                       tmp_path: Path) -> None:
    schema = tmp_path / "amb.yaml"
    schema.write_text(
        "name: amb-index\nkind: indicators\nsource: ambulance\nfile: {sheet: 1}\n"
        "columns:\n  area: {column: LAD code}\n"
        "  period: {column: Financial year, format: financial_year}\n"
        "  values: {assault_callouts: {column: Callouts}}\n")
    rows = [*AMBULANCE_ROWS, [LUTON, "Luton", "2023/24", "n/a"]]
    path = write_xlsx(tmp_path / "amb.xlsx", {"Notes": (["About"], [["x"]]),
                                             "Data": (AMBULANCE_HEADER, rows)})
    record = load(warehouse, path, str(schema))
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (4, 3, 1)
    assert quarantine(warehouse) == [(5, "Callouts", 'Callouts: expected a number, found "n/a"')]


def test_missing_sheet_is_an_input_error(warehouse: duckdb.DuckDBPyConnection,
                                         tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "amb.xlsx", {"Sheet1": (AMBULANCE_HEADER, AMBULANCE_ROWS)})
    with pytest.raises(InputError, match="no sheet named 'Assault callouts'.*Sheet1"):
        load(warehouse, path, "ambulance")
    assert table_counts(warehouse)["ingests"] == 0


def test_unreadable_workbook(warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "amb.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a workbook" * 10)
    with pytest.raises(InputError, match="not a readable Excel workbook"):
        load(warehouse, path, "ambulance")


# --- bad files and bad rows -----------------------------------------------------------------


def test_missing_columns_are_listed(warehouse: duckdb.DuckDBPyConnection,
                                    tmp_path: Path) -> None:
    header = [h for h in FIRE_HEADER if h not in ("CauseCode", "CallDate")]
    path = write_csv(tmp_path / "fire.csv", header, [["x"] * len(header)])
    with pytest.raises(InputError) as caught:
        load(warehouse, path, "fire")
    message = str(caught.value)
    assert "fire.csv" in message and "missing columns CallDate, CauseCode" in message
    assert "found IncidentNumber, CallTime" in message
    assert table_counts(warehouse)["ingests"] == 0


def test_wrong_header_for_indicators(warehouse: duckdb.DuckDBPyConnection,
                                     tmp_path: Path) -> None:
    path = write_csv(tmp_path / "saw.csv", ["Area", "Year", "Count"], [["a", "b", "1"]])
    with pytest.raises(InputError, match="missing columns District code, Financial year, "
                       "Visits"):
        load(warehouse, path, "safe-and-well")


def test_optional_columns_may_be_absent(warehouse: duckdb.DuckDBPyConnection,
                                        tmp_path: Path) -> None:
    keep = [0, 1, 3, 4]   # no time, property type, LSOA or grid reference
    rows = [[r[i] for i in keep] for r in fire_rows()]
    path = write_csv(tmp_path / "fire.csv", [FIRE_HEADER[i] for i in keep], rows)
    assert load(warehouse, path, "fire").rows_loaded == 12
    assert warehouse.execute("SELECT count(*) FROM events WHERE located").fetchone() == (0,)


def test_bad_rows_quarantined_with_line_and_column(warehouse: duckdb.DuckDBPyConnection,
                                                   tmp_path: Path) -> None:
    rows = fire_rows()[:6]
    rows[1][4] = "X"                        # line 3: unmapped cause
    rows[2][1] = "31/12/1999"               # line 4: before the accepted dates
    rows[3][1] = "2022-04-04"               # line 5: wrong date form
    rows[4][0] = "FRS-0000"                 # line 6: duplicate incident number
    rows[5][2] = "25:99"                    # line 7: not a time
    path = write_csv(tmp_path / "fire.csv", FIRE_HEADER, rows)
    record = load(warehouse, path, "fire")
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (6, 1, 5)
    assert quarantine(warehouse) == [
        (3, "CauseCode", 'CauseCode: unmapped value "X" (expected one of D, A, U, NK)'),
        (4, "CallDate", "CallDate: 1999-12-31 is outside the accepted dates 2000-01-01 to "
         f"{dt.date.today().isoformat()}"),
        (5, "CallDate", 'CallDate: "2022-04-04" is not a date in the form 31/01/2023'),
        (6, "IncidentNumber", 'IncidentNumber: duplicate "FRS-0000": first seen at line 2'),
        (7, "CallTime", 'CallTime: "25:99" is not a time in the form 23:05'),
    ]
    raw = warehouse.execute("SELECT raw FROM quarantine WHERE line_no = 3").fetchone()
    assert raw is not None and raw[0].startswith("FRS-0001,")
    balanced(warehouse)


def test_declared_date_range(warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    schema = tmp_path / "my-fire.yaml"
    schema.write_text("name: my-fire\nkind: events\nsource: fire\n"
                      "date_range: [2022-03-01, 2022-06-30]\n"
                      "columns:\n  date: {column: CallDate, format: '%d/%m/%Y'}\n"
                      "  category: {column: IncidentGroup}\n")
    path = write_csv(tmp_path / "fire.csv", FIRE_HEADER, fire_rows())
    record = load(warehouse, path, str(schema))
    assert (record.rows_loaded, record.rows_quarantined) == (4, 8)
    assert record.kind == "partner-my-fire"
    balanced(warehouse)


def test_unknown_codes_quarantined_when_geography_held(geography: duckdb.DuckDBPyConnection,
                                                       tmp_path: Path) -> None:
    rows = [list(r) for r in ISTV_ROWS]
    rows[0][6] = "E01999999"                # unknown incident LSOA
    rows[1][7] = "E06999999"                # unknown resident district
    rows[2][6] = "Luton"                    # not a code at all
    path = write_csv(tmp_path / "ed.csv", ISTV_HEADER, rows)
    record = load(geography, path, "istv")
    assert (record.rows_loaded, record.rows_quarantined) == (1, 3)
    reasons = [r[2] for r in quarantine(geography)]
    assert reasons[0].startswith("IncidentLSOA: E01999999 is not in the geography held")
    assert reasons[1].startswith("ResidentDistrict: E06999999 is not in the geography held")
    assert reasons[2].startswith('IncidentLSOA: "LUTON" is not an LSOA code')


def test_unknown_codes_accepted_without_geography(warehouse: duckdb.DuckDBPyConnection,
                                                  tmp_path: Path) -> None:
    rows = [list(r) for r in ISTV_ROWS]
    rows[0][6] = "E01999999"
    path = write_csv(tmp_path / "ed.csv", ISTV_HEADER, rows)
    assert load(warehouse, path, "istv").rows_quarantined == 0
    assert warehouse.execute("SELECT lsoa_vintage, located FROM events WHERE lsoa_code = "
                             "'E01999999'").fetchall() == [(None, False)]


def test_indicator_bad_values(geography: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    rows = [list(r) for r in TREATMENT_ROWS]
    rows[0][4] = "lots"                     # non-numeric
    rows[1][0] = "E06999999"                # unknown district
    rows[2][2] = "2022"                     # not a financial year
    rows[3][5] = ""                         # empty value
    rows.append(list(TREATMENT_ROWS[4]))    # duplicate of the last row
    path = write_csv(tmp_path / "treatment.csv", TREATMENT_HEADER, rows)
    record = load(geography, path, "treatment")
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (6, 1, 5)
    assert geography.execute("SELECT count(*) FROM indicators").fetchone() == (2,)
    assert quarantine(geography) == [
        (2, "In treatment", 'In treatment: expected a number, found "lots"'),
        (3, "Area code", "Area code: E06999999 is not in the geography held (no lad with this "
         "code)"),
        (4, "Financial year", 'Financial year: "2022" is not a financial year (expected e.g. '
         "2022/23)"),
        (5, "Successful completions", "Successful completions: empty (expected a number)"),
        (7, "Area code", "Area code: duplicate: E10000003 2021/22 is already given at line 6"),
    ]
    balanced(geography)


def test_html_page_saved_as_csv(warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "fire.csv"
    path.write_text("<!DOCTYPE html>\n<html><body>Please sign in</body></html>\n")
    with pytest.raises(InputError, match="fire.csv: this is a web page"):
        load(warehouse, path, "fire")
    assert table_counts(warehouse)["ingests"] == 0


def test_empty_file(warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "saw.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="saw.csv: the file is empty"):
        load(warehouse, path, "safe-and-well")


def test_bad_file_in_batch_leaves_warehouse_unchanged(warehouse: duckdb.DuckDBPyConnection,
                                                      tmp_path: Path) -> None:
    good = write_csv(tmp_path / "a" / "1.csv", SAFE_HEADER, SAFE_ROWS)
    bad = tmp_path / "a" / "2.csv"
    bad.write_text("<html></html>")
    before = table_counts(warehouse)
    with pytest.raises(InputError, match="2.csv"):
        ingest_partner(warehouse, [str(good.parent)], schema="safe-and-well", run_id="t")
    assert table_counts(warehouse) == before


def test_reload_is_unchanged(warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "fire.csv", FIRE_HEADER, fire_rows())
    first = load(warehouse, path, "fire")
    before = table_counts(warehouse)
    again = load(warehouse, path, "fire")
    assert again.status == "unchanged" and again.ingest_id == first.ingest_id
    assert table_counts(warehouse) == before
    # The same bytes under another name, twice in one batch: still nothing new.
    copy = tmp_path / "copy" / "fire-again.csv"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    records = ingest_partner(warehouse, [str(copy), str(path)], schema="fire", run_id="t2")
    assert [r.status for r in records] == ["unchanged", "unchanged"]
    assert table_counts(warehouse) == before


def test_same_bytes_twice_in_one_batch(warehouse: duckdb.DuckDBPyConnection,
                                       tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", SAFE_HEADER, SAFE_ROWS)
    copy = tmp_path / "b.csv"
    copy.write_bytes(path.read_bytes())
    seen: list[tuple[str, int, int]] = []
    records = ingest_partner(warehouse, [str(path), str(copy)], schema="safe-and-well",
                             run_id="t", on_file=lambda f, i, n: seen.append((f, i, n)))
    assert [r.status for r in records] == ["loaded", "unchanged"]
    assert records[1].ingest_id == records[0].ingest_id
    assert [(i, n) for _, i, n in seen] == [(1, 2), (2, 2)]
    assert warehouse.execute("SELECT count(*) FROM ingests").fetchone() == (1,)


def test_header_below_title_rows_and_gzip(warehouse: duckdb.DuckDBPyConnection,
                                          tmp_path: Path) -> None:
    path = tmp_path / "saw.csv.gz"
    lines = ["Safe and Well visits,,,", "Synthetic,,,", ",,,", ",".join(SAFE_HEADER),
             *(",".join(r) for r in SAFE_ROWS), "E06000099,Nowhere,2022/23,x"]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    record = load(warehouse, path, "safe-and-well")
    assert (record.rows_in, record.rows_loaded) == (4, 3)
    assert quarantine(warehouse)[0][0] == 8


def test_control_characters_are_removed_and_counted(warehouse: duckdb.DuckDBPyConnection,
                                                    tmp_path: Path) -> None:
    rows = [[LUTON, "Lu\x00ton", "2021/22", "1200"], [LUTON, "Luton\x1b", "2022/23", "1350"],
            [BEDFORD, "Bedford", "2022/23", "980"]]
    record = load(warehouse, write_csv(tmp_path / "saw.csv", SAFE_HEADER, rows),
                  "safe-and-well")
    assert (record.rows_loaded, record.control_characters) == (3, 2)
    assert "control characters" in (record.note or "")
    names = {r[0] for r in warehouse.execute(
        "SELECT json_extract_string(attributes, '$.area_name') FROM indicators").fetchall()}
    assert all("\x00" not in (n or "") and "\x1b" not in (n or "") for n in names)
