"""Which LSOAs make up an area, what population it has, and which months its data covers.

Every measure works on an `AreaSelection`: a named area of any level, or a custom set of LSOAs.
Events join to the hierarchy on (lsoa_code, lsoa_vintage), so an area holds the LSOAs of both
editions and each event meets the edition it was published on.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Concatenate, ParamSpec, TypeVar

import ibis
import ibis.expr.types as ir
import pandas as pd

from cspkit.errors import AreaNotFound
from cspkit.store.areas import resolve_area
from cspkit.store.successions import former_districts
from cspkit.store.tables import Warehouse, WarehouseLike, duckdb_con, months_in, warehouse
from cspkit.store.warehouse import warehouse_state

T = TypeVar("T")

_MEMO: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_MEMO_SIZE = 512


_SNAPSHOTS: ContextVar[dict[int, tuple[Any, ...]] | None] = ContextVar("_SNAPSHOTS",
                                                                        default=None)
P = ParamSpec("P")


def _snapshot_key(con: WarehouseLike) -> int:
    """One key for a DuckDB connection and the Warehouse wrapping it."""
    if isinstance(con, Warehouse):
        return id(con.con) if con.has_con else id(con)
    return id(con)


@contextmanager
def snapshot(con: WarehouseLike) -> Iterator[None]:
    """A block that only reads the warehouse (a measure, a profile, a report): the ingest-log
    state that keys the memo is read once on entry instead of once per memoised fact."""
    token = _SNAPSHOTS.set({**(_SNAPSHOTS.get() or {}),
                            _snapshot_key(con): _read_memo_prefix(con)})
    try:
        yield
    finally:
        _SNAPSHOTS.reset(token)


def reads_warehouse(work: Callable[Concatenate[WarehouseLike, P], T]
                    ) -> Callable[Concatenate[WarehouseLike, P], T]:
    """Decorator: run `work(con, ...)` inside `snapshot(con)`."""
    @functools.wraps(work)
    def wrapper(con: WarehouseLike, *args: P.args, **kwargs: P.kwargs) -> T:
        with snapshot(con):
            return work(con, *args, **kwargs)
    return wrapper


def _memo_prefix(con: WarehouseLike) -> tuple[Any, ...]:
    held = (_SNAPSHOTS.get() or {}).get(_snapshot_key(con))
    return held if held is not None else _read_memo_prefix(con)


def _read_memo_prefix(con: WarehouseLike) -> tuple[Any, ...]:
    wh = warehouse(con)
    if wh.has_con:
        return warehouse_state(wh.con)
    return (wh.location, wh.ingest_state())   # a Parquet export, or Spark


def _memo_put(full: tuple[Any, ...], value: Any) -> None:
    _MEMO[full] = value
    if len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)


def forget() -> None:
    """Drop every memoised area fact (tests comparing two ways of reading one warehouse)."""
    _MEMO.clear()


def memoised(con: WarehouseLike, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """Area facts (edition, months covered, population) are asked for again and again by one
    report; they change only when something is ingested, so they are kept per warehouse file
    and ingest-log state."""
    full = (*_memo_prefix(con), *key)
    if full in _MEMO:
        _MEMO.move_to_end(full)
        return _MEMO[full]  # type: ignore[no-any-return]
    value = compute()
    _memo_put(full, value)
    return value


LEVEL_COLUMN = {"lsoa": "lsoa_code", "ward": "ward_code", "lad": "lad_code",
                "county": "county_code", "region": "region_code", "force": "force_code"}


@dataclass(frozen=True)
class AreaSelection:
    code: str
    name: str
    level: str                                   # lsoa|ward|lad|county|region|force|custom
    lsoas: tuple[str, ...] = field(default=())   # custom areas only

    def filter(self, table: ir.Table) -> ir.BooleanValue:
        """Ibis condition on a table with the hierarchy's columns (`lsoa_geography`, or events
        joined to it) selecting this area's LSOAs."""
        if self.level == "custom":
            return table.lsoa_code.isin(list(self.lsoas))
        return table[LEVEL_COLUMN[self.level]] == self.code


