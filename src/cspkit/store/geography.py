"""The LSOA hierarchy as measures use it, kept as a table and rebuilt when links change.

For each LSOA of each edition: the ward from the newest ward lookup made for that edition
(official or best-fit before derived), its district, the district's county, region and police
force. Events join on (lsoa_code, lsoa_vintage). An LSOA whose district has since been merged
into another (Aylesbury Vale into Buckinghamshire) is given the district that exists now.
"""

from __future__ import annotations

import duckdb

from cspkit.store.successions import merged_into_current

# Also the body of migration 2, which first made it a view.
HIERARCHY_SQL = """

    WITH ranked AS (
        SELECT child_code, child_vintage, parent_code, parent_level, parent_vintage, method,
               row_number() OVER (
                   PARTITION BY child_code, child_vintage, parent_level
                   ORDER BY parent_vintage DESC, method = 'derived', parent_code) AS rn
        FROM area_links
    ),
    best AS (SELECT * FROM ranked WHERE rn = 1),
    up AS (  -- district parents do not depend on the LSOA edition: newest link wins
        SELECT child_code, parent_code, parent_level,
               row_number() OVER (PARTITION BY child_code, parent_level
                                  ORDER BY parent_vintage DESC, method = 'derived') AS rn
        FROM area_links
    )
    SELECT v.code AS lsoa_code, v.vintage AS lsoa_vintage, a.name AS lsoa_name,
           w.parent_code AS ward_code, wa.name AS ward_name, w.parent_vintage AS ward_vintage,
           w.method AS ward_method,
           coalesce(l.parent_code, wl.parent_code) AS lad_code, la.name AS lad_name,
           c.parent_code AS county_code, ca.name AS county_name,
           r.parent_code AS region_code, ra.name AS region_name,
           f.parent_code AS force_code, fa.name AS force_name
    FROM area_vintages v
    JOIN areas a ON a.code = v.code AND a.level = 'lsoa'
    LEFT JOIN best w ON w.child_code = v.code AND w.child_vintage = v.vintage
                    AND w.parent_level = 'ward'
    LEFT JOIN areas wa ON wa.code = w.parent_code
    LEFT JOIN best l ON l.child_code = v.code AND l.child_vintage = v.vintage
                    AND l.parent_level = 'lad'
    LEFT JOIN up wl ON wl.child_code = w.parent_code AND wl.parent_level = 'lad' AND wl.rn = 1
    LEFT JOIN areas la ON la.code = coalesce(l.parent_code, wl.parent_code)
    LEFT JOIN up c ON c.child_code = coalesce(l.parent_code, wl.parent_code)
                  AND c.parent_level = 'county' AND c.rn = 1
    LEFT JOIN areas ca ON ca.code = c.parent_code
    LEFT JOIN up r ON r.child_code = coalesce(l.parent_code, wl.parent_code)
                  AND r.parent_level = 'region' AND r.rn = 1
    LEFT JOIN areas ra ON ra.code = r.parent_code
    LEFT JOIN up f ON f.child_code = coalesce(l.parent_code, wl.parent_code)
                  AND f.parent_level = 'force' AND f.rn = 1
    LEFT JOIN areas fa ON fa.code = f.parent_code"""


def rebuild_lsoa_geography(con: duckdb.DuckDBPyConnection, successions: bool = True) -> None:
    """`successions` False only while migrating a warehouse that has no successions yet."""
    con.execute("DELETE FROM lsoa_geography")
    con.execute(f"INSERT INTO lsoa_geography {HIERARCHY_SQL}")
    if successions:
        merged_into_current(con)


def lsoa_shapes_by_ward(con: duckdb.DuckDBPyConnection, ward_codes: list[str]
                        ) -> dict[str, list[bytes]]:
    """The boundaries (WKB) of the LSOAs in each ward, for drawing a ward whose own boundary
    is not held: of each ward's LSOAs, those of the newest edition that has boundaries."""
    return lsoa_shapes_by_area(con, "ward", ward_codes)


# The areas an LSOA's boundaries can be gathered by: the level's column of lsoa_geography.
_GATHER = {"ward": "ward_code", "lad": "lad_code"}


