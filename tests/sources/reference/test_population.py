"""Population tables as ONS publishes them: SAPE workbooks (xlsx, and xls inside a zip), the
census 2011 CSV and the mid-year estimates for districts. Totals are checked against the raw
files read with plain pandas and against the figures ONS publishes."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.sources.reference.conftest import Loaded
from tests.sources.reference.helpers import (
    CENSUS,
    EAST_CAMBS,
    MYE_2019,
    SAPE_2017_ZIP,
    SAPE_2018,
    WD19,
    ingest,
    raw_csv,
    scalar,
)


def east_cambs_lsoas() -> list[str]:
    raw = raw_csv(WD19)
    return sorted(raw.loc[raw["LAD19CD"] == EAST_CAMBS, "LSOA11CD"])


def total(con: duckdb.DuckDBPyConnection, year: int, codes: list[str], vintage: str = "2011",
          column: str = "persons") -> float:
    value = scalar(con, f"""SELECT sum({column}) FROM population WHERE year = ? AND vintage = ?
                            AND method = 'published' AND code IN (SELECT unnest(?::VARCHAR[]))""",
                   [year, vintage, codes])
    return float(value)  # type: ignore[arg-type]


def test_census_2011_residents_and_households(reference: Loaded) -> None:
    raw = pd.read_csv(CENSUS, dtype=str, keep_default_na=False)
    # Duplicate 'Persons' headers: pandas names them Persons, Persons.1 ...; the first is all
    # usual residents.
    ec = raw[raw["Local authority code"] == EAST_CAMBS]
    residents = ec["Persons"].str.replace(",", "").astype(int).sum()
    households = ec["Households"].str.replace(",", "").astype(int).sum()
    assert (residents, households) == (83_818, 34_614)
    codes = sorted(ec["LSOA Code"])
    assert codes == east_cambs_lsoas()
    assert total(reference.con, 2011, codes) == residents
    assert total(reference.con, 2011, codes, column="households") == households
    record = reference.record(CENSUS.name)
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (len(raw),) * 2 + (0,)
    assert record.lsoa_vintage == "2011"


def test_sape_mid_2018_xlsx(reference: Loaded) -> None:
    raw = pd.read_excel(SAPE_2018, sheet_name="Mid-2018 Population Density", header=4,
                        engine="calamine")
    codes = east_cambs_lsoas()
    expected = raw.loc[raw["Code"].isin(codes), "Mid-2018 population"].sum()
    assert expected == 89_362
    assert total(reference.con, 2018, codes) == expected
    assert reference.record(SAPE_2018.name).rows_loaded == raw["Code"].notna().sum() == 34_753


def test_sape_mid_2017_xls_inside_a_zip(reference: Loaded) -> None:
    with zipfile.ZipFile(SAPE_2017_ZIP) as archive:
        [member] = archive.namelist()
        data = archive.read(member)
    raw = pd.read_excel(io.BytesIO(data), sheet_name="Mid-2017 Population Density", header=4,
                        engine="calamine")
    codes = east_cambs_lsoas()
    expected = raw.loc[raw["Code"].isin(codes), "Mid-2017 population"].sum()
    assert expected == 88_858
    assert total(reference.con, 2017, codes) == expected
    record = reference.record(member)
    assert record.file.endswith(f".zip!{member}") and record.rows_loaded == 34_753


def test_mid_year_estimates_for_districts(reference: Loaded) -> None:
    raw = pd.read_excel(MYE_2019, sheet_name="MYE2 - Persons", header=4, engine="calamine")
    raw = raw[raw["Geography1"].notna()]
    con = reference.con
    rows = dict(con.execute("SELECT code, persons FROM population WHERE year = 2019").fetchall())
    assert rows == dict(zip(raw["Code"], raw["All ages"].astype(float), strict=True))
    assert rows[EAST_CAMBS] == 89_840
    assert rows["E10000003"] == 653_537 and rows["E06000031"] == 202_259
    # Levels come from the Geography column; the file uses April 2020 district codes.
    levels = dict(con.execute(
        """SELECT a.level, count(*) FROM population p JOIN areas a USING (code)
           WHERE p.year = 2019 GROUP BY 1""").fetchall())
    assert levels["lad"] == raw["Geography1"].isin(
        ["Unitary Authority", "Non-metropolitan District", "Metropolitan District",
         "London Borough", "Council Area", "Local Government District"]).sum()
    assert levels["county"] == raw["Geography1"].isin(["County", "Metropolitan County"]).sum()
    assert scalar(con, "SELECT DISTINCT vintage FROM population WHERE year = 2019") == "2020"
    record = reference.record(MYE_2019.name)
    assert record.rows_in == record.rows_loaded == len(raw)
    assert "note line" in (record.note or "")


def test_bad_numeric_cell_is_quarantined_with_its_line(fresh: duckdb.DuckDBPyConnection,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "population.csv"
    path.write_text("Mid-2019 estimates for a test\n"
                    "\n"
                    "Code,Name,Mid-2019 population\n"
                    "E01000001,City 001A,\"1,500\"\n"
                    "E01000002,City 001B,lots\n"
                    "E01000003,City 001C,-4\n"
                    "E01000001,City 001A again,12\n"
                    "E01000005,City 001E,1600\n")
    [record] = ingest(fresh, path)
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (5, 2, 3)
    rejected = fresh.execute("SELECT line_no, column_name, reason, raw FROM quarantine "
                             "ORDER BY line_no").fetchall()
    assert [(r[0], r[1]) for r in rejected] == [(5, "Mid-2019 population"),
                                                (6, "Mid-2019 population"), (7, "Code")]
    assert "'lots' is not a number" in rejected[0][2]
    assert rejected[0][3] == "E01000002,City 001B,lots"
    assert "first on line 4" in rejected[2][2]
    loaded = dict(fresh.execute("SELECT code, persons FROM population WHERE year = 2019"
                                ).fetchall())
    assert loaded == {"E01000001": 1500.0, "E01000005": 1600.0}


def test_year_must_be_found(fresh: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    from cspkit.errors import InputError

    path = tmp_path / "population.csv"
    path.write_text("Code,Name,All ages\nE07000009,East Cambridgeshire,1\n")
    with pytest.raises(InputError, match="which year"):
        ingest(fresh, path)
    assert scalar(fresh, "SELECT count(*) FROM ingests") == 0


def test_workbook_rows_are_numbered_as_the_sheet_numbers_them(
        fresh: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "Contents"
    sheet = book.create_sheet("Mid-2016 Persons")
    sheet["A1"] = "Mid-2016 population estimates for a test"
    sheet.append([])
    sheet.append(["Area Codes", "Area Names", "All Ages"])    # row 3 (row 2 is blank)
    sheet.append(["E01000001", "City 001A", 1500])
    sheet.append(["E01000002", "City 001B", "n/a"])          # row 5
    sheet.append([])
    sheet.append(["E01000003", "City 001C", 1450.0])         # row 7
    path = tmp_path / "sape_test.xlsx"
    book.save(path)
    [record] = ingest(fresh, path)
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (3, 2, 1)
    assert fresh.execute("SELECT line_no, column_name FROM quarantine").fetchall() == [
        (5, "All Ages")]
    assert "sheet 'Mid-2016 Persons'" in str(scalar(fresh, "SELECT reason FROM quarantine"))
    assert dict(fresh.execute("SELECT code, persons FROM population WHERE year = 2016"
                              ).fetchall()) == {"E01000001": 1500, "E01000003": 1450}


def test_iod_population_denominators_are_the_2015_population_of_2011_lsoas(
        reference: Loaded) -> None:
    """IoD2019 File 6 (real, shipped): mid-2015 population excluding prisoners, by 2011 LSOA;
    East Cambridgeshire's 50 LSOAs total 87,783. Its age groups are not stored."""
    from tests.sources.reference.helpers import IMD2019_FILE6

    record = reference.record(IMD2019_FILE6.name)
    assert (record.kind, record.rows_in, record.rows_loaded) == ("reference-population",
                                                                 32_844, 32_844)
    assert "age-group columns not stored" in (record.note or "")
    assert total(reference.con, 2015, east_cambs_lsoas()) == 87_783

