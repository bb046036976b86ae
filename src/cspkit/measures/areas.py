"""Which LSOAs make up an area, what population it has, and which months its data covers.

Every measure works on an `AreaSelection`: a named area of any level, or a custom set of LSOAs.
Events join to the hierarchy on (lsoa_code, lsoa_vintage), so an area holds the LSOAs of both
editions and each event meets the edition it was published on.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import duckdb

from cspkit.errors import AreaNotFound
from cspkit.store.areas import resolve_area

T = TypeVar("T")

_MEMO: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_MEMO_SIZE = 512


_PATHS: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, str] = weakref.WeakKeyDictionary()


def memoised(con: duckdb.DuckDBPyConnection, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """Area facts (edition, months covered, population) are asked for again and again by one
    report; they change only when something is ingested, so they are kept per warehouse file
    and ingest-log state."""
    path = _PATHS.get(con)
    if path is None:
        row = con.execute("SELECT path FROM duckdb_databases() "
                          "WHERE database_name = current_database()").fetchone()
        path = _PATHS[con] = str(row[0]) if row else ""
    state = con.execute("SELECT max(ingest_id), count(*) FROM ingests").fetchone()
    full = (path, state, *key)
    if full in _MEMO:
        _MEMO.move_to_end(full)
        return _MEMO[full]  # type: ignore[no-any-return]
    value = compute()
    _MEMO[full] = value
    if len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return value


LEVEL_COLUMN = {"lsoa": "lsoa_code", "ward": "ward_code", "lad": "lad_code",
                "county": "county_code", "region": "region_code", "force": "force_code"}


@dataclass(frozen=True)
class AreaSelection:
    code: str
    name: str
    level: str                                   # lsoa|ward|lad|county|region|force|custom
    lsoas: tuple[str, ...] = field(default=())   # custom areas only

    def where(self, alias: str = "g") -> tuple[str, list[object]]:
        """SQL condition on `lsoa_geography` (aliased `alias`) selecting this area's LSOAs."""
        if self.level == "custom":
            marks = ", ".join("?" for _ in self.lsoas)
            return f"{alias}.lsoa_code IN ({marks})", list(self.lsoas)
        return f"{alias}.{LEVEL_COLUMN[self.level]} = ?", [self.code]


def select_area(con: duckdb.DuckDBPyConnection, query: str | AreaSelection) -> AreaSelection:
    """An area by name or code (`"Bedford"`, `"E06000055"`), or a selection passed through."""
    if isinstance(query, AreaSelection):
        return query

    def resolve() -> AreaSelection:
        area = resolve_area(con, query, levels=list(LEVEL_COLUMN))
        return AreaSelection(area.code, area.name, area.level)

    return memoised(con, ("area", query), resolve)


def custom_area(con: duckdb.DuckDBPyConnection, name: str, lsoas: list[str]) -> AreaSelection:
    """A bespoke area from LSOA codes; every code must be one the warehouse holds."""
    codes = tuple(sorted({c.strip().upper() for c in lsoas if c.strip()}))
    if not codes:
        raise AreaNotFound(f"custom area '{name}' has no LSOA codes")
    known = {r[0] for r in con.execute(
        f"SELECT DISTINCT lsoa_code FROM lsoa_geography WHERE lsoa_code IN "
        f"({', '.join('?' for _ in codes)})", list(codes)).fetchall()}
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise AreaNotFound(f"custom area '{name}': LSOA codes not in the warehouse: "
                           f"{', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''}")
    return AreaSelection(f"custom:{name}", name, "custom", codes)


def children(con: duckdb.DuckDBPyConnection, area: AreaSelection, level: str
             ) -> list[AreaSelection]:
    """The areas of `level` (e.g. wards, districts) inside `area`, by code."""
    condition, params = area.where()
    column = LEVEL_COLUMN[level]
    name = column.replace("_code", "_name")
    rows = con.execute(
        f"""SELECT DISTINCT g.{column}, g.{name} FROM lsoa_geography g
            WHERE {condition} AND g.{column} IS NOT NULL
              AND g.lsoa_vintage = ? ORDER BY 1""",
        [*params, events_vintage(con, area)]).fetchall()
    return [AreaSelection(code, label or code, level) for code, label in rows]


