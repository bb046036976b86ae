"""Shared by the reference-loader tests (and tests/store/test_derive.py): where the shipped demo
files are, loading them, and counting what the warehouse holds."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd

from cspkit.ingest import ingest_reference
from cspkit.store.ingest_log import IngestRecord
from cspkit.store.warehouse import transaction

DEMO = Path(str(resources.files("cspkit") / "demo_data"))
GEOGRAPHY = DEMO / "geography"
LOOKUPS = GEOGRAPHY / "lookups"
BOUNDARIES = GEOGRAPHY / "boundaries"
CENTROIDS = GEOGRAPHY / "centroids" / "LLSOA_Dec_2021_PWC_for_England_and_Wales.csv.gz"
CHANGES = LOOKUPS / ("LSOA_(2011)_to_LSOA_(2021)_to_Local_Authority_District_(2022)_Lookup_"
                     "for_England_and_Wales.csv.gz")
WD23 = LOOKUPS / "LSOA_(2021)_to_Electoral_Ward_(2023)_to_LAD_(2023)_Best_Fit_Lookup_in_EW.csv.gz"
WD19 = LOOKUPS / ("Lower_Layer_Super_Output_Area_(2011)_to_Ward_(2019)_Lookup_in_England_and_"
                  "Wales.csv.gz")
WARD_HIERARCHY = LOOKUPS / ("Ward_to_Local_Authority_District_to_County_to_Region_to_Country_"
                            "(May_2023)_Lookup_in_United_Kingdom.csv.gz")
RURAL_URBAN = LOOKUPS / ("Rural_Urban_Classification_2011_of_Lower_Layer_Super_Output_Areas_in_"
                         "England_and_Wales.csv.gz")
POPULATION = DEMO / "population"
CENSUS = POPULATION / "census_2011_population_hh.csv.gz"
SAPE_2018 = POPULATION / "SAPE21DT11-mid-2018-lsoa-population-density.xlsx"
SAPE_2017_ZIP = POPULATION / "sape20dt11mid2017lsoapopulationdensity.zip"
MYE_2019 = POPULATION / "ukmidyearestimates20192020ladcodes.xls"
MYE_2022 = POPULATION / "mye22final.xlsx"
CENSUS_2021 = POPULATION / "census_2021_lsoa_usual_residents.csv.gz"
IMD2019_FILE2 = DEMO / "imd2019" / "File_2_-_IoD2019_Domains_of_Deprivation.csv.gz"
IMD2019_FILE10 = DEMO / "imd2019" / ("File_10_-_IoD2019_Local_Authority_District_Summaries__"
                                     "lower-tier__.xlsx")
IMD2019_FILE6 = DEMO / "imd2019" / "File_6_-_IoD2019_Population_Denominators.csv.gz"
IOD2025_FILE1 = DEMO / "imd2025" / "File_1_IoD2025_Index_of_Multiple_Deprivation.xlsx"
IOD2025_FILE3 = DEMO / "imd2025" / "File_3_IoD2025_Supplementary_Indices_IDACI_and_IDAOPI.xlsx"

EAST_CAMBS = "E07000009"
LUTON, BEDFORD, CENTRAL_BEDS = "E06000032", "E06000055", "E06000056"
BEDFORDSHIRE = (LUTON, BEDFORD, CENTRAL_BEDS)

DATA_TABLES = ["areas", "area_vintages", "area_links", "lsoa_changes", "area_geometry",
               "area_centroids", "area_attributes", "population", "imd", "imd_district"]
LOG_TABLES = ["ingests", "quarantine"]


def ingest(con: duckdb.DuckDBPyConnection, *paths: str | Path, **options: object
           ) -> list[IngestRecord]:
    """One reference ingest in its own transaction, as the CLI runs it."""
    with transaction(con):
        return ingest_reference(con, [str(p) for p in paths], run_id="test",
                                **options)  # type: ignore[arg-type]


def counts(con: duckdb.DuckDBPyConnection, tables: list[str] | None = None) -> dict[str, int]:
    result = {}
    for table in tables or DATA_TABLES + LOG_TABLES:
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        result[table] = int(row[0]) if row else 0
    return result


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None
           ) -> object:
    row = con.execute(sql, params or []).fetchone()
    return row[0] if row else None


def raw_csv(path: Path) -> pd.DataFrame:
    """A demo CSV read independently of cspkit: plain pandas, every column as text."""
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
