"""Area boundaries: GeoJSON (also gzipped), shapefiles and zipped shapefiles, read with pyogrio.

The code property is found by the ONS naming pattern (``LSOA21CD``, ``WD25CD`` ...); files that
also carry coarser codes (drkane/geo-lookups adds the district to every LSOA) are taken at their
finest level. Polygons are stored in WGS84 lon/lat as published (reprojected if needed), with
their bounding box, a representative point (always inside the polygon, unlike a centroid) and
their area computed in British National Grid.
"""

from __future__ import annotations

import json

import geopandas as gpd
import pyarrow as pa
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError

from cspkit.errors import InputError
from cspkit.sources.inputs import InputFile
from cspkit.sources.parsed import AreaRow, table_of
from cspkit.sources.reference.gss import GssColumn, code_columns, is_code, name_column
from cspkit.sources.reference.result import LoadContext, LoadResult

KIND = "boundaries"
EXPECTED = ("boundaries: GeoJSON or a shapefile whose features carry a code property like "
            "LSOA21CD, WD23CD or LAD23CD")
SUFFIXES = (".geojson", ".geojson.gz", ".json", ".json.gz", ".shp", ".gpkg")
_READ_ERRORS = (DataSourceError, DataLayerError, FieldError, GeometryError, OSError, ValueError)


def is_boundary_file(file: InputFile) -> bool:
    return file.name.lower().endswith(SUFFIXES)


def gdal_path(file: InputFile) -> str:
    path = str(file.path)
    return "/vsigzip/" + path if path.lower().endswith(".gz") else path


def fields(file: InputFile) -> list[str]:
    """The property names of the file's features (InputError if GDAL cannot read it)."""
    try:
        info = pyogrio.read_info(gdal_path(file))
    except _READ_ERRORS as exc:
        raise InputError(file.display, f"cannot be read as boundaries ({exc})",
                         expected=EXPECTED) from exc
    return [str(f) for f in info["fields"]]


def matches(header: list[str]) -> bool:
    return bool(code_columns(header))


def parse(file: InputFile, ctx: LoadContext) -> LoadResult:
    try:
        frame = pyogrio.read_dataframe(gdal_path(file))
    except _READ_ERRORS as exc:
        raise InputError(file.display, f"cannot be read as boundaries ({exc})",
                         expected=EXPECTED) from exc
    header = [str(c) for c in frame.columns if c != "geometry"]
    code_col = code_columns(header)[0]
    name_col = name_column(header, code_col)
    frame = _to_wgs84(frame, file)
    result = LoadResult(rows_in=len(frame))
    seen: dict[str, int] = {}
    keep: list[int] = []
    areas: list[AreaRow] = []
    codes = frame[header[code_col.index]].astype("string").fillna("").str.strip().tolist()
    names = (frame[header[name_col.index]].astype("string").fillna("").str.strip().tolist()
             if name_col else [""] * len(frame))
    geometries = frame.geometry.to_numpy()
    for index, (code, name, geometry) in enumerate(zip(codes, names, geometries, strict=True)):
        problem = _problem(code, geometry, seen, code_col)
        if problem:
            result.reject(index, problem[0] or header[code_col.index],
                          f"feature {index}: {problem[1]}", _raw(frame, index, header))
            continue
        seen[code] = index
        keep.append(index)
        areas.append((code, code_col.level, name or None, code_col.vintage))
    result.rows_loaded = len(keep)
    kept = geometries[keep]
    bounds = shapely.bounds(kept)
    points = shapely.point_on_surface(kept)
    area_km2 = gpd.GeoSeries(kept, crs="EPSG:4326").to_crs("EPSG:27700").area / 1e6
    double = pa.float64()
    result.add_table("area_geometry", table_of({
        "code": [codes[i] for i in keep],
        "vintage": [code_col.vintage] * len(keep), "level": [code_col.level] * len(keep),
        "geometry_wkb": list(shapely.to_wkb(kept)),
        "min_lon": bounds[:, 0].tolist(), "min_lat": bounds[:, 1].tolist(),
        "max_lon": bounds[:, 2].tolist(), "max_lat": bounds[:, 3].tolist(),
        "centroid_lon": shapely.get_x(points).tolist(),
        "centroid_lat": shapely.get_y(points).tolist(),
        "area_km2": area_km2.tolist(),
    }, {"geometry_wkb": pa.binary(), "min_lon": double, "min_lat": double, "max_lon": double,
        "max_lat": double, "centroid_lon": double, "centroid_lat": double,
        "area_km2": double}))
    result.areas += areas
    if code_col.level == "lsoa":
        result.lsoa_vintage = code_col.vintage
    result.notes.append(f"{code_col.level} {code_col.vintage} boundaries")
    return result


def _to_wgs84(frame: gpd.GeoDataFrame, file: InputFile) -> gpd.GeoDataFrame:
    """WGS84 lon/lat; a file without a CRS is taken as lon/lat or as British National Grid
    according to its coordinates."""
    if frame.crs is None:
        valid = frame.geometry[frame.geometry.notna() & ~frame.geometry.is_empty]
        if valid.empty:
            return frame.set_crs("EPSG:4326")
        min_x, min_y, max_x, max_y = valid.total_bounds
        if -180 <= min_x and max_x <= 180 and -90 <= min_y and max_y <= 90:
            return frame.set_crs("EPSG:4326")
        if 0 <= min_x and max_x <= 800_000 and 0 <= min_y and max_y <= 1_400_000:
            return frame.set_crs("EPSG:27700").to_crs("EPSG:4326")
        raise InputError(file.display, "the boundaries have no coordinate reference system "
                         "and are neither lon/lat nor British National Grid",
                         expected="a .prj file beside the shapefile, or GeoJSON in WGS84")
    if frame.crs.to_epsg() == 4326:
        return frame
    return frame.to_crs("EPSG:4326")


def _problem(code: str, geometry: object, seen: dict[str, int], code_col: GssColumn
             ) -> tuple[str | None, str] | None:
    if not is_code(code):
        return None, f"'{code}' is not a GSS code (a letter and 8 digits)"
    if code in seen:
        return None, f"{code} is given twice (first as feature {seen[code]})"
    if geometry is None or shapely.is_empty(geometry):
        return "geometry", f"{code} has no geometry"
    kind = str(getattr(geometry, "geom_type", "?"))
    if kind not in ("Polygon", "MultiPolygon"):
        return "geometry", f"{code} is a {kind}, not a {code_col.level} polygon"
    return None


def _raw(frame: gpd.GeoDataFrame, index: int, header: list[str]) -> str:
    properties = {name: frame.iloc[index][name] for name in header}
    return f"features[{index}]: " + json.dumps(properties, default=str)