def area_events(con: WarehouseLike, area: AreaSelection, source: str) -> ir.Table:
    """The area's located events of `source`, with their LSOA's hierarchy columns (read from
    the focus's rows when `focus_on` holds the area's)."""
    wh = warehouse(con)
    if wh.has_focus:
        events = wh.located_events(source, within=area_lsoas(wh, area),
                                   districts=area_districts(wh, area))
    else:
        events = wh.located_events(source)
    return events.filter(area.filter(events))


def area_districts(con: WarehouseLike, area: AreaSelection) -> frozenset[str] | None:
    """The codes of the districts the area's LSOAs lie in (None if one has no district)."""
    def compute() -> frozenset[str] | None:
        wh = warehouse(con)
        g = wh.hierarchy()
        codes = wh.values(g.filter(area.filter(g)).select("lad_code").distinct())
        return None if any(c is None for c in codes) else frozenset(codes)

    return memoised(con, ("districts", area), compute)


def area_lsoas(con: WarehouseLike, area: AreaSelection) -> frozenset[str]:
    """The LSOA codes (any edition) of the area."""
    if area.level == "custom":
        return frozenset(area.lsoas)

    def compute() -> frozenset[str]:
        wh = warehouse(con)
        g = wh.hierarchy()
        return frozenset(wh.values(g.filter(area.filter(g)).select("lsoa_code").distinct()))

    return memoised(con, ("lsoas", area), compute)


def focus_on(con: WarehouseLike, area: AreaSelection, *, force: bool = True) -> None:
    """Before the many questions a document asks of one area: hold the events of the police
    force area(s) around it apart (`Warehouse.focus`), so that questions about the area, its
    wards and its force read those rows rather than every event in the warehouse. Answers are
    unchanged; on a national warehouse a district's document becomes a force's work. With
    `force=False` (work about the area alone, such as its places ranking), or for an area
    with no force in the hierarchy, the area's own events are held: less memory than a large
    force's. Nothing happens off the DuckDB warehouse."""
    wh = warehouse(con)
    if not wh.can_focus:
        return
    g = wh.hierarchy()
    forces = sorted(area_forces(wh, area)) if force else []
    lsoas = (frozenset(wh.values(g.filter(g.force_code.isin(forces))
                                 .select("lsoa_code").distinct()))
             if forces else area_lsoas(wh, area))
    wh.focus(lsoas | area_lsoas(wh, area))


def area_forces(con: WarehouseLike, area: AreaSelection) -> frozenset[str]:
    """The police force areas (codes) the area's LSOAs lie in (any edition), as the hierarchy
    has them."""
    wh = warehouse(con)
    g = wh.hierarchy()
    return frozenset(str(f) for f in wh.values(g.filter(area.filter(g), g.force_code.notnull())
                                               .select("force_code").distinct()))


def select_area(con: WarehouseLike, query: str | AreaSelection) -> AreaSelection:
    """An area by name or code (`"Bedford"`, `"E06000055"`), or a selection passed through."""
    if isinstance(query, AreaSelection):
        return query

    def resolve() -> AreaSelection:
        if isinstance(con, Warehouse) and not con.has_con:   # a Parquet export, or Spark
            found = con.find_area(query, LEVEL_COLUMN)
            if found is None:
                raise AreaNotFound(f"no area called {query!r} in {con.location}")
            return AreaSelection(*found)
        area = resolve_area(duckdb_con(con), query, levels=list(LEVEL_COLUMN))
        return AreaSelection(area.code, area.name, area.level)

    return memoised(con, ("area", query), resolve)


