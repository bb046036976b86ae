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
