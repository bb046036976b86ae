"""An area beside its siblings and its parent: rates side by side, and whether each differs
significantly from the parent.

A district is compared with the other districts of its county (or, for a unitary authority,
of its police force area). Each place is tested against the rest of the parent (the parent
minus that place), so the two counts are independent, as the Poisson test assumes.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cspkit.measures.areas import (
    LEVEL_COLUMN,
    AreaSelection,
    children,
    events_vintages,
    parents,
    population,
)
from cspkit.measures.change import compare_counts
from cspkit.measures.counts import ALL_CRIME, ASB, area_period, period_events
from cspkit.measures.periods import Period
from cspkit.measures.settings import Settings
from cspkit.store.similar_inputs import police_months
from cspkit.store.tables import WarehouseLike, warehouse

HIGHER = "significantly higher"
LOWER = "significantly lower"
SAME = "no significant difference"
TOO_FEW = "too few to tell"


def comparison_parent(con: WarehouseLike, area: AreaSelection,
                      parent_level: str | None = None) -> AreaSelection:
    """The area to compare against: the nearest county, else force, else region."""
    found = parents(con, area)
    if parent_level:
        found = [p for p in found if p.level == parent_level]
    preferred = [p for p in found if p.level in ("county", "force")] or found
    if not preferred:
        raise ValueError(f"{area.name} has no parent area in the warehouse to compare with")
    return preferred[0]


def _rate_test(count: int, other_count: int, pop: float, other_pop: float,
               settings: Settings) -> tuple[float | None, str]:
    """One place's rate against another population's: the change test of two counts over
    their populations, with the verdict in comparison words."""
    result = compare_counts(count, other_count, pop, other_pop, settings)
    return result.p_value, {"significant increase": HIGHER, "significant decrease": LOWER,
                            "no significant change": SAME}.get(result.verdict, TOO_FEW)


def _count(con: WarehouseLike, area: AreaSelection, period: Period,
           category: str | Sequence[str] | None, source: str) -> int:
    wh = warehouse(con)
    events = period_events(wh, area, period, source)
    if category == ALL_CRIME:
        events = events.filter(events.category != ASB)
    elif category is not None and not isinstance(category, str):   # an issue's categories
        events = events.filter(events.category.isin(list(category)))
    elif category:
        events = events.filter(events.category == category)
    rows = wh.values(events.aggregate(n=events.count()))
    return int(rows[0]) if rows else 0


def siblings(con: WarehouseLike, area: AreaSelection, period: Period, *,
             category: str | Sequence[str] | None = None, parent_level: str | None = None,
             source: str = "police.uk", settings: Settings | None = None) -> pd.DataFrame:
    """Rates per 1,000 for `area`, every sibling, and the parent, with each place's test against
    the rest of the parent. `category` may be several categories, counted together.

    Columns: code, name, level, role ('area' | 'sibling' | 'parent'), count, population,
    population_year, rate_per_1000, parent_rate_per_1000, rate_ratio_vs_parent, p_value,
    verdict, partial, period, category."""
    settings = settings or Settings()
    label = category if category is None or isinstance(category, str) else ", ".join(category)
    parent = comparison_parent(con, area, parent_level)
    level = area.level if area.level != "custom" else "lad"
    places = children(con, parent, level) if level in ("ward", "lad", "lsoa") else [area]
    if area.code not in {p.code for p in places}:
        places.append(area)
    # The parent's figures are the sums of its children's, so each place and "the rest of the
    # parent" share one denominator source (a force has no published population of its own).
    contexts = {p.code: area_period(con, p, period, source) for p in places}
    counts = {p.code: _count(con, p, period, category, source) for p in places}
    parent_count = sum(counts.values())
    pops = [c.population.persons for c in contexts.values()]
    parent_pop = sum(p for p in pops if p) if all(pops) else None
    parent_partial = any(c.partial for c in contexts.values())
    parent_rate = round(settings.rate_per * parent_count / parent_pop, 3) if parent_pop else None
    rows = []
    for place in places:
        ctx, count = contexts[place.code], counts[place.code]
        pop = ctx.population.persons
        row = {"code": place.code, "name": place.name, "level": place.level,
               "role": "area" if place.code == area.code else "sibling",
               "count": count, "population": pop, "population_year": ctx.population.year,
               "rate_per_1000": round(settings.rate_per * count / pop, 3) if pop else None,
               "parent_rate_per_1000": parent_rate,
               "rate_ratio_vs_parent": None, "p_value": None, "verdict": "",
               "partial": ctx.partial, "period": period.label,
               "category": label or "all"}
        rest_count, rest_pop = parent_count - count, (parent_pop or 0) - (pop or 0)
        if pop and parent_pop and rest_pop > 0:
            p_value, verdict = _rate_test(count, rest_count, pop, rest_pop, settings)
            row["rate_ratio_vs_parent"] = (round(count / pop / (parent_count / parent_pop), 3)
                                           if parent_count else None)
            row["p_value"], row["verdict"] = p_value, verdict
        rows.append(row)
    rows.append({"code": parent.code, "name": parent.name, "level": parent.level,
                 "role": "parent", "count": parent_count, "population": parent_pop,
                 "population_year": contexts[area.code].population.year
                 if area.code in contexts else None,
                 "rate_per_1000": parent_rate, "parent_rate_per_1000": parent_rate,
                 "rate_ratio_vs_parent": 1.0, "p_value": None, "verdict": "",
                 "partial": parent_partial, "period": period.label,
                 "category": label or "all"})
    frame = pd.DataFrame(rows)
    order = {"area": 0, "sibling": 1, "parent": 2}
    frame["_o"] = frame["role"].map(order)
    frame = frame.sort_values(["_o", "rate_per_1000"], ascending=[True, False])
    return frame.drop(columns="_o").reset_index(drop=True)


# --------------------------------------------------------------------------- similar districts

NOT_COMPARED = "not compared"


def _counts_by_category(con: WarehouseLike, area: AreaSelection, period: Period,
                        source: str) -> dict[str, int]:
    wh = warehouse(con)
    events = period_events(wh, area, period, source)
    return {str(c): int(n) for c, n in wh.rows(
        events.group_by("category").aggregate(n=events.count()))}


def _counts_of_members(con: WarehouseLike, members: list[AreaSelection],
                       period: Period, source: str) -> list[dict[str, int]]:
    """`_counts_by_category` of each member, from one pass over the events where the members
    are areas of one level (similar districts are): one scan, not one per member."""
    levels = {m.level for m in members}
    if len(levels) != 1 or "custom" in levels:
        return [_counts_by_category(con, m, period, source) for m in members]
    column = LEVEL_COLUMN[levels.pop()]
    wh = warehouse(con)
    events = wh.located_events(source)
    chosen = events.filter(events[column].isin([m.code for m in members]),
                           events.month.between(period.start, period.end))
    found: dict[str, dict[str, int]] = {m.code: {} for m in members}
    for code, category, n in wh.rows(chosen.group_by([column, "category"])
                                     .aggregate(n=chosen.count())):
        found[str(code)][str(category)] = int(n)
    return [found[m.code] for m in members]


def _issue_count(by_category: dict[str, int], categories: list[str]) -> int:
    """The issue's count; the category 'All crime (excluding ASB)' is every category but ASB."""
    if categories == [ALL_CRIME]:
        return sum(n for c, n in by_category.items() if c != ASB)
    return sum(by_category.get(c, 0) for c in categories)