def custom_area(con: WarehouseLike, name: str, lsoas: list[str]) -> AreaSelection:
    """A bespoke area from LSOA codes; every code must be one the warehouse holds."""
    codes = tuple(sorted({c.strip().upper() for c in lsoas if c.strip()}))
    if not codes:
        raise AreaNotFound(f"custom area '{name}' has no LSOA codes")
    wh = warehouse(con)
    g = wh.hierarchy()
    known = set(wh.values(g.filter(g.lsoa_code.isin(list(codes))).select("lsoa_code")
                          .distinct()))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise AreaNotFound(f"custom area '{name}': LSOA codes not in the warehouse: "
                           f"{', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''}")
    return AreaSelection(f"custom:{name}", name, "custom", codes)


def children(con: WarehouseLike, area: AreaSelection, level: str
             ) -> list[AreaSelection]:
    """The areas of `level` (e.g. wards, districts) inside `area`, by code."""
    wh = warehouse(con)
    g = wh.hierarchy()
    column = LEVEL_COLUMN[level]
    name = column.replace("_code", "_name")
    chosen = g.filter(area.filter(g), g[column].notnull(),
                      g.lsoa_vintage == events_vintage(con, area))
    rows = wh.rows(chosen.select(column, name).distinct().order_by([column, name]))
    return [AreaSelection(code, label or code, level) for code, label in rows]


def parents(con: WarehouseLike, area: AreaSelection) -> list[AreaSelection]:
    """The areas containing `area`, nearest first (district, county, force, region)."""
    wh = warehouse(con)
    g = wh.hierarchy()
    found: list[AreaSelection] = []
    order = ["ward", "lad", "county", "force", "region"]
    start = order.index(area.level) + 1 if area.level in order else 0
    for level in order[start:]:
        column = LEVEL_COLUMN[level]
        inside = g.filter(area.filter(g), g[column].notnull())
        rows = wh.rows(inside.group_by(column).aggregate(
            name=inside[column.replace("_code", "_name")].arbitrary(), n=inside.count()))
        if len(rows) == 1:
            found.append(AreaSelection(rows[0][0], rows[0][1] or rows[0][0], level))
    return found


def events_vintage(con: WarehouseLike, area: AreaSelection,
                   source: str = "police.uk") -> str:
    """The LSOA edition most of the area's events carry (2021 when there are none)."""
    return memoised(con, ("vintage", area, source), lambda: _events_vintage(con, area, source))


def _events_vintage(con: WarehouseLike, area: AreaSelection, source: str) -> str:
    events = area_events(con, area, source)
    counted = events.group_by("lsoa_vintage").aggregate(n=events.count())
    rows = warehouse(con).rows(
        counted.order_by([ibis.desc("n"), ibis.desc("lsoa_vintage")]).limit(1))
    return str(rows[0][0]) if rows else "2021"


def events_vintages(con: WarehouseLike, areas: list[AreaSelection],
                    source: str = "police.uk") -> dict[AreaSelection, str]:
    """`events_vintage` of many areas of one level (a district's similar districts) from one
    grouped pass over the events rather than one pass each; memoised as `events_vintage`."""
    prefix = _memo_prefix(con)
    wanted = [a for a in dict.fromkeys(areas) if (*prefix, "vintage", a, source) not in _MEMO]
    levels = {a.level for a in wanted}
    if len(levels) == 1 and "custom" not in levels:
        column = LEVEL_COLUMN[levels.pop()]
        events = warehouse(con).located_events(source)
        chosen = events.filter(events[column].isin([a.code for a in wanted]))
        rows = warehouse(con).rows(chosen.group_by([column, "lsoa_vintage"])
                                   .aggregate(n=chosen.count()))
        best: dict[str, tuple[int, str]] = {}
        for code, vintage, n in rows:   # the most events; on a tie, the later edition
            if vintage is not None and (int(n), str(vintage)) > best.get(str(code), (0, "")):
                best[str(code)] = (int(n), str(vintage))
        for area in wanted:
            _memo_put((*prefix, "vintage", area, source), best.get(area.code, (0, "2021"))[1])
    return {a: events_vintage(con, a, source) for a in areas}


