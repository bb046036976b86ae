"""The warehouse's tidy tables for other tools (R, QGIS, Power BI): what `cspkit export`
writes, as DuckDB relations the export product streams to Parquet, CSV or GeoPackage.

Each table is one query over the warehouse with columns described for the data dictionary.
Events carry their geography (ward, district, county, region and force of their LSOA, as the
warehouse's hierarchy has them). Record-level rows of restricted partner sources are left out
unless asked for (`include_restricted`), and the quarantine (raw rejected lines) is never
exported. Relations stream: nothing here holds a whole table in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from cspkit.store.ingest_log import restricted_sources


@dataclass(frozen=True)
class TidyTable:
    name: str
    title: str
    query: str                          # may use $withheld: the restricted sources left out
    columns: dict[str, str]             # column -> description (the data dictionary)
    geometry: str | None = None         # 'wkb' column of polygons, or 'points' from lon/lat


_GEOGRAPHY = {
    "ward_code": "Electoral ward of the LSOA (ONS best-fit lookup held).",
    "ward_name": "Name of the ward.",
    "lad_code": "Local authority district (current edition) of the LSOA.",
    "lad_name": "Name of the district.",
    "county_code": "County of the district, where it has one.",
    "county_name": "Name of the county.",
    "region_code": "Region (England) or country (Wales) of the district.",
    "region_name": "Name of the region.",
    "force_code": "Police force area (data.police.uk force id).",
    "force_name": "Name of the police force.",
}

TABLES: list[TidyTable] = [
    TidyTable(
        "events", "Events with their geography (police.uk crime and ASB, partner records)",
        """SELECT e.event_id, e.source, e.force, e.month, e.event_date, e.category,
                  e.subcategory, e.record_id, e.lsoa_code, e.lsoa_vintage, e.lon, e.lat,
                  e.located, e.outcome, e.context, e.attributes, g.ward_code, g.ward_name,
                  g.lad_code, g.lad_name, g.county_code, g.county_name, g.region_code,
                  g.region_name, g.force_code, g.force_name, e.ingest_id
           FROM events e
           LEFT JOIN lsoa_geography g ON g.lsoa_code = e.lsoa_code
                                     AND g.lsoa_vintage = e.lsoa_vintage
           WHERE NOT list_contains($withheld, e.source)
           ORDER BY e.source, e.month, e.event_id""",
        {"event_id": "Row number in the warehouse (stable within one warehouse).",
         "source": "Where the record came from: police.uk, or a partner source name.",
         "force": "Police force id of a police.uk record.",
         "month": "Month of the record (first day of the month).",
         "event_date": "Date of the record, where the source gives one.",
         "category": "Crime or ASB category (police.uk) or the partner's category.",
         "subcategory": "Sub-category, where the source gives one.",
         "record_id": "The source's own identifier (police.uk Crime ID), where given.",
         "lsoa_code": "Lower-layer super output area of the location.",
         "lsoa_vintage": "Edition of the LSOA code: 2011 or 2021.",
         "lon": "Longitude (WGS84), anonymised by police.uk to a snap point.",
         "lat": "Latitude (WGS84).",
         "located": "True when the record has both a location and an LSOA.",
         "outcome": "Last outcome (police.uk) where given.",
         "context": "Free-text context where the source gives one.",
         "attributes": "A partner record's other fields (age band, flags ...) as a JSON "
                       "object; empty for police.uk.",
         **_GEOGRAPHY,
         "ingest_id": "The load that brought the record in (see ingests)."},
        geometry="points"),
    TidyTable(
        "indicators", "Partner indicators (aggregate figures by area and period)",
        """SELECT source, indicator, area_code, period_start, period_end, period_label, value,
                  unit, attributes, ingest_id
           FROM indicators WHERE NOT list_contains($withheld, source)
           ORDER BY source, indicator, area_code, period_start""",
        {"source": "Partner source name.", "indicator": "What is measured.",
         "area_code": "GSS code of the area.", "period_start": "First day of the period.",
         "period_end": "Last day of the period.", "period_label": "The period as published.",
         "value": "The figure.", "unit": "Its unit.",
         "attributes": "Its breakdown (substance group ...) and other fields, as a JSON object.",
         "ingest_id": "The load that brought it in (see ingests)."}),
    TidyTable(
        "areas", "Areas: every code held, with its level, name and boundary where held",
        """SELECT a.code, a.level, a.name, g.vintage AS boundary_vintage, g.area_km2,
                  g.centroid_lon, g.centroid_lat, g.geometry_wkb
           FROM areas a
           LEFT JOIN (SELECT * FROM area_geometry
                      QUALIFY row_number() OVER (PARTITION BY code, level
                                                 ORDER BY vintage DESC) = 1) g
                  ON g.code = a.code AND lower(g.level) = lower(a.level)
           ORDER BY a.level, a.code""",
        {"code": "GSS code.", "level": "lsoa, ward, lad, county, region, country or force.",
         "name": "Name.", "boundary_vintage": "Edition of the boundary held (newest).",
         "area_km2": "Land area of the boundary, square kilometres.",
         "centroid_lon": "Longitude of the boundary's centroid (WGS84).",
         "centroid_lat": "Latitude of the boundary's centroid (WGS84).",
         "geometry_wkb": "Boundary as WKB in WGS84 (EPSG:4326); empty where none is held."},
        geometry="wkb"),
    TidyTable(
        "lsoa_geography", "The LSOA hierarchy: each LSOA's ward, district, county, region, force",
        "SELECT * FROM lsoa_geography ORDER BY lsoa_vintage, lsoa_code",
        {"lsoa_code": "LSOA code.", "lsoa_vintage": "Edition: 2011 or 2021.",
         "lsoa_name": "LSOA name.", "ward_vintage": "Edition of the ward lookup.",
         "ward_method": "How the ward was assigned (best fit, or the lookup's own).",
         **_GEOGRAPHY}),
    TidyTable(
        "lsoa_changes", "ONS LSOA 2011 to 2021 lookup: how each 2011 LSOA became 2021 LSOAs",
        """SELECT lsoa11_code, lsoa21_code, change, source FROM lsoa_changes
           ORDER BY lsoa11_code, lsoa21_code""",
        {"lsoa11_code": "LSOA code, 2011 edition.", "lsoa21_code": "LSOA code, 2021 edition.",
         "change": "U unchanged, S split, M merged, X irregular (as the ONS lookup has it).",
         "source": "Publication."}),
    TidyTable(
        "population", "Population estimates by area and year",
        """SELECT code, vintage, year, persons, households, method, source FROM population
           ORDER BY code, year""",
        {"code": "GSS code.", "vintage": "Edition of the code.", "year": "Year (mid-year).",
         "persons": "Residents.", "households": "Households, where published.",
         "method": "Estimate, census or derived.", "source": "Publication."}),
    TidyTable(
        "deprivation", "Indices of Deprivation by LSOA: score, rank and decile per domain",
        """SELECT lsoa_code, lsoa_vintage, edition, domain, score, rank, decile, source
           FROM imd ORDER BY edition, domain, lsoa_code""",
        {"lsoa_code": "LSOA code.", "lsoa_vintage": "Edition of the LSOA code.",
         "edition": "IoD edition: 2019 or 2025.", "domain": "Index or domain.",
         "score": "Score.", "rank": "Rank (1 = most deprived).",
         "decile": "National decile (1 = most deprived 10%).", "source": "Publication."}),
    TidyTable(
        "ingests", "Provenance: every file loaded, with its checksum and outcome",
        """SELECT ingest_id, kind, file, sha256, bytes, force, month, lsoa_vintage, status,
                  rows_in, rows_loaded, rows_quarantined, note, loaded_at, source_url
           FROM ingests ORDER BY ingest_id""",
        {"ingest_id": "Load number.", "kind": "What was loaded.", "file": "File name.",
         "sha256": "Checksum of the file.", "bytes": "Size of the file.",
         "force": "Police force (police.uk files).", "month": "Month (police.uk files).",
         "lsoa_vintage": "LSOA edition of the rows.", "status": "loaded, or why not.",
         "rows_in": "Rows read.", "rows_loaded": "Rows loaded.",
         "rows_quarantined": "Rows set aside, with their reasons, in the quarantine.",
         "note": "What the loader said.", "loaded_at": "When (UTC).",
         "source_url": "Where it was downloaded from, when cspkit downloaded it."}),
]


def tidy_tables() -> list[TidyTable]:
    return list(TABLES)


def quiet(con: duckdb.DuckDBPyConnection) -> None:
    """No DuckDB progress bar: the export shows its own."""
    con.execute("SET enable_progress_bar = false")


def withheld_sources(con: duckdb.DuckDBPyConnection, include_restricted: bool) -> list[str]:
    return [] if include_restricted else sorted(restricted_sources(con))


@dataclass(frozen=True)
class TextRule:
    """Text cells to prefix before they reach a spreadsheet (the products' CSV-injection rule,
    applied inside the query so a national export never passes through Python row by row):
    a cell starting with one of `triggers`, unless it is wholly `plain` (a signed number)."""

    triggers: tuple[str, ...]
    plain: str          # a regular expression matched against the whole cell
    prefix: str


def tidy_relation(con: duckdb.DuckDBPyConnection, table: TidyTable, withheld: list[str],
                  text_rule: TextRule | None = None) -> duckdb.DuckDBPyRelation:
    """The table as a lazy relation (streamed when written); with `text_rule`, its text
    columns made safe for spreadsheets."""
    query = table.query.replace("$withheld", "$withheld::VARCHAR[]")
    params = {"withheld": withheld} if "$withheld" in table.query else None
    relation = con.sql(query, params=params)
    if text_rule is None:
        return relation
    triggers = ", ".join(_literal(t) for t in text_rule.triggers)
    columns = []
    for name, kind in zip(relation.columns, relation.types, strict=True):
        quoted = '"' + name.replace('"', '""') + '"'
        if str(kind) == "VARCHAR":
            columns.append(
                f"CASE WHEN left({quoted}, 1) IN ({triggers}) AND NOT regexp_full_match("
                f"{quoted}, {_literal(text_rule.plain)}) THEN {_literal(text_rule.prefix)} || "
                f"{quoted} ELSE {quoted} END AS {quoted}")
        else:
            columns.append(quoted)
    return relation.project(", ".join(columns))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def row_count(con: duckdb.DuckDBPyConnection, table: TidyTable, withheld: list[str]) -> int:
    rows = tidy_relation(con, table, withheld).aggregate("count(*)").fetchall()
    return int(rows[0][0])
