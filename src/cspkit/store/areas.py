"""Finding an area the way a user names it: by GSS code or by name, case-insensitively.

A former district (Aylesbury Vale, Corby, Taunton Deane ...) is found too, and resolved to the
district that holds it now, with a notice saying so; one that was split among several districts
is refused with the districts to choose from.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import duckdb

from cspkit.errors import AreaNotFound
from cspkit.store.successions import Fate, fate, former_districts

# When a name is shared across levels, a district beats a ward of the same name.
LEVEL_PREFERENCE = ["lad", "county", "force", "region", "country", "ward", "lsoa"]


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    level: str
    # Said to the user when the name given was a former district's ("Aylesbury Vale
    # (E07000004) became part of Buckinghamshire (E06000060) in 2020; using Buckinghamshire").
    notice: str | None = field(default=None, compare=False)


def resolve_area(con: duckdb.DuckDBPyConnection, query: str, levels: list[str] | None = None,
                 *, follow_successors: bool = True) -> Area:
    """`"East Cambridgeshire"`, `"east cambridgeshire"` or `"E07000009"` -> the area.

    Raises AreaNotFound listing the closest names when nothing matches, and the candidates
    with their levels and codes when a name is ambiguous. A former district resolves to the
    district that holds it now (with a `notice`), unless `follow_successors` is False; a split
    one raises AreaNotFound naming its successors."""
    area = _resolve(con, query, levels)
    if not follow_successors or area.level != "lad":
        return area
    became = fate(con, area.code)
    if became is None:
        return area
    return successor_area(became)


def successor_area(became: Fate) -> Area:
    """The district a former one is now part of; AreaNotFound if it was split."""
    if became.change == "split":
        raise AreaNotFound(f"{became.sentence()}: no one district holds it now; name one of "
                           "them instead.")
    now = became.successors[0]
    return Area(now.code, now.name, "lad",
                notice=f"{became.sentence()}; using {now.name}")


def _resolve(con: duckdb.DuckDBPyConnection, query: str, levels: list[str] | None) -> Area:
    text = query.strip()
    level_filter = ""
    params: list[object] = [text.upper()]
    if levels:
        level_filter = f" AND level IN ({', '.join('?' for _ in levels)})"
        params += levels
    row = con.execute(f"SELECT code, name, level FROM areas WHERE upper(code) = ?{level_filter}",
                      params).fetchone()
    if row:
        return Area(row[0], row[1] or row[0], row[2])
    params[0] = text.lower()
    matches = con.execute(
        f"SELECT code, name, level FROM areas WHERE lower(name) = ?{level_filter}", params
    ).fetchall()
    if matches:
        matches.sort(key=lambda m: LEVEL_PREFERENCE.index(m[2])
                     if m[2] in LEVEL_PREFERENCE else 99)
        best_level = matches[0][2]
        best = [m for m in matches if m[2] == best_level]
        if len(best) == 1:
            return Area(best[0][0], best[0][1], best[0][2])
        listing = "; ".join(f"{m[1]} ({m[2]} {m[0]})" for m in best)
        raise AreaNotFound(f"'{query}' names more than one {best_level}: {listing}. "
                           "Use the code instead.")
    names = [r[0] for r in con.execute(
        "SELECT DISTINCT name FROM areas WHERE name IS NOT NULL AND level <> 'lsoa'"
    ).fetchall()]
    close = difflib.get_close_matches(text, names, n=5, cutoff=0.6)
    if not close:
        lower = text.lower()
        close = sorted(n for n in names if lower in n.lower())[:5]
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    if not names:
        hint = (" The warehouse holds no geography yet: run `cspkit ingest reference` or "
                "`cspkit demo`.")
    raise AreaNotFound(f"no area called '{query}'.{hint}")


def district_history(con: duckdb.DuckDBPyConnection, area: Area) -> list[str]:
    """Lines for `cspkit area`: what became of a former district, or the former districts a
    current one holds."""
    if area.level != "lad":
        return []
    became = fate(con, area.code)
    if became is not None:
        return [f"no longer exists: {became.sentence()}"]
    return [f"includes {'' if change == 'merged' else 'part of '}the former district {name} "
            f"({code}{f', until {year}' if year else ''})"
            for code, name, year, change in former_districts(con, area.code)]


def area_parents(con: duckdb.DuckDBPyConnection, code: str) -> list[tuple[str, str, str | None]]:
    """(code, level, name) of every area the geography lookups link the area `code` into
    (any edition), by level."""
    rows = con.execute(
        """SELECT DISTINCT l.parent_code, l.parent_level, a.name FROM area_links l
           LEFT JOIN areas a ON a.code = l.parent_code WHERE l.child_code = ? ORDER BY 2""",
        [code]).fetchall()
    return [(str(c), str(level), name) for c, level, name in rows]


# --- an area's districts, LSOAs and wards (what `cspkit setup` downloads for) -----------------

def districts_within(con: duckdb.DuckDBPyConnection, area: Area) -> list[Area]:
    """The districts (level 'lad') an area is made of: itself for a district, else the
    districts the geography lookups link to it (a county, region or country)."""
    if area.level == "lad":
        return [area]
    rows = con.execute(
        """SELECT DISTINCT a.code, a.name FROM area_links l JOIN areas a ON a.code = l.child_code
           WHERE l.parent_code = ? AND a.level = 'lad' ORDER BY a.code""", [area.code]).fetchall()
    return [Area(code, name or code, "lad") for code, name in rows]


def district_parents(con: duckdb.DuckDBPyConnection, codes: list[str] | None = None
                     ) -> dict[str, dict[str, str]]:
    """District code -> {'name': ..., 'county': code, 'region': code} for `codes` (default:
    every district any LSOA of the 2021 edition is linked to)."""
    rows = con.execute(
        """WITH d AS (
             SELECT code, name FROM areas WHERE level = 'lad'
               AND (? OR code IN (SELECT unnest(?::VARCHAR[])))
               AND code IN (SELECT parent_code FROM area_links WHERE parent_level = 'lad'
                            AND child_vintage = '2021'))
           SELECT d.code, d.name, l.parent_level, l.parent_code FROM d
           LEFT JOIN area_links l ON l.child_code = d.code
             AND l.parent_level IN ('county', 'region')
           ORDER BY d.code, l.parent_vintage""",
        [codes is None, codes or []]).fetchall()
    found: dict[str, dict[str, str]] = {}
    for code, name, level, parent in rows:
        entry = found.setdefault(code, {"name": name or code})
        if level:
            entry[level] = parent  # the newest edition's parent wins (ordered by vintage)
    return found


def lsoas_in_districts(con: duckdb.DuckDBPyConnection, codes: list[str], vintage: str = "2021"
                       ) -> dict[str, list[tuple[str, str]]]:
    """District code -> its LSOAs of `vintage` as (code, name), from the lookups held."""
    found: dict[str, list[tuple[str, str]]] = {code: [] for code in codes}
    for lad, lsoa, name in con.execute(
            """SELECT DISTINCT l.parent_code, l.child_code, a.name FROM area_links l
               JOIN areas a ON a.code = l.child_code
               WHERE l.parent_level = 'lad' AND l.child_vintage = ?
                 AND l.parent_code IN (SELECT unnest(?::VARCHAR[]))
               ORDER BY 1, 2""", [vintage, codes]).fetchall():
        found[lad].append((lsoa, name or lsoa))
    return found


def wards_in_districts(con: duckdb.DuckDBPyConnection, codes: list[str],
                       lsoa_vintage: str = "2021") -> dict[str, list[tuple[str, str, str]]]:
    """District code -> the wards its LSOAs of `lsoa_vintage` are linked to, as (code, name,
    ward vintage), the newest ward edition only."""
    found: dict[str, list[tuple[str, str, str]]] = {code: [] for code in codes}
    for lad, ward, name, vintage in con.execute(
            """WITH lsoa AS (
                 SELECT DISTINCT parent_code AS lad, child_code FROM area_links
                 WHERE parent_level = 'lad' AND child_vintage = ?
                   AND parent_code IN (SELECT unnest(?::VARCHAR[]))),
               ward AS (
                 SELECT DISTINCT s.lad, w.parent_code AS code, w.parent_vintage AS vintage
                 FROM lsoa s JOIN area_links w ON w.child_code = s.child_code
                   AND w.child_vintage = ? AND w.parent_level = 'ward')
               SELECT w.lad, w.code, a.name, w.vintage FROM ward w
               JOIN areas a ON a.code = w.code
               WHERE w.vintage = (SELECT max(vintage) FROM ward)
               ORDER BY 1, 2""", [lsoa_vintage, codes, lsoa_vintage]).fetchall():
        found[lad].append((ward, name or ward, vintage))
    return found


def setup_summary(con: duckdb.DuckDBPyConnection, codes: list[str]) -> dict[str, dict[str, int]]:
    """Per district: its 2021 LSOAs and newest wards, how many have a boundary held, and the
    police.uk months held for its LSOAs (what an assessment needs)."""
    rows = con.execute(
        """WITH g AS (SELECT * FROM lsoa_geography WHERE lsoa_vintage = '2021'
                      AND lad_code IN (SELECT unnest(?::VARCHAR[])))
           SELECT g.lad_code,
                  count(DISTINCT g.lsoa_code),
                  count(DISTINCT g.lsoa_code) FILTER (WHERE EXISTS (
                      SELECT 1 FROM area_geometry a WHERE a.code = g.lsoa_code
                        AND a.vintage = '2021')),
                  count(DISTINCT g.ward_code),
                  count(DISTINCT g.ward_code) FILTER (WHERE EXISTS (
                      SELECT 1 FROM area_geometry a WHERE a.code = g.ward_code
                        AND a.vintage = g.ward_vintage)),
                  (SELECT count(DISTINCT e.month) FROM events e
                   WHERE e.source = 'police.uk' AND e.lsoa_code IN (
                       SELECT lsoa_code FROM lsoa_geography x WHERE x.lad_code = g.lad_code))
           FROM g GROUP BY g.lad_code""", [codes]).fetchall()
    keys = ("lsoas", "lsoas_with_boundary", "wards", "wards_with_boundary", "police_months")
    return {r[0]: dict(zip(keys, (int(v) for v in r[1:]), strict=True)) for r in rows}


@dataclass(frozen=True)
class HeldDistrict:
    code: str
    name: str
    force_code: str
    force_name: str
    first_month: str     # YYYY-MM: the force's first police.uk month held
    last_month: str


def districts_held(con: duckdb.DuckDBPyConnection) -> list[HeldDistrict]:
    """The current districts policed by a force whose police.uk months are loaded, by name:
    the districts a dashboard or a batch can report on (a stray event placed in another
    force's district does not make that district held)."""
    rows = con.execute(
        """WITH held AS (
               SELECT force, strftime(min(month), '%Y-%m') AS first,
                      strftime(max(month), '%Y-%m') AS last
               FROM ingests WHERE kind = 'police-street' AND status = 'loaded'
               GROUP BY 1)
           SELECT DISTINCT g.lad_code, g.lad_name, g.force_code, g.force_name, h.first, h.last
           FROM lsoa_geography g JOIN held h ON h.force = g.force_code
           WHERE g.lad_code IS NOT NULL
           ORDER BY g.lad_name, g.lad_code""").fetchall()
    return [HeldDistrict(*map(str, row)) for row in rows]
