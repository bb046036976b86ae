"""Population for the years after 2020: the ONS mid-2022 estimates for districts (real, shipped)
with their single years of age, census 2021 residents by 2021 LSOA (real, shipped), and the
layouts ONS publishes on 2021 LSOAs (one sheet per year, single years of age or broad bands)
and for districts (one column per year), built here from the real headers as *_SYNTHETIC*
workbooks. Every total is checked against the same file read with plain pandas."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from cspkit.measures.areas import age_structures
from tests.sources.reference.conftest import Loaded
from tests.sources.reference.helpers import (
    BEDFORD,
    CENSUS_2021,
    MYE_2022,
    WD23,
    ingest,
    raw_csv,
    scalar,
)

openpyxl = pytest.importorskip("openpyxl")


def store_persons(con: duckdb.DuckDBPyConnection, year: int, source: str) -> dict[str, float]:
    return dict(con.execute("SELECT code, persons FROM population WHERE year = ? AND source = ?",
                            [year, source]).fetchall())


def bands(con: duckdb.DuckDBPyConnection, code: str, year: int
          ) -> dict[tuple[int, int | None], float]:
    return {(lo, hi): n for lo, hi, n in con.execute(
        "SELECT age_from, age_to, persons FROM population_age WHERE code = ? AND year = ?",
        [code, year]).fetchall()}


def bedford_lsoas21() -> list[str]:
    raw = raw_csv(WD23)
    return sorted(set(raw.loc[raw["LAD23CD"] == BEDFORD, "LSOA21CD"]))


# ------------------------------------------------------------------ real files (shipped)


def test_mid_2022_district_estimates(reference: Loaded) -> None:
    con = reference.con
    persons = pd.read_excel(MYE_2022, sheet_name="MYE2 - Persons", header=7, engine="calamine")
    series = pd.read_excel(MYE_2022, sheet_name="MYE4", header=7, engine="calamine")
    assert store_persons(con, 2022, MYE_2022.name) == dict(
        zip(persons["Code"], persons["All ages"].astype(float), strict=True))
    # MYE4 adds mid-2011 on the same (April 2023) boundaries; its mid-2022 column agrees.
    assert store_persons(con, 2011, MYE_2022.name) == dict(
        zip(series["Code"], series["Mid-2011"].astype(float), strict=True))
    assert (series["Mid-2022"].to_numpy() == persons["All ages"].to_numpy()).all()
    assert store_persons(con, 2022, MYE_2022.name)[BEDFORD] == 187_466
    # MYE6 (median age) has MYE4's header but is not population: no other year is loaded.
    assert {y for (y,) in con.execute("SELECT DISTINCT year FROM population WHERE source = ?",
                                      [MYE_2022.name]).fetchall()} == {2011, 2022}
    record = reference.record(MYE_2022.name)
    assert record.rows_in == record.rows_loaded == 2 * len(persons) == 808


def test_mid_2022_residents_by_age(reference: Loaded) -> None:
    con = reference.con
    raw = pd.read_excel(MYE_2022, sheet_name="MYE2 - Persons", header=7, engine="calamine")
    ages = [str(a) for a in range(90)] + ["90+"]
    assert [str(c) for c in raw.columns[4:]] == ages
    raw.columns = [str(c) for c in raw.columns]
    held = con.execute(
        """SELECT code, age_from, age_to, persons FROM population_age
           WHERE year = 2022 AND source = ?""", [MYE_2022.name]).df()
    assert len(held) == 91 * len(raw)
    by_code = raw.set_index("Code")
    for age in (0, 17, 45, 89):
        single = held[held["age_from"] == age].set_index("code")
        assert (single["age_to"] == age).all()
        np.testing.assert_array_equal(single["persons"].reindex(by_code.index),
                                      by_code[str(age)])
    top = held[held["age_from"] == 90].set_index("code")
    assert top["age_to"].isna().all()
    np.testing.assert_array_equal(top["persons"].reindex(by_code.index), by_code["90+"])
    # The ages add up to All ages, area by area.
    np.testing.assert_array_equal(held.groupby("code")["persons"].sum().reindex(by_code.index),
                                  by_code["All ages"])
    structure = age_structures(con, [BEDFORD], 2022)[BEDFORD]
    assert structure.persons == 187_466
    assert structure.share(0, 17) == pytest.approx(42_333 / 187_466)
    assert structure.share(65, None) == pytest.approx(31_935 / 187_466)


def test_census_2021_residents_on_2021_lsoas(reference: Loaded) -> None:
    con = reference.con
    raw = pd.read_csv(CENSUS_2021, dtype={"Population": "Int64"})
    raw = raw[raw["Population"].notna()]
    assert len(raw) == 35_672
    held = con.execute(
        """SELECT code, persons FROM population WHERE year = 2021 AND vintage = '2021'
           AND method = 'published' AND source = ?""", [CENSUS_2021.name]).df()
    assert len(held) == len(raw)
    assert held["persons"].sum() == raw["Population"].sum() == 59_597_601
    lsoas = bedford_lsoas21()
    expected = raw.loc[raw["LSOA21CD"].isin(lsoas), "Population"].sum()
    assert held.loc[held["code"].isin(lsoas), "persons"].sum() == expected
    record = reference.record(CENSUS_2021.name)
    assert record.rows_loaded == 35_672 and record.rows_quarantined == 0
    # No 2021 LSOA gets an apportioned figure for a year published for it.
    assert scalar(con, """SELECT count(*) FROM population WHERE vintage = '2021'
                          AND year = 2021 AND method = 'apportioned'""") == 0


# ------------------------------------------------------- layouts from the real headers

SINGLE_YEARS = [f"{sex}{age}" for sex in "FM" for age in range(91)]
BROAD = [f"{sex}{band}" for sex in "FM"
         for band in ("0 to 15", "16 to 29", "30 to 44", "45 to 64", "65 and over")]
LEAD = ["LAD 2021 Code", "LAD 2021 Name", "LSOA 2021 Code", "LSOA 2021 Name", "Total"]


def lsoa_workbook(path: Path, years: list[int], ages: list[str], seed: int = 1) -> Path:
    """An ONS-style LSOA 2021 workbook: cover sheets, then one sheet per year with two title
    rows above the header (as sapelsoasyoa20192022.xlsx and sapelsoabroadage20112022.xlsx)."""
    rng = np.random.default_rng(seed)
    codes = bedford_lsoas21()[:6]
    book = openpyxl.Workbook()
    book.active.title = "Cover sheet"
    book.active["A1"] = "Lower layer Super Output Area population estimates (SYNTHETIC)"
    book.create_sheet("Contents")["A1"] = "Table of contents"
    for year in years:
        sheet = book.create_sheet(f"Mid-{year} LSOA 2021")
        sheet.append([f"Mid-{year} population estimates for Lower layer Super Output Areas "
                      "(LSOA 2021) in England and Wales (SYNTHETIC)"])
        sheet.append(["This worksheet contains one table."])
        sheet.append([])
        sheet.append([*LEAD, *ages])
        for i, code in enumerate(codes):
            counts = rng.integers(0, 40, size=len(ages)).tolist()
            sheet.append(["E06000055", "Bedford", code, f"Bedford 0{i:02d}A", sum(counts),
                          *counts])
    book.save(path)
    return path


def read_sheets(path: Path) -> dict[int, pd.DataFrame]:
    names = [n for n in pd.ExcelFile(path, engine="calamine").sheet_names
             if n.startswith("Mid-")]
    return {int(name[4:8]): pd.read_excel(path, sheet_name=name, header=3, engine="calamine")
            for name in names}


def test_lsoa_2021_single_year_of_age_workbook_SYNTHETIC(
        fresh: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = lsoa_workbook(tmp_path / "sapelsoasyoa20192022_SYNTHETIC.xlsx", [2021, 2022],
                         SINGLE_YEARS)
    [record] = ingest(fresh, path)
    sheets = read_sheets(path)
    assert record.rows_loaded == sum(len(f) for f in sheets.values()) == 12
    for year, frame in sheets.items():
        held = dict(fresh.execute(
            "SELECT code, persons FROM population WHERE year = ? AND vintage = '2021'",
            [year]).fetchall())
        assert held == dict(zip(frame["LSOA 2021 Code"], frame["Total"].astype(float),
                                strict=True))
        row = frame.iloc[0]
        # Single years kept as published, both sexes added; 90 is 90 and over.
        held_ages = bands(fresh, row["LSOA 2021 Code"], year)
        assert held_ages == {(a, None if a == 90 else a): row[f"F{a}"] + row[f"M{a}"]
                             for a in range(91)}
        assert sum(held_ages.values()) == row["Total"]
    # Codes in an 'LSOA 2021 Code' column are 2021 LSOAs, with no lookup loaded to say so.
    assert scalar(fresh, "SELECT lsoa_vintage FROM ingests") == "2021"
    assert "population 2021" in (record.note or "") or "population 2022" in (record.note or "")


def test_lsoa_2021_broad_age_workbook_SYNTHETIC(
        fresh: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = lsoa_workbook(tmp_path / "sapelsoabroadage20112022_SYNTHETIC.xlsx", [2022], BROAD)
    ingest(fresh, path)
    frame = read_sheets(path)[2022]
    assert dict(fresh.execute("SELECT code, persons FROM population WHERE year = 2022"
                              ).fetchall()) == dict(zip(frame["LSOA 2021 Code"],
                                                        frame["Total"].astype(float),
                                                        strict=True))
    row = frame.iloc[0]
    # Broad bands are kept as published (both sexes summed).
    assert bands(fresh, row["LSOA 2021 Code"], 2022) == {
        (0, 15): row["F0 to 15"] + row["M0 to 15"],
        (16, 29): row["F16 to 29"] + row["M16 to 29"],
        (30, 44): row["F30 to 44"] + row["M30 to 44"],
        (45, 64): row["F45 to 64"] + row["M45 to 64"],
        (65, None): row["F65 and over"] + row["M65 and over"]}


def test_district_series_one_column_per_year_SYNTHETIC(
        fresh: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """The newer MYE4 layout (Code, Name, Geography, Mid-2023, Mid-2022 ...) gives several
    years from one sheet; MYE6 (median age) beside it, with the same header, is not loaded."""
    book = openpyxl.Workbook()
    book.active.title = "Contents"
    header = ["Code", "Name", "Geography", "Mid-2023", "Mid-2022", "Mid-2021"]
    rows = [["E06000055", "Bedford", "Unitary Authority", 190_000, 187_466, 185_000],
            ["E06000032", "Luton", "Unitary Authority", 230_000, 226_973, ""],
            ["E12000006", "East of England", "Region", 6_500_000, 6_400_000, 6_350_000]]
    for name, title, values in [
            ("MYE4", "MYE4: Population estimates: Summary for England and Wales (SYNTHETIC)",
             rows),
            ("MYE6", "MYE6: Median age of population for local authorities (SYNTHETIC)",
             [[*r[:3], 40.1, 40.0, 39.8] for r in rows])]:
        sheet = book.create_sheet(name)
        sheet.append([title])
        sheet.append(["This worksheet contains one table."])
        sheet.append(header)
        for row in values:
            sheet.append(row)
    path = tmp_path / "mye23tablesew_SYNTHETIC.xlsx"
    book.save(path)
    [record] = ingest(fresh, path)
    held = {(c, y): p for c, y, p in fresh.execute(
        "SELECT code, year, persons FROM population").fetchall()}
    raw = pd.read_excel(path, sheet_name="MYE4", header=2, engine="calamine")
    expected = {(code, int(column[4:])): float(value) for _, r in raw.iterrows()
                for column, code, value in ((c, r["Code"], r[c]) for c in header[3:])
                if str(value).strip() not in ("", "nan")}
    assert held == expected and len(held) == 8
    levels = dict(fresh.execute("SELECT code, level FROM areas").fetchall())
    assert levels == {"E06000055": "lad", "E06000032": "lad", "E12000006": "region"}
    assert record.rows_loaded == 3 and record.rows_quarantined == 0
    # The series is on the boundaries of its latest year.
    assert {v for (v,) in fresh.execute("SELECT DISTINCT vintage FROM population").fetchall()
            } == {"2023"}


def test_district_series_as_csv_SYNTHETIC(fresh: duckdb.DuckDBPyConnection,
                                          tmp_path: Path) -> None:
    path = tmp_path / "mye_series_SYNTHETIC.csv"
    path.write_text("Code,Name,Geography,Mid-2023,Mid-2022\n"
                    "E06000055,Bedford,Unitary Authority,\"190,000\",187466\n"
                    "E06000056,Central Bedfordshire,Unitary Authority,n/a,301501\n")
    [record] = ingest(fresh, path)
    assert (record.rows_loaded, record.rows_quarantined) == (1, 1)
    assert fresh.execute("SELECT column_name FROM quarantine").fetchall() == [("Mid-2023",)]
    assert dict(fresh.execute("SELECT year, persons FROM population").fetchall()) == {
        2023: 190_000, 2022: 187_466}