def months_covered(con: WarehouseLike, area: AreaSelection,
                   source: str = "police.uk") -> set[date]:
    """Months for which the area's data is complete: for police.uk, the months every force
    covering the area has a loaded street file for; for a partner source, the months it holds
    records for in the area's police force area(s) (its service's area, not the whole
    warehouse's), so a series is never filled with zeros where the source says nothing."""
    return set(memoised(con, ("months", area, source),
                     lambda: frozenset(_months_covered(con, area, source))))


def _months_covered(con: WarehouseLike, area: AreaSelection,
                    source: str) -> set[date]:
    if source != "police.uk":
        return _partner_months(con, area, source)
    wh = warehouse(con)
    events = area_events(wh, area, source)
    forces = wh.values(events.filter(events.force.notnull()).select("force").distinct())
    if not forces:
        all_events = wh.events()
        return months_in(wh.values(
            all_events.filter(all_events.source == source).select("month").distinct()))
    # A force's own area: months of its loaded street files; all forces must have the month.
    loaded: dict[str, set[date]] = {}
    for force, month in wh.rows(wh.loaded_months(forces)):
        loaded.setdefault(force, set()).update(months_in([month]))
    sets = [loaded.get(force, set()) for force in forces]
    # Forces whose events here are only the odd out-of-area record do not define coverage.
    main = _main_forces(con, area, source)
    chosen = [s for f, s in zip(forces, sets, strict=True) if f in main] or sets
    return set.intersection(*chosen)


def _partner_months(con: WarehouseLike, area: AreaSelection,
                    source: str) -> set[date]:
    """Months `source` holds located records for within the force area(s) around `area`: a
    month there with none in the area itself is a true 0. Without force codes in the
    geography, the area's own months."""
    wh = warehouse(con)
    g = wh.hierarchy()
    region = wh.values(g.filter(area.filter(g), g.force_code.notnull())
                       .select("force_code").distinct())
    events = wh.located_events(source)
    rows = months_in(wh.values(events.filter(events.force_code.isin(region))
                               .select("month").distinct())) if region else set()
    if rows:
        return rows
    return months_in(wh.values(area_events(wh, area, source).select("month").distinct()))


def _main_forces(con: WarehouseLike, area: AreaSelection, source: str) -> set[str]:
    events = area_events(con, area, source)
    rows = warehouse(con).rows(events.group_by("force").aggregate(n=events.count()))
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


Band = tuple[int, int | None]     # (age_from, age_to); None = and over


@dataclass(frozen=True)
class AgeStructure:
    """Residents by age of one area in one year, as a population table published them (single
    years of age, or broad bands)."""

    code: str
    year: int
    bands: dict[Band, float]

    @property
    def persons(self) -> float:
        return sum(self.bands.values())

    def share(self, age_from: int, age_to: int | None) -> float | None:
        """The share of residents aged `age_from` to `age_to` (None = and over), if the held
        bands add up to exactly that range."""
        def end(hi: int | None) -> int:
            return 10_000 if hi is None else hi
        inside = sorted((lo, hi, n) for (lo, hi), n in self.bands.items()
                        if lo >= age_from and end(hi) <= end(age_to))
        if not inside or inside[0][0] != age_from or inside[-1][1] != age_to:
            return None
        return sum(n for *_, n in inside) / self.persons if self.persons else None


