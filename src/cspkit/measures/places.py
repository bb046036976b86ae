"""Vulnerable places: an explainable multi-issue index of a district's wards (or LSOAs), built
the way the English Indices of Deprivation combine their domains.

For each place and issue: a count, a rate per 1,000 residents and a flag (the place is in the
district's top share of places on that issue). Issues are combined by ranking the places on
each, turning the rank into an exponential score (as the IMD does, so a place very high on one
issue is not cancelled out by being low on another) and taking the weighted mean. Weights ship
in `place_weights.yaml` beside this module and may be overridden per call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from cspkit.measures.areas import (
    LEVEL_COLUMN,
    AreaSelection,
    children,
    events_vintage,
    populations,
    reads_warehouse,
    select_area,
)
from cspkit.measures.counts import ASB, period_events
from cspkit.measures.deprivation import EDITION_VINTAGE, choose_edition, lsoa_deprivation
from cspkit.measures.periods import Period
from cspkit.sources.yaml_input import load_yaml
from cspkit.store.tables import EngineError, WarehouseLike, warehouse

LEVELS = ("ward", "lsoa")
RATE_PER = 1000
N_DRIVERS = 3
# The IMD's exponential transformation: rank share R in (0, 1] -> 0..100, stretching the top.
_EXP_CONSTANT = 23.0


Condition = Callable[[ir.Table], ir.BooleanValue]


def _marked(attribute: str) -> Condition:
    """Records whose JSON `attributes` hold `attribute` as true (as a cast to BOOLEAN reads
    it); the condition needs the events' `attributes` column."""
    return lambda e: e.attributes.cast("json")[attribute].cast("boolean").fill_null(False)


@dataclass(frozen=True)
class Issue:
    slug: str        # column prefix and weights key
    label: str       # how `drivers` names it
    source: str      # events source; '' for deprivation (not counted from events)
    condition: Condition | None   # selects this issue's records among the source's events
    needs: str = ""  # an optional events column the condition reads


ISSUES: tuple[Issue, ...] = (
    Issue("all_crime", "all crime", "police.uk", lambda e: e.category != ASB),
    Issue("violence", "violence", "police.uk",
          lambda e: e.category == "Violence and sexual offences"),
    Issue("asb", "ASB", "police.uk", lambda e: e.category == ASB),
    Issue("criminal_damage", "criminal damage", "police.uk",
          lambda e: e.category == "Criminal damage and arson"),
    Issue("burglary", "burglary", "police.uk", lambda e: e.category == "Burglary"),
    Issue("deliberate_fires", "deliberate fires", "fire",
          lambda e: e.subcategory == "Deliberate"),
    Issue("domestic_abuse", "domestic abuse", "police-markers", _marked("domestic_abuse"),
          needs="attributes"),
    Issue("deprivation", "deprivation", "", None),
)
ISSUE_BY_SLUG = {i.slug: i for i in ISSUES}
# The partner sources: an issue from one is scored only when the area has its data.
PARTNER_SOURCES = {"fire", "police-markers"}


def default_weights() -> dict[str, float]:
    """The shipped weights (`place_weights.yaml`), one per issue slug."""
    path = Path(str(files("cspkit.measures").joinpath("place_weights.yaml")))
    return validate_weights(load_yaml(path, what="place weights file") or {}, base={})


def validate_weights(weights: dict[str, Any], base: dict[str, float] | None = None
                     ) -> dict[str, float]:
    """`weights` laid over `base` (the defaults): unknown issues, negative or non-numeric
    weights are refused, naming the known issues."""
    unknown = [k for k in weights if k not in ISSUE_BY_SLUG]
    if unknown:
        raise ValueError(f"unknown issue(s) in weights: {', '.join(map(str, unknown))}; "
                         f"known issues: {', '.join(ISSUE_BY_SLUG)}")
    merged = dict(default_weights() if base is None else base)
    for key, value in weights.items():
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value) or value < 0:
            raise ValueError(f"weight for {key!r} must be a number >= 0, not {value!r}")
        merged[key] = float(value)
    return merged


def exponential_transform(share: pd.Series) -> pd.Series:
    """The IMD's transform of a rank share R = rank / n (1 = highest): 0 at the bottom, 100 at
    the top, so high values on one issue are not averaged away by low ones elsewhere."""
    return -_EXP_CONSTANT * np.log(1 - share * (1 - math.exp(-100 / _EXP_CONSTANT)))


