"""Change between two periods for an area: by category, and by ward or LSOA (volume change).

Each comparison carries its test (Poisson E-test), rate-ratio interval and verdict from
`measures.change`, with exposures of residents x months so periods of different length or
population compare fairly. Comparing a partial period with a full one is refused unless
`allow_partial`, and then labelled in `comparison_note`.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from cspkit.measures.areas import LEVEL_COLUMN, AreaSelection, children, events_vintage
from cspkit.measures.change import compare_frame
from cspkit.measures.counts import (
    ALL_CRIME,
    ASB,
    BY_COLUMNS,
    AreaPeriod,
    area_period,
    event_scope,
)
from cspkit.measures.periods import Period, comparable
from cspkit.measures.settings import Settings


def _exposure(context: AreaPeriod) -> float:
    # Residents x months in the data: a count per person-month, so lengths and populations
    # that differ still compare like for like.
    persons = context.population.persons or 1.0
    months = max(len(context.coverage.months_present), 1)
    return persons * months / 12.0


def change(con: duckdb.DuckDBPyConnection, area: AreaSelection, period: Period,
           baseline: Period, *, by: str = "category", source: str = "police.uk",
           allow_partial: bool = False, total: bool = False,
           settings: Settings | None = None) -> pd.DataFrame:
    """Counts in `period` and `baseline` by `by`, with change, test and verdict. With `total`,
    a row 'All crime (excluding ASB)' is added (flagged in `is_total`), tested like the rest.

    Columns: grouping columns, count, baseline_count, change, pct_change, rate_per_1000,
    baseline_rate_per_1000, rate_ratio, ci_low, ci_high, p_value, verdict, comparison_note,
    period, baseline_period, partial, baseline_partial."""
    settings = settings or Settings()
    now, before = area_period(con, area, period, source), area_period(con, area, baseline, source)
    note = comparable(now.coverage, before.coverage, allow_partial) or ""
    groups = BY_COLUMNS[by]
    keys = ", ".join(f"e.{c}" for c in groups) or "'all' AS category"
    group_cols = groups or ["category"]
    scope_now, p_now = event_scope(area, period, source)
    scope_before, p_before = event_scope(area, baseline, source)
    frame = con.execute(
        f"""WITH a AS (SELECT {keys}, count(*) AS count {scope_now} GROUP BY ALL),
                 b AS (SELECT {keys}, count(*) AS baseline_count {scope_before} GROUP BY ALL)
            SELECT {", ".join(f"coalesce(a.{c}, b.{c}) AS {c}" for c in group_cols)},
                   coalesce(a.count, 0) AS count, coalesce(b.baseline_count, 0) AS baseline_count
            FROM a FULL OUTER JOIN b USING ({", ".join(group_cols)})""",
        [*p_now, *p_before]).df()
    if by != "category":
        return _with_tests(frame, now, before, note, settings, sort=["count"])
    return change_from_counts(frame, now, before, note=note, total=total, settings=settings)


def change_from_counts(frame: pd.DataFrame, now: AreaPeriod, before: AreaPeriod, *,
                       note: str = "", total: bool = False,
                       settings: Settings | None = None) -> pd.DataFrame:
    """`change` by category from counts already made: `frame` holds category, count and
    baseline_count for the periods `now` and `before` describe (`counts.area_period`), e.g. a
    profile that counted many places in one query. With `total`, the all-crime row is added
    as `change` adds it."""
    settings = settings or Settings()
    frame = frame[["category", "count", "baseline_count"]]
    if total:
        crime = frame[frame["category"] != ASB]
        frame = pd.concat([frame, pd.DataFrame([{
            "category": ALL_CRIME, "count": int(crime["count"].sum()),
            "baseline_count": int(crime["baseline_count"].sum())}])], ignore_index=True)
    result = _with_tests(frame, now, before, note, settings, sort=["count"])
    if total:
        result["is_total"] = result["category"] == ALL_CRIME
    return result


def _with_tests(frame: pd.DataFrame, now: AreaPeriod, before: AreaPeriod, note: str,
                settings: Settings, sort: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    frame["count"] = frame["count"].astype("int64")
    frame["baseline_count"] = frame["baseline_count"].astype("int64")
    frame["exposure"] = _exposure(now)
    frame["baseline_exposure"] = _exposure(before)
    frame = compare_frame(frame, "count", "baseline_count", "exposure", "baseline_exposure",
                          settings)
    per = settings.rate_per
    p_now, p_before = now.population.persons, before.population.persons
    frame["rate_per_1000"] = (frame["count"] * per / p_now).round(3) if p_now else None
    frame["baseline_rate_per_1000"] = ((frame["baseline_count"] * per / p_before).round(3)
                                       if p_before else None)
    frame["comparison_note"] = note
    frame["period"] = now.coverage.period.label
    frame["baseline_period"] = before.coverage.period.label
    frame["partial"] = now.partial
    frame["baseline_partial"] = before.partial
    frame["population_note"] = "; ".join(
        dict.fromkeys(n for n in (now.population.note, before.population.note) if n))
    frame = frame.drop(columns=["exposure", "baseline_exposure"])
    return frame.sort_values(sort, ascending=False, kind="stable").reset_index(drop=True)


def place_change(con: duckdb.DuckDBPyConnection, area: AreaSelection, period: Period,
                 baseline: Period, *, level: str = "ward", category: str | None = None,
                 source: str = "police.uk", allow_partial: bool = False,
                 subcategory: str | None = None,
                 settings: Settings | None = None) -> pd.DataFrame:
    """Every ward (or LSOA) of `area` with its counts in both periods and the volume change,
    sorted from the largest rise to the largest fall, in the shape of the strategic
    assessment's ward table. Places with no events in either period are listed with 0.

    Columns: {level}_code, {level}_name, count, baseline_count, change, pct_change, p_value,
    verdict, ... (see `change`)."""
    settings = settings or Settings()
    if level not in ("ward", "lsoa"):
        raise ValueError(f"level must be 'ward' or 'lsoa', not {level!r}")
    now, before = area_period(con, area, period, source), area_period(con, area, baseline, source)
    note = comparable(now.coverage, before.coverage, allow_partial) or ""
    column = LEVEL_COLUMN[level]
    category_sql = " AND e.category = ?" if category else ""
    extra: list[object] = [category] if category else []
    if subcategory:
        category_sql += " AND e.subcategory = ?"
        extra.append(subcategory)
    scope_now, p_now = event_scope(area, period, source)
    scope_before, p_before = event_scope(area, baseline, source)
    places = pd.DataFrame(
        [(p.code, p.name) for p in children(con, area, level)],
        columns=[f"{level}_code", f"{level}_name"])
    counted = con.execute(
        f"""WITH a AS (SELECT g.{column} AS code, count(*) AS count {scope_now}{category_sql}
                       GROUP BY 1),
                 b AS (SELECT g.{column} AS code, count(*) AS baseline_count
                       {scope_before}{category_sql} GROUP BY 1)
            SELECT coalesce(a.code, b.code) AS code, coalesce(a.count, 0) AS count,
                   coalesce(b.baseline_count, 0) AS baseline_count
            FROM a FULL OUTER JOIN b USING (code)""",
        [*p_now, *extra, *p_before, *extra]).df()
    frame = places.merge(counted, how="left", left_on=f"{level}_code", right_on="code")
    frame = frame.drop(columns=["code"]).fillna({"count": 0, "baseline_count": 0})
    frame["category"] = category or "all"
    result = _with_tests(frame, now, before, note, settings, sort=["change", "count"])
    # Rates per place need each place's population: not part of the volume table.
    result = result.drop(columns=["rate_per_1000", "baseline_rate_per_1000"])
    result.attrs["lsoa_vintage"] = events_vintage(con, area, source)
    return result
