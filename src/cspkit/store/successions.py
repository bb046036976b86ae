"""Districts that no longer exist, and what became of them.

Local government reorganisations (Dorset 2019, Buckinghamshire 2020, Northamptonshire 2021,
Cumbria, North Yorkshire and Somerset 2023 ...) retire district codes. The LSOA -> district
lookups of consecutive district editions say where each old district went: a code missing from
the next edition whose LSOAs all fall in one new district was merged into it; one whose LSOAs
fall in several was split. Chains (Taunton Deane -> Somerset West and Taunton -> Somerset) are
followed to the district that exists now. Rebuilt after every reference load.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

# The year a new district came into being (1 April), from the ONS Code History Database. The
# lookups only say between which editions a code appeared; this gives the year itself.
CREATED: dict[str, int] = {
    "E06000058": 2019, "E06000059": 2019, "E07000244": 2019, "E07000245": 2019,
    "E07000246": 2019, "E06000060": 2020, "E06000061": 2021, "E06000062": 2021,
    "E06000063": 2023, "E06000064": 2023, "E06000065": 2023, "E06000066": 2023,
}

# District links of LSOAs, by district edition, with the LSOA edition they were made for.
_LAD_LINKS = """
    SELECT l.child_code AS lsoa, l.child_vintage AS lsoa_vintage, l.parent_code AS lad,
           l.parent_vintage AS edition
    FROM area_links l JOIN areas a ON a.code = l.child_code AND a.level = 'lsoa'
    WHERE l.parent_level = 'lad'"""


def derive_successions(con: duckdb.DuckDBPyConnection) -> int:
    """Fill district_successions from the district editions held. Returns the rows made."""
    con.execute("DELETE FROM district_successions")
    editions = con.execute(
        f"""SELECT edition, list(DISTINCT lsoa_vintage ORDER BY lsoa_vintage)
            FROM ({_LAD_LINKS}) GROUP BY 1 ORDER BY 1""").fetchall()
    made = 0
    for (old, old_lsoas), (new, new_lsoas) in zip(editions, editions[1:], strict=False):
        made += _between(con, old, list(old_lsoas), new, list(new_lsoas))
    return made


def _between(con: duckdb.DuckDBPyConnection, old: str, old_lsoas: list[str], new: str,
             new_lsoas: list[str]) -> int:
    """Successions from district edition `old` to `new`, comparing their LSOAs: directly where
    both editions were given for the same LSOA edition, else through the ONS LSOA 2011 -> 2021
    change lookup."""
    same = sorted(set(old_lsoas) & set(new_lsoas))
    if same:
        pairs = f"""SELECT o.lsoa, o.lad AS old_code, n.lad AS new_code
                    FROM old o JOIN new n ON n.lsoa = o.lsoa AND n.lsoa_vintage = o.lsoa_vintage
                    WHERE o.lsoa_vintage = '{same[-1]}'"""
    elif "2011" in old_lsoas and "2021" in new_lsoas:
        pairs = """SELECT c.lsoa21_code AS lsoa, o.lad AS old_code, n.lad AS new_code
                   FROM old o JOIN lsoa_changes c ON c.lsoa11_code = o.lsoa
                   JOIN new n ON n.lsoa = c.lsoa21_code AND n.lsoa_vintage = '2021'
                   WHERE o.lsoa_vintage = '2011'"""
    elif "2021" in old_lsoas and "2011" in new_lsoas:
        pairs = """SELECT c.lsoa11_code AS lsoa, o.lad AS old_code, n.lad AS new_code
                   FROM old o JOIN lsoa_changes c ON c.lsoa21_code = o.lsoa
                   JOIN new n ON n.lsoa = c.lsoa11_code AND n.lsoa_vintage = '2011'
                   WHERE o.lsoa_vintage = '2021'"""
    else:
        return 0
    row = con.execute(
        f"""INSERT INTO district_successions
            WITH old AS (SELECT * FROM ({_LAD_LINKS}) WHERE edition = $old),
                 new AS (SELECT * FROM ({_LAD_LINKS}) WHERE edition = $new),
                 pairs AS ({pairs}),
                 gone AS (SELECT DISTINCT old_code FROM pairs
                          WHERE old_code NOT IN (SELECT lad FROM new)),
                 counted AS (
                     SELECT p.old_code, p.new_code, count(DISTINCT p.lsoa) AS n
                     FROM pairs p JOIN gone USING (old_code) GROUP BY 1, 2),
                 totals AS (SELECT old_code, sum(n) AS total, count(*) AS successors
                            FROM counted GROUP BY 1)
            SELECT c.old_code, $old, c.new_code, $new,
                   CASE WHEN t.successors = 1 THEN 'merged' ELSE 'split' END,
                   c.n / t.total, c.n, m.year
            FROM counted c JOIN totals t USING (old_code)
            LEFT JOIN (SELECT unnest($codes::VARCHAR[]) AS code,
                              unnest($years::INTEGER[]) AS year) m ON m.code = c.new_code""",
        {"old": old, "new": new, "codes": list(CREATED), "years": list(CREATED.values())},
    ).fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class Successor:
    code: str
    name: str
    share: float          # of the old district's LSOAs
    year: int | None      # when the change took effect, if known
    edition: str          # the first district edition it appears in


@dataclass(frozen=True)
class Fate:
    """What became of a former district: merged (one successor, the district that exists now,
    after following any chain) or split (several)."""

    code: str
    name: str
    change: str                       # merged | split
    successors: tuple[Successor, ...]
    # A chain's earlier steps (Somerset West and Taunton on the way from Taunton Deane to
    # Somerset), oldest first; the last successor is in `successors`.
    steps: tuple[Successor, ...] = ()

    def sentence(self) -> str:
        if self.change == "merged":
            hops = [*self.steps, self.successors[0]]
            parts = [f"became part of {h.name} ({h.code}) {_when(h)}" for h in hops]
            return f"{self.name} ({self.code}) " + ", which ".join(parts)
        listed = ", ".join(f"{s.name} ({s.code}, {s.share:.0%} of its LSOAs)"
                           for s in self.successors)
        return (f"{self.name} ({self.code}) was split {_when(self.successors[0])} between "
                f"{listed}")


def _when(s: Successor) -> str:
    return f"in {s.year}" if s.year else f"by the {s.edition} district edition"


def _next(con: duckdb.DuckDBPyConnection, code: str) -> list[tuple[Successor, str]]:
    rows = con.execute(
        """SELECT s.new_code, coalesce(a.name, s.new_code), s.share, s.year, s.new_edition,
                  s.change
           FROM district_successions s LEFT JOIN areas a ON a.code = s.new_code
           WHERE s.old_code = ? ORDER BY s.share DESC, s.new_code""", [code]).fetchall()
    return [(Successor(r[0], r[1], r[2], r[3], r[4]), r[5]) for r in rows]


def fate(con: duckdb.DuckDBPyConnection, code: str) -> Fate | None:
    """None for a district that still exists (or was never a district)."""
    found = _next(con, code)
    if not found:
        return None
    name_row = con.execute("SELECT name FROM areas WHERE code = ?", [code]).fetchone()
    name = str(name_row[0]) if name_row and name_row[0] else code
    if found[0][1] == "split":
        return Fate(code, name, "split", tuple(s for s, _ in found))
    hops = [found[0][0]]
    while len(hops) < 10:  # follow the chain while each step is a merge
        further = _next(con, hops[-1].code)
        if not further or further[0][1] != "merged":
            break
        hops.append(further[0][0])
    return Fate(code, name, "merged", (hops[-1],), tuple(hops[:-1]))


def former_districts(con: duckdb.DuckDBPyConnection, code: str
                     ) -> list[tuple[str, str, int | None, str]]:
    """The districts that became part of `code`, directly or through a chain, as
    (code, name, year, change), earliest first."""
    rows = con.execute(
        """WITH RECURSIVE back(old_code, year, change, depth) AS (
               SELECT old_code, year, change, 1 FROM district_successions WHERE new_code = ?
               UNION ALL
               SELECT s.old_code, s.year, s.change, b.depth + 1
               FROM district_successions s JOIN back b ON s.new_code = b.old_code
               WHERE b.depth < 10)
           SELECT DISTINCT b.old_code, coalesce(a.name, b.old_code), b.year, b.change, b.depth
           FROM back b LEFT JOIN areas a ON a.code = b.old_code
           ORDER BY b.depth DESC, b.year NULLS LAST, 2""", [code]).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def merged_into_current(con: duckdb.DuckDBPyConnection) -> None:
    """Point the LSOAs of merged former districts in lsoa_geography at the district that
    exists now, with its county, region and force, so that police data on 2011 LSOAs (whose
    lookups name the districts of 2019) counts in today's district. Split districts keep
    their old code: no one successor holds them."""
    con.execute(
        """UPDATE lsoa_geography g
           SET lad_code = m.now_code, lad_name = a.name,
               county_code = m.county_code, county_name = ca.name,
               region_code = m.region_code, region_name = ra.name,
               force_code = m.force_code, force_name = fa.name
           FROM (
               WITH RECURSIVE chain(old_code, now_code, depth) AS (
                   SELECT old_code, new_code, 1 FROM district_successions s
                   WHERE change = 'merged'
                   UNION ALL
                   SELECT c.old_code, s.new_code, c.depth + 1
                   FROM chain c JOIN district_successions s ON s.old_code = c.now_code
                   WHERE s.change = 'merged' AND c.depth < 10),
               final AS (SELECT old_code, arg_max(now_code, depth) AS now_code
                         FROM chain GROUP BY 1),
               up AS (SELECT child_code, parent_level,
                             arg_max(parent_code, [parent_vintage, (method <> 'derived')::VARCHAR])
                                 AS parent_code
                      FROM area_links WHERE parent_level IN ('county', 'region', 'force')
                      GROUP BY 1, 2)
               SELECT f.old_code, f.now_code,
                      (SELECT parent_code FROM up WHERE child_code = f.now_code
                                                  AND parent_level = 'county') AS county_code,
                      (SELECT parent_code FROM up WHERE child_code = f.now_code
                                                  AND parent_level = 'region') AS region_code,
                      (SELECT parent_code FROM up WHERE child_code = f.now_code
                                                  AND parent_level = 'force') AS force_code
               FROM final f) m
           LEFT JOIN areas a ON a.code = m.now_code
           LEFT JOIN areas ca ON ca.code = m.county_code
           LEFT JOIN areas ra ON ra.code = m.region_code
           LEFT JOIN areas fa ON fa.code = m.force_code
           WHERE g.lad_code = m.old_code""")
