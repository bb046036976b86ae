"""The inputs of cspkit similar districts (`measures.similar`), one row per current district.

A district is current when the newest LSOA edition held links LSOAs to it (the LSOA 2021 ->
ward 2023 -> district lookup in the demo data). Inputs published for the districts of an
earlier year (mid-year estimates on April 2020 codes, IoD 2019 summaries on 2019 codes) are
carried to the current districts: a current district's own figures where published, else the
figures of the earlier districts whose LSOAs now lie in it (summed, or for the IoD average
score weighted by residents), so districts merged since (North Yorkshire, Somerset ...) are
kept. LSOA figures (land area, rurality, census households) are summed over the district's
2011 LSOAs, each placed in a current district through the ONS LSOA 2011 -> 2021 lookup.

This is the one query to change when newer or finer inputs are held (mid-2021 population by
age for LSOAs, say): `year` picks the mid-year estimate, default the newest held by age.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from cspkit.store.tables import WarehouseLike, months_in, warehouse

# Rural Urban Classification 2011: D1/D2 rural town and fringe, E1/E2 rural village,
# F1/F2 rural hamlets and isolated dwellings; A..C are urban.
RURAL_CLASSES = ("D1", "D2", "E1", "E2", "F1", "F2")

_INPUTS = """
WITH newest AS (
    SELECT max(lsoa_vintage) AS vintage FROM lsoa_geography WHERE lad_code IS NOT NULL
),
now_lsoa AS (   -- LSOAs of the newest edition and their current district
    SELECT g.lsoa_code, g.lad_code FROM lsoa_geography g, newest
    WHERE g.lsoa_vintage = newest.vintage AND g.lad_code IS NOT NULL
),
current AS (SELECT DISTINCT lad_code AS code FROM now_lsoa),
lad_of_lsoa11 AS (  -- the lookups as published (lsoa_geography already follows mergers)
    SELECT DISTINCT child_code AS lsoa_code, parent_code AS old_code FROM area_links
    WHERE child_vintage = '2011' AND parent_level = 'lad'
),
lsoa11 AS (     -- each 2011 LSOA with its current district
    SELECT n.lsoa_code, n.lad_code FROM now_lsoa n, newest WHERE newest.vintage = '2011'
    UNION ALL
    SELECT c.lsoa11_code, mode(n.lad_code ORDER BY n.lad_code)
    FROM lsoa_changes c JOIN now_lsoa n ON n.lsoa_code = c.lsoa21_code, newest
    WHERE newest.vintage <> '2011'
    GROUP BY c.lsoa11_code
),
earlier AS (    -- a district of any edition -> the current one holding most of its LSOAs
    SELECT l.old_code, mode(x.lad_code ORDER BY x.lad_code) AS code
    FROM lad_of_lsoa11 l JOIN lsoa11 x ON x.lsoa_code = l.lsoa_code
    GROUP BY l.old_code
),
lsoa_year AS (  -- the newest year of 2011-LSOA population estimates (not the census)
    SELECT max(year) AS year FROM population
    WHERE vintage = '2011' AND method = 'published' AND households IS NULL
      AND code IN (SELECT lsoa_code FROM lsoa11)
),
lsoa_facts AS (
    SELECT l.lsoa_code, l.lad_code, p.persons,
           try_cast(a.value AS DOUBLE) AS area_km2,
           left(r.value, 1) IN ('D', 'E', 'F') AS rural,
           r.value IS NOT NULL AS classed,
           c.persons AS census_persons, c.households AS census_households
    FROM lsoa11 l
    LEFT JOIN population p ON p.code = l.lsoa_code AND p.vintage = '2011'
         AND p.year = (SELECT year FROM lsoa_year)
    LEFT JOIN area_attributes a ON a.code = l.lsoa_code AND a.attribute = 'area_km2'
    LEFT JOIN area_attributes r ON r.code = l.lsoa_code AND r.attribute = 'rural_urban_2011_code'
    LEFT JOIN population c ON c.code = l.lsoa_code AND c.vintage = '2011' AND c.year = 2011
         AND c.households IS NOT NULL
),
by_lsoa AS (    -- a figure only when every LSOA of the district has it
    SELECT lad_code AS code,
           CASE WHEN count(*) = count(persons) AND count(*) = count(area_km2)
                THEN sum(persons) / sum(area_km2) END AS density,
           CASE WHEN count(*) = count(persons) AND bool_and(classed)
                THEN sum(CASE WHEN rural THEN persons ELSE 0 END) / sum(persons) END
               AS rural_share,
           CASE WHEN count(*) = count(census_households) AND sum(census_households) > 0
                THEN sum(census_persons) / sum(census_households) END AS household_size
    FROM lsoa_facts GROUP BY lad_code
),
old_people AS ( -- residents of each earlier district, to weight its IoD score
    SELECT l.old_code, sum(p.persons) AS persons
    FROM lad_of_lsoa11 l
    JOIN population p ON p.code = l.lsoa_code AND p.vintage = '2011'
         AND p.year = (SELECT year FROM lsoa_year)
    GROUP BY l.old_code
),
age_year AS (
    SELECT coalesce(?, max(year)) AS year FROM population_age
    WHERE code IN (SELECT code FROM current UNION SELECT old_code FROM earlier)
),
ages AS (
    SELECT code, sum(persons) AS persons,
           sum(CASE WHEN age_from >= 15 AND coalesce(age_to, 999) <= 29 THEN persons END)
               AS aged_15_29,
           sum(CASE WHEN age_from >= 65 THEN persons END) AS aged_65_plus
    FROM population_age WHERE year = (SELECT year FROM age_year)
    GROUP BY code
),
age_now AS (    -- own figures, else the earlier districts' added up
    SELECT c.code,
           coalesce(own.persons, sum(old.persons)) AS persons,
           coalesce(own.aged_15_29, sum(old.aged_15_29)) AS aged_15_29,
           coalesce(own.aged_65_plus, sum(old.aged_65_plus)) AS aged_65_plus
    FROM current c
    LEFT JOIN ages own ON own.code = c.code
    LEFT JOIN earlier e ON e.code = c.code AND own.code IS NULL AND e.old_code <> c.code
    LEFT JOIN ages old ON old.code = e.old_code
    GROUP BY c.code, own.persons, own.aged_15_29, own.aged_65_plus
),
imd AS (
    SELECT lad_code AS code, value FROM imd_district
    WHERE edition = '2019' AND domain = 'imd' AND measure = 'average_score'
),
imd_now AS (
    SELECT c.code,
           coalesce(own.value, sum(old.value * w.persons) / sum(w.persons)) AS imd_score
    FROM current c
    LEFT JOIN imd own ON own.code = c.code
    LEFT JOIN earlier e ON e.code = c.code AND own.code IS NULL AND e.old_code <> c.code
    LEFT JOIN imd old ON old.code = e.old_code
    LEFT JOIN old_people w ON w.old_code = e.old_code
    GROUP BY c.code, own.value
)
SELECT c.code, a.name, r.region_name AS region,
       g.persons AS population, (SELECT year FROM age_year) AS population_year,
       l.density, g.aged_15_29 / g.persons AS share_15_29,
       g.aged_65_plus / g.persons AS share_65_plus,
       i.imd_score, l.rural_share, l.household_size