def age_structures(con: WarehouseLike, codes: list[str], year: int
                   ) -> dict[str, AgeStructure]:
    """For each code with age bands held, those of the year nearest `year` (the later year on
    a tie); codes without any are left out."""
    wh = warehouse(con)
    ages = wh.table("population_age")
    rows = wh.rows(ages.filter(ages.code.isin(sorted(set(codes))))
                   .select("code", "year", "age_from", "age_to", "persons"))
    years: dict[str, set[int]] = {}
    for code, held, *_ in rows:
        years.setdefault(code, set()).add(int(held))
    chosen = {code: min(held, key=lambda y: (abs(y - year), -y)) for code, held in years.items()}
    found: dict[str, dict[Band, float]] = {}
    for code, held, lo, hi, persons in rows:
        if int(held) == chosen[code]:
            found.setdefault(code, {})[(int(lo), None if hi is None else int(hi))] = persons
    return {code: AgeStructure(code, chosen[code], bands) for code, bands in found.items()}


def population(con: WarehouseLike, area: AreaSelection, year: int,
               vintage: str | None = None) -> Population:
    """Residents (and households) of `area` in `year`, else the nearest year available.

    Candidates: figures published for the area itself (e.g. district mid-year estimates) and
    sums over its LSOAs (in the edition its events use; apportioned where published on the
    other edition). The nearest year wins; on a tie, the area's own published figure. A sum over
    LSOAs is used only when every LSOA of the area has a figure for that year. Households not
    given with the chosen figure come from the nearest year whose LSOA sum is complete."""
    return populations(con, [area], year, vintage or events_vintage(con, area))[area]


def populations(con: WarehouseLike, areas: list[AreaSelection], year: int,
                vintage: str) -> dict[AreaSelection, Population]:
    """`population(con, a, year, vintage)` for many areas at once (a district's wards, say):
    the same figures by the same rule from two queries in all. Results are memoised."""
    found = populations_by_year(con, areas, [year], vintage)
    return {area: found[area, year] for area in areas}


def populations_by_year(con: WarehouseLike, areas: list[AreaSelection],
                        years: list[int], vintage: str
                        ) -> dict[tuple[AreaSelection, int], Population]:
    """`populations` for several years at once: {(area, year): Population}."""
    prefix = _memo_prefix(con)
    found: dict[tuple[AreaSelection, int], Population] = {}
    missing: list[AreaSelection] = []
    for area in dict.fromkeys(areas):
        for year in years:
            full = (*prefix, "population", area, year, vintage)
            if full in _MEMO:
                _MEMO.move_to_end(full)
                found[area, year] = _MEMO[full]
            elif area not in missing:
                missing.append(area)
    if missing:
        for (area, year), value in _populations(con, missing, years, vintage).items():
            if (area, year) not in found:
                _memo_put((*prefix, "population", area, year, vintage), value)
                found[area, year] = value
    return found


def _populations(con: WarehouseLike, areas: list[AreaSelection], years: list[int],
                 vintage: str) -> dict[tuple[AreaSelection, int], Population]:
    wh = warehouse(con)
    published: dict[int, list[tuple[Any, ...]]] = {}
    # Figures published for the area itself: a named area's, or, for a custom area whose LSOAs
    # are exactly a district's or ward's, that place's (so it reproduces the place's rates).
    labels = {i: a.name for i, a in enumerate(areas)}
    named: dict[str, list[int]] = {}
    for i, area in enumerate(areas):
        if area.level != "custom":
            named.setdefault(area.code, []).append(i)
    for i, (code, name) in _same_as_named(wh, areas, vintage).items():
        named.setdefault(code, []).append(i)
        labels[i] = f"{name}, whose LSOAs these are"
    if named:
        rows = wh.population_rows(named)
        for code, *row in wh.rows(
                rows.filter(rows.persons.notnull())
                .select("code", "year", "persons", "households", "method", "source")):
            for i in named[code]:
                published.setdefault(i, []).append(tuple(row))
    sums = _lsoa_sums(wh, areas, vintage)
    out: dict[tuple[AreaSelection, int], Population] = {}
    for i, area in enumerate(areas):
        for year in years:
            out[area, year] = _choose(labels[i], year, vintage, published.get(i, []),
                                      sums.get(i, []))
    return out