def parents(con: duckdb.DuckDBPyConnection, area: AreaSelection) -> list[AreaSelection]:
    """The areas containing `area`, nearest first (district, county, force, region)."""
    condition, params = area.where()
    found: list[AreaSelection] = []
    order = ["ward", "lad", "county", "force", "region"]
    start = order.index(area.level) + 1 if area.level in order else 0
    for level in order[start:]:
        column = LEVEL_COLUMN[level]
        rows = con.execute(
            f"""SELECT {column}, any_value({column.replace('_code', '_name')}), count(*) n
                FROM lsoa_geography g WHERE {condition} AND {column} IS NOT NULL
                GROUP BY 1 ORDER BY n DESC""", params).fetchall()
        if len(rows) == 1:
            found.append(AreaSelection(rows[0][0], rows[0][1] or rows[0][0], level))
    return found


def events_vintage(con: duckdb.DuckDBPyConnection, area: AreaSelection,
                   source: str = "police.uk") -> str:
    """The LSOA edition most of the area's events carry (2021 when there are none)."""
    return memoised(con, ("vintage", area, source), lambda: _events_vintage(con, area, source))


def _events_vintage(con: duckdb.DuckDBPyConnection, area: AreaSelection, source: str) -> str:
    condition, params = area.where()
    row = con.execute(
        f"""SELECT e.lsoa_vintage, count(*) n FROM events e
            JOIN lsoa_geography g ON g.lsoa_code = e.lsoa_code AND g.lsoa_vintage = e.lsoa_vintage
            WHERE {condition} AND e.source = ? GROUP BY 1 ORDER BY n DESC LIMIT 1""",
        [*params, source]).fetchone()
    return str(row[0]) if row else "2021"


def months_covered(con: duckdb.DuckDBPyConnection, area: AreaSelection,
                   source: str = "police.uk") -> set[date]:
    """Months for which the area's data is complete: for police.uk, the months every force
    covering the area has a loaded street file for."""
    return set(memoised(con, ("months", area, source),
                     lambda: frozenset(_months_covered(con, area, source))))


def _months_covered(con: duckdb.DuckDBPyConnection, area: AreaSelection,
                    source: str) -> set[date]:
    condition, params = area.where()
    forces = [r[0] for r in con.execute(
        f"""SELECT DISTINCT e.force FROM events e
            JOIN lsoa_geography g ON g.lsoa_code = e.lsoa_code AND g.lsoa_vintage = e.lsoa_vintage
            WHERE {condition} AND e.source = ? AND e.force IS NOT NULL""",
        [*params, source]).fetchall()]
    if source != "police.uk" or not forces:
        return {r[0] for r in con.execute(
            "SELECT DISTINCT month FROM events WHERE source = ?", [source]).fetchall()}
    # A force's own area: months of its loaded street files; all forces must have the month.
    sets = []
    for force in forces:
        covered = con.execute(
            """SELECT DISTINCT month FROM ingests WHERE kind = 'police-street'
               AND status = 'loaded' AND force = ?""", [force]).fetchall()
        sets.append({r[0] for r in covered})
    # Forces whose events here are only the odd out-of-area record do not define coverage.
    main = _main_forces(con, area, source)
    chosen = [s for f, s in zip(forces, sets, strict=True) if f in main] or sets
    return set.intersection(*chosen)


