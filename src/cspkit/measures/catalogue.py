"""Every measure by name, with one calling convention, for the CLI and other scripts.

`run_measure(con, "counts", area="Bedford", period="2023")` returns the measure's tidy table.
The names and their columns are a contract (`cspkit measure NAME`): add columns, never rename.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from cspkit.measures import (
    comparisons,
    counts,
    deprivation,
    getis_ord,
    hotspots,
    period_change,
    series,
    similar,
)
from cspkit.measures.areas import (
    AreaSelection,
    custom_area,
    latest_full_year,
    reads_warehouse,
    select_area,
)
from cspkit.measures.measure_names import DESCRIPTIONS, PORTABLE
from cspkit.measures.periods import Period, calendar_year, parse_period, year_before
from cspkit.measures.settings import Settings
from cspkit.store.tables import EngineError, Warehouse, WarehouseLike


@dataclass(frozen=True)
class Request:
    area: AreaSelection
    period: Period | None
    baseline: Period | None
    by: str
    category: str | None
    level: str
    edition: str | None
    allow_partial: bool
    settings: Settings

    def need_period(self, name: str) -> Period:
        # Without --period: the latest full calendar year the area's data holds.
        if self.period is None:
            raise ValueError(f"measure '{name}' needs --period (e.g. 2023, 2023/24, "
                             "2023-01..2023-06)")
        return self.period

    def need_baseline(self, name: str) -> Period:
        # The same months a year earlier: the seasonally like-for-like comparison.
        return self.baseline or year_before(self.need_period(name))


def _concentration(con: WarehouseLike, r: Request) -> pd.DataFrame:
    result = hotspots.lsoa_concentration(con, r.area, r.need_period("concentration"),
                                         category=r.category)
    top = result.top_places.rename(columns={"place": "lsoa_code"})
    top["gini"] = result.gini
    top["generalized_gini"] = result.generalized_gini
    top["share_in_top_5pct"] = result.top_shares.get(0.05)
    top["share_in_top_10pct"] = result.top_shares.get(0.1)
    top["n_lsoas"] = result.n_places
    top["n_events"] = result.n_events
    return top


MEASURES: dict[str, tuple[str, Callable[[duckdb.DuckDBPyConnection, Request], pd.DataFrame]]] = {
    "counts": (DESCRIPTIONS["counts"],
               lambda con, r: counts.counts(con, r.area, r.need_period("counts"), by=r.by,
                                            settings=r.settings)),
    "change": (DESCRIPTIONS["change"],
               lambda con, r: period_change.change(
                   con, r.area, r.need_period("change"), r.need_baseline("change"), by=r.by,
                   allow_partial=r.allow_partial, settings=r.settings)),
    "wards": (DESCRIPTIONS["wards"],
              lambda con, r: period_change.place_change(
                  con, r.area, r.need_period("wards"), r.need_baseline("wards"), level="ward",
                  category=r.category, allow_partial=r.allow_partial, settings=r.settings)),
    "lsoas": (DESCRIPTIONS["lsoas"],
              lambda con, r: period_change.place_change(
                  con, r.area, r.need_period("lsoas"), r.need_baseline("lsoas"), level="lsoa",
                  category=r.category, allow_partial=r.allow_partial, settings=r.settings)),
    "series": (DESCRIPTIONS["series"],
               lambda con, r: series.monthly_series(con, r.area, category=r.category,
                                                    inspect=r.period, settings=r.settings)),
    "seasonality": (DESCRIPTIONS["seasonality"],
                    lambda con, r: series.seasonality(con, r.area, category=r.category,
                                                      settings=r.settings).reset_index()),
    "siblings": (DESCRIPTIONS["siblings"],
                 lambda con, r: comparisons.siblings(con, r.area, r.need_period("siblings"),
                                                     category=r.category,
                                                     settings=r.settings)),
    "concentration": (DESCRIPTIONS["concentration"],
                      _concentration),
    "deprivation": (DESCRIPTIONS["deprivation"],
                    lambda con, r: deprivation.lsoa_deprivation(con, r.area, r.edition)),
    "district-deprivation": (DESCRIPTIONS["district-deprivation"],
                             lambda con, r: deprivation.district_summary(
                                 con, r.area.code, r.edition or "2019")),
    "deprivation-events": (DESCRIPTIONS["deprivation-events"],
                           lambda con, r: deprivation.events_by_decile(
                               con, r.area, r.need_period("deprivation-events"),
                               category=r.category, edition=r.edition)),
    "harm": (DESCRIPTIONS["harm"],
             lambda con, r: hotspots.harm(con, r.area, r.need_period("harm"))),
    "hotspots": (DESCRIPTIONS["hotspots"],
                 lambda con, r: getis_ord.lsoa_hotspots(con, r.area, r.need_period("hotspots"),
                                                        category=r.category,
                                                        settings=r.settings)),
    "similar": (DESCRIPTIONS["similar"],
                lambda con, r: similar.family_table(con, r.area, r.settings.similar_size)),
}
# Measures of the area alone, with no period: no default period is looked for.
NO_PERIOD = ("similar",)
# PORTABLE (measure_names.py): the measures that run on every engine.


@reads_warehouse
def run_measure(con: WarehouseLike, name: str, *, area: str | AreaSelection,
                period: str | Period | None = None, baseline: str | Period | None = None,
                by: str = "category", category: str | None = None, level: str = "ward",
                edition: str | None = None, lsoas: list[str] | None = None,
                allow_partial: bool = False, settings: Settings | None = None) -> pd.DataFrame:
    if name not in MEASURES:
        raise ValueError(f"no measure called {name!r}; measures: {', '.join(MEASURES)}")
    if isinstance(con, Warehouse) and not con.has_con and name not in PORTABLE:
        raise EngineError(f"measure {name!r} needs the DuckDB warehouse; on {con.engine} "
                          f"these run: {', '.join(PORTABLE)}")
    selection = (custom_area(con, str(area), lsoas) if lsoas else select_area(con, area))
    if period is None and name not in NO_PERIOD:
        period = calendar_year(latest_full_year(con, selection))
    request = Request(
        area=selection,
        period=parse_period(period) if isinstance(period, str) else period,
        baseline=parse_period(baseline) if isinstance(baseline, str) else baseline,
        by=by, category=category, level=level, edition=edition, allow_partial=allow_partial,
        settings=settings or Settings())
    target = con.con if isinstance(con, Warehouse) and name not in PORTABLE else con
    return MEASURES[name][1](target, request)
