"""Indices of Deprivation: IoD2019 File 2 (CSV), IoD2025 Files 1 and 3 (xlsx) and the IoD2019
district summaries (File 10), checked against the raw files read with plain pandas; rank and
decile validation and edition detection on small crafted files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cspkit.errors import InputError
from tests.sources.reference.conftest import Loaded
from tests.sources.reference.helpers import (
    EAST_CAMBS,
    IMD2019_FILE2,
    IMD2019_FILE10,
    IOD2025_FILE1,
    IOD2025_FILE3,
    LUTON,
    ingest,
    scalar,
)

DOMAINS_2019 = ["imd", "income", "employment", "education", "health", "crime", "barriers",
                "living_environment"]


def test_iod2019_file2_every_domain(reference: Loaded) -> None:
    raw = pd.read_csv(IMD2019_FILE2, encoding="utf-8-sig", thousands=",")
    assert len(raw) == 32_844
    con = reference.con
    per_domain = dict(con.execute(
        "SELECT domain, count(*) FROM imd WHERE edition = '2019' GROUP BY 1").fetchall())
    assert per_domain == dict.fromkeys(DOMAINS_2019, 32_844)
    assert scalar(con, "SELECT DISTINCT lsoa_vintage FROM imd WHERE edition = '2019'") == "2011"
    # Every rank and decile equals the file's, column by column.
    stored = con.execute("SELECT lsoa_code, domain, rank, decile FROM imd "
                         "WHERE edition = '2019'").df()
    ranks = stored.pivot(index="lsoa_code", columns="domain", values="rank")
    code = "LSOA code (2011)"
    raw = raw.set_index(code)
    assert (ranks.loc[raw.index, "imd"].to_numpy() == raw[
        "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)"].to_numpy()).all()
    assert (ranks.loc[raw.index, "crime"].to_numpy() == raw[
        "Crime Rank (where 1 is most deprived)"].to_numpy()).all()
    education = [c for c in raw.columns if c.startswith("Education") and "Decile" in c][0]
    deciles = stored.pivot(index="lsoa_code", columns="domain", values="decile")
    assert (deciles.loc[raw.index, "education"].to_numpy() == raw[education].to_numpy()).all()
    ec = raw[raw["Local Authority District code (2019)"] == EAST_CAMBS]
    assert scalar(con, """SELECT count(*) FROM imd WHERE edition = '2019' AND domain = 'imd'
                          AND lsoa_code IN (SELECT unnest(?::VARCHAR[]))""",
                  [list(ec.index)]) == len(ec) == 50


def test_iod2025_files_1_and_3(reference: Loaded) -> None:
    file1 = pd.read_excel(IOD2025_FILE1, sheet_name="IMD25", engine="calamine")
    file3 = pd.read_excel(IOD2025_FILE3, sheet_name="IoD2025 IDACI & IDAOPI", engine="calamine")
    con = reference.con
    per_domain = dict(con.execute(
        "SELECT domain, count(*) FROM imd WHERE edition = '2025' GROUP BY 1").fetchall())
    assert per_domain == {"imd": len(file1), "idaci": len(file3), "idaopi": len(file3)}
    assert len(file1) == 33_755
    assert scalar(con, "SELECT DISTINCT lsoa_vintage FROM imd WHERE edition = '2025'") == "2021"
    luton = file1.loc[file1["Local Authority District code (2024)"] == LUTON, "LSOA code (2021)"]
    assert len(luton) == 125
    assert scalar(con, """SELECT count(*) FROM imd i JOIN area_links l
                              ON l.child_code = i.lsoa_code AND l.child_vintage = '2021'
                          WHERE i.edition = '2025' AND i.domain = 'imd'
                            AND l.parent_code = ? AND l.parent_vintage = '2023'""",
                  [LUTON]) == 125
    idaci_rank = [c for c in file3.columns if "(IDACI) Rank" in c]
    idaci = file3.set_index("LSOA code (2021)")[idaci_rank[0]]
    stored = dict(con.execute("SELECT lsoa_code, rank FROM imd WHERE edition = '2025' "
                              "AND domain = 'idaci'").fetchall())
    assert all(stored[code] == rank for code, rank in idaci.items())
    # The two files' IMD columns agree, so loading both leaves one IMD row per LSOA.
    assert scalar(con, "SELECT count(DISTINCT source) FROM imd WHERE edition = '2025' "
                  "AND domain = 'imd'") == 1


def test_district_summaries(reference: Loaded) -> None:
    con = reference.con
    book = pd.read_excel(IMD2019_FILE10, sheet_name=None, engine="calamine")
    sheets = {name: frame for name, frame in book.items() if name != "Notes"}
    assert len(sheets) == 10 and all(len(f) == 317 for f in sheets.values())
    got = dict(con.execute("SELECT measure, value FROM imd_district WHERE lad_code = ? AND "
                           "edition = '2019' AND domain = 'imd'", [EAST_CAMBS]).fetchall())
    assert got["rank_of_average_score"] == 272
    assert got["average_score"] == pytest.approx(11.507)
    imd = sheets["IMD"].set_index("Local Authority District code (2019)")
    assert got["rank_of_average_rank"] == imd.loc[EAST_CAMBS, "IMD - Rank of average rank "]
    domains = dict(con.execute("SELECT domain, count(DISTINCT lad_code) FROM imd_district "
                               "GROUP BY 1").fetchall())
    assert domains == dict.fromkeys(DOMAINS_2019 + ["idaci", "idaopi"], 317)
    # Every numeric cell of every sheet is stored once.
    cells = sum(f.shape[0] * (f.shape[1] - 2) for f in sheets.values())
    assert scalar(con, "SELECT count(*) FROM imd_district") == cells
    # 'Income scale' has no ' - ': its domain comes from the sheet.
    assert scalar(con, "SELECT value FROM imd_district WHERE lad_code = ? AND domain = 'income' "
                  "AND measure = 'rank_of_scale'", [EAST_CAMBS]) == sheets["Income"].set_index(
        "Local Authority District code (2019)").loc[EAST_CAMBS, "Rank of Income Scale"]
    record = reference.record(IMD2019_FILE10.name)
    assert record.kind == "reference-imd-district" and record.rows_in == 10 * 317


HEADER = ("LSOA code (2011),LSOA name (2011),Local Authority District code (2019),"
          "Local Authority District name (2019),"
          "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived),"
          "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)\n")


def test_ranks_and_deciles_are_validated(fresh: duckdb.DuckDBPyConnection,
                                         tmp_path: Path) -> None:
    path = tmp_path / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv"
    path.write_text(HEADER
                    + 'E01000001,A,E09000001,City,"29,199",9\n'
                    + "E01000002,B,E09000001,City,40000,10\n"
                    + "E01000003,C,E09000001,City,14,11\n"
                    + "E01000005,D,E09000001,City,7.5,3\n"
                    + "E01000006,E,E09000001,City,,3\n")
    [record] = ingest(fresh, path)
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (5, 1, 4)
    assert fresh.execute("SELECT lsoa_code, edition, rank, decile FROM imd").fetchall() == [
        ("E01000001", "2019", 29199, 9)]
    rejected = fresh.execute("SELECT line_no, column_name, reason FROM quarantine "
                             "ORDER BY line_no").fetchall()
    assert [r[0] for r in rejected] == [3, 4, 5, 6]
    assert "outside 1..32844" in rejected[0][2] and "Rank" in rejected[0][1]
    assert "outside 1..10" in rejected[1][2] and "Decile" in rejected[1][1]
    assert "not a whole number" in rejected[2][2]
    assert "no value" in rejected[3][2]


def test_edition_from_argument_name_or_district_codes(fresh: duckdb.DuckDBPyConnection,
                                                      tmp_path: Path) -> None:
    row = "E01000001,A,E09000001,City,5,1\n"
    by_codes = tmp_path / "deprivation.csv"
    by_codes.write_text(HEADER + row)
    ingest(fresh, by_codes)
    assert scalar(fresh, "SELECT edition FROM imd") == "2019"
    renamed = tmp_path / "IoD2025_extract.csv"
    renamed.write_text(HEADER.replace("(2019)", "(2024)").replace("(2011)", "(2021)") + row)
    ingest(fresh, renamed)
    assert fresh.execute("SELECT edition, lsoa_vintage FROM imd ORDER BY 1").fetchall() == [
        ("2019", "2011"), ("2025", "2021")]
    unknown = tmp_path / "deprivation_other.csv"
    unknown.write_text(HEADER.replace(" (2019)", "") + "E01000009,A,E09000001,City,5,1\n")
    with pytest.raises(InputError, match="edition"):
        ingest(fresh, unknown)
    ingest(fresh, unknown, edition="2010")
    assert scalar(fresh, "SELECT edition FROM imd WHERE lsoa_code = 'E01000009'") == "2010"


def test_lines_count_physical_lines_under_a_multi_line_header(
        fresh: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "IoD2019_domains.csv"
    path.write_text('LSOA code (2011),"Income Rank\n(where 1 is most deprived)",'
                    '"Crime\nScore"\n'
                    "E01000001,10,0.5\n"
                    "E01000002,ten,0.1\n")
    [record] = ingest(fresh, path)
    assert record.rows_quarantined == 1
    assert fresh.execute("SELECT line_no, column_name, raw FROM quarantine").fetchall() == [
        (5, "Income Rank (where 1 is most deprived)", "E01000002,ten,0.1")]
    assert fresh.execute("SELECT domain, score, rank FROM imd ORDER BY 1").fetchall() == [
        ("crime", 0.5, None), ("income", None, 10)]