def _members(wh: Warehouse, areas: list[AreaSelection], vintage: str
             ) -> dict[str, pd.DataFrame]:
    """The hierarchy rows of `vintage` of every area's LSOAs (lsoa_code, lad and ward codes
    and names), by level ('custom' for listed LSOAs)."""
    g = wh.hierarchy()
    g = g.filter(g.lsoa_vintage == vintage)
    columns = ["lsoa_code", "lad_code", "lad_name", "ward_code", "ward_name"]
    out: dict[str, pd.DataFrame] = {}
    for level in sorted({a.level for a in areas}):
        if level == "custom":
            codes = sorted({c for a in areas if a.level == "custom" for c in a.lsoas})
            condition = g.lsoa_code.isin(codes)
        else:
            column = LEVEL_COLUMN[level]
            condition = g[column].isin(sorted({a.code for a in areas if a.level == level}))
            columns = [*columns, column] if column not in columns else columns
        out[level] = wh.frame(g.filter(condition).select(*dict.fromkeys(columns)).distinct())
    return out


def _membership(members: dict[str, pd.DataFrame], areas: list[AreaSelection]
                ) -> dict[int, list[str]]:
    """{index of an area: its LSOA codes of the edition} (as `AreaSelection.where`: for a custom
    area, the listed codes the hierarchy holds in this edition)."""
    out: dict[int, list[str]] = {}
    for i, area in enumerate(areas):
        rows = members[area.level]
        if area.level == "custom":
            chosen = rows[rows["lsoa_code"].isin(set(area.lsoas))]
        else:
            chosen = rows[rows[LEVEL_COLUMN[area.level]] == area.code]
        out[i] = sorted(set(chosen["lsoa_code"]))
    return out


def _same_as_named(con: WarehouseLike, areas: list[AreaSelection], vintage: str
                   ) -> dict[int, tuple[str, str]]:
    """{index of a custom area: (code, name)} of the district (else ward) whose LSOAs of
    `vintage` are exactly the custom area's."""
    custom = [a for a in areas if a.level == "custom"]
    if not custom:
        return {}
    wh = warehouse(con)
    rows = _members(wh, custom, vintage)["custom"]
    by_lsoa = {code: group for code, group in rows.groupby("lsoa_code")}

    def single(values: pd.Series) -> str | None:
        held = values.dropna()
        return str(held.iloc[0]) if len(held) == len(values) and held.nunique() == 1 else None

    def first(values: pd.Series) -> str | None:
        held = values.dropna()
        return str(held.iloc[0]) if len(held) else None

    chosen: dict[int, dict[str, Any]] = {}
    for i, area in enumerate(areas):
        if area.level != "custom":
            continue
        held = [by_lsoa[c] for c in area.lsoas if c in by_lsoa]
        if not held:
            continue
        c = pd.concat(held, ignore_index=True).drop_duplicates()
        chosen[i] = {"lsoas": len(c), "lad": single(c["lad_code"]),
                     "lad_name": first(c["lad_name"]), "ward": single(c["ward_code"]),
                     "ward_name": first(c["ward_name"])}
    g = wh.hierarchy()
    g = g.filter(g.lsoa_vintage == vintage)
    sizes: dict[str, int] = {}
    for column, codes in (("lad_code", {v["lad"] for v in chosen.values()}),
                          ("ward_code", {v["ward"] for v in chosen.values()})):
        codes.discard(None)
        if codes:
            inside = g.filter(g[column].isin(sorted(codes)))
            sizes.update(dict(wh.rows(inside.group_by(column).aggregate(n=inside.count()))))
    out: dict[int, tuple[str, str]] = {}
    for i, one in chosen.items():
        if one["lad"] is not None and sizes.get(one["lad"]) == one["lsoas"]:
            out[i] = (one["lad"], str(one["lad_name"] or one["lad"]))
        elif one["ward"] is not None and sizes.get(one["ward"]) == one["lsoas"]:
            out[i] = (one["ward"], str(one["ward_name"] or one["ward"]))
    return out


