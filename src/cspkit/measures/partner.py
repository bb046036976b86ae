"""Measures over partner data: aggregate indicators by area and period, record-level partner
events by attribute and flag, and the comparison of two proportions.

Partner events share the `events` table with police.uk (their `source` tells them apart), so the
counting measures (`counts`, `series`, `period_change`) work on them with `source=`; what is
here is what police.uk data has no equivalent for.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd
from statsmodels.stats.proportion import proportions_ztest

from cspkit.measures.areas import AreaSelection
from cspkit.measures.periods import Period
from cspkit.measures.settings import Settings
from cspkit.store.tables import EngineError, Warehouse, WarehouseLike, warehouse


def indicator_table(con: WarehouseLike, source: str, indicators: list[str],
                    area_codes: list[str]) -> pd.DataFrame:
    """Values of `indicators` for the given areas, one row per area x period x indicator
    (summed over any attribute breakdown such as substance group).

    Columns: area_code, area_name, period_label, period_start, indicator, value."""
    if not area_codes or not indicators:
        return pd.DataFrame(columns=["area_code", "area_name", "period_label", "period_start",
                                     "indicator", "value"])
    wh = warehouse(con)
    held = wh.table("indicators")
    held = held.filter(held.source == source, held.indicator.isin(list(indicators)),
                       held.area_code.isin(list(area_codes)))
    areas = wh.table("areas")
    names = areas.select(named_code=areas.code, held_name=areas.name)
    named = held.left_join(names, held.area_code == names.named_code)
    table = named.group_by(
        "area_code", area_name=named.held_name.fill_null(named.area_code),
        period_label=named.period_label, period_start=named.period_start,
        indicator=named.indicator).aggregate(value=named.value.sum())
    return wh.frame(table.order_by(["period_start", "area_code", "indicator", "period_label",
                                    "area_name"]))


def indicator_breakdown(con: WarehouseLike, source: str, area_code: str,
                        attribute: str) -> pd.DataFrame:
    """Indicator values for one area split by a JSON attribute (e.g. substance_group)."""
    wh = warehouse(con)
    held = _with_attributes(wh, "indicators")
    held = held.filter(held.source == source, held.area_code == area_code)
    table = held.group_by(
        "period_label", "period_start", breakdown=wh.json_text(held.attributes, attribute),
        indicator=held.indicator).aggregate(value=held.value.sum())
    return wh.frame(table.order_by(["period_start", "breakdown", "indicator", "period_label"]))


def _with_attributes(wh: Warehouse, name: str) -> ir.Table:
    """The table `name` (events, indicators) with partner records' JSON `attributes`."""
    table = wh.table(name)
    if "attributes" not in table.columns:
        raise EngineError(f"the {name} of {wh.location} have no partner attributes (an export "
                          "from an older cspkit): export the warehouse again")
    return table


# Events of a source joined to the hierarchy, per warehouse and source: built once (building
# the join costs more than DuckDB takes to answer a partner table).
_PLACED: weakref.WeakKeyDictionary[Warehouse, dict[str, ir.Table]] = (
    weakref.WeakKeyDictionary())


def _placed_events(wh: Warehouse, source: str) -> ir.Table:
    """Events of `source` (month, category, subcategory, lsoa_code, attributes) left-joined to
    their LSOA's hierarchy row, whose LSOA code is `area_lsoa` (NULL where none)."""
    held = _PLACED.setdefault(wh, {})
    if source not in held:
        events = _with_attributes(wh, "events")
        events = events.filter(events.source == source).select(
            "month", "category", "subcategory", "lsoa_code", "lsoa_vintage", "attributes")
        g = wh.hierarchy().rename(area_lsoa="lsoa_code", area_vintage="lsoa_vintage")
        held[source] = events.left_join(g, (events.lsoa_code == g.area_lsoa)
                                        & (events.lsoa_vintage == g.area_vintage))
    return held[source]


def _area_events(wh: Warehouse, area: AreaSelection, source: str) -> ir.Table:
    """Events of `source` in the area: placed by LSOA, or by district where only that is known
    (e.g. ED attendances giving the patient's district). Columns: month, category,
    subcategory, attributes."""
    placed = _placed_events(wh, source)
    # On the hierarchy's side of the join: an event of an LSOA it does not hold is in no area.
    if area.level == "custom":
        chosen = placed.area_lsoa.isin(list(area.lsoas))
    elif area.level == "lsoa":
        chosen = placed.area_lsoa == area.code
    else:
        chosen = area.filter(placed)
    if area.level == "lad":
        chosen |= (placed.lsoa_code.isnull()
                   & (wh.json_text(placed.attributes, "district") == area.code))
    return placed.filter(chosen).select("month", "category", "subcategory", "attributes")


