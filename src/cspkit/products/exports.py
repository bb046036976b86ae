"""`cspkit export parquet|csv|geopackage`: the warehouse's tidy tables for other tools.

- parquet: one file per table (zstd), typed; boundaries as WKB (WGS84) in `geometry_wkb`.
- csv: one file per table, UTF-8 with a header; text that a spreadsheet would run as a formula
  is prefixed with `'` (the same rule as every CSV cspkit writes).
- geopackage: one `cspkit.gpkg` (QGIS, ArcGIS, R sf): `areas` as polygons, `events` as points
  (unlocated events keep an empty geometry), the other tables as attribute tables.

Beside them: `data-dictionary.csv` (every column of every file: type and description) and
`export.json` (what was exported, rows per table, the sources withheld). Restricted partner
sources (record-level health and police-marker data) are withheld unless asked for.

Tables stream from DuckDB in record batches, so memory does not grow with the warehouse.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from cspkit.errors import CspkitError
from cspkit.products import cell_safety
from cspkit.store.exports import (
    TextRule,
    TidyTable,
    quiet,
    row_count,
    tidy_relation,
    tidy_tables,
    withheld_sources,
)
from cspkit.store.writes import memory_capped

FORMATS = ("parquet", "csv", "geopackage")
GEOPACKAGE = "cspkit.gpkg"
BATCH_ROWS = 200_000
# DuckDB's memory while it sorts and writes the tables, spilling to disk beyond it: a national
# warehouse's events (25 M rows) otherwise took 14 GiB to export.
EXPORT_MEMORY = 2 << 30
CSV_RULE = TextRule(cell_safety.TRIGGERS, cell_safety.PLAIN_NUMBER.pattern, cell_safety.PREFIX)

Progress = Callable[[str, int, int], None]   # (table, rows written so far, rows in table)


@dataclass
class ExportResult:
    out_dir: Path
    format: str
    files: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    withheld: list[str] = field(default_factory=list)


def export(con: duckdb.DuckDBPyConnection, out_dir: Path, fmt: str, *,
           include_restricted: bool = False, tables: list[str] | None = None,
           progress: Progress | None = None) -> ExportResult:
    if fmt not in FORMATS:
        raise CspkitError(f"unknown export format {fmt!r}: expected one of {', '.join(FORMATS)}")
    chosen = _chosen(tables)
    quiet(con)
    out_dir.mkdir(parents=True, exist_ok=True)
    withheld = withheld_sources(con, include_restricted)
    result = ExportResult(out_dir, fmt, withheld=withheld)
    if fmt == "geopackage":
        (out_dir / GEOPACKAGE).unlink(missing_ok=True)   # layers are appended batch by batch
    with memory_capped(con, EXPORT_MEMORY):
        _write_tables(con, chosen, withheld, fmt, out_dir, result, progress)
    result.files.append(_write_dictionary(con, chosen, withheld, fmt, out_dir))
    result.files.append(_write_manifest(result, chosen))
    return result


def _write_tables(con: duckdb.DuckDBPyConnection, chosen: list[TidyTable], withheld: list[str],
                  fmt: str, out_dir: Path, result: ExportResult,
                  progress: Progress | None) -> None:
    for table in chosen:
        total = row_count(con, table, withheld)
        if progress:
            progress(table.name, 0, total)
        if fmt == "parquet":
            path = out_dir / f"{table.name}.parquet"
            tidy_relation(con, table, withheld).to_parquet(str(path), compression="zstd")
        elif fmt == "csv":
            path = out_dir / f"{table.name}.csv"
            tidy_relation(con, table, withheld, CSV_RULE).to_csv(str(path), header=True)
        else:
            path = out_dir / GEOPACKAGE
            _write_layer(tidy_relation(con, table, withheld), table, path, total, progress)
        if progress:
            progress(table.name, total, total)
        result.rows[table.name] = total
        if path not in result.files:
            result.files.append(path)


def _chosen(names: list[str] | None) -> list[TidyTable]:
    known = {t.name: t for t in tidy_tables()}
    if not names:
        return list(known.values())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CspkitError(f"no table called {', '.join(unknown)}: tables are "
                          f"{', '.join(known)}")
    return [known[n] for n in names]


def _write_layer(relation: duckdb.DuckDBPyRelation, table: TidyTable, path: Path, total: int,
                 progress: Progress | None) -> None:
    import geopandas as gpd
    import pandas as pd
    import pyogrio
    import shapely

    reader = relation.to_arrow_reader(BATCH_ROWS)
    written = 0
    first = True
    for batch in reader:
        frame = batch.to_pandas()
        if table.geometry == "points":
            located = frame["lon"].notna() & frame["lat"].notna()
            geometry = pd.Series([None] * len(frame), dtype=object)
            geometry[located.to_numpy()] = shapely.points(
                frame.loc[located, "lon"].to_numpy(), frame.loc[located, "lat"].to_numpy())
            layer = gpd.GeoDataFrame(frame, geometry=geometry.to_numpy(), crs="EPSG:4326")
        elif table.geometry == "wkb":
            wkb = frame.pop("geometry_wkb")
            shapes = [shapely.from_wkb(bytes(w)) if w is not None else None for w in wkb]
            layer = gpd.GeoDataFrame(frame, geometry=shapes, crs="EPSG:4326")
        else:
            layer = frame
        _dates_as_text(layer)
        # Boundaries mix polygons and multipolygons: one layer type, MULTIPOLYGON.
        pyogrio.write_dataframe(layer, path, layer=table.name, driver="GPKG",
                                append=not first, promote_to_multi=table.geometry == "wkb")
        first = False
        written += len(frame)
        if progress:
            progress(table.name, written, total)
    if first:   # no rows: the layer still exists, empty, so readers find every table
        empty = reader.schema.empty_table().to_pandas()
        if "geometry_wkb" in empty:
            empty = empty.drop(columns="geometry_wkb")
        _dates_as_text(empty)
        pyogrio.write_dataframe(empty, path, layer=table.name, driver="GPKG")


def _dates_as_text(frame: Any) -> None:
    # GPKG has DATE and DATETIME; times of day and Python date objects in an object column
    # are written as ISO text so every reader gets the same value.
    for name in frame.columns:
        if name == "geometry":
            continue
        column = frame[name]
        if column.dtype == object and len(column) and not isinstance(
                column.dropna().iloc[0] if column.notna().any() else "", str | bytes):
            frame[name] = column.map(lambda v: None if v is None else str(v))


def _write_dictionary(con: duckdb.DuckDBPyConnection, tables: list[TidyTable],
                      withheld: list[str], fmt: str, out_dir: Path) -> Path:
    path = out_dir / "data-dictionary.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["file", "layer", "table", "column", "type", "description"])
        for table in tables:
            relation = tidy_relation(con, table, withheld)
            file = GEOPACKAGE if fmt == "geopackage" else f"{table.name}.{fmt}"
            for name, kind in zip(relation.columns, relation.types, strict=True):
                if fmt == "geopackage" and name == "geometry_wkb":
                    name, kind = "geometry", "MULTIPOLYGON (EPSG:4326)"
                out.writerow([file, table.name if fmt == "geopackage" else "", table.title,
                              name, str(kind), table.columns.get(name, "")])
            if fmt == "geopackage" and table.geometry == "points":
                out.writerow([file, table.name, table.title, "geometry", "POINT (EPSG:4326)",
                              "Location (lon, lat); empty where the record has none."])
    return path


def _write_manifest(result: ExportResult, tables: list[TidyTable]) -> Path:
    from importlib.metadata import version

    path = result.out_dir / "export.json"
    path.write_text(json.dumps({
        "format": result.format, "cspkit": version("cspkit"),
        "tables": {t.name: {"title": t.title, "rows": result.rows[t.name]} for t in tables},
        "withheld_sources": result.withheld,
        "note": ("Record-level rows of restricted partner sources are withheld; export again "
                 "with --include-restricted where the data sharing agreement allows it."
                 if result.withheld else ""),
    }, indent=2) + "\n", encoding="utf-8")
    return path
