"""Change between two periods for an area: by category, and by ward or LSOA (volume change).

Like for like: a change is computed only on the months both periods hold, matched in pairs
(`periods.match_months`: Jan 2023 with Jan 2022, ...), so a period with 8 months of data is
never set against 12; the labels then name the months ('May–Dec 2021' against 'May–Dec
2020') and `comparison_note` says why. When the periods share no months nothing is compared:
the verdict is 'not compared' and the note gives the reason.

Each row's counts are the counts tested. The test (`measures.monthly_change_test`) allows for
the series' own month-to-month variation (quasi-Poisson on the matched monthly counts) and
falls back to the exact Poisson test where too few months exist. The rows of one result are
one family: their verdicts are decided with Benjamini–Hochberg across the rows
(`measures.error_control`), the raw verdict kept in `verdict_unadjusted` and the family record
in `attrs['family']`.

Comparing a partial period with a full one is refused unless `allow_partial`; documents allow
it and rely on the matching above.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import ibis
import pandas as pd

from cspkit.measures.areas import (
    LEVEL_COLUMN,
    AreaSelection,
    area_events,
    children,
    events_vintage,
)
from cspkit.measures.change import NOT_COMPARED
from cspkit.measures.counts import ALL_CRIME, ASB, BY_COLUMNS, AreaPeriod, area_period
from cspkit.measures.error_control import BH, control
from cspkit.measures.monthly_change_test import monthly_change
from cspkit.measures.periods import (
    MonthMatch,
    Period,
    add_months,
    comparable,
    match_months,
    month_range,
)
from cspkit.measures.series import category_filter
from cspkit.measures.settings import Settings
from cspkit.store.tables import WarehouseLike, warehouse

TEST_COLUMNS = ["change", "pct_change", "rate_ratio", "ci_low", "ci_high", "p_value", "verdict",
                "test", "dispersion", "months_compared"]


def _monthly(con: WarehouseLike, area: AreaSelection, match: MonthMatch,
             keys: list[tuple[str | None, str]], source: str,
             category: str | Sequence[str] | None = None, subcategory: str | None = None,
             history: History = ()) -> pd.DataFrame:
    """Counts by the `keys` (column of the events joined to the hierarchy, or None for the
    constant 'all'; column name) and month, over both sides' months compared (when nothing
    can be compared: over the months each period holds, so tables can still show what each
    period recorded)."""
    now_months, before_months = _months_counted(match)
    months = [*now_months, *before_months, *(m for _, ms in history for m in ms if m)]
    if not months:
        return pd.DataFrame(columns=[name for _, name in keys] + ["month", "count"])
    wh = warehouse(con)
    events = category_filter(area_events(wh, area, source), category, subcategory)
    events = events.filter(events.month.isin(sorted(set(months))))
    events = events.select(month=events.month, **{
        name: events[column] if column is not None else ibis.literal("all")
        for column, name in keys})
    names = [name for _, name in keys]
    frame = wh.frame(events.group_by([*names, "month"]).aggregate(count=events.count()))
    frame["month"] = [m.date() if hasattr(m, "date") else m for m in frame["month"]]
    return frame[[*names, "month", "count"]]


History = list[tuple[AreaPeriod, list[date | None]]]


def history_periods(con: WarehouseLike, area: AreaSelection, baseline: Period,
                    source: str, settings: Settings) -> list[AreaPeriod]:
    """The years before the baseline (same months, 1..history_years years earlier) that the
    data holds any month of: they inform a change test's dispersion."""
    if baseline.n_months > 12:
        return []
    out = []
    for k in range(1, settings.history_years + 1):
        earlier = month_range(add_months(baseline.start, -12 * k),
                              add_months(baseline.end, -12 * k))
        held = area_period(con, area, earlier, source)
        if held.coverage.months_present:
            out.append(held)
    return out


def _history(match: MonthMatch, earlier: Sequence[AreaPeriod]) -> History:
    """For each earlier year, its month matching each pair (None where not held)."""
    out: History = []
    for held in earlier:
        # A year of at most 12 months holds each calendar month once: match on it.
        by_month = {m.month: m for m in held.coverage.months_present}
        months: list[date | None] = [by_month.get(base.month)
                                     for base in match.baseline_months]
        if any(months):
            out.append((held, months))
    return out


def _months_counted(match: MonthMatch) -> tuple[list[date], list[date]]:
    """The months whose counts are shown: the pairs compared, or when there are none, every
    month each period holds."""
    if match.pairs:
        return list(match.months), list(match.baseline_months)
    return list(match.held), list(match.baseline_held)