def _field(wh: Warehouse, events: ir.Table, name: str) -> ir.StringValue:
    """A column of events (`category`, `subcategory`), else the JSON attribute `name`."""
    if name in ("subcategory", "category"):
        return events[name]  # type: ignore[no-any-return]
    return wh.json_text(events.attributes, name)


def _financial_year(month: ir.DateValue) -> ir.StringValue:
    """April to March, labelled '2023/24'."""
    start = ibis.ifelse(month.month() >= 4, month.year(), month.year() - 1)
    return start.cast("string") + "/" + ((start + 1) % 100).cast("string").lpad(2, "0")


def attribute_counts(con: WarehouseLike, area: AreaSelection, period: Period,
                     source: str, rows: str, columns: str | None = None) -> pd.DataFrame:
    """Events of `source` by one or two attributes (JSON keys, or 'subcategory'), e.g. ED
    assault attendances by age band x gender. Long format: rows, columns, count."""
    wh = warehouse(con)
    events = _area_events(wh, area, source)
    events = events.filter(events.month.between(period.start, period.end))
    groups = {rows: _field(wh, events, rows)}
    if columns:
        groups[columns] = _field(wh, events, columns)
    table = events.group_by(**groups).aggregate(count=events.count())
    return wh.frame(table.order_by([*groups, "count"]))


def flagged_by_year(con: WarehouseLike, area: AreaSelection, source: str,
                    flag: str) -> pd.DataFrame:
    """Events of `source` whose JSON attribute `flag` is true, by financial year.
    Columns: financial_year, count, months (months of data in that year)."""
    wh = warehouse(con)
    events = _area_events(wh, area, source)
    flagged = wh.json_text(events.attributes, flag) == "true"
    table = events.group_by(financial_year=_financial_year(events.month)).aggregate(
        count=events.count(where=flagged), months=events.month.nunique())
    return wh.frame(table.order_by("financial_year"))


def attribute_by_year(con: WarehouseLike, area: AreaSelection, source: str,
                      attribute: str) -> pd.DataFrame:
    """Events of `source` by financial year and one attribute (a JSON key or 'subcategory'),
    e.g. ED assault attendances by weapon over time. Long: financial_year, value, count."""
    wh = warehouse(con)
    events = _area_events(wh, area, source)
    field = events.subcategory if attribute == "subcategory" else wh.json_text(
        events.attributes, attribute)
    table = events.group_by(financial_year=_financial_year(events.month), value=field
                            ).aggregate(count=events.count())
    return wh.frame(table.order_by(["financial_year", "value", "count"]))


@dataclass(frozen=True)
class ProportionComparison:
    successes: int
    total: int
    other_successes: int
    other_total: int
    rate: float | None
    other_rate: float | None
    p_value: float | None
    verdict: str       # 'significantly higher' | 'significantly lower' | 'no significant
    #                    difference' | 'too few to tell'


def compare_proportions(successes: int, total: int, other_successes: int, other_total: int,
                        settings: Settings | None = None) -> ProportionComparison:
    """Two-sample z-test of proportions (statsmodels `proportions_ztest`), e.g. a district's
    treatment completion rate against the county's. 'Too few to tell' when either group has
    fewer than 10 successes or failures (the test's normal approximation needs them)."""
    settings = settings or Settings()
    rate = successes / total if total else None
    other = other_successes / other_total if other_total else None
    small = min(successes, total - successes, other_successes, other_total - other_successes)
    if rate is None or other is None or small < 10:
        return ProportionComparison(successes, total, other_successes, other_total, rate,
                                    other, None, "too few to tell")
    _, p_value = proportions_ztest([successes, other_successes], [total, other_total])
    p = float(p_value)
    if p < settings.alpha:
        verdict = "significantly higher" if rate > other else "significantly lower"
    else:
        verdict = "no significant difference"
    return ProportionComparison(successes, total, other_successes, other_total, rate, other, p,
                                verdict)