def family_rates(con: WarehouseLike, area: AreaSelection, period: Period,
                 family: list[AreaSelection], issues: list[tuple[str, list[str]]], *,
                 source: str = "police.uk", settings: Settings | None = None) -> pd.DataFrame:
    """The area's rate for each issue beside the pooled rate of its similar districts.

    A member counts when the police data held for it covers exactly the months of the period
    held for the area (so both rates are over the same months). The family rate is the sum of
    the members' counts over the sum of their populations (the area itself excluded), and the
    area is tested against it with the Poisson test of the sibling comparisons. With fewer
    than settings.similar_min_with_data members, nothing is tested (verdict 'not compared').

    Columns: issue, count, population, rate_per_1000, family_count, family_population,
    family_rate_per_1000, rate_ratio, p_value, verdict. attrs: 'with_data' and 'without_data'
    (lists of names, family order), 'family_size', 'enough', 'months' (the area's months)."""
    settings = settings or Settings()
    own = area_period(con, area, period, source)
    months = set(own.coverage.months_present)
    with_data: list[tuple[AreaSelection, float]] = []
    without: list[str] = []
    others = [m for m in family if m.code != area.code]
    held = police_months(con, [m.code for m in others]) if source == "police.uk" else {}
    in_period = set(period.months())
    events_vintages(con, others, source)   # each member's edition, in one pass
    for member in others:
        member_months = (held.get(member.code, set()) if source == "police.uk"
                         else set(area_period(con, member, period, source)
                                  .coverage.months_present))
        # The member's population as its area_period would give it, without the coverage
        # query area_period also runs (a scan of every event, for each member).
        persons = (population(con, member, period.start.year).persons
                   if months and member_months & in_period == months else None)
        if persons:
            with_data.append((member, float(persons)))
        else:
            without.append(member.name)
    enough = bool(months) and len(with_data) >= settings.similar_min_with_data
    own_counts = _counts_by_category(con, area, period, source)
    member_counts = (_counts_of_members(con, [m for m, _ in with_data], period, source)
                     if enough else [])
    pop = own.population.persons
    family_pop = sum(p for _, p in with_data)
    rows = []
    for issue, categories in issues:
        count = _issue_count(own_counts, categories)
        family_count = sum(_issue_count(counts, categories) for counts in member_counts)
        row: dict[str, object] = {
            "issue": issue, "count": count, "population": pop,
            "rate_per_1000": round(settings.rate_per * count / pop, 3) if pop else None,
            "family_count": family_count if enough else None,
            "family_population": family_pop if enough else None,
            "family_rate_per_1000": (round(settings.rate_per * family_count / family_pop, 3)
                                     if enough and family_pop else None),
            "rate_ratio": None, "p_value": None, "verdict": NOT_COMPARED}
        if enough and pop and family_pop:
            p_value, verdict = _rate_test(count, family_count, pop, family_pop, settings)
            row["rate_ratio"] = (round(count / pop / (family_count / family_pop), 3)
                                 if family_count else None)
            row["p_value"], row["verdict"] = p_value, verdict
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.attrs.update({"with_data": [m.name for m, _ in with_data], "without_data": without,
                        "family_size": len(others),
                        "enough": enough, "months": sorted(months)})
    return frame
