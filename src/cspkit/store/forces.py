"""Which districts each police force covers, derived from where its events fall.

No police force area lookup ships with the demo data, and forces publish some events outside
their area (a crime recorded by one force but located elsewhere). A district is taken to belong
to a force when that force's located events touch at least half of the district's LSOAs: inside
its area a force's data touches nearly every LSOA even in one month, while out-of-area events
touch a handful. The links are recorded with method 'derived'; an official lookup loaded later
(parent level 'force', method official) takes precedence in `lsoa_geography`.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from cspkit.police_forces import force_name

MIN_LSOA_SHARE = 0.5
SOURCE = ("derived: the force's located police.uk events touch at least half of the district's "
          "LSOAs")


def derive_force_links(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DELETE FROM area_links WHERE parent_level = 'force' AND method = 'derived'")
    rows = con.execute(
        """WITH lsoa_lad AS (
             SELECT DISTINCT child_code AS lsoa_code, parent_code AS lad_code
             FROM area_links WHERE parent_level = 'lad'
               AND child_code IN (SELECT code FROM areas WHERE level = 'lsoa')),
           lad_size AS (SELECT lad_code, count(DISTINCT lsoa_code) AS n FROM lsoa_lad GROUP BY 1),
           touched AS (
             SELECT e.force, l.lad_code, count(DISTINCT e.lsoa_code) AS hit
             FROM (SELECT DISTINCT force, lsoa_code FROM events
                   WHERE source = 'police.uk' AND lsoa_code IS NOT NULL AND force IS NOT NULL) e
             JOIN lsoa_lad l USING (lsoa_code) GROUP BY 1, 2)
           SELECT t.force, t.lad_code FROM touched t JOIN lad_size s USING (lad_code)
           WHERE t.hit >= ? * s.n""",
        [MIN_LSOA_SHARE],
    ).fetchall()
    if not rows:
        return
    # Two set statements, not two per link: each statement on an indexed table costs
    # milliseconds, and a national load derives hundreds of links.
    forces = sorted({force for force, _ in rows})
    con.register("_force_links", pa.table({
        "force": [force for force, _ in rows], "lad": [lad for _, lad in rows]}))
    con.register("_force_names", pa.table({
        "force": forces, "name": [force_name(force) for force in forces]}))
    try:
        con.execute("INSERT OR IGNORE INTO areas SELECT force, 'force', name, 'data.police.uk' "
                    "FROM _force_names")
        con.execute("INSERT OR REPLACE INTO area_links SELECT lad, 'any', force, 'force', "
                    "'any', 'derived', ? FROM _force_links", [SOURCE])
    finally:
        con.unregister("_force_links")
        con.unregister("_force_names")