def top_share_flags(rates: pd.Series, top_share: float) -> pd.Series:
    """True for places among the ceil(top_share x n) highest rates (ties at the cut included).
    A zero rate is never flagged: being joint-highest at zero marks nothing."""
    known = rates.dropna()
    if known.empty:
        return pd.Series(False, index=rates.index)
    k = math.ceil(top_share * len(known))
    cut = known.sort_values(ascending=False).iloc[k - 1]
    return (rates >= cut) & (rates > 0)


@reads_warehouse
def vulnerable_places(con: WarehouseLike, area: str | AreaSelection,
                      period: Period, *, level: str = "ward",
                      weights: dict[str, float] | None = None, top_share: float = 0.2,
                      withheld: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Every ward (or LSOA) of `area` scored on several issues, most vulnerable first.

    Issues (column slug): all crime excluding ASB (`all_crime`), violence and sexual offences
    (`violence`), ASB (`asb`), criminal damage and arson (`criminal_damage`), burglary
    (`burglary`), deliberate fires (`deliberate_fires`, fire service data) and domestic abuse
    (`domestic_abuse`, police marker data) - the last two only when the area has that source's
    events in the period - and deprivation (`deprivation`).

    Rates are per 1,000 residents (the place's population nearest `period.start.year`).
    Deprivation: the IMD's mean score is not held, so a place's `deprivation_rate` is the
    population-weighted mean over its LSOAs of (N + 1 - IMD rank) / N, N = LSOAs in England in
    that edition (near 1 = most deprived); `deprivation_count` is the number of its LSOAs
    ranked. Events are placed through the LSOA edition they were published on; those whose
    edition maps to a ward not in the current list are left out.

    Flag: the rate is among the district's top `top_share` of places (ceil(top_share x n)
    highest, ties included, zero rates never). Score: per issue, places are ranked (1 = lowest,
    ties averaged), R = rank / n, X = -23 ln(1 - R (1 - e^(-100/23))); score = sum(w X) / sum(w)
    over the issues the place has a value for. `rank` 1 = highest score. `drivers` names up to
    three issues contributing most (w X) to the score, flagged ones first.

    Columns: code, name, score, rank, flags, drivers, population, then <slug>_count,
    <slug>_rate, <slug>_flag per issue. `attrs` holds the issues used, the weights, the
    issues skipped with why, and `synthetic`: the issues used whose data came from synthetic
    sample files (any makes the whole ranking synthetic).

    `withheld`: sources the reader may not see (restricted partner data): their issues are
    left out of the index and listed in `skipped` as withheld."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if not 0 < top_share <= 1:
        raise ValueError(f"top_share must be in (0, 1], not {top_share!r}")
    chosen_weights = validate_weights(weights or {})
    district = select_area(con, area)
    places = children(con, district, level)
    vintage = events_vintage(con, district)
    frame = pd.DataFrame({"code": [p.code for p in places], "name": [p.name for p in places]})
    sizes = populations(con, places, period.start.year, vintage)
    frame["population"] = [sizes[p].persons for p in places]

    counted, skipped = _count_issues(con, district, period, level, withheld)
    issues = [i for i in ISSUES if i.slug in counted.columns]
    frame = frame.merge(counted, left_on="code", right_index=True, how="left")
    persons = frame["population"].where(frame["population"] > 0)
    for issue in issues:
        frame[issue.slug] = frame[issue.slug].fillna(0).astype("int64")
        frame[f"{issue.slug}_rate"] = RATE_PER * frame[issue.slug] / persons

    deprivation = _deprivation(con, district, period, level)
    if deprivation is None:
        skipped["deprivation"] = "no deprivation (IoD) data loaded"
    else:
        frame = frame.merge(deprivation, left_on="code", right_index=True, how="left")
        frame["deprivation"] = frame["deprivation"].fillna(0).astype("int64")
        issues.append(ISSUE_BY_SLUG["deprivation"])
    issues = [i for i in issues if chosen_weights.get(i.slug, 0) > 0]
    if not issues:
        raise ValueError("no issue with data has a weight above 0: nothing to score")
    frame = frame.rename(columns={i.slug: f"{i.slug}_count" for i in ISSUE_BY_SLUG.values()})

    contributions = {}
    for issue in issues:
        rate = frame[f"{issue.slug}_rate"]
        frame[f"{issue.slug}_flag"] = top_share_flags(rate, top_share)
        share = rate.rank(method="average", na_option="keep") / rate.notna().sum()
        contributions[issue.slug] = chosen_weights[issue.slug] * exponential_transform(share)
    contrib = pd.DataFrame(contributions, index=frame.index)
    used = pd.DataFrame({s: contrib[s].notna() * chosen_weights[s] for s in contrib},
                        index=frame.index)
    frame["score"] = (contrib.sum(axis=1, min_count=1) / used.sum(axis=1).replace(0, np.nan))
    flag_columns = [f"{i.slug}_flag" for i in issues]
    frame["flags"] = frame[flag_columns].sum(axis=1).astype("int64")
    frame["drivers"] = [_drivers(contrib.loc[i], frame.loc[i], issues) for i in frame.index]
    frame["rank"] = frame["score"].rank(method="min", ascending=False).astype("Int64")
    frame = frame.sort_values(["rank", "code"], na_position="last").reset_index(drop=True)

    lead = ["code", "name", "score", "rank", "flags", "drivers", "population"]
    per_issue = [f"{i.slug}_{what}" for i in issues for what in ("count", "rate", "flag")]
    frame = frame[lead + per_issue]
    synthetic = synthetic_sources(con)
    frame.attrs = {"period": period.label, "level": level, "area": district.name,
                   "issues": [i.slug for i in issues],
                   "weights": {i.slug: chosen_weights[i.slug] for i in issues},
                   "skipped": skipped, "top_share": top_share,
                   "synthetic": [i.slug for i in issues if i.source in synthetic]}
    return frame


def _count_issues(con: WarehouseLike, district: AreaSelection, period: Period,
                  level: str, withheld: frozenset[str] = frozenset()
                  ) -> tuple[pd.DataFrame, dict[str, str]]:
    """Counts per place (index) and issue slug (columns): one GROUP BY per source, each issue a
    filtered count, so the engine does the counting. Partner issues without data are
    skipped."""
    wh = warehouse(con)
    column = LEVEL_COLUMN[level]
    frames: list[pd.DataFrame] = []
    skipped: dict[str, str] = {}
    by_source: dict[str, list[Issue]] = {}
    for issue in ISSUES:
        if issue.source:
            by_source.setdefault(issue.source, []).append(issue)
    for source, group in by_source.items():
        if source in withheld:
            for issue in group:
                skipped[issue.slug] = f"withheld: {source} is a restricted partner source"
            continue
        events = period_events(wh, district, period, source)
        events = events.filter(events[column].notnull())
        missing = [i for i in group if i.needs and i.needs not in events.columns]
        counts = {i.slug: events.count(where=_condition(i, events))
                  for i in group if i not in missing}
        result = wh.frame(events.group_by(code=events[column])
                          .aggregate(_records=events.count(), **counts)
                          .order_by("code")).set_index("code")
        if source in PARTNER_SOURCES and result["_records"].sum() == 0:
            for issue in group:
                skipped[issue.slug] = f"no {source} data for {district.name} in {period.label}"
            continue
        if missing:
            raise EngineError(
                f"{', '.join(i.label for i in missing)} is counted from the "
                f"{missing[0].needs!r} column of {source} events, which {wh.location or wh.engine} "
                f"does not have: export the warehouse again (`cspkit export parquet`)")
        frames.append(result.drop(columns="_records"))
    counted = pd.concat(frames, axis=1) if frames else pd.DataFrame()
    return counted, skipped


def _condition(issue: Issue, events: ir.Table) -> ir.BooleanValue:
    """The issue's condition, NULL read as false (a filtered count skips NULL; a sum of
    flags, as Spark counts, would not be 0 where every row is NULL)."""
    assert issue.condition is not None
    return issue.condition(events).fill_null(False)


def _deprivation(con: WarehouseLike, district: AreaSelection, period: Period,
                 level: str) -> pd.DataFrame | None:
    """Per place: LSOAs ranked (`deprivation`) and the population-weighted mean of
    (N + 1 - rank) / N (`deprivation_rate`), or None when no IoD edition is loaded."""
    try:
        edition = choose_edition(con, district)
    except ValueError:
        return None
    lsoas = lsoa_deprivation(con, district, edition)
    if lsoas.empty:
        return None
    wh = warehouse(con)
    imd = wh.table("imd")
    ranked = imd.filter(imd.edition == edition, imd.domain == "imd")
    found = wh.values(ranked.aggregate(n=ranked.count()))
    n_england = int(found[0]) if found else 0
    lsoas = lsoas.merge(_lsoa_persons(con, lsoas["lsoa_code"].tolist(),
                                      EDITION_VINTAGE.get(edition, "2011"),
                                      period.start.year),
                        on="lsoa_code", how="left")
    # An LSOA without a population figure counts as an average one rather than vanishing.
    lsoas["persons"] = lsoas["persons"].fillna(lsoas["persons"].mean()).fillna(1.0)
    lsoas["index"] = (n_england + 1 - lsoas["imd_rank"]) / n_england
    key = LEVEL_COLUMN[level]
    lsoas["weighted"] = lsoas["index"] * lsoas["persons"]
    grouped = lsoas.groupby(key).agg(deprivation=("imd_rank", "count"),
                                     weighted=("weighted", "sum"), persons=("persons", "sum"))
    grouped["deprivation_rate"] = grouped["weighted"] / grouped["persons"]
    return grouped[["deprivation", "deprivation_rate"]]


def _lsoa_persons(con: WarehouseLike, codes: list[str], vintage: str, year: int
                  ) -> pd.DataFrame:
    """Each LSOA's residents in the year nearest `year` (later year on a tie)."""
    if not codes:
        return pd.DataFrame(columns=["lsoa_code", "persons"])
    wh = warehouse(con)
    p = wh.population_rows(codes)
    p = p.filter(p.vintage == vintage, p.persons.notnull())
    nearest = ibis.row_number().over(group_by=p.code,
                                     order_by=[(p.year - year).abs(), p.year.desc()])
    ranked = p.select(lsoa_code=p.code, persons=p.persons, _nearest=nearest)
    return wh.frame(ranked.filter(ranked["_nearest"] == 0).select("lsoa_code", "persons"))


def synthetic_sources(con: WarehouseLike) -> frozenset[str]:
    """The sources holding synthetic sample data (`Warehouse.synthetic_sources`)."""
    return warehouse(con).synthetic_sources()


def _drivers(contrib: pd.Series, row: pd.Series, issues: list[Issue]) -> str:
    """The issues adding most to this place's score, flagged ones first."""
    ranked = [(not bool(row[f"{i.slug}_flag"]), -float(contrib[i.slug]), i.label)
              for i in issues if pd.notna(contrib[i.slug]) and contrib[i.slug] > 0]
    top = sorted(ranked, key=lambda t: t[1])[:N_DRIVERS]  # largest contributions
    return ", ".join(label for *_, label in sorted(top))


@reads_warehouse
def ranking_stability(con: WarehouseLike, area: str | AreaSelection,
                      periods: list[Period], *, level: str = "ward", top_n: int = 10,
                      weights: dict[str, float] | None = None) -> dict[str, Any]:
    """How far the ranking holds between consecutive periods: the Spearman correlation of
    scores over the places present in both, and the places entering and leaving the top
    `top_n`. Returns {"pairs": [{"from", "to", "spearman", "entered", "left"}], "top_n"}."""
    if top_n < 1:
        raise ValueError(f"top_n must be at least 1, not {top_n!r}")
    district = select_area(con, area)
    tables = [vulnerable_places(con, district, p, level=level, weights=weights)
              for p in periods]
    return stability_of(tables, periods, top_n=top_n)


def stability_of(tables: list[pd.DataFrame], periods: list[Period], *, top_n: int = 10
                 ) -> dict[str, Any]:
    """`ranking_stability` from rankings already made (one per period, in order)."""
    if top_n < 1:
        raise ValueError(f"top_n must be at least 1, not {top_n!r}")
    pairs = []
    labelled = list(zip(periods, tables, strict=True))
    for (before, a), (after, b) in zip(labelled, labelled[1:], strict=False):
        both = a[["code", "score"]].merge(b[["code", "score"]], on="code").dropna()
        rho = float(spearmanr(both["score_x"], both["score_y"]).statistic) \
            if len(both) > 2 else float("nan")
        # Tables are sorted by rank, so the head is the top (ties broken by code).
        top_a = dict(zip(a["code"].head(top_n), a["name"].head(top_n), strict=True))
        top_b = dict(zip(b["code"].head(top_n), b["name"].head(top_n), strict=True))
        pairs.append({"from": before.label, "to": after.label,
                      "spearman": round(rho, 4) if math.isfinite(rho) else None,
                      "entered": [n for c, n in top_b.items() if c not in top_a],
                      "left": [n for c, n in top_a.items() if c not in top_b]})
    return {"pairs": pairs, "top_n": top_n}
