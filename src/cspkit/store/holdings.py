"""What the warehouse holds, counted: areas by level, population and deprivation editions,
each force's police.uk months, and each source's rows. For summaries (the demo's closing
lines, a report's partner sections), in Ibis over the warehouse's tables so they read a
Parquet export or Spark as well as the DuckDB warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from cspkit.store.tables import WarehouseLike, warehouse

POLICE = "police.uk"


@dataclass(frozen=True)
class ForceSpan:
    """A force's police.uk events: how many, over how many months, first to last."""

    force: str
    first_month: str     # YYYY-MM
    last_month: str      # YYYY-MM
    months: int
    events: int


def areas_by_level(data: WarehouseLike) -> list[tuple[str, int]]:
    """(level, areas of that level), fewest first (then by level)."""
    wh = warehouse(data)
    areas = wh.table("areas")
    rows = wh.rows(areas.group_by("level").aggregate(n=areas.count()))
    return sorted(((str(level), int(n)) for level, n in rows), key=lambda r: (r[1], r[0]))


def population_editions(data: WarehouseLike) -> list[tuple[int, str, str, int]]:
    """(year, geography edition, method, areas with a figure), by year then edition."""
    wh = warehouse(data)
    p = wh.table("population")
    rows = wh.rows(p.group_by(["year", "vintage", "method"]).aggregate(n=p.count()))
    return sorted((int(y), str(v), str(m), int(n)) for y, v, m, n in rows)


def deprivation_editions(data: WarehouseLike) -> list[tuple[str, int, int]]:
    """(IoD edition, LSOAs, domains), by edition."""
    wh = warehouse(data)
    imd = wh.table("imd")
    rows = wh.rows(imd.group_by("edition").aggregate(lsoas=imd.lsoa_code.nunique(),
                                                     domains=imd.domain.nunique()))
    return sorted((str(e), int(n), int(d)) for e, n, d in rows)


def police_spans(data: WarehouseLike) -> list[ForceSpan]:
    """Each force's police.uk events and the months they span, by force."""
    wh = warehouse(data)
    events = wh.events()
    police = events.filter(events.source == POLICE)
    rows = wh.rows(police.group_by("force").aggregate(
        first=police.month.min(), last=police.month.max(), months=police.month.nunique(),
        n=police.count()))
    return sorted((ForceSpan(str(force), _month(first), _month(last), int(months), int(n))
                   for force, first, last, months, n in rows), key=lambda s: s.force)


def partner_rows(data: WarehouseLike) -> list[tuple[str, int]]:
    """(source, rows) for every source other than police.uk: its records (events), then its
    aggregate figures (indicators) as a row of their own; by source."""
    wh = warehouse(data)
    events = wh.events()
    others = events.filter(events.source != POLICE)
    indicators = wh.table("indicators")
    records = wh.rows(others.group_by("source").aggregate(n=others.count()))
    figures = wh.rows(indicators.group_by("source").aggregate(n=indicators.count()))
    # A stable sort: a source with both keeps its records first.
    return sorted([*((str(s), int(n)) for s, n in sorted(records)),
                   *((str(s), int(n)) for s, n in sorted(figures))], key=lambda r: r[0])


def source_rows(data: WarehouseLike, source: str) -> tuple[int, int]:
    """(records, aggregate figures) held of `source`: its events and its indicators."""
    wh = warehouse(data)
    events = wh.events()
    indicators = wh.table("indicators")
    of_events = events.filter(events.source == source)
    of_indicators = indicators.filter(indicators.source == source)
    records = wh.values(of_events.aggregate(n=of_events.count()))
    figures = wh.values(of_indicators.aggregate(n=of_indicators.count()))
    return int(records[0]) if records else 0, int(figures[0]) if figures else 0


def holds_source(data: WarehouseLike, source: str) -> bool:
    """Whether any record or aggregate figure of `source` is held (stops at the first)."""
    wh = warehouse(data)
    events = wh.events()
    indicators = wh.table("indicators")
    for table in (events, indicators):
        if wh.rows(table.filter(table.source == source).select("source").limit(1)):
            return True
    return False


def _month(value: date | datetime) -> str:
    return f"{value:%Y-%m}"