def _choose(label: str, year: int, vintage: str, published: list[tuple[Any, ...]],
            sums: list[tuple[Any, ...]]) -> Population:
    # (distance in years, preference, year, persons, households, description)
    candidates: list[tuple[int, int, int, float, float | None, str]] = [
        (abs(y - year), 0, y, persons, households,
         f"{method} mid-{y} figure for {label} ({source})")
        for y, persons, households, method, source in published]
    for y, persons, households, n, total, methods, _ in sums:
        if n == total:
            candidates.append((abs(y - year), 1, y, persons, households,
                               f"sum of {n} LSOA figures for {y} ({methods}, {vintage} LSOAs)"))
    if not candidates:
        return Population(None, None, None, year, "no population loaded for this area")
    _, _, chosen, persons, households, source = min(candidates, key=lambda c: (c[0], c[1]))
    if households is None:
        complete = [(abs(y - year), y, h) for y, _, h, _, total, _, with_h in sums
                    if with_h == total and h is not None]
        households = float(min(complete)[2]) if complete else None
    # Rounded: apportioned figures are fractions whose float sum depends on the order added.
    return Population(round(float(persons), 6),
                      round(float(households), 6) if households is not None else None,
                      chosen, year, source)


def _lsoa_sums(wh: Warehouse, areas: list[AreaSelection], vintage: str
               ) -> dict[int, list[tuple[Any, ...]]]:
    """The population of each area's LSOAs (of `vintage`) summed by year: {index: [(year,
    persons, households, LSOAs with a figure, LSOAs in the area, methods, LSOAs with
    households)], years ascending}. Named areas are summed in the engine, one query per
    level; custom areas (listed LSOAs) here."""
    out: dict[int, list[tuple[Any, ...]]] = {}
    for level in sorted({a.level for a in areas if a.level != "custom"}):
        index: dict[str, list[int]] = {}
        for i, area in enumerate(areas):
            if area.level == level:
                index.setdefault(area.code, []).append(i)
        for code, year, persons, households, n, total, methods, with_h in wh.rows(
                _level_sums(wh, LEVEL_COLUMN[level], sorted(index), vintage)):
            for i in index[code]:
                out.setdefault(i, []).append((
                    int(year), None if persons is None else float(persons),
                    None if households is None else float(households), int(n), int(total),
                    ", ".join(sorted(set(methods or []))), int(with_h)))
    custom = [i for i, a in enumerate(areas) if a.level == "custom"]
    if custom:
        out.update(_custom_sums(wh, [areas[i] for i in custom], vintage, custom))
    return out


def _level_sums(wh: Warehouse, column: str, codes: list[str], vintage: str) -> ir.Table:
    """Population of the LSOAs (of `vintage`) of the areas whose `column` is one of `codes`,
    by area and year, in the row shape of `_lsoa_sums`, ordered by area and year."""
    g = wh.hierarchy()
    members = g.filter(g.lsoa_vintage == vintage, g[column].isin(codes)).select(
        area=g[column], lsoa=g.lsoa_code).distinct()
    sizes = members.group_by("area").aggregate(total=members.count())
    p = wh.table("population")
    p = p.filter(p.vintage == vintage)
    joined = members.join(p, members.lsoa == p.code).join(sizes, "area")
    return joined.group_by(["area", "year"]).aggregate(
        persons=joined.persons.sum(), households=joined.households.sum(), n=joined.count(),
        total=joined.total.max(), methods=joined.method.collect(distinct=True),
        with_households=joined.households.count()).order_by(["area", "year"])