def _main_forces(con: duckdb.DuckDBPyConnection, area: AreaSelection, source: str) -> set[str]:
    condition, params = area.where()
    rows = con.execute(
        f"""SELECT e.force, count(*) n FROM events e
            JOIN lsoa_geography g ON g.lsoa_code = e.lsoa_code AND g.lsoa_vintage = e.lsoa_vintage
            WHERE {condition} AND e.source = ? GROUP BY 1""", [*params, source]).fetchall()
    total = sum(n for _, n in rows) or 1
    return {f for f, n in rows if n / total >= 0.05}


@dataclass(frozen=True)
class Population:
    persons: float | None
    households: float | None
    year: int | None
    requested_year: int
    source: str          # how it was obtained, for captions and caveats

    @property
    def note(self) -> str | None:
        if self.year is None:
            return f"no population for {self.requested_year}"
        if self.year != self.requested_year:
            return f"population of {self.year} used (nearest to {self.requested_year})"
        return None


def population(con: duckdb.DuckDBPyConnection, area: AreaSelection, year: int,
               vintage: str | None = None) -> Population:
    """Residents (and households) of `area` in `year`, else the nearest year available.

    Candidates: figures published for the area itself (e.g. district mid-year estimates) and
    sums over its LSOAs (in the edition its events use; apportioned where published on the
    other edition). The nearest year wins; on a tie, the area's own published figure. A sum over
    LSOAs is used only when every LSOA of the area has a figure for that year."""
    vintage = vintage or events_vintage(con, area)
    return memoised(con, ("population", area, year, vintage),
                 lambda: _population(con, area, year, vintage))


def _population(con: duckdb.DuckDBPyConnection, area: AreaSelection, year: int,
                vintage: str) -> Population:
    # (distance in years, preference, year, persons, households, description)
    candidates: list[tuple[int, int, int, float, float | None, str]] = []
    if area.level != "custom":
        for y, persons, households, method, source in con.execute(
            """SELECT year, persons, households, method, source FROM population
               WHERE code = ? AND persons IS NOT NULL""", [area.code]).fetchall():
            candidates.append((abs(y - year), 0, y, persons, households,
                               f"{method} mid-{y} figure for {area.name} ({source})"))
    condition, params = area.where()
    for y, persons, households, n, total, methods in con.execute(
        f"""WITH lsoas AS (SELECT DISTINCT g.lsoa_code FROM lsoa_geography g
                           WHERE {condition} AND g.lsoa_vintage = ?)
            SELECT p.year, sum(p.persons), sum(p.households), count(*),
                   (SELECT count(*) FROM lsoas), string_agg(DISTINCT p.method, ', ')
            FROM population p JOIN lsoas l ON l.lsoa_code = p.code
            WHERE p.vintage = ? GROUP BY p.year""",
        [*params, vintage, vintage]).fetchall():
        if n == total:
            candidates.append((abs(y - year), 1, y, persons, households,
                               f"sum of {n} LSOA figures for {y} ({methods}, {vintage} LSOAs)"))
    if not candidates:
        return Population(None, None, None, year, "no population loaded for this area")
    _, _, chosen, persons, households, source = min(candidates, key=lambda c: (c[0], c[1]))
    if households is None:
        households = _households_nearest(con, area, year, vintage)
    return Population(float(persons), households, chosen, year, source)


def _households_nearest(con: duckdb.DuckDBPyConnection, area: AreaSelection, year: int,
                        vintage: str) -> float | None:
    condition, params = area.where()
    row = con.execute(
        f"""WITH lsoas AS (SELECT DISTINCT g.lsoa_code FROM lsoa_geography g
                           WHERE {condition} AND g.lsoa_vintage = ?)
            SELECT p.year, sum(p.households) FROM population p JOIN lsoas l
              ON l.lsoa_code = p.code
            WHERE p.vintage = ? AND p.households IS NOT NULL
            GROUP BY p.year HAVING count(*) = (SELECT count(*) FROM lsoas)
            ORDER BY abs(p.year - ?) LIMIT 1""",
        [*params, vintage, vintage, year]).fetchone()
    return float(row[1]) if row else None
