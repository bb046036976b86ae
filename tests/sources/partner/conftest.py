"""Small partner files built per test in each shipped layout, and a tiny geography."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import Any

import duckdb
import pytest
from openpyxl import Workbook

from cspkit.ingest import ingest_reference

LOOKUP_HEADER = ["LSOA21CD", "LSOA21NM", "WD23CD", "WD23NM", "LAD23CD", "LAD23NM"]
LOOKUP_ROWS = [
    ["E01015000", "Luton 001A", "E05015000", "Barnfield", "E06000032", "Luton"],
    ["E01015001", "Luton 001B", "E05015000", "Barnfield", "E06000032", "Luton"],
    ["E01017500", "Bedford 001A", "E05015100", "Brickhill", "E06000055", "Bedford"],
    ["E01017501", "Bedford 001B", "E05015100", "Brickhill", "E06000055", "Bedford"],
]
LUTON, BEDFORD = "E06000032", "E06000055"


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="", encoding="utf-8") as handle:  # type: ignore[operator]
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, sheets: dict[str, tuple[list[str], list[list[Any]]]]) -> Path:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for name, (header, rows) in sheets.items():
        sheet = book.create_sheet(name)
        sheet.append(header)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


@pytest.fixture
def geography(warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """The warehouse holding four 2021 LSOAs in Luton and Bedford."""
    lookup = write_csv(tmp_path / "lookup" / "LSOA21_WD23_LAD23_lookup.csv", LOOKUP_HEADER,
                       LOOKUP_ROWS)
    ingest_reference(warehouse, [str(lookup)], run_id="geo")
    return warehouse


# --- the seven layouts of /demo_data/partner, a few rows each --------------------------------

FIRE_HEADER = ["IncidentNumber", "CallDate", "CallTime", "IncidentGroup", "CauseCode",
               "PropertyType", "LSOA code", "Easting", "Northing"]


def fire_rows() -> list[list[Any]]:
    """12 incidents: 3 per cause code, one per month Jan-Dec 2022, two without LSOA."""
    causes = ["D", "A", "U", "NK"]
    groups = ["Primary fire", "Secondary fire", "Chimney fire"]
    rows = []
    for i in range(12):
        lsoa = ["E01015000", "E01017500", "E01015001"][i % 3] if i not in (4, 9) else ""
        east, north = ("509100", "221300") if lsoa == "" else ("", "")
        rows.append([f"FRS-{i:04d}", f"{(i % 27) + 1:02d}/{i + 1:02d}/2022", f"{i + 8:02d}:15",
                     groups[i % 3], causes[i % 4], "Dwelling" if i % 2 else "Grassland", lsoa,
                     east, north])
    return rows


ISTV_HEADER = ["AttendanceDate", "ArrivalTime", "AgeBand", "Gender", "WeaponCode",
               "AssaultLocation", "IncidentLSOA", "ResidentDistrict"]
ISTV_ROWS = [
    ["2022-05-01", "23:10", "18-24", "M", "2", "Street", "E01015000", LUTON],
    ["2022-05-03", "01:40", "25-34", "F", "1", "Home", "", LUTON],
    ["2022-06-11", "02:05", "16-17", "U", "4", "Licensed premises", "", BEDFORD],
    ["2022-07-30", "22:00", "65+", "M", "6", "Other", "E01017501", BEDFORD],
]

TREATMENT_HEADER = ["Area code", "Area name", "Financial year", "Substance group",
                    "In treatment", "Successful completions"]
TREATMENT_ROWS = [
    [LUTON, "Luton", "2022/23", "Opiate", "410", "21"],
    [LUTON, "Luton", "2022/23", "Alcohol only", "230", "75"],
    [BEDFORD, "Bedford", "2022/23", "Opiate", "390", "19"],
    ["E92000001", "England", "2022/23", "Opiate", "140000", "6500"],
    ["E10000003", "Cambridgeshire", "2021/22", "Opiate", "900", "41"],
]

SAFE_HEADER = ["District code", "District", "Financial year", "Visits"]
SAFE_ROWS = [[LUTON, "Luton", "2021/22", "1200"], [LUTON, "Luton", "2022/23", "1350"],
             [BEDFORD, "Bedford", "2022/23", "980"]]

MARKERS_HEADER = ["CrimeRef", "RecordedDate", "OffenceGroup", "LSOA", "HateFlag", "DAFlag",
                  "CyberFlag", "VictimAgeBand"]
MARKERS_ROWS = [
    ["CR/1", "02/01/2023", "Violence and sexual offences", "E01015000", "N", "Y", "N", "25-34"],
    ["CR/2", "15/02/2023", "Public order", "E01015001", "Y", "N", "N", "18-24"],
    ["CR/3", "28/02/2023", "Criminal damage and arson", "E01017500", "N", "N", "Y", "45-54"],
]

AMBULANCE_HEADER = ["LAD code", "LAD name", "Financial year", "Callouts"]
AMBULANCE_ROWS = [[LUTON, "Luton", "2021/22", 310], [LUTON, "Luton", "2022/23", 342],
                  [BEDFORD, "Bedford", "2022/23", 280]]

DA_HEADER = ["District code", "District", "Financial year", "DA incidents", "DA crimes"]
DA_ROWS = [[LUTON, "Luton", "2022/23", 4100, 2600], [BEDFORD, "Bedford", "2022/23", 3300, 2050]]