def lsoa_shapes_by_area(con: duckdb.DuckDBPyConnection, level: str, codes: list[str]
                        ) -> dict[str, list[bytes]]:
    """The boundaries (WKB) of the LSOAs in each ward or district (`level` 'ward' | 'lad'),
    for drawing an area whose own boundary is not held: of each area's LSOAs, those of the
    newest edition that has boundaries."""
    if not codes:
        return {}
    column = _GATHER[level.lower()]
    rows = con.execute(
        f"""WITH held AS (
               SELECT g.{column} AS code, g.lsoa_vintage, a.geometry_wkb
               FROM lsoa_geography g
               JOIN area_geometry a ON a.code = g.lsoa_code AND a.vintage = g.lsoa_vintage
                                   AND a.level = 'lsoa'
               WHERE g.{column} IN (SELECT unnest(?)))
           SELECT code, geometry_wkb FROM held
           WHERE (code, lsoa_vintage) IN (SELECT code, max(lsoa_vintage)
                                          FROM held GROUP BY code)""",
        [list(codes)]).fetchall()
    out: dict[str, list[bytes]] = {}
    for code, wkb in rows:
        out.setdefault(str(code), []).append(bytes(wkb))
    return out


def lsoa_boundary_wkb(con: duckdb.DuckDBPyConnection, codes: list[str], vintage: str
                      ) -> dict[str, bytes]:
    """The boundary (WKB, WGS84 lon/lat as published) held for each LSOA code of `vintage`;
    codes with none held are absent."""
    if not codes:
        return {}
    rows = con.execute(
        """SELECT code, geometry_wkb FROM area_geometry
           WHERE vintage = ? AND lower(level) = 'lsoa' AND code IN (SELECT unnest(?))""",
        [vintage, list(codes)]).fetchall()
    return {str(code): bytes(wkb) for code, wkb in rows}


def area_boundaries(con: duckdb.DuckDBPyConnection, codes: list[str], level: str,
                    vintage: str | None = None) -> dict[str, bytes]:
    """The boundary (WKB) of each code at `level`: the given vintage first, else the newest
    held. Codes with no boundary are absent; a warehouse without boundaries gives {}."""
    if not codes:
        return {}
    try:
        rows = con.execute(
            """SELECT code, geometry_wkb FROM (
                   SELECT code, geometry_wkb, row_number() OVER (
                       PARTITION BY code ORDER BY vintage = ? DESC, vintage DESC) AS rn
                   FROM area_geometry
                   WHERE code IN (SELECT unnest(?)) AND lower(level) = lower(?))
               WHERE rn = 1""", [vintage or "", list(codes), level]).fetchall()
    except duckdb.Error:
        return {}   # e.g. an older warehouse without boundaries: maps just say so
    return {str(code): bytes(wkb) for code, wkb in rows}


def lsoa_candidates(con: duckdb.DuckDBPyConnection, vintage: str,
                    bounds: tuple[float, float, float, float], pad: float = 0.05
                    ) -> list[tuple[str, float | None, float | None, bytes | None]]:
    """(code, centroid lon, centroid lat, boundary WKB) of the LSOAs of edition `vintage`
    whose population-weighted centroid lies within `bounds` (min lon, min lat, max lon, max
    lat) widened by `pad` degrees, or whose boundary's box meets `bounds`: the candidates a
    drawn polygon may select. Centroid or boundary is None where not held."""
    minx, miny, maxx, maxy = bounds
    rows = con.execute(
        """WITH l AS (SELECT DISTINCT lsoa_code FROM lsoa_geography WHERE lsoa_vintage = ?),
                c AS (SELECT code, lon, lat FROM area_centroids
                      WHERE vintage = ? AND kind = 'population-weighted'),
                b AS (SELECT code, geometry_wkb, min_lon, min_lat, max_lon, max_lat
                      FROM area_geometry WHERE vintage = ? AND lower(level) = 'lsoa')
           SELECT l.lsoa_code, c.lon, c.lat, b.geometry_wkb FROM l
           LEFT JOIN c ON c.code = l.lsoa_code LEFT JOIN b ON b.code = l.lsoa_code
           WHERE (c.lon BETWEEN ? AND ? AND c.lat BETWEEN ? AND ?)
              OR (b.max_lon >= ? AND b.min_lon <= ? AND b.max_lat >= ? AND b.min_lat <= ?)""",
        [vintage, vintage, vintage, minx - pad, maxx + pad, miny - pad, maxy + pad,
         minx, maxx, miny, maxy]).fetchall()
    return [(str(code), lon, lat, bytes(wkb) if wkb is not None else None)
            for code, lon, lat, wkb in rows]
