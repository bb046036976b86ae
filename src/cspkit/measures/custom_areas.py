"""Custom areas built the way partnerships describe places: a list of wards, or a polygon drawn
on a map; and the wards of a district of the same size class, to compare such a place with.

A custom area is a set of LSOA codes (`areas.custom_area`), so every measure counts it exactly
as it counts a named area. The LSOAs are those of the edition the area's police events use (the
LSOA vintage carrying most of its events), so each event meets the edition it was published on.

Polygon rules:
- 'population-weighted-centroid' (default): an LSOA is in when its population-weighted centroid
  (`area_centroids`) lies inside the polygon; where no centroid is held, the representative point
  of its boundary (`area_geometry`) stands in.
- 'area-share': an LSOA is in when at least `threshold` (default 0.5) of its area lies inside,
  with areas measured on the British National Grid (EPSG:27700).
LSOAs partly inside (at least 1% of their area) but left out are reported as
`excluded_partial`, so the reader sees where the edge falls.
"""

from __future__ import annotations

import difflib
import json
import math
from pathlib import Path
from typing import Any

import duckdb
import ibis
import shapely
from shapely import STRtree
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from cspkit.errors import AreaNotFound, InputError
from cspkit.measures.areas import (
    AreaSelection,
    children,
    custom_area,
    events_vintage,
    population,
    populations,
)
from cspkit.store.geography import lsoa_candidates
from cspkit.store.tables import EngineError, WarehouseLike, warehouse

CENTROID_RULE = "population-weighted-centroid"
AREA_SHARE_RULE = "area-share"
RULES = (CENTROID_RULE, AREA_SHARE_RULE)
PARTIAL_MIN_SHARE = 0.01   # below this an LSOA merely touches the edge
PEER_BAND = 0.5            # 'same size class': population within +/-50% of the area's


# -- wards ------------------------------------------------------------------------------------

def _best_vintage(con: WarehouseLike, pairs: list[tuple[str, str]],
                  source: str = "police.uk") -> str | None:
    """Of (lsoa_code, lsoa_vintage) candidates, the vintage whose LSOAs carry most events
    (ties: the newer edition)."""
    if not pairs:
        return None
    counts: dict[str, int] = {}
    wh = warehouse(con)
    events = wh.events()
    events = events.filter(events.source == source,
                           events.lsoa_code.isin(sorted({c for c, _ in pairs})))
    rows = wh.rows(events.group_by(["lsoa_code", "lsoa_vintage"]).aggregate(n=events.count()))
    wanted = set(pairs)
    for code, vintage, n in rows:
        if (code, vintage) in wanted:
            counts[vintage] = counts.get(vintage, 0) + int(n)
    for _, vintage in pairs:
        counts.setdefault(vintage, 0)
    return max(counts, key=lambda v: (counts[v], v))


def area_from_wards(con: WarehouseLike, name: str, wards: list[str], *,
                    district: AreaSelection | None = None) -> AreaSelection:
    """A custom area of the LSOAs of `wards` (names or codes, case-insensitive).

    Names are matched in every ward edition the hierarchy holds; the LSOAs kept are those of the
    edition whose LSOAs carry most of these wards' events. A name found in several districts is
    refused unless `district` narrows it. Unknown names raise AreaNotFound with close matches."""
    if not wards:
        raise AreaNotFound(f"custom area '{name}' names no wards")
    wh = warehouse(con)
    g = wh.hierarchy()
    g = g.filter(g.ward_code.notnull())
    if district is not None:
        g = g.filter(district.filter(g))
    rows = wh.rows(g.select("ward_code", "ward_name", "lad_name", "lsoa_code", "lsoa_vintage")
                   .distinct())
    by_key: dict[str, set[str]] = {}
    for ward_code, ward_name, _, _, _ in rows:
        by_key.setdefault(ward_code.lower(), set()).add(ward_code)
        if ward_name:
            by_key.setdefault(_norm(ward_name), set()).add(ward_code)
    matched: dict[str, set[str]] = {}
    for query in wards:
        key = query.strip().lower()
        codes = by_key.get(key) or by_key.get(_norm(query))
        if not codes:
            names = sorted({r[1] for r in rows if r[1]})
            close = difflib.get_close_matches(query.strip(), names, n=5, cutoff=0.6)
            hint = f"; close matches: {', '.join(close)}" if close else ""
            raise AreaNotFound(f"no ward called '{query}'{hint}")
        districts = {r[2] for r in rows if r[0] in codes}
        if len(districts) > 1:
            raise AreaNotFound(f"ward name '{query}' is in several districts "
                               f"({', '.join(sorted(d or '?' for d in districts))}): "
                               "give the ward code or the district")
        matched[query] = codes
    chosen = set().union(*matched.values())
    pairs = sorted({(r[3], r[4]) for r in rows if r[0] in chosen})
    vintage = _best_vintage(con, pairs) or max(v for _, v in pairs)
    lsoas = sorted({c for c, v in pairs if v == vintage})
    for query, codes in matched.items():
        if not any(r[0] in codes and r[4] == vintage for r in rows):
            raise AreaNotFound(f"ward '{query}' is not a ward of the {vintage} LSOA edition "
                               "that the area's events use")
    return custom_area(con, name, lsoas)


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("&", "and").split())