def change(con: WarehouseLike, area: AreaSelection, period: Period,
           baseline: Period, *, by: str = "category", source: str = "police.uk",
           allow_partial: bool = False, total: bool = False,
           settings: Settings | None = None, alpha: float | None = None) -> pd.DataFrame:
    """Counts in `period` and `baseline` by `by`, on the months both hold, with change, test
    and verdict. `alpha` is the family's level (default `settings.alpha`): a document that
    shares one error budget between several families gives each its share. With `total`, a
    row 'All crime (excluding ASB)' is added (flagged in
    `is_total`), tested like the rest.

    Columns: grouping columns, count, baseline_count, change, pct_change, rate_ratio, ci_low,
    ci_high, p_value, q_value, verdict, verdict_unadjusted, test, dispersion,
    months_compared, rate_per_1000, baseline_rate_per_1000, comparison_note, period,
    baseline_period (the months compared), partial, baseline_partial."""
    settings = settings or Settings()
    if by not in BY_COLUMNS:
        raise ValueError(f"by must be one of {', '.join(BY_COLUMNS)}, not {by!r}")
    now, before = area_period(con, area, period, source), area_period(con, area, baseline, source)
    comparable(now.coverage, before.coverage, allow_partial)
    match = match_months(now.coverage, before.coverage)
    earlier = history_periods(con, area, baseline, source, settings)
    groups = BY_COLUMNS[by]
    keys: list[tuple[str | None, str]] = [(c, c) for c in groups] or [(None, "category")]
    monthly = _monthly(con, area, match, keys, source,
                       history=_history(match, earlier) if match.pairs else [])
    group_cols = groups or ["category"]
    return change_from_monthly(monthly, now, before, group_cols=group_cols,
                               total=total and by == "category", settings=settings,
                               history=earlier, alpha=alpha)


def change_from_monthly(monthly: pd.DataFrame, now: AreaPeriod, before: AreaPeriod, *,
                        group_cols: Sequence[str] = ("category",), total: bool = False,
                        settings: Settings | None = None,
                        sort: Sequence[str] = ("count",),
                        history: Sequence[AreaPeriod] = (),
                        alpha: float | None = None) -> pd.DataFrame:
    """`change` from monthly counts already made: `monthly` holds the group columns, month and
    count (any months; those outside the months compared are ignored) for the periods `now`
    and `before` describe (`counts.area_period`), and for the earlier years `history`
    describes (`history_periods`: they inform the test's dispersion). With `total` (grouping
    by category), the all-crime row is added as `change` adds it."""
    settings = settings or Settings()
    group_cols = list(group_cols)
    match = match_months(now.coverage, before.coverage)
    monthly = monthly[[*group_cols, "month", "count"]]
    if total:
        crime = monthly[monthly["category"] != ASB]
        summed = crime.groupby("month", as_index=False)["count"].sum()
        monthly = pd.concat([monthly, summed.assign(category=ALL_CRIME)], ignore_index=True)
    wide = monthly.pivot_table(index=group_cols, columns="month", values="count",
                               aggfunc="sum", fill_value=0)
    now_months, before_months = _months_counted(match)
    earlier = _history(match, history) if match.pairs else []
    rows = []
    for key, values in wide.iterrows():
        by_month = values.to_dict()
        a = [int(by_month.get(m, 0)) for m in now_months]
        b = [int(by_month.get(m, 0)) for m in before_months]
        rows.append((key if isinstance(key, tuple) else (key,), a, b,
                     _history_counts(earlier, by_month)))
    frame = _tested(rows, group_cols, now, before, match, settings)
    if total:
        frame["is_total"] = frame["category"] == ALL_CRIME
    frame = frame.sort_values(list(sort), ascending=False, kind="stable").reset_index(drop=True)
    return _controlled(frame, "change", settings, alpha)


def _history_counts(earlier: History, by_month: dict[date, int]
                    ) -> list[tuple[list[int | None], float]]:
    """Each earlier year's counts aligned with the pairs (None for a month not held), with
    its residents."""
    return [([None if m is None else int(by_month.get(m, 0)) for m in months],
             held.population.persons or 1.0) for held, months in earlier]


Row = tuple[tuple[object, ...], list[int], list[int], list[tuple[list[int | None], float]]]