def _custom_sums(wh: Warehouse, areas: list[AreaSelection], vintage: str, indexes: list[int]
                 ) -> dict[int, list[tuple[Any, ...]]]:
    """`_lsoa_sums` of custom areas (listed LSOAs), keyed by `indexes`."""
    members = _membership(_members(wh, areas, vintage), areas)
    codes = sorted({c for held in members.values() for c in held})
    if not codes:
        return {}
    p = wh.population_rows(codes)
    rows = wh.frame(p.filter(p.vintage == vintage)
                    .select("code", "year", "persons", "households", "method"))
    by_code = {code: group for code, group in rows.groupby("code")}
    out: dict[int, list[tuple[Any, ...]]] = {}
    for i, held in members.items():
        found = [by_code[c] for c in held if c in by_code]
        if not found:
            continue
        figures = pd.concat(found, ignore_index=True)
        for year, group in figures.groupby("year", sort=True):
            methods = ", ".join(sorted(set(group["method"].dropna())))
            persons, households = group["persons"], group["households"]
            out.setdefault(indexes[i], []).append((
                int(year), float(persons.sum()) if persons.notna().any() else None,
                float(households.sum()) if households.notna().any() else None,
                len(group), len(held), methods, int(households.notna().sum())))
    return out


def latest_full_year(con: WarehouseLike, area: AreaSelection,
                     source: str = "police.uk") -> int:
    """The latest calendar year whose 12 months the area's data all holds: the default period
    of every command. With no full year, the latest year holding any month (a part year,
    which results label with its months); ValueError with no data at all."""
    held = months_covered(con, area, source)
    if not held:
        raise ValueError(f"no {source} data is held for {area.name}")
    by_year: dict[int, int] = {}
    for month in held:
        by_year[month.year] = by_year.get(month.year, 0) + 1
    full = [year for year, n in by_year.items() if n == 12]
    return max(full) if full else max(by_year)


@dataclass(frozen=True)
class GeographyEditions:
    """The geography editions an area's figures rest on, as the warehouse used them."""

    police_lsoas: dict[str, int]            # LSOA edition -> police records in the period
    wards: list[tuple[str, str, int]]       # (ward edition, lookup method, LSOAs) for them
    district: str | None                    # newest district edition giving this district
    former: list[str]                       # former districts counted in it


def geography_editions(con: WarehouseLike, area: AreaSelection,
                       start: date, end: date, source: str = "police.uk"
                       ) -> GeographyEditions:
    """Which LSOA editions the area's police records between `start` and `end` carry, which
    ward edition(s) those LSOAs were given (ward tables and maps), and, for a district, the
    district edition and the former districts merged into it."""
    wh = warehouse(con)
    events = area_events(wh, area, source)
    events = events.filter(events.month.between(start, end))
    by_edition = events.group_by("lsoa_vintage").aggregate(n=events.count())
    lsoas = dict(wh.rows(by_edition.order_by([ibis.desc("n"), ibis.desc("lsoa_vintage")])))
    editions = list(lsoas) or [events_vintage(con, area, source)]
    g = wh.hierarchy()
    given = g.filter(area.filter(g), g.lsoa_vintage.isin(editions), g.ward_code.notnull())
    by_ward = given.group_by(["ward_vintage", "ward_method"]).aggregate(n=given.count())
    wards = [(str(v), str(m), int(n)) for v, m, n in wh.rows(
        by_ward.order_by([ibis.desc("n"), "ward_vintage", "ward_method"]))]
    district = None
    former: list[str] = []
    if area.level == "lad":
        links = wh.table("area_links")
        newest = wh.values(links.filter(links.parent_code == area.code,
                                        links.parent_level == "lad")
                           .aggregate(newest=links.parent_vintage.max()))
        district = str(newest[0]) if newest and newest[0] else None
        former = [f"{name} ({code})" for code, name, _, change
                  in former_districts(duckdb_con(con), area.code) if change == "merged"]
    return GeographyEditions({str(k): int(v) for k, v in lsoas.items()}, wards, district,
                             former)