# -- polygons ---------------------------------------------------------------------------------

def read_polygon(path: Path | str) -> tuple[BaseGeometry, str]:
    """The (multi)polygon of a GeoJSON file, in WGS84 lon/lat, and a note on its CRS
    (see `polygon_of`)."""
    expected = "a GeoJSON Feature, FeatureCollection or Polygon"
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"not valid JSON: {exc.msg}", line=exc.lineno,
                         expected=expected) from exc
    except UnicodeDecodeError as exc:
        raise InputError(str(path), "not UTF-8 text", expected=expected) from exc
    if not isinstance(data, dict):
        raise InputError(str(path), f"holds a JSON {type(data).__name__}, not an object",
                         expected=expected)
    return polygon_of(data, Path(path).name)


def _shape(geometry: Any, label: str) -> BaseGeometry:
    try:
        return shape(geometry)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError,
            shapely.errors.GEOSException) as exc:
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        why = f"no {exc.args[0]!r} member" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"{label}: a {kind!s} geometry that is not valid GeoJSON "
                         f"({why})") from exc


def polygon_of(data: dict[str, Any], label: str = "GeoJSON") -> tuple[BaseGeometry, str]:
    """The (multi)polygon of parsed GeoJSON, in WGS84 lon/lat, and a note on its CRS.

    Accepts a Feature, FeatureCollection or bare Geometry; polygons are unioned. A legacy
    `crs` member other than WGS84/CRS84 is honoured by reprojecting; coordinates with no CRS that
    cannot be lon/lat but fit the British National Grid are taken as EPSG:27700. Anything else
    raises ValueError naming what is wrong (`label` names the input)."""
    kind = data.get("type")
    if kind == "FeatureCollection":
        features = data.get("features", [])
        if not isinstance(features, list):
            raise ValueError(f"{label}: 'features' must be a list")
        geoms = [_shape(f["geometry"], label) for f in features
                 if isinstance(f, dict) and f.get("geometry")]
    elif kind == "Feature":
        geoms = [_shape(data["geometry"], label)] if data.get("geometry") else []
    else:
        geoms = [_shape(data, label)]
    polygons = [g for g in geoms if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
    if not polygons:
        raise ValueError(f"{label}: no Polygon or MultiPolygon geometry found")
    geom = shapely.make_valid(shapely.union_all(polygons))
    minx, miny, maxx, maxy = geom.bounds
    if not all(map(math.isfinite, (minx, miny, maxx, maxy))) or geom.area == 0:
        raise ValueError(f"{label}: the polygon has no area")
    crs_member = data.get("crs")
    crs = (crs_member.get("properties") or {}).get("name") \
        if isinstance(crs_member, dict) else None
    note = "WGS84 lon/lat"
    if crs and not any(t in str(crs).upper() for t in ("CRS84", "4326")):
        try:
            geom, note = _to_wgs84(geom, str(crs)), f"reprojected from {crs}"
        except Exception as exc:   # pyproj's CRSError and kin: an unknown CRS name
            raise ValueError(f"{label}: unknown coordinate reference system {crs!r}") from exc
    else:
        if not crs and not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            if 0 <= minx <= maxx <= 700_000 and 0 <= miny <= maxy <= 1_300_000:
                geom = _to_wgs84(geom, "EPSG:27700")
                note = "no CRS given; coordinates read as British National Grid (EPSG:27700)"
            else:
                raise ValueError(f"{label}: coordinates are not lon/lat and no CRS "
                                 "is given")
    return geom, note


def _to_wgs84(geom: BaseGeometry, crs: str) -> BaseGeometry:
    import geopandas as gpd

    series = gpd.GeoSeries([geom], crs=crs).to_crs("EPSG:4326")
    return series.iloc[0]


def _to_bng(geoms: list[BaseGeometry]) -> list[BaseGeometry]:
    import geopandas as gpd

    if not geoms:
        return []
    return list(gpd.GeoSeries(geoms, crs="EPSG:4326").to_crs("EPSG:27700"))


def area_from_polygon(con: WarehouseLike, name: str, geojson_path: Path | str,
                      rule: str = CENTROID_RULE, *, threshold: float = 0.5
                      ) -> tuple[AreaSelection, dict[str, Any]]:
    """A custom area of the LSOAs inside a GeoJSON polygon, and how they were chosen.

    Returns the selection and {"rule": text, "lsoas": [codes], "excluded_partial": [codes],
    "shares": {code: share of area inside}, "vintage": LSOA edition, "crs": note}."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, not {rule!r}")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], not {threshold}")
    polygon, crs_note = read_polygon(geojson_path)
    return area_from_geometry(con, name, polygon, crs_note, rule, threshold=threshold,
                              label=Path(geojson_path).name)


def area_from_geometry(con: WarehouseLike, name: str, polygon: BaseGeometry,
                       crs_note: str, rule: str = CENTROID_RULE, *, threshold: float = 0.5,
                       label: str = "the polygon") -> tuple[AreaSelection, dict[str, Any]]:
    """`area_from_polygon` for a polygon already read (`polygon_of`), in WGS84 lon/lat."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, not {rule!r}")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], not {threshold}")
    wh = warehouse(con)
    if not wh.has_con:
        raise EngineError(f"a drawn area needs the LSOA boundaries and centroids of the DuckDB "
                          f"warehouse; the {wh.engine} engine over {wh.location} has none: "
                          "draw it with the DuckDB engine (the default)")
    minx, miny, maxx, maxy = polygon.bounds
    chosen: dict[str, dict[str, Any]] = {}
    for vintage in _lsoa_vintages(wh):
        candidates = _candidates(wh.con, vintage, (minx, miny, maxx, maxy))
        if candidates:
            chosen[vintage] = _select(candidates, polygon, rule, threshold)
    pairs = [(c, v) for v, r in chosen.items() for c in r["lsoas"]]
    if not pairs:
        raise AreaNotFound(f"custom area '{name}': no LSOA of the warehouse lies inside "
                           f"{label} by the {rule} rule")
    vintage = _best_vintage(con, pairs) or max(chosen)
    result = chosen[vintage]
    area = custom_area(con, name, result["lsoas"])
    text = (f"{len(result['lsoas'])} LSOAs ({vintage} edition) whose population-weighted "
            "centroid lies inside the boundary"
            if rule == CENTROID_RULE else
            f"{len(result['lsoas'])} LSOAs ({vintage} edition) with at least "
            f"{threshold:.0%} of their area inside the boundary")
    if result["fallback"]:
        text += (f"; for {len(result['fallback'])} without a held centroid, the "
                 "representative point of the boundary")
    return area, {"rule": text, "rule_id": rule, "vintage": vintage,
                  "lsoas": list(area.lsoas), "excluded_partial": result["excluded_partial"],
                  "shares": result["shares"], "centroid_fallback": result["fallback"],
                  "crs": crs_note}