def _tested(rows: list[Row],
            group_cols: list[str], now: AreaPeriod, before: AreaPeriod, match: MonthMatch,
            settings: Settings) -> pd.DataFrame:
    """One row per group with its counts on the months compared and its test."""
    e1 = now.population.persons or 1.0
    e0 = before.population.persons or 1.0
    records = []
    for key, a, b, earlier in rows:
        record: dict[str, object] = dict(zip(group_cols, key, strict=True))
        record["count"], record["baseline_count"] = sum(a), sum(b)
        if not match.pairs:
            record.update(change=None, pct_change=None, rate_ratio=None, ci_low=None,
                          ci_high=None, p_value=None, verdict=NOT_COMPARED, test="",
                          dispersion=None, months_compared=0)
            records.append(record)
            continue
        result = monthly_change(a, b, e1, e0, settings, history=earlier)
        count, base = result.count, result.baseline_count
        record.update(
            change=count - base,
            # From the counts shown, so a reader can check it; the test allows for residents.
            pct_change=(count / base - 1) * 100 if base else None,
            rate_ratio=(count / e1) / (base / e0) if base else None,
            ci_low=result.ci_low, ci_high=result.ci_high, p_value=result.p_value,
            verdict=result.verdict, test=result.method_text(),
            dispersion=None if result.dispersion is None else round(result.dispersion, 3),
            months_compared=match.n_months)
        records.append(record)
    columns = [*group_cols, "count", "baseline_count", *TEST_COLUMNS]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for column in ("count", "baseline_count"):
        frame[column] = frame[column].astype("int64")
    per = settings.rate_per
    frame["rate_per_1000"] = ((frame["count"] * per / now.population.persons).round(3)
                              if now.population.persons else None)
    frame["baseline_rate_per_1000"] = (
        (frame["baseline_count"] * per / before.population.persons).round(3)
        if before.population.persons else None)
    frame["comparison_note"] = match.note()
    frame["period"] = match.label
    frame["baseline_period"] = match.baseline_label
    frame["partial"] = now.partial
    frame["baseline_partial"] = before.partial
    frame["population_note"] = "; ".join(
        dict.fromkeys(n for n in (now.population.note, before.population.note) if n))
    frame.attrs["match"] = match
    return frame


def _controlled(frame: pd.DataFrame, name: str, settings: Settings,
                alpha: float | None = None) -> pd.DataFrame:
    match = frame.attrs.get("match")
    out, family = control(frame, name, alpha=settings.alpha if alpha is None else alpha,
                          procedure=BH)
    out.attrs["match"] = match
    out.attrs["family"] = family
    return out


def place_change(con: WarehouseLike, area: AreaSelection, period: Period,
                 baseline: Period, *, level: str = "ward",
                 category: str | Sequence[str] | None = None,
                 source: str = "police.uk", allow_partial: bool = False,
                 subcategory: str | None = None,
                 settings: Settings | None = None, alpha: float | None = None
                 ) -> pd.DataFrame:
    """Every ward (or LSOA) of `area` with its counts in both periods (on the months both
    hold) and the volume change, sorted from the largest rise to the largest fall, in the
    shape of the strategic assessment's ward table. Places with no events in either period
    are listed with 0. `category` may be one category, several (counted together) or
    ALL_CRIME. The places' tests are one family (Benjamini–Hochberg).

    Columns: {level}_code, {level}_name, count, baseline_count, change, pct_change, p_value,
    q_value, verdict, ... (see `change`)."""
    settings = settings or Settings()
    if level not in ("ward", "lsoa"):
        raise ValueError(f"level must be 'ward' or 'lsoa', not {level!r}")
    now, before = area_period(con, area, period, source), area_period(con, area, baseline, source)
    comparable(now.coverage, before.coverage, allow_partial)
    match = match_months(now.coverage, before.coverage)
    earlier = _history(match, history_periods(con, area, baseline, source, settings)) \
        if match.pairs else []
    column = LEVEL_COLUMN[level]
    monthly = _monthly(con, area, match, [(column, "code")], source, category, subcategory,
                       history=earlier)
    places = pd.DataFrame(
        [(p.code, p.name) for p in children(con, area, level)],
        columns=[f"{level}_code", f"{level}_name"])
    now_months, before_months = _months_counted(match)
    rows = []
    by_code = {code: group for code, group in monthly.groupby("code")}
    for code in places[f"{level}_code"]:
        group = by_code.get(code)
        counts = dict(zip(group["month"], group["count"], strict=True)) if group is not None \
            else {}
        rows.append(((code,), [int(counts.get(m, 0)) for m in now_months],
                     [int(counts.get(m, 0)) for m in before_months],
                     _history_counts(earlier, counts)))
    tested = _tested(rows, [f"{level}_code"], now, before, match, settings)
    frame = places.merge(tested, on=f"{level}_code", how="left")
    label = category if isinstance(category, str) or category is None else ", ".join(category)
    frame["category"] = label or "all"
    frame.attrs["match"] = match
    frame = frame.sort_values(["change", "count"], ascending=False, kind="stable",
                              na_position="last").reset_index(drop=True)
    result = _controlled(frame, f"change by {level}", settings, alpha)
    # Rates per place need each place's population: not part of the volume table.
    result = result.drop(columns=["rate_per_1000", "baseline_rate_per_1000"])
    result.attrs["lsoa_vintage"] = events_vintage(con, area, source)
    return result


def month_pairs(frame: pd.DataFrame) -> MonthMatch | None:
    """The months a `change`/`place_change` result compared (None for other frames)."""
    match = frame.attrs.get("match")
    return match if isinstance(match, MonthMatch) else None

