"""Fixtures for the warehouse measure tests: the demo warehouse, built once per session, and
the same raw files read independently with plain pandas, so every expected figure is computed
without the code under test."""

from __future__ import annotations

import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cspkit.demo import demo_data_dir
from cspkit.products.exports import export
from cspkit.store.tables import Warehouse

LOOKUPS = Path("geography") / "lookups"
LSOA21_LOOKUP = "LSOA_(2021)_to_Electoral_Ward_(2023)_to_LAD_(2023)_Best_Fit_Lookup_in_EW.csv.gz"
LSOA11_LOOKUP = "Lower_Layer_Super_Output_Area_(2011)_to_Ward_(2019)_Lookup_in_England_and_Wales.csv.gz"
WARD_LOOKUP = ("Ward_to_Local_Authority_District_to_County_to_Region_to_Country_(May_2023)_"
               "Lookup_in_United_Kingdom.csv.gz")
MYE_FILE = Path("population") / "ukmidyearestimates20192020ladcodes.xls"
MYE_2022_FILE = Path("population") / "mye22final.xlsx"
ASB = "Anti-social behaviour"


# --------------------------------------------------------------------------- the warehouse


# --------------------------------------------------------------------------- raw files


def read_street_files(zip_path: Path) -> pd.DataFrame:
    """Every YYYY-MM/YYYY-MM-<force>-street.csv member, as text, with the repeated Crime IDs
    of each file dropped (first kept; ASB rows have no Crime ID and are all kept)."""
    frames = []
    with zipfile.ZipFile(zip_path) as archive:
        for member in sorted(archive.namelist()):
            if not member.endswith("-street.csv"):
                continue
            with archive.open(member) as handle:
                frame = pd.read_csv(handle, dtype=str, keep_default_na=False,
                                    encoding="utf-8-sig")
            frame.columns = [c.strip() for c in frame.columns]
            has_id = frame["Crime ID"].str.strip() != ""
            repeated = has_id & frame.duplicated(subset=["Crime ID"], keep="first")
            frame = frame[~repeated].copy()
            frame["file"] = member
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def read_lookup(name: str) -> pd.DataFrame:
    return pd.read_csv(demo_data_dir() / LOOKUPS / name, dtype=str, keep_default_na=False,
                       encoding="utf-8-sig")


@pytest.fixture(scope="session")
def lsoa21_lookup() -> pd.DataFrame:
    """LSOA21CD -> WD23CD/WD23NM -> LAD23CD."""
    return read_lookup(LSOA21_LOOKUP)


@pytest.fixture(scope="session")
def lsoa11_lookup() -> pd.DataFrame:
    """LSOA11CD -> WD19CD -> LAD19CD."""
    return read_lookup(LSOA11_LOOKUP)


@pytest.fixture(scope="session")
def ward_lookup() -> pd.DataFrame:
    """WD23CD -> LAD23CD -> CTY23CD -> RGN23CD."""
    return read_lookup(WARD_LOOKUP)


def _tidy(raw: pd.DataFrame, lookup: pd.DataFrame, lsoa: str, ward: str, lad: str
          ) -> pd.DataFrame:
    joined = raw.merge(lookup[[lsoa, ward, lad]].drop_duplicates(), how="left",
                       left_on="LSOA code", right_on=lsoa)
    assert len(joined) == len(raw), "an LSOA code appears twice in the ONS lookup"
    return pd.DataFrame({
        "file": joined["file"],
        "month": joined["Month"],
        "crime_id": joined["Crime ID"],
        "lsoa_code": joined["LSOA code"],
        "category": joined["Crime type"],
        "ward_code": joined[ward].fillna(""),
        "lad_code": joined[lad].fillna(""),
    })


@pytest.fixture(scope="session")
def bedfordshire_events(bedfordshire_zip: Path, lsoa21_lookup: pd.DataFrame) -> pd.DataFrame:
    """Bedfordshire street rows (2021 LSOA codes) with their 2023 ward and district."""
    return _tidy(read_street_files(bedfordshire_zip), lsoa21_lookup,
                 "LSOA21CD", "WD23CD", "LAD23CD")


@pytest.fixture(scope="session")
def cambridgeshire_events(cambridgeshire_zip: Path, lsoa11_lookup: pd.DataFrame
                          ) -> pd.DataFrame:
    """Cambridgeshire street rows (2011 LSOA codes) with their 2019 ward and district."""
    return _tidy(read_street_files(cambridgeshire_zip), lsoa11_lookup,
                 "LSOA11CD", "WD19CD", "LAD19CD")


@pytest.fixture(scope="session")
def mid2019_population() -> dict[str, int]:
    """ONS mid-2019 persons (all ages) by code, from sheet 'MYE2 - Persons'."""
    return read_mye_persons(demo_data_dir() / MYE_FILE)


@pytest.fixture(scope="session")
def mid2022_population() -> dict[str, int]:
    """ONS mid-2022 persons (all ages) by code, from sheet 'MYE2 - Persons' of mye22final: the
    nearest estimate held for 2022 to 2024 districts' rates."""
    return read_mye_persons(demo_data_dir() / MYE_2022_FILE)


def read_mye_persons(path: Path) -> dict[str, int]:
    raw = pd.read_excel(path, sheet_name="MYE2 - Persons", engine="calamine", header=None,
                        dtype=object)
    header_row = next(i for i, row in raw.iterrows()
                      if "Code" in [str(v).strip() for v in row.tolist()])
    header = [str(v).strip() for v in raw.iloc[header_row].tolist()]
    table = raw.iloc[header_row + 1:].copy()
    table.columns = header
    table = table[table["Code"].notna()]
    return {str(code).strip(): int(persons)
            for code, persons in zip(table["Code"], table["All ages"], strict=True)
            if str(persons).strip() not in ("", "nan")}


@pytest.fixture(scope="session")
def parquet(demo_warehouse: duckdb.DuckDBPyConnection,
            tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """The demo warehouse's events and LSOA hierarchy as `cspkit export parquet` writes them,
    read back as a Warehouse (the same measures on the export must give the same figures)."""
    folder = tmp_path_factory.mktemp("parquet_export")
    export(demo_warehouse, Path(folder), "parquet", tables=["events", "lsoa_geography"])
    return Warehouse.parquet(folder)