def _lsoa_vintages(con: WarehouseLike) -> list[str]:
    wh = warehouse(con)
    g = wh.hierarchy()
    return wh.values(g.select("lsoa_vintage").distinct().order_by(ibis.desc("lsoa_vintage")))


def _candidates(con: duckdb.DuckDBPyConnection, vintage: str,
                bounds: tuple[float, float, float, float]
                ) -> list[tuple[str, BaseGeometry | None, BaseGeometry | None]]:
    """(code, centroid point or None, boundary or None) for the edition's LSOAs near `bounds`."""
    rows = lsoa_candidates(con, vintage, bounds)
    out = []
    for code, lon, lat, wkb in rows:
        point = shapely.Point(lon, lat) if lon is not None and lat is not None else None
        boundary = shapely.from_wkb(wkb) if wkb is not None else None
        out.append((code, point, boundary))
    return out


def _select(candidates: list[tuple[str, BaseGeometry | None, BaseGeometry | None]],
            polygon: BaseGeometry, rule: str, threshold: float) -> dict[str, Any]:
    parts = list(getattr(polygon, "geoms", [polygon]))
    tree = STRtree(parts)
    # Share of each LSOA's area inside, on the British National Grid, for LSOAs it touches.
    with_boundary = [(c, b) for c, _, b in candidates if b is not None]
    hit = {with_boundary[i][0] for i in set(STRtree([b for _, b in with_boundary]).query(
        polygon, predicate="intersects").tolist())} if with_boundary else set()
    touching = [(c, b) for c, b in with_boundary if c in hit]
    shares: dict[str, float] = {}
    if touching:
        projected = _to_bng([b for _, b in touching] + [polygon])
        inside = projected[-1]
        for (code, _), shape_bng in zip(touching, projected[:-1], strict=True):
            total = shape_bng.area
            shares[code] = round(shape_bng.intersection(inside).area / total, 4) if total else 0.0
    selected: list[str] = []
    fallback: list[str] = []
    if rule == CENTROID_RULE:
        points, codes = [], []
        for code, point, boundary in candidates:
            if point is None and boundary is not None:
                point = boundary.representative_point()
                fallback.append(code)
            if point is not None:
                points.append(point)
                codes.append(code)
        if points:
            found = tree.query(points, predicate="within")
            selected = sorted({codes[i] for i in set(found[0].tolist())})
        fallback = sorted(c for c in fallback if c in set(selected))
    else:
        selected = sorted(c for c, s in shares.items() if s >= threshold)
    excluded = sorted(c for c, s in shares.items()
                      if s >= PARTIAL_MIN_SHARE and c not in set(selected))
    return {"lsoas": selected, "excluded_partial": excluded, "fallback": fallback,
            "shares": {c: shares[c] for c in sorted(shares)
                       if c in set(selected) or c in set(excluded)}}


