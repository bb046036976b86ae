"""Parsing partner files through a schema: every row becomes an event or indicator rows, or is
rejected with its line and a reason naming the column. Codes are checked against the geography
the warehouse holds, which the ingest pipeline hands in (this module never reads the
warehouse)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from cspkit.sources.parsed import HeldGeography, Parsed
from cspkit.sources.partner import convert
from cspkit.sources.partner.convert import Reject
from cspkit.sources.partner.reader import Table
from cspkit.sources.partner.schema import FieldSpec, Schema
from cspkit.sources.reference.gss import LEVEL_OF_ENTITY

SUFFIXES = (".csv", ".csv.gz", ".xlsx", ".xls", ".zip")
LSOA_ENTITIES = ("E01", "W01")
RESTRICTED_NOTE = "restricted record-level data: outputs must aggregate"

Bad = tuple[int, str | None, str, str | None]   # line, column, reason, raw


@dataclass
class Geography:
    """What the warehouse holds, for checking codes: nothing held means nothing is checked."""

    vintages: dict[str, set[str]]          # LSOA code -> editions
    names: dict[str, str]                  # LSOA code -> name
    areas: set[str]
    levels: set[str]                       # levels of which some area is held

    @classmethod
    def of(cls, held: HeldGeography) -> Geography:
        return cls({k: set(v) for k, v in held.vintages.items()}, dict(held.names),
                   set(held.areas), set(held.levels))

    def lsoa_vintage(self, code: str) -> str | None:
        held = self.vintages.get(code, set())
        if "2021" in held:    # in both editions (unchanged) or 2021 only
            return "2021"
        return "2011" if "2011" in held else None

    def check_lsoa(self, spec: FieldSpec, code: str) -> None:
        if code[:3] not in LSOA_ENTITIES:
            raise Reject(spec, f"{code} is not an LSOA code (expected E01... or W01...)")
        if self.vintages and code not in self.vintages:
            raise Reject(spec, f"{code} is not in the geography held (no 2011 or 2021 LSOA "
                         "with this code)")

    def check_area(self, spec: FieldSpec, code: str) -> None:
        # A code is checked only against a level we hold: with districts loaded but no
        # counties, a county comparator cannot be judged and is accepted.
        level = LEVEL_OF_ENTITY.get(code[:3])
        if level in self.levels and code not in self.areas:
            raise Reject(spec, f"{code} is not in the geography held (no {level} with this "
                         "code)")


@dataclass
class _Result:
    rows: list[dict[str, Any]] = field(default_factory=list)
    bad: list[Bad] = field(default_factory=list)
    rows_in: int = 0


def parse(table: Table, schema: Schema, geography: Geography) -> Parsed:
    """One partner file's rows through `schema`: events or indicator rows, and the rows
    rejected with their line, column and reason."""
    note = RESTRICTED_NOTE if schema.restricted else None
    if schema.kind == "events":
        result = _events(table, schema, geography)
        editions = {r["lsoa_vintage"] for r in result.rows if r["lsoa_vintage"]}
        vintage = editions.pop() if len(editions) == 1 else ("mixed" if editions else None)
        parsed = Parsed(rows_in=result.rows_in, rows_loaded=len(result.rows),
                        lsoa_vintage=vintage, notes=[note] if note else [])
        parsed.tables["events"] = _events_table(schema, result.rows)
    else:
        result = _indicators(table, schema, geography)
        parsed = Parsed(rows_in=result.rows_in,
                        rows_loaded=len({r["_line"] for r in result.rows}),
                        notes=[note] if note else [])
        parsed.tables["indicators"] = _indicators_table(schema, result.rows)
    parsed.rejected = list(result.bad)
    parsed.control_characters = table.control_characters
    if table.control_characters:
        parsed.notes.append(f"{table.control_characters:,} row(s) had control characters "
                            "removed")
    return parsed


def _bounds(schema: Schema) -> tuple[dt.date, dt.date]:
    return schema.date_range[0], schema.date_range[1] or dt.date.today()


def _attributes(schema: Schema, table: Table, cells: list[Any]) -> dict[str, Any]:
    return {name: convert.text(spec, convert.raw_value(spec, cells, table.columns.get(
        spec.column or ""))) for name, spec in schema.attributes.items()}


def _events(table: Table, schema: Schema, geography: Geography) -> _Result:
    result = _Result()
    bounds = _bounds(schema)
    f = schema.fields
    first_seen: dict[str, int] = {}

    def get(name: str) -> Any:
        spec = f[name]
        return convert.raw_value(spec, cells, table.columns.get(spec.column or ""))

    for line, cells in table.rows:
        result.rows_in += 1
        try:
            row: dict[str, Any] = {"_line": line}
            record_id = convert.text(f["record_id"], get("record_id")) if "record_id" in f \
                else None
            if record_id is not None:
                record_id = str(record_id)
                if record_id in first_seen:
                    raise Reject(f["record_id"], f'duplicate "{record_id}": first seen at line '
                                 f"{first_seen[record_id]}")
            row["record_id"] = record_id
            row["event_date"] = convert.date(f["date"], get("date"), bounds)
            row["event_time"] = convert.time(f["time"], get("time")) if "time" in f else None
            row["category"] = convert.required_text(f["category"], get("category"))
            for name in ("subcategory", "location", "outcome", "context", "force",
                         "lsoa_name"):
                value = convert.text(f[name], get(name)) if name in f else None
                row[name] = None if value is None else str(value)
            lsoa = convert.code(f["lsoa"], get("lsoa"), "an LSOA code") if "lsoa" in f \
                else None
            if lsoa is not None:
                geography.check_lsoa(f["lsoa"], lsoa)
            district = convert.code(f["district"], get("district"), "an area code") \
                if "district" in f else None
            if district is not None:
                geography.check_area(f["district"], district)
            row["lon"], row["lat"] = _lonlat(f, get)
            row["easting"], row["northing"] = _grid(f, get)
            attributes = _attributes(schema, table, cells)
        except Reject as exc:
            result.bad.append((line, exc.column, str(exc), table.raw(line, cells)))
            continue
        if record_id is not None:
            first_seen[record_id] = line
        if district is not None:
            attributes["district"] = district   # where no LSOA is given, the district places it
        row["lsoa_code"] = lsoa
        row["lsoa_vintage"] = geography.lsoa_vintage(lsoa) if lsoa else None
        if lsoa and row["lsoa_name"] is None:
            row["lsoa_name"] = geography.names.get(lsoa)
        row["attributes"] = json.dumps(attributes, sort_keys=True, default=str)
        result.rows.append(row)
    _grid_to_lonlat(result.rows)
    for row in result.rows:
        row["located"] = row["lsoa_vintage"] is not None or row["lon"] is not None
    return result


def _lonlat(f: dict[str, FieldSpec], get: Callable[[str], Any]) -> tuple[Any, Any]:
    if "lon" not in f:
        return None, None
    lon = convert.number(f["lon"], get("lon"), blank_ok=True)
    lat = convert.number(f["lat"], get("lat"), blank_ok=True)
    if (lon is None) != (lat is None):
        raise Reject(f["lon"] if lon is None else f["lat"], "empty while the other coordinate "
                     "is given")
    if lon is not None and lat is not None:
        if not -180 <= lon <= 180:
            raise Reject(f["lon"], f"{lon} is not a longitude")
        if not -90 <= lat <= 90:
            raise Reject(f["lat"], f"{lat} is not a latitude")
    return lon, lat


def _grid(f: dict[str, FieldSpec], get: Callable[[str], Any]) -> tuple[Any, Any]:
    if "easting" not in f:
        return None, None
    east = convert.number(f["easting"], get("easting"), blank_ok=True)
    north = convert.number(f["northing"], get("northing"), blank_ok=True)
    if (east is None) != (north is None):
        raise Reject(f["easting"] if east is None else f["northing"],
                     "empty while the other coordinate is given")
    # British National Grid covers Great Britain: 0-700 km east, 0-1300 km north.
    if east is not None and not 0 <= east <= 700_000:
        raise Reject(f["easting"], f"{east:g} is not a British National Grid easting")
    if north is not None and not 0 <= north <= 1_300_000:
        raise Reject(f["northing"], f"{north:g} is not a British National Grid northing")
    return east, north


def _grid_to_lonlat(rows: list[dict[str, Any]]) -> None:
    """Convert easting/northing to WGS84 in one call (a transformer per row is slow)."""
    todo = [r for r in rows if r["easting"] is not None and r["lon"] is None]
    if not todo:
        return
    from pyproj import Transformer  # imported here: only files with grid references need it

    transformer = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lons, lats = transformer.transform([r["easting"] for r in todo],
                                       [r["northing"] for r in todo])
    for row, lon, lat in zip(todo, lons, lats, strict=True):
        row["lon"], row["lat"] = round(float(lon), 6), round(float(lat), 6)


def _indicators(table: Table, schema: Schema, geography: Geography) -> _Result:
    result = _Result()
    bounds = _bounds(schema)
    area_spec, period_spec = schema.fields["area"], schema.fields["period"]
    first_seen: dict[tuple[Any, ...], int] = {}
    for line, cells in table.rows:
        result.rows_in += 1

        def get(spec: FieldSpec, cells: list[Any] = cells) -> Any:
            return convert.raw_value(spec, cells, table.columns.get(spec.column or ""))

        try:
            area = convert.code(area_spec, get(area_spec), "an area code")
            if area is None:
                raise Reject(area_spec, "empty (every row needs an area code)")
            geography.check_area(area_spec, area)
            start, end, label = convert.period(period_spec, get(period_spec))
            if not bounds[0] <= start <= bounds[1]:
                raise Reject(period_spec, f'"{label}" starts outside the accepted dates '
                             f"{bounds[0].isoformat()} to {bounds[1].isoformat()}")
            values = {name: convert.number(spec, get(spec))
                      for name, spec in schema.values.items()}
            attributes = _attributes(schema, table, cells)
            # area_name is a label, not part of what makes a figure distinct.
            key = (area, start, end, json.dumps({k: v for k, v in attributes.items()
                                                 if k != "area_name"}, sort_keys=True,
                                                default=str))
            if key in first_seen:
                raise Reject(area_spec, f"duplicate: {area} {label} is already given at line "
                             f"{first_seen[key]}")
        except Reject as exc:
            result.bad.append((line, exc.column, str(exc), table.raw(line, cells)))
            continue
        first_seen[key] = line
        text_attributes = json.dumps(attributes, sort_keys=True, default=str)
        for name, value in values.items():
            result.rows.append({"_line": line, "indicator": name, "area_code": area,
                                "period_start": start, "period_end": end,
                                "period_label": label, "value": value,
                                "unit": schema.values[name].unit,
                                "attributes": text_attributes})
    return result


def _events_table(schema: Schema, rows: list[dict[str, Any]]) -> pa.Table:
    rows = sorted(rows, key=lambda r: r["_line"])

    def column(name: str, kind: pa.DataType) -> pa.Array:
        return pa.array([r[name] for r in rows], kind)

    return pa.table({
        "line_no": column("_line", pa.int64()),
        "source": pa.array([schema.source] * len(rows), pa.string()),
        "force": column("force", pa.string()),
        "month": pa.array([r["event_date"].replace(day=1) for r in rows], pa.date32()),
        "event_date": column("event_date", pa.date32()),
        "event_time": column("event_time", pa.time64("us")),
        "category": column("category", pa.string()),
        "subcategory": column("subcategory", pa.string()),
        "record_id": column("record_id", pa.string()),
        "lsoa_code": column("lsoa_code", pa.string()),
        "lsoa_name": column("lsoa_name", pa.string()),
        "lsoa_vintage": column("lsoa_vintage", pa.string()),
        "lon": column("lon", pa.float64()),
        "lat": column("lat", pa.float64()),
        "location": column("location", pa.string()),
        "located": column("located", pa.bool_()),
        "outcome": column("outcome", pa.string()),
        "context": column("context", pa.string()),
        "attributes": column("attributes", pa.string()),
    })


def _indicators_table(schema: Schema, rows: list[dict[str, Any]]) -> pa.Table:
    rows = sorted(rows, key=lambda r: (r["_line"], r["indicator"]))
    return pa.table({
        "source": pa.array([schema.source] * len(rows), pa.string()),
        "indicator": pa.array([r["indicator"] for r in rows], pa.string()),
        "area_code": pa.array([r["area_code"] for r in rows], pa.string()),
        "period_start": pa.array([r["period_start"] for r in rows], pa.date32()),
        "period_end": pa.array([r["period_end"] for r in rows], pa.date32()),
        "period_label": pa.array([r["period_label"] for r in rows], pa.string()),
        "value": pa.array([r["value"] for r in rows], pa.float64()),
        "unit": pa.array([r["unit"] for r in rows], pa.string()),
        "attributes": pa.array([r["attributes"] for r in rows], pa.string()),
    })