FROM current c
LEFT JOIN areas a ON a.code = c.code
LEFT JOIN (SELECT lad_code, any_value(region_name) AS region_name FROM lsoa_geography
           WHERE region_name IS NOT NULL GROUP BY lad_code) r ON r.lad_code = c.code
LEFT JOIN age_now g ON g.code = c.code
LEFT JOIN by_lsoa l ON l.code = c.code
LEFT JOIN imd_now i ON i.code = c.code
ORDER BY c.code
"""


def district_inputs(con: duckdb.DuckDBPyConnection, year: int | None = None) -> pd.DataFrame:
    """One row per current district: code, name, region, population, population_year,
    density (residents per sq km), share_15_29, share_65_plus, imd_score, rural_share,
    household_size. A figure the warehouse cannot give is missing (NaN), never guessed."""
    frame = con.execute(_INPUTS, [year]).df()
    for column in ("population", "density", "share_15_29", "share_65_plus", "imd_score",
                   "rural_share", "household_size"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def police_months(con: WarehouseLike, codes: list[str]) -> dict[str, set[date]]:
    """The months of police.uk street data held for each district: the months loaded for the
    force whose area it lies in (every force, where more than one covers it); a district in
    no loaded force's area has none, whatever stray out-of-area records fall in it. On every
    engine."""
    wh = warehouse(con)
    g = wh.hierarchy()
    pairs = wh.rows(g.filter(g.lad_code.isin(list(codes)), g.force_code.notnull())
                    .select("lad_code", "force_code").distinct()) if codes else []
    loaded: dict[str, set[date]] = {}
    forces = sorted({str(force) for _, force in pairs})
    for force, month in (wh.rows(wh.loaded_months(forces)) if forces else []):
        loaded.setdefault(str(force), set()).update(months_in([month]))
    by_force: dict[str, dict[str, set[date]]] = {}
    for lad, force in pairs:
        by_force.setdefault(str(lad), {})[str(force)] = loaded.get(str(force), set())
    return {code: (set.intersection(*by_force[code].values()) if code in by_force else set())
            for code in codes}