def test_mid_year_estimates_by_single_year_of_age(reference: Loaded) -> None:
    """MYE2's 0 .. 89 and 90+ columns become population_age rows that add up to All ages."""
    raw = pd.read_excel(MYE_2019, sheet_name="MYE2 - Persons", header=4, engine="calamine")
    raw = raw[raw["Geography1"].notna()]
    raw.columns = [str(c).removesuffix(".0") for c in raw.columns]
    con = reference.con
    held = con.execute(
        """SELECT code, sum(persons), count(*), count(*) FILTER (WHERE age_to IS NULL),
                  max(age_from) FROM population_age WHERE year = 2019 AND vintage = '2020'
           GROUP BY code""").fetchall()
    assert len(held) == len(raw)
    assert all(n == 91 and open_ended == 1 and top == 90 for _, _, n, open_ended, top in held)
    sums = {code: total for code, total, *_ in held}
    assert sums == dict(zip(raw["Code"], raw["All ages"].astype(float), strict=True))
    bedford = raw[raw["Code"] == "E06000055"].iloc[0]
    aged_15_29 = scalar(con, """SELECT sum(persons) FROM population_age WHERE code = 'E06000055'
                                AND year = 2019 AND age_from BETWEEN 15 AND 29""")
    assert aged_15_29 == sum(bedford[str(age)] for age in range(15, 30))
    assert scalar(con, """SELECT persons FROM population_age WHERE code = 'E06000055'
                          AND year = 2019 AND age_from = 90""") == bedford["90+"]


def test_land_area_of_lsoas(reference: Loaded) -> None:
    """SAPE's 'Area Sq Km' is kept as each LSOA's area_km2 attribute."""
    raw = pd.read_excel(SAPE_2018, sheet_name="Mid-2018 Population Density", header=4,
                        engine="calamine")
    codes = east_cambs_lsoas()
    expected = raw.loc[raw["Code"].isin(codes), "Area Sq Km"].sum()
    held = scalar(reference.con, """SELECT sum(value::DOUBLE) FROM area_attributes
                                    WHERE attribute = 'area_km2'
                                      AND code IN (SELECT unnest(?::VARCHAR[]))""", [codes])
    assert held == pytest.approx(expected)
    assert 600 < expected < 700   # East Cambridgeshire: about 651 sq km
    assert scalar(reference.con, "SELECT count(*) FROM area_attributes "
                                 "WHERE attribute = 'area_km2'") == len(raw)