# -- peers ------------------------------------------------------------------------------------

def area_lsoas(con: WarehouseLike, area: AreaSelection) -> set[str]:
    """The LSOA codes an area selects (of any edition)."""
    if area.level == "custom":
        return set(area.lsoas)
    wh = warehouse(con)
    g = wh.hierarchy()
    return set(wh.values(g.filter(area.filter(g)).select("lsoa_code").distinct()))


def size_class_peers(con: WarehouseLike, area: AreaSelection,
                     district: AreaSelection, *, year: int | None = None
                     ) -> list[AreaSelection]:
    """The district's wards whose population is within +/-50% of the area's (the same size
    class), leaving out wards lying wholly inside the area. Populations are for `year`
    (default: the latest year held; each uses the nearest year available)."""
    wh = warehouse(con)
    if year is None:
        people = wh.table("population")
        latest = wh.values(people.aggregate(latest=people.year.max()))
        year = int(latest[0]) if latest and latest[0] is not None else 2021
    size = population(con, area, year).persons
    if not size:
        return []
    inside = area_lsoas(con, area)
    wards = children(con, district, "ward")
    # Every ward's LSOAs (any edition) in one query, as `area_lsoas` would give them.
    ward_lsoas: dict[str, set[str]] = {}
    g = wh.hierarchy()
    for ward_code, lsoa in wh.rows(g.filter(g.ward_code.isin([w.code for w in wards]))
                                   .select("ward_code", "lsoa_code").distinct()):
        ward_lsoas.setdefault(ward_code, set()).add(lsoa)
    candidates = [w for w in wards
                  if w.code != area.code and not ward_lsoas.get(w.code, set()) <= inside]
    sizes = populations(con, candidates, year, events_vintage(con, district))
    return [w for w in candidates
            if sizes[w].persons and abs(sizes[w].persons - size) <= PEER_BAND * size]
