"""Counts and rates: events in an area and period by category, per 1,000 residents (or
households, where that is the right denominator).

Counted in the engine: one GROUP BY over events joined to the LSOA hierarchy. Events with no
location cannot be placed in an area, so area counts exclude them; the coverage audit reports
their share.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis.expr.types as ir
import pandas as pd

from cspkit.measures.areas import (
    AreaSelection,
    Population,
    area_events,
    months_covered,
    population,
)
from cspkit.measures.periods import Period, PeriodCoverage, coverage_of, month_label
from cspkit.measures.settings import Settings
from cspkit.store.tables import WarehouseLike, warehouse

ALL_CRIME = "All crime (excluding ASB)"
ASB = "Anti-social behaviour"
# Categories counted per 1,000 households rather than residents.
PER_HOUSEHOLD = {"residential burglary", "burglary - residential", "burglary dwelling",
                 "burglary - dwelling"}
BY_COLUMNS = {"category": ["category"], "subcategory": ["category", "subcategory"],
              "all": []}


@dataclass(frozen=True)
class AreaPeriod:
    """What every result carries about its denominator and the period's completeness."""

    coverage: PeriodCoverage
    population: Population

    @property
    def partial(self) -> bool:
        return self.coverage.partial

    def columns(self) -> dict[str, object]:
        return {
            "period": self.coverage.period.label,
            "partial": self.coverage.partial,
            "months_in_data": len(self.coverage.months_present),
            "months_missing": ", ".join(month_label(m) for m in self.coverage.months_missing),
            "population": self.population.persons,
            "population_year": self.population.year,
            "population_note": self.population.note or "",
        }


def period_events(con: WarehouseLike, area: AreaSelection, period: Period,
                  source: str = "police.uk") -> ir.Table:
    """The area's located events of `source` in `period` (an Ibis table: events with their
    LSOA's hierarchy columns)."""
    events = area_events(con, area, source)
    return events.filter(events.month.between(period.start, period.end))


def area_period(con: WarehouseLike, area: AreaSelection, period: Period,
                source: str = "police.uk") -> AreaPeriod:
    coverage = coverage_of(period, months_covered(con, area, source))
    # Mid-year estimates: the year a period starts in is its mid-point's year for calendar
    # and financial years alike.
    return AreaPeriod(coverage, population(con, area, period.start.year))


def counts(con: WarehouseLike, area: AreaSelection, period: Period, *,
           by: str = "category", source: str = "police.uk", total: bool = False,
           settings: Settings | None = None) -> pd.DataFrame:
    """Events by `by` ('category', 'subcategory' or 'all') with rates per 1,000.

    Columns: the grouping columns, count, rate_per_1000, denominator ('residents' or
    'households'), then period, partial, months_in_data, months_missing, population,
    population_year, population_note. With `total`, a row 'All crime (excluding ASB)' is added
    and flagged in the column `is_total`."""
    settings = settings or Settings()
    if by not in BY_COLUMNS:
        raise ValueError(f"by must be one of {', '.join(BY_COLUMNS)}, not {by!r}")
    groups = BY_COLUMNS[by]
    wh = warehouse(con)
    events = period_events(wh, area, period, source)
    if groups:
        frame = wh.frame(events.group_by(groups).aggregate(count=events.count()))
        frame = frame.sort_values(["count", *groups], ascending=[False] + [True] * len(groups),
                                  na_position="last", kind="stable").reset_index(drop=True)
    else:
        frame = wh.frame(events.aggregate(count=events.count()))
    context = area_period(con, area, period, source)
    if groups:
        # Shares: of all the area's events, and (by sub-category) of the parent category, e.g.
        # arson within criminal damage and arson.
        frame["share"] = (frame["count"] / frame["count"].sum()).round(4) if len(frame) else []
        if "subcategory" in groups:
            frame["share_of_category"] = (
                frame["count"] / frame.groupby("category")["count"].transform("sum")).round(4)
    if total and groups:
        crime = int(frame.loc[frame["category"] != ASB, "count"].sum())
        extra = {c: None for c in groups} | {"category": ALL_CRIME, "count": crime}
        frame = pd.concat([frame, pd.DataFrame([extra])], ignore_index=True)
        frame["is_total"] = frame["category"] == ALL_CRIME
    return add_rates(frame, context, settings)


def share_within(con: WarehouseLike, area: AreaSelection, period: Period,
                 part: str, group: list[str], *, source: str = "police.uk") -> dict[str, object]:
    """The share of `part` within the categories `group` (which should include it), e.g.
    robbery within acquisitive crime: part count, group count and share."""
    if part not in group:
        raise ValueError(f"{part!r} is not one of the group's categories: {', '.join(group)}")
    wh = warehouse(con)
    events = period_events(wh, area, period, source)
    events = events.filter(events.category.isin(list(group)))
    rows = wh.rows(events.aggregate(part=events.count(where=events.category == part),
                                    n=events.count()))
    part_count, group_count = (int(rows[0][0] or 0), int(rows[0][1] or 0)) if rows else (0, 0)
    return {"part": part, "group": ", ".join(group), "count": part_count,
            "group_count": group_count,
            "share": round(part_count / group_count, 4) if group_count else None,
            "period": period.label}


def denominator(label: str, pop: Population) -> tuple[str, float | None]:
    """('households', n) for a residential-burglary category when households are known, else
    ('residents', persons)."""
    if label.lower() in PER_HOUSEHOLD and pop.households:
        return "households", pop.households
    return "residents", pop.persons


def rate(count: int, label: str, pop: Population, settings: Settings) -> float | None:
    """The rate per `settings.rate_per` of the category's denominator (None without one)."""
    _, value = denominator(label, pop)
    return round(settings.rate_per * count / value, 3) if value else None


def add_rates(frame: pd.DataFrame, context: AreaPeriod, settings: Settings) -> pd.DataFrame:
    """rate_per_1000 from the right denominator for each row, plus the context columns."""
    frame = frame.copy()
    frame["count"] = frame["count"].astype("int64")
    label = frame["subcategory"] if "subcategory" in frame else frame.get("category")
    labels = [str(x) for x in (label.fillna("") if label is not None
                               else pd.Series("", index=frame.index))]
    frame["denominator"] = [denominator(x, context.population)[0] for x in labels]
    frame["rate_per_1000"] = [rate(c, x, context.population, settings)
                              for c, x in zip(frame["count"], labels, strict=True)]
    for key, value in context.columns().items():
        frame[key] = value
    first = [c for c in ("category", "subcategory") if c in frame] + ["count", "rate_per_1000"]
    return frame[first + [c for c in frame.columns if c not in first]]
