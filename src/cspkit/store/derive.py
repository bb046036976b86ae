"""Rows the warehouse derives from reference data, rebuilt after every reference load.

Each step deletes what it made before and makes it again from what is now held, so running it
twice changes nothing and a newly loaded lookup or boundary set is always taken into account.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import shapely

from cspkit.store.forces import derive_force_links
from cspkit.store.geography import rebuild_lsoa_geography
from cspkit.store.successions import derive_successions
from cspkit.store.vintages import resolve_event_vintages

APPORTIONED_SOURCE = "apportioned from 2011 LSOAs via ONS LSOA11->LSOA21 lookup, equal split"
WARD_BY_CENTROID = ("derived: LSOA population-weighted centroid in ward polygon "
                    "(no ward lookup held for this LSOA)")
WARD_BY_POLYGON = ("derived: representative point of the LSOA polygon in ward polygon "
                   "(no ward lookup or population-weighted centroid held for this LSOA)")


def refresh_derived(con: duckdb.DuckDBPyConnection) -> None:
    """Every derivation, in order. Events loaded before their geography get their LSOA
    edition now, districts their police force, and former districts their successor."""
    apportion_population(con)
    derive_ward_links(con)
    resolve_event_vintages(con)
    derive_force_links(con)
    derive_successions(con)
    rebuild_lsoa_geography(con)


def apportion_population(con: duckdb.DuckDBPyConnection) -> int:
    """Population on 2021 LSOAs for every year published on 2011 LSOAs.

    Each 2011 LSOA's persons and households are shared equally among the 2021 LSOAs it maps to
    in lsoa_changes, and each 2021 LSOA sums its shares: one rule covering unchanged, split,
    merged and irregular LSOAs, which keeps every total. A 2021 LSOA gets a figure only when
    every 2011 LSOA it is made from has one for that year, and never where a figure was
    published for it. Returns the number of rows made."""
    con.execute("DELETE FROM population WHERE method = 'apportioned'")
    row = con.execute(
        """INSERT INTO population
           WITH shares AS (
               SELECT lsoa11_code, lsoa21_code,
                      1.0 / count(*) OVER (PARTITION BY lsoa11_code) AS share
               FROM lsoa_changes),
           sources_needed AS (
               SELECT lsoa21_code, count(*) AS n FROM lsoa_changes GROUP BY 1),
           pieces AS (
               SELECT s.lsoa21_code AS code, p.year, p.persons * s.share AS persons,
                      p.households * s.share AS households, p.source
               FROM population p JOIN shares s ON s.lsoa11_code = p.code
               WHERE p.vintage = '2011' AND p.method = 'published'),
           summed AS (
               SELECT code, year, sum(persons) AS persons,
                      CASE WHEN count(households) = count(*) THEN sum(households) END
                          AS households,
                      count(*) AS n, string_agg(DISTINCT source, '; ') AS sources
               FROM pieces GROUP BY code, year)
           SELECT s.code, '2021', s.year, s.persons, s.households, 'apportioned',
                  ? || ' (from ' || s.sources || ')'
           FROM summed s JOIN sources_needed k ON k.lsoa21_code = s.code
           WHERE s.n = k.n
             AND NOT EXISTS (SELECT 1 FROM population q
                             WHERE q.code = s.code AND q.vintage = '2021'
                               AND q.year = s.year)""",
        [APPORTIONED_SOURCE],
    ).fetchone()
    return int(row[0]) if row else 0


def derive_ward_links(con: duckdb.DuckDBPyConnection) -> int:
    """LSOA (2021) -> ward links for 2021 LSOAs that no ward lookup covers, where ward
    boundaries are held: the ward whose polygon holds the LSOA's population-weighted centroid
    (else a point inside the LSOA's own polygon), the newest ward edition first. Returns the
    number of links made."""
    con.execute("DELETE FROM area_links WHERE method = 'derived' AND parent_level = 'ward' "
                "AND child_vintage = '2021'")
    wards = con.execute(
        "SELECT code, vintage, geometry_wkb FROM area_geometry WHERE level = 'ward' "
        "ORDER BY vintage DESC, code"
    ).fetchall()
    if not wards:
        return 0
    lsoas = con.execute(
        """SELECT v.code,
                  coalesce(c.lon, g.centroid_lon) AS lon, coalesce(c.lat, g.centroid_lat) AS lat,
                  c.lon IS NOT NULL AS by_centroid
           FROM area_vintages v
           JOIN areas a ON a.code = v.code AND a.level = 'lsoa'
           LEFT JOIN area_centroids c ON c.code = v.code AND c.vintage = '2021'
                AND c.kind = 'population-weighted'
           LEFT JOIN area_geometry g ON g.code = v.code AND g.vintage = '2021'
           WHERE v.vintage = '2021'
             AND coalesce(c.lon, g.centroid_lon) IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM area_links l
                             WHERE l.child_code = v.code AND l.child_vintage = '2021'
                               AND l.parent_level = 'ward')
           ORDER BY v.code"""
    ).fetchall()
    if not lsoas:
        return 0
    tree = shapely.STRtree(shapely.from_wkb([bytes(w[2]) for w in wards]))
    points = shapely.points(np.array([[r[1], r[2]] for r in lsoas], dtype=float))
    point_index, ward_index = tree.query(points, predicate="within")
    # Wards are ordered newest edition first, so the lowest ward index is the one to keep.
    best: dict[int, int] = {}
    for p, w in zip(point_index.tolist(), ward_index.tolist(), strict=True):
        if p not in best or w < best[p]:
            best[p] = w
    links = [(lsoas[p][0], "2021", wards[w][0], "ward", wards[w][1], "derived",
              WARD_BY_CENTROID if lsoas[p][3] else WARD_BY_POLYGON)
             for p, w in sorted(best.items())]
    if links:
        names = ["child_code", "child_vintage", "parent_code", "parent_level",
                 "parent_vintage", "method", "source"]
        con.register("_derived_links",
                     pa.table({n: [link[i] for link in links] for i, n in enumerate(names)}))
        con.execute("INSERT OR REPLACE INTO area_links SELECT * FROM _derived_links")
        con.unregister("_derived_links")
    return len(links)
