"""A place profile: the briefing a partnership asks for about one neighbourhood, estate or ward
group (a named area or a custom one from `measures.custom_areas`).

`profile` returns the analyst view as a JSON-ready dict with exact counts. `write_profile` turns it
into a short briefing document (HTML/PDF through `write_document`) in which every published count
has passed the disclosure policy (1-4 shown as '<5', cells that would give them away as '*'),
and writes `published_profile` of the dict as `{stem}.json` beside it: the same figures the
briefing publishes, audited like it (`cspkit.measures.disclosure_audit`). The exact dict is
written only on request (`analyst-json`: `{stem}-analyst.json`, not for publication).

The area is compared with its district, county and force, each through the rest of that place
(its LSOAs minus the area's, so the two counts are independent, as the Poisson test assumes,
and both denominators are sums of LSOA population figures of the same edition), and with the
district's wards of the same size class (`custom_areas.size_class_peers`) pooled. Each issue's
trend over the three years is the score test of `measures.trend`.

Speed: every count comes from one GROUP BY over the places' (LSOA, edition) pairs and every
population from one batch (`areas.populations_by_year`), not a query per place.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from cspkit.errors import AreaNotFound
from cspkit.measures.areas import (
    AreaSelection,
    Population,
    children,
    events_vintage,
    months_covered,
    parents,
    populations,
    populations_by_year,
    reads_warehouse,
)
from cspkit.measures.change import test_counts
from cspkit.measures.comparisons import HIGHER, LOWER, SAME, TOO_FEW
from cspkit.measures.control import family_size, seasonal_profile
from cspkit.measures.counts import ALL_CRIME, ASB, area_period, denominator, rate
from cspkit.measures.custom_areas import area_lsoas, size_class_peers
from cspkit.measures.deprivation import (
    DOMAIN_NAMES,
    EDITION_VINTAGE,
    domain_editions,
    domain_profile,
    lsoa_deprivation,
)
from cspkit.measures.disclosure import DisclosurePolicy, publish
from cspkit.measures.disclosure_audit import (
    ARITHMETIC_KEY,
    Arithmetic,
    Computed,
    DisclosureLeak,
    KnownSum,
    Leak,
    PercentChange,
    RowSum,
    audit_table,
    stack,
)
from cspkit.measures.error_control import Family, control
from cspkit.measures.period_change import change_from_monthly
from cspkit.measures.periods import calendar_year, month_range, months_text
from cspkit.measures.place_counts import lsoa_counts, place_counts
from cspkit.measures.place_lsoas import lsoa_codes, lsoa_pairs, lsoas_of_areas, main_district
from cspkit.measures.series import monthly_counts, monthly_series, peak_months
from cspkit.measures.settings import Settings
from cspkit.measures.trend import FALLING, RISING, monthly_trend_test
from cspkit.products.report.charts import bar_chart, choropleth, trend_chart
from cspkit.products.report.document import Document, Paragraph, Section, Table
from cspkit.products.report.narrative import change_sentence, count_text
from cspkit.products.report.render import write_document

FORMATS = {"html", "pdf", "json", "analyst-json"}
SOURCE = "police.uk street-level crime and ASB; ONS population; MHCLG Indices of Deprivation"
TREND_CHARTS = 2   # monthly charts whose months of the year are judged: crime and ASB
_VERDICT_VS = {"significant increase": HIGHER, "significant decrease": LOWER,
               "no significant change": SAME}


# -- the analyst view -------------------------------------------------------------------------

def default_district(con: duckdb.DuckDBPyConnection, area: AreaSelection) -> AreaSelection:
    """The district holding most of the area's LSOAs (of the edition its events use)."""
    if area.level == "lad":
        return area
    found = main_district(con, area, events_vintage(con, area))
    if found is None:
        raise AreaNotFound(f"{area.name} lies in no district the warehouse holds")
    return found


def _vs(count: int, rest_count: int, pop: float | None, rest_pop: float | None,
        settings: Settings) -> tuple[str, float | None]:
    if not pop or not rest_pop:
        return "", None
    p_value, verdict = test_counts(count, rest_count, pop, rest_pop, settings)
    return _VERDICT_VS.get(verdict, TOO_FEW), p_value


@reads_warehouse
def profile(con: duckdb.DuckDBPyConnection, area: AreaSelection, year: int, *,
            district: AreaSelection | None = None, info: dict[str, Any] | None = None,
            settings: Settings | None = None) -> dict[str, Any]:
    """The place profile of `area` for calendar `year` as a JSON-ready dict (exact counts).

    `info` is the selection record from `custom_areas.area_from_polygon` (its rule and
    excluded LSOAs are carried into the profile). See the module notes for the comparisons."""
    settings = settings or Settings()
    district = district or default_district(con, area)
    vintage = events_vintage(con, area)
    years = [year - 2, year - 1, year]
    period = calendar_year(year)
    lsoas = lsoa_codes(con, area, vintage)
    inside = area_lsoas(con, area)

    # The containing areas, and each less the area's LSOAs (so the two counts compared are
    # independent and both populations are sums over the same LSOA figures).
    context = _context_places(con, district)
    rests: dict[str, AreaSelection] = {}
    for role, place in context:
        codes = sorted(set(lsoa_codes(con, place, vintage)) - inside)
        if codes:
            rests[role] = _held(f"{place.name} excluding {area.name}", codes)
    # Every population on the area's LSOA edition, in one batch (with every ward the peers are
    # chosen from), then the similar-sized wards pooled, less any LSOA they share with the area.
    wards = children(con, district, "ward")
    batch = populations_by_year(con, [area, *rests.values(), *[p for _, p in context],
                                      *wards], years, vintage)
    pops = {place: value for (place, y), value in batch.items() if y == year}
    peers = size_class_peers(con, area, district, year=year)
    pooled = _pooled(con, peers, inside, vintage)
    if pooled is not None:
        pops.update(populations(con, [pooled], year, vintage))
        rests["peers"] = pooled

    # Every count from one GROUP BY of the events by place, month and category.
    places = [area, *[p for _, p in context], *rests.values(), *peers]
    pairs = lsoa_pairs(con, places)
    by_year = {place: _totals(counted, years) for place, counted in
               place_counts(con, pairs, years[0], year).items()}
    monthly = place_counts(con, {area: pairs[area]}, years[0], year, by_month=True)[area]
    counts_of = by_year[area]
    now = area_period(con, area, period)
    covered = months_covered(con, area)
    held = {y: sum(1 for m in covered if m.year == y) for y in years}
    if not held[year]:
        span = (f"{min(covered):%Y-%m} to {max(covered):%Y-%m}" if covered else "no months")
        raise ValueError(f"no police data is held for {area.name} in {year} (the data held "
                         f"for it covers {span}); choose another --year")
    # This year against last, tested as `change` tests them (like for like on the months
    # both years hold, monthly counts), from the counts already made.
    before = area_period(con, area, calendar_year(year - 1))
    changes = change_from_monthly(
        pd.DataFrame([{"category": c, "month": m, "count": n}
                      for m, counted in monthly.items() for c, n in counted.items()
                      if c != ALL_CRIME], columns=["category", "month", "count"]),
        now, before, total=True, settings=settings,
        # The year before that informs the test's dispersion (its months are counted above).
        history=[area_period(con, area, calendar_year(year - 2))] if held[year - 2] else [])
    change_rows = {str(r["category"]): r for r in changes.to_dict("records")}
    assert len(change_rows) == len(changes), "one change row per category"

    # Most frequent first (as `counts` orders them), then by name; the total last.
    named = {c for y in years for c in counts_of[y]} | set(by_year[district][year])
    categories = sorted(named - {ALL_CRIME},
                        key=lambda c: (-counts_of[year].get(c, 0), c)) + [ALL_CRIME]
    issues = []
    for category in categories:
        count = counts_of[year].get(category, 0)
        # A year the data does not cover at all has no count (None), not a count of 0.
        rates_by_year = {str(y): rate(counts_of[y].get(category, 0), category,
                                      batch[area, y], settings) if held[y] else None
                         for y in years}
        comparisons = _comparisons(category, count, now.population, context, rests, peers,
                                   by_year, pops, year, settings)
        ch = change_rows.get(category, {})
        issues.append({
            "category": category,
            "is_total": category == ALL_CRIME,
            "count": count,
            "rate_per_1000": rate(count, category, now.population, settings),
            "counts_by_year": {str(y): counts_of[y].get(category, 0) if held[y] else None
                               for y in years},
            "rates_by_year": rates_by_year,
            "trend": _trend(category, monthly, years, covered, batch, area, settings),
            "change": {
                "count": int(ch.get("count", count)),
                "baseline_count": int(ch.get("baseline_count",
                                             counts_of[year - 1].get(category, 0))),
                "pct_change": ch.get("pct_change"),
                "p_value": ch.get("p_value"),
                "q_value": ch.get("q_value"),
                "verdict": ch.get("verdict", ""),
                "test": ch.get("test", ""),
                "period": ch.get("period", period.label),
                "baseline_period": ch.get("baseline_period", str(year - 1)),
                "comparison_note": ch.get("comparison_note", ""),
            },
            "district_rate_per_1000": comparisons["district"]["rate_per_1000"] or 0.0,
            "vs_district": comparisons["district"]["verdict"],
            "vs_district_p_value": comparisons["district"]["p_value"],
            "peer_rate_per_1000": comparisons.get("peers", {}).get("mean_rate_per_1000"),
            "comparisons": comparisons,
        })
    families = _control_families(issues, changes, settings)
    pop = now.population
    rest_pop = pops[rests["district"]].persons if "district" in rests else None
    result = {
        "name": area.name,
        "code": area.code,
        "level": area.level,
        "lsoas": lsoas,
        "lsoa_vintage": vintage,
        "rule": _rule_text(area, lsoas, vintage, info),
        "excluded_partial": list((info or {}).get("excluded_partial", [])),
        "population": {"persons": pop.persons, "households": pop.households,
                       "year": pop.year, "source": pop.source, "note": pop.note},
        "period": period.label,
        "partial": now.partial,
        "years": years,
        "months_by_year": {str(y): held[y] for y in years},
        "months_held": {str(y): months_text([m for m in covered if m.year == y])
                        for y in years},
        "district": {"code": district.code, "name": district.name,
                     "rest_population": rest_pop,
                     "rest_lsoas": len(rests["district"].lsoas) if "district" in rests else 0},
        "peers": [{"code": p.code, "name": p.name, "population": pops[p].persons}
                  for p in peers],
        "issues": issues,
        "stands_out_on": [i["category"] for i in issues
                          if i["vs_district"] == HIGHER and not i["is_total"]],
        "stands_out_on_peers": [i["category"] for i in issues if not i["is_total"] and
                                i["comparisons"].get("peers", {}).get("verdict") == HIGHER],
        "trend": _monthly_total(monthly, covered, years),
        "deprivation": _deprivation(con, area, district),
        "asb": _asb(con, area, period, settings),
        "parents": {role: {"code": place.code, "name": place.name, "level": place.level,
                           "category": ALL_CRIME,
                           "count": by_year[place][year].get(ALL_CRIME, 0),
                           "rate_per_1000": rate(by_year[place][year].get(ALL_CRIME, 0),
                                                 ALL_CRIME, pops[place], settings),
                           "population": pops[place].persons}
                    for role, place in context},
        "families": [f.describe() for f in families],
        "settings": {"alpha": settings.alpha, "suppress_below": settings.suppress_below,
                     "rate_per": settings.rate_per},
    }
    # The polygon selection's details (shares inside, CRS, centroid fallbacks) ride along.
    result.update({k: v for k, v in (info or {}).items() if k not in result})
    return _plain(result)  # type: ignore[no-any-return]


def _control_families(issues: list[dict[str, Any]], changes: pd.DataFrame,
                      settings: Settings) -> list[Family]:
    """Decide the profile's verdicts family by family (Benjamini–Hochberg across the issues):
    the change on last year (already decided in `change_from_monthly`), the trend, and each
    comparison (district, county, force, similar wards). Verdicts are rewritten in place."""
    families: list[Family] = [changes.attrs["family"]]
    families[0] = families[0].renamed("Change on the previous year, by issue")
    trend = pd.DataFrame({"p_value": [i["trend"].get("p_value") for i in issues],
                          "verdict": [i["trend"].get("verdict") for i in issues]})
    trend, family = control(trend, "Trend over three years, by issue", alpha=settings.alpha)
    families.append(family)
    for issue, verdict in zip(issues, trend["verdict"], strict=True):
        issue["trend"]["verdict"] = verdict
    roles = sorted({role for i in issues for role in i["comparisons"]})
    for role in roles:
        frame = pd.DataFrame({
            "p_value": [i["comparisons"].get(role, {}).get("p_value") for i in issues],
            "verdict": [i["comparisons"].get(role, {}).get("verdict") for i in issues]})
        against = ("the similar-sized wards pooled" if role == "peers"
                   else f"the rest of the {role}")
        frame, family = control(frame, f"Rate against {against}, by issue",
                                alpha=settings.alpha)
        families.append(family)
        for issue, verdict in zip(issues, frame["verdict"], strict=True):
            if role in issue["comparisons"]:
                issue["comparisons"][role]["verdict"] = verdict
                if role == "district":
                    issue["vs_district"] = verdict
    return families


def _pooled(con: duckdb.DuckDBPyConnection, peers: list[AreaSelection], inside: set[str],
            vintage: str) -> AreaSelection | None:
    """The similar-sized wards as one custom area, without LSOAs shared with the area."""
    if not peers:
        return None
    codes = sorted(lsoas_of_areas(con, "ward", [p.code for p in peers], vintage) - inside)
    return _held(f"{len(peers)} similar wards", codes) if codes else None


def _held(name: str, codes: list[str]) -> AreaSelection:
    """A custom area of LSOA codes just read from the hierarchy (so not checked again, as
    `custom_area` checks codes a user gives)."""
    return AreaSelection(f"custom:{name}", name, "custom", tuple(sorted(set(codes))))


def _comparisons(category: str, count: int, area_pop: Population,
                 context: list[tuple[str, AreaSelection]], rests: dict[str, AreaSelection],
                 peers: list[AreaSelection], by_year: dict[AreaSelection, Any],
                 pops: dict[AreaSelection, Population], year: int, settings: Settings
                 ) -> dict[str, dict[str, Any]]:
    """The area's rate against each containing area's and the similar wards': the other
    place's rate, and the test of the area against the rest of it (its LSOAs less the
    area's)."""
    out: dict[str, dict[str, Any]] = {}
    for role, place in [*context, *([("peers", None)] if peers else [])]:
        entry: dict[str, Any] = {}
        if place is not None:
            entry = {"code": place.code, "name": place.name,
                     "rate_per_1000": rate(by_year[place][year].get(category, 0), category,
                                           pops[place], settings)}
        else:
            rates = [rate(by_year[p][year].get(category, 0), category, pops[p], settings)
                     for p in peers]
            known = [r for r in rates if r is not None]
            entry = {"name": f"{len(peers)} wards of a similar population",
                     "mean_rate_per_1000": (round(sum(known) / len(known), 3) if known
                                            else None)}
        rest = rests.get(role)
        verdict, p_value, rest_rate = "", None, None
        if rest is not None:
            rest_count = by_year[rest][year].get(category, 0)
            rest_rate = rate(rest_count, category, pops[rest], settings)
            _, area_exposure = denominator(category, area_pop)
            _, rest_exposure = denominator(category, pops[rest])
            verdict, p_value = _vs(count, rest_count, area_exposure, rest_exposure, settings)
        if place is None:
            entry["rate_per_1000"] = rest_rate
        entry.update({"rest_rate_per_1000": rest_rate, "verdict": verdict, "p_value": p_value})
        out[role] = entry
    return out


def _totals(counted: dict[int, dict[str, int]], years: list[int]) -> dict[int, dict[str, int]]:
    """Each year's counts with the all-crime total (excluding ASB); years with none are {}."""
    out: dict[int, dict[str, int]] = {y: dict(counted.get(y, {})) for y in years}
    for counts_ in out.values():
        counts_[ALL_CRIME] = sum(n for c, n in counts_.items() if c != ASB)
    return out


def _trend(category: str, monthly: dict[date, dict[str, int]], years: list[int],
           covered: set[date], batch: dict[tuple[AreaSelection, int], Population],
           area: AreaSelection, settings: Settings) -> dict[str, Any]:
    """The test for a steady trend over the years from the monthly counts (quasi-Poisson with
    calendar-month effects, or the score test on yearly totals where the months show no extra
    variation), each year's exposure its residents (or households)."""
    exposures, index = [], {}
    for y in years:
        _, persons = denominator(category, batch[area, y])
        if persons and any(m.year == y for m in covered):
            index[y] = len(exposures)
            exposures.append(persons)
    rows = []
    for month in sorted(m for m in covered if m.year in index):
        counts_ = monthly.get(month, {})
        count = (sum(n for c, n in counts_.items() if c != ASB) if category == ALL_CRIME
                 else counts_.get(category, 0))
        rows.append((index[month.year], month.month, count))
    result = monthly_trend_test(rows, exposures, settings)
    return {"verdict": result.verdict, "p_value": result.p_value, "years": len(exposures),
            "test": result.method}


def _monthly_total(months: dict[date, dict[str, int]], covered: set[date], years: list[int]
                   ) -> list[dict[str, Any]]:
    """All crime (excluding ASB) and ASB by month over the profile's years, months the data
    covers only (0 where none were recorded)."""
    out = []
    for month in sorted(m for m in covered if years[0] <= m.year <= years[-1]):
        counts_ = months.get(month, {})
        out.append({"month": month.strftime("%Y-%m"),
                    ALL_CRIME: sum(n for c, n in counts_.items() if c != ASB),
                    ASB: counts_.get(ASB, 0)})
    return out


def _rule_text(area: AreaSelection, lsoas: list[str], vintage: str,
               info: dict[str, Any] | None) -> str:
    if info and info.get("rule"):
        return str(info["rule"])
    n = f"{len(lsoas)} LSOA{'' if len(lsoas) == 1 else 's'}"
    if area.level == "custom":
        return f"a custom area of {n} listed ({vintage} edition)"
    return f"the {area.level} {area.name} ({area.code}): its {n} ({vintage} edition)"


def _deprivation(con: duckdb.DuckDBPyConnection, area: AreaSelection,
                 district: AreaSelection) -> dict[str, Any]:
    """The area's LSOAs with their national decile and their local decile, i.e. within the
    district (a decile within a handful of LSOAs would say little); LSOAs outside the district
    have no local decile."""
    try:
        in_district = lsoa_deprivation(con, district)
        edition = str(in_district["edition"].iloc[0]) if not in_district.empty else None
        frame = in_district[in_district["lsoa_code"].isin(area_lsoas(con, area))]
        if set(frame["lsoa_code"]) != set(lsoa_codes(con, area, EDITION_VINTAGE.get(
                edition or "", events_vintage(con, area)))):
            frame = lsoa_deprivation(con, area, edition)   # some LSOAs lie outside
        frame = frame.reset_index(drop=True)
    except ValueError as error:
        return {"edition": None, "lsoas": [], "domains": {}, "note": str(error)}
    if frame.empty:
        return {"edition": None, "lsoas": [], "domains": {}, "note": "no deprivation ranks"}
    local = dict(zip(in_district["lsoa_code"], in_district["local_decile"], strict=True))
    frame["local_decile"] = [local.get(c) for c in frame["lsoa_code"]]
    lsoas = [{"code": r["lsoa_code"], "name": r["lsoa_name"], "ward": r["ward_name"],
              "imd_rank": r["imd_rank"], "national_decile": r["national_decile"],
              "local_decile": None if pd.isna(r["local_decile"]) else int(r["local_decile"])}
             for r in frame.to_dict("records")]
    domains = {}
    for column in frame.columns:
        if column.endswith("_rank") and frame[column].notna().any():
            domain = "imd" if column == "imd_rank" else column[: -len("_rank")]
            domains[domain] = round(float(frame[column].mean()), 1)
    edition = str(frame["edition"].iloc[0])
    # Where this edition lacks the domains (IoD2025 File 1 alone: the overall index), the
    # fullest other edition's domains, read through the LSOA lookup, complete the profile.
    held = domain_editions(con)
    fuller = [e for e, n in held.items() if e != edition and n > max(held.get(edition, 0), 3)]
    other = (domain_profile(con, list(frame["lsoa_code"]),
                            EDITION_VINTAGE.get(edition, "2011"), fuller[-1])
             if fuller else None)
    return {"edition": edition, "lsoas": lsoas, "domains": domains,
            "other_edition": other, "local_within": district.name,
            "note": "mean national rank of the area's LSOAs (1 = most deprived); local deciles "
                    f"rank the LSOAs within {district.name}"}


def _asb(con: duckdb.DuckDBPyConnection, area: AreaSelection, period: Any,
         settings: Settings) -> dict[str, Any]:
    """The seasonal index of ASB from every month held, and the busiest months of `period`."""
    months = monthly_counts(con, area, category=ASB)
    profile_ = seasonal_profile(months, settings)
    index = {str(r["month_name"]): (None if pd.isna(r["seasonal_index"])
                                    else round(float(r["seasonal_index"]), 3))
             for _, r in profile_.iterrows()}
    in_period = months[[period.contains(m) for m in months["month"]]]
    peaks = peak_months(in_period) if not in_period.empty else []
    return {"seasonality": index,
            "peak_months": [m.strftime("%Y-%m") for m in peaks],
            "months_in_year": int(len(in_period))}


def _context_places(con: duckdb.DuckDBPyConnection, district: AreaSelection
                    ) -> list[tuple[str, AreaSelection]]:
    """(role, area): the district, and the county and force containing it."""
    return [("district", district)] + [
        (p.level, p) for p in parents(con, district) if p.level in ("county", "force")]


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN to None, dates to ISO text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value


# -- the briefing -----------------------------------------------------------------------------

def slug(name: str) -> str:
    """A file-name stem from an area name: 'Kempston West & North' -> 'kempston-west-north'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "profile"


def write_profile(con: duckdb.DuckDBPyConnection, area: AreaSelection, year: int,
                  out_dir: Path, *, fmt: set[str] | None = None,
                  info: dict[str, Any] | None = None, district: AreaSelection | None = None,
                  settings: Settings | None = None
                  ) -> tuple[dict[str, Path], dict[str, Any]]:
    """Write the place briefing (`{stem}.html`, `{stem}.pdf`, its tables as CSV/XLSX) and the
    published profile `{stem}.json` (and, with 'analyst-json', the exact analyst view
    `{stem}-analyst.json`, not for publication), stem being the slug of the area's name. `fmt`
    is a subset of {'html', 'pdf', 'json', 'analyst-json'} (default: all but 'analyst-json').
    Returns the paths written by kind, and the (exact) profile."""
    fmt = set(fmt or FORMATS - {"analyst-json"})
    unknown = fmt - FORMATS
    if unknown:
        raise ValueError(f"unknown profile format(s): {', '.join(sorted(unknown))}")
    settings = settings or Settings()
    data = profile(con, area, year, district=district, info=info, settings=settings)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = slug(area.name)
    paths: dict[str, Path] = {}
    if fmt & {"html", "pdf"}:
        doc = build_document(con, data, settings)
        paths.update(write_document(doc, out_dir, stem, pdf="pdf" in fmt))
    if "json" in fmt:
        paths["json"] = out_dir / f"{stem}.json"
        paths["json"].write_text(json.dumps(published_profile(data, settings), indent=2),
                                 encoding="utf-8")
    if "analyst-json" in fmt:
        paths["analyst-json"] = out_dir / f"{stem}-analyst.json"
        paths["analyst-json"].write_text(json.dumps(data, indent=2), encoding="utf-8")
    return paths, data


def build_document(con: duckdb.DuckDBPyConnection, data: dict[str, Any],
                   settings: Settings | None = None) -> Document:
    """The briefing Document for a profile dict; counts published through disclosure."""
    settings = settings or Settings()
    policy = DisclosurePolicy.from_settings(settings)
    name, year = data["name"], data["years"][-1]
    district = data["district"]["name"]
    issues_table, hidden = _issues_table(data, policy)
    doc = Document(
        title=f"Place profile: {name}", area_name=name, area_code=data["code"],
        period_label=str(year), produced=date.today(), rate_per=settings.rate_per,
        details={"Area": name, "Selection": data["rule"], "District": district,
                 "Period": data["period"], "LSOAs": str(len(data["lsoas"]))})
    held = [y for y in data["years"] if data.get("months_by_year", {}).get(str(y), 12)]
    first = held[0] if held else data["years"][0]
    doc.sections = [
        _summary_section(data, district, hidden, policy, settings),
        Section("issues", f"Crime and anti-social behaviour, {first} to {year}", [
            Paragraph(f"{{figure:crime-trend}} shows crime month by month and {{table:issues}} "
                      f"gives the counts for {first} to {year}, the rate per 1,000 residents "
                      f"in {year}, whether the rate rose or fell steadily over the years "
                      f"(trend) and whether {year} differed from {year - 1}."),
            _crime_trend_figure(con, data, settings),
            issues_table,
            *_crime_map(con, data, policy),
            *_change_paragraphs(data, hidden, settings)]),
        _comparison_section(data, hidden, policy),
        _asb_section(con, data, settings),
        _deprivation_section(con, data),
        _methods_section(data, policy),
    ]
    doc.number()
    return doc


def _summary_section(data: dict[str, Any], district: str, hidden: set[str],
                     policy: DisclosurePolicy, settings: Settings) -> Section:
    name = data["name"]
    pop = data["population"]
    blocks: list[Paragraph | Table] = [Paragraph(
        f"{name} is {data['rule']}. It had about {pop['persons']:,.0f} residents"
        f" ({pop['source']})." if pop.get("persons") else
        f"{name} is {data['rule']}. No population figure is held for it.")]
    if data["excluded_partial"]:
        blocks.append(Paragraph(
            "LSOAs partly inside the boundary but left out by the rule: "
            f"{', '.join(data['excluded_partial'])}.", "caveat"))
    total = next(i for i in data["issues"] if i["is_total"])
    if total["category"] not in hidden:
        held = data.get("months_by_year", {}).get(str(data["years"][-1]), 12)
        when = (f"In {data['period']}" if held >= 12 else
                f"In the {held} months of {data['period']} that the data holds")
        blocks.append(Paragraph(
            f"{when} police recorded {count_text(total['count'], settings)} "
            f"crimes in {name}; compared with the rest of {district} the rate was "
            f"{_verdict_words(total['vs_district'])}.", "finding"))
    stands = data["stands_out_on"]
    blocks.append(Paragraph(
        f"{name} stands out (significantly higher rate than the rest of {district}) on: "
        f"{', '.join(stands)}." if stands else
        f"On no category is {name}'s rate significantly higher than the rest of {district}.",
        "finding"))
    if data["peers"]:
        peers = data["stands_out_on_peers"]
        blocks.append(Paragraph(
            f"Against {len(data['peers'])} wards of {district} with a similar population, its "
            f"rate is significantly higher on: {', '.join(peers)}." if peers else
            f"On no category is its rate significantly higher than that of "
            f"{len(data['peers'])} wards of {district} with a similar population.", "finding"))
    trends = [(i["category"], i["trend"]["verdict"]) for i in data["issues"]
              if i["trend"]["verdict"] in (RISING, FALLING) and i["category"] not in hidden]
    if trends:
        blocks.append(Paragraph(
            f"Over {data['years'][0]} to {data['years'][-1]} the rate rose steadily for: "
            f"{', '.join(c for c, v in trends if v == RISING) or 'none'}; and fell steadily "
            f"for: {', '.join(c for c, v in trends if v == FALLING) or 'none'}.", "finding"))
    lsoa_names = {r["code"]: r for r in data["deprivation"]["lsoas"]}
    frame = pd.DataFrame([{"LSOA": code, "Name": lsoa_names.get(code, {}).get("name") or "",
                           "Ward": lsoa_names.get(code, {}).get("ward") or ""}
                          for code in data["lsoas"]])
    blocks.append(Table("lsoas", f"The LSOAs making up {name}", frame,
                        source="ONS LSOA geography",
                        notes=[f"LSOAs of the {data['lsoa_vintage']} edition."]))
    return Section("summary", "Summary", list(blocks))


def _judged(data: dict[str, Any]) -> dict[str, Any]:
    """The profile year's months are judged against their expected range on both monthly
    charts (crime and ASB), as one family of inspected months."""
    year = calendar_year(data["years"][-1])
    return {"inspect": year, "family_size": family_size(TREND_CHARTS, year)}


def _crime_trend_figure(con: duckdb.DuckDBPyConnection, data: dict[str, Any],
                        settings: Settings) -> Any:
    """All crime (excluding ASB) by month over the profile's years, with the 12-month average
    and control limits; by year when some month's count is 1-4 (a monthly chart would
    publish it)."""
    area = _selection(data)
    last = data["years"][-1]
    first = next((y for y in data["years"] if data.get("months_by_year", {}).get(str(y), 12)),
                 data["years"][0])
    title = f"All crime (excluding ASB) by month, {data['name']}, {first} to {last}"
    series = monthly_series(con, area, category=ALL_CRIME,
                            period=month_range(date(first, 1, 1), date(last, 12, 1)),
                            **_judged(data), settings=settings)
    small = series["count"].between(1, settings.suppress_below - 1).any() if len(series) else False
    if not small:
        return trend_chart("crime-trend", title, series, area_name=data["name"],
                           source="police.uk")
    total = next(i for i in data["issues"] if i["is_total"])
    by_year = pd.DataFrame([{"year": y, "rate": r}
                            for y, r in total["rates_by_year"].items() if r is not None])
    return bar_chart("crime-trend", f"All crime (excluding ASB) per 1,000 residents by year, "
                     f"{data['name']}", by_year, category="year", value="rate",
                     value_title="Crimes per 1,000 residents", source="police.uk")


def _crime_map(con: duckdb.DuckDBPyConnection, data: dict[str, Any],
               policy: DisclosurePolicy) -> list[Any]:
    """Where in the area crime was recorded: all crime (excluding ASB) in the year by LSOA,
    counts of 1-4 and any count that would give one away (from the published total) not
    shown."""
    year = data["years"][-1]
    area = _selection(data)
    rows = lsoa_counts(con, area, calendar_year(year), excluding=ASB)
    if len(data["lsoas"]) < 2:
        return []
    names = {r["code"]: r["name"] for r in data["deprivation"]["lsoas"]}
    frame = pd.DataFrame({"code": data["lsoas"],
                          "count": [int(rows.get(c, 0)) for c in data["lsoas"]]})
    with_total = pd.concat([frame, pd.DataFrame([{"code": "total",
                                                  "count": int(frame["count"].sum())}])],
                           ignore_index=True)
    shown = publish(with_total, ["count"], total_rows=[len(frame)], policy=policy)["count"]
    values = pd.DataFrame({"code": frame["code"],
                           "name": [names.get(c) or c for c in frame["code"]],
                           "value": [float(v) if str(v).isdigit() else None
                                     for v in shown.iloc[:len(frame)]]})
    figure = choropleth("crime-map", f"All crime (excluding ASB) by LSOA, {data['name']}, "
                        f"{year}", con, codes_values=values, level="lsoa",
                        value_title="Crimes recorded", vintage=data["lsoa_vintage"],
                        source="police.uk; boundaries: ONS")
    return [Paragraph(f"{{figure:crime-map}} shows where in {data['name']} crime was "
                      f"recorded in {year}. LSOAs differ in population, so counts show where "
                      "demand falls rather than risk to residents."), figure]


def _comparison_section(data: dict[str, Any], hidden: set[str],
                        policy: DisclosurePolicy) -> Section:
    """The area's rate beside the district's, the similar wards' and the force's (and the
    county's), each with the test against the rest of that place."""
    name, year = data["name"], data["years"][-1]
    roles = [r for r in ("district", "county", "force", "peers")
             if any(r in i["comparisons"] for i in data["issues"])]
    labels = {role: next(i["comparisons"][role]["name"] for i in data["issues"]
                         if role in i["comparisons"]) for role in roles}
    labels["peers"] = "Similar wards" if "peers" in labels else ""
    rows = []
    for issue in data["issues"]:
        own = issue["rate_per_1000"] if issue["category"] not in hidden else policy.secondary_label
        row: dict[str, Any] = {"Category": issue["category"], f"{name} rate": own}
        for role in roles:
            entry = issue["comparisons"].get(role, {})
            row[f"{labels[role]} rate"] = entry.get("rate_per_1000")
            row[f"vs rest of {labels[role]}" if role != "peers" else "vs similar wards"] = (
                entry.get("verdict") or "not compared")
        rows.append(row)
    notes = [f"Rates per 1,000 residents in {year}. Each verdict tests {name}'s rate against "
             "the rest of that place (its LSOAs less this area's), so the two counts are "
             "independent (Poisson E-test, residents as exposure)."]
    if data["peers"]:
        notes.append(f"Similar wards: the {len(data['peers'])} wards of "
                     f"{data['district']['name']} whose population is within 50% of "
                     f"{name}'s, pooled: {', '.join(p['name'] for p in data['peers'])}.")
    if hidden:
        notes.append(f"'{policy.secondary_label}': the rate of a category whose count is not "
                     "published.")
    table = Table("comparisons", f"{name} compared with other places, {year}",
                  pd.DataFrame(rows), source=SOURCE, notes=notes)
    return Section("comparisons", "Compared with other places", [
        Paragraph(f"{{table:comparisons}} sets {name}'s rates beside those of the places "
                  "containing it and of wards of a similar size, with whether the difference "
                  "is more than chance."),
        table])


def _verdict_words(verdict: str) -> str:
    return {HIGHER: "significantly higher", LOWER: "significantly lower",
            SAME: "not significantly different",
            TOO_FEW: "based on too few incidents to compare reliably"}.get(
                verdict, "not compared (no population for the rest of the district)")


def _issues_table(data: dict[str, Any], policy: DisclosurePolicy) -> tuple[Table, set[str]]:
    """The issues table with counts published; also the categories whose current or previous
    count is hidden (so no sentence restates them)."""
    months = data.get("months_by_year", {})
    absent = [str(y) for y in data["years"] if months.get(str(y), 12) == 0]
    years = [str(y) for y in data["years"] if str(y) not in absent]
    held_text = data.get("months_held", {})
    heads = {y: (f"{y} ({held_text.get(y) or str(months[y]) + ' months'})"
                 if 0 < months.get(y, 12) < 12 else y)
             for y in years}
    rate_col = f"Rate per 1,000 ({years[-1]})"
    trend_col = f"Trend {years[0]} to {years[-1]}"
    total = next(i for i in data["issues"] if i["is_total"])["change"]
    change_col = (f"Change on {int(years[-1]) - 1}" if not total.get("comparison_note")
                  else f"Change, {total['period']} against {total['baseline_period']}")
    published = _published_counts(data, policy)
    published[rate_col] = published.pop("_rate")
    issues = {i["category"]: i for i in data["issues"]}
    published[trend_col] = [issues[c]["trend"]["verdict"] for c in published["Category"]]
    published[change_col] = [issues[c]["change"]["verdict"] for c in published["Category"]]
    # Categories whose count this year or last is hidden: no sentence may restate them.
    hidden = {str(r["Category"]) for r in published.to_dict("records")
              if not all(str(r[c]).isdigit() for c in years[-2:])}
    spec = published.attrs[ARITHMETIC_KEY].renamed({"_rate": rate_col, **heads})
    published = published.rename(columns=heads)
    published.attrs[ARITHMETIC_KEY] = spec
    notes = [f"Counts from 1 to {policy.threshold - 1} are shown as '{policy.label}'; "
             f"'{policy.secondary_label}' marks a figure hidden so that a small count cannot "
             "be worked out from the totals.",
             "Trend: a steady rise or fall in the rate across the years, tested on the "
             "monthly counts with calendar-month effects (a part year counts for the months "
             f"it holds). Change: {total.get('period', years[-1])} against "
             f"{total.get('baseline_period', int(years[-1]) - 1)}, on the months both hold. "
             "Verdicts are decided across the issues tested (Benjamini–Hochberg)."]
    if total.get("comparison_note"):
        notes.append("Change compared " + str(total["comparison_note"]) + ".")
    if absent:
        notes.append(f"No police data is held for {', '.join(absent)}.")
    partial = [heads[y] for y in years if heads[y] != y]
    if partial:
        notes.append(f"Part years: {', '.join(partial)}; the data held does not cover the "
                     "whole year.")
    table = Table("issues", f"Crime and ASB in {data['name']}, {years[0]} to {years[-1]}",
                  published, source=SOURCE, notes=notes)
    return table, hidden


def _years_held(data: dict[str, Any]) -> list[str]:
    months = data.get("months_by_year", {})
    return [str(y) for y in data["years"] if months.get(str(y), 12) != 0]


def _published_counts(data: dict[str, Any], policy: DisclosurePolicy) -> pd.DataFrame:
    """Each issue's counts by year (the years with data) as published: ASB on its own first,
    then the crime categories with their total (the all-crime row); the rate of the last year
    as `_rate`, hidden with its count."""
    years = _years_held(data)
    frame = pd.DataFrame([{"Category": i["category"],
                           **{y: i["counts_by_year"][y] for y in years},
                           "_rate": i["rate_per_1000"], "_asb": i["category"] == ASB,
                           "_total": i["is_total"]} for i in data["issues"]])
    parts = []
    for group in (frame[frame["_asb"]], frame[~frame["_asb"]]):
        group = group.reset_index(drop=True)
        parts.append(publish(group, years, total_rows=list(group.index[group["_total"]]),
                             derived={"_rate": years[-1]}, policy=policy))
    published = stack(parts)   # each with its own totals
    spec = published.attrs[ARITHMETIC_KEY]
    published = published.drop(columns=["_asb", "_total"])
    published.attrs[ARITHMETIC_KEY] = spec
    return published


def published_profile(data: dict[str, Any], settings: Settings | None = None
                      ) -> dict[str, Any]:
    """The profile as published: counts as the briefing shows them ('<5' from 1 to 4, '*'
    where one would give a small count away), and every figure computed from a hidden count
    '*': its rates, the percentage change and p-values, the rate of the rest of each place
    (the place less this area). Monthly counts are published under the same policy, with
    each year's total as a known sum. Raises DisclosureLeak if the result fails the audit."""
    settings = settings or Settings()
    policy = DisclosurePolicy.from_settings(settings)
    star = policy.secondary_label
    out = json.loads(json.dumps(data))
    years = _years_held(data)
    counts = _published_counts(data, policy).set_index("Category")

    def shown(value: Any) -> Any:
        text = str(value)
        return int(text) if text.isdigit() else text

    last, before = str(data["years"][-1]), str(data["years"][-2])
    for issue in out["issues"]:
        row = counts.loc[issue["category"]]
        hidden = {y for y in years if not str(row[y]).isdigit()}
        for y in years:
            issue["counts_by_year"][y] = shown(row[y])
            if y in hidden:
                issue["rates_by_year"][y] = star
        if last in years:
            issue["count"] = shown(row[last])
        if last in hidden:
            issue["rate_per_1000"] = star
        change = issue["change"]
        # The change is on the months both years hold: its counts are their own figures, each
        # under the policy, and hidden where it and the year's count differ by 1-4 (the months
        # left out would be that count).
        for key, y in (("count", last), ("baseline_count", before)):
            exact = int(change[key])
            year = issue["counts_by_year"].get(y)
            if policy.is_small(exact) or y in hidden and exact:
                change[key] = policy.label if policy.is_small(exact) else star
            elif isinstance(year, int) and policy.is_small(year - exact):
                change[key] = star
            else:
                change[key] = exact
        if {last, before} & hidden or not all(isinstance(change[k], int)
                                              for k in ("count", "baseline_count")):
            change["pct_change"] = change["p_value"] = change["q_value"] = star
        if hidden:
            issue["trend"]["p_value"] = star
        if last in hidden:
            issue["vs_district_p_value"] = star
            for role, entry in issue["comparisons"].items():
                entry["p_value"] = star
                if role != "peers":   # the rest of the place is the place less this area
                    entry["rest_rate_per_1000"] = star
    for entry in out["parents"].values():
        if policy.is_small(int(entry["count"])):
            entry["count"], entry["rate_per_1000"] = policy.label, star
    out["trend"] = _published_months(data, counts, policy)
    out["published"] = (f"disclosure policy: counts of 1 to {policy.threshold - 1} as "
                        f"'{policy.label}', figures that would reveal one as '{star}'")
    audit_profile_json(out, settings)
    return out  # type: ignore[no-any-return]


def _published_months(data: dict[str, Any], counts: pd.DataFrame,
                      policy: DisclosurePolicy) -> list[dict[str, Any]]:
    """The monthly all-crime and ASB counts under the policy; each year's published total
    is a known sum of its months, so no month is left recoverable from it."""
    months = pd.DataFrame(data["trend"])
    if months.empty:
        return []
    columns = [ALL_CRIME, ASB]
    year_of = months["month"].str[:4]
    known = [KnownSum(c, int(counts.loc[c, y]), tuple(months.index[year_of == y]))
             for c in columns if c in counts.index for y in sorted(set(year_of))
             if y in counts.columns and str(counts.loc[c, y]).isdigit()]
    published = publish(months, columns, known_sums=known, policy=policy)
    return [{"month": r["month"], **{c: (int(r[c]) if str(r[c]).isdigit() else r[c])
                                     for c in columns}}
            for r in published.to_dict("records")]


def audit_profile_json(published: dict[str, Any], settings: Settings | None = None) -> None:
    """The disclosure audit of a published profile dict: its issues (counts by year with the
    all-crime total, and every figure computed from them) and its monthly counts (with the
    yearly totals), each as a table with its arithmetic. Raises DisclosureLeak."""
    settings = settings or Settings()
    policy = DisclosurePolicy.from_settings(settings)
    years = _years_held(published)
    last, before = str(published["years"][-1]), str(published["years"][-2])
    rows = []
    leaks = []
    for issue in published["issues"]:
        change = issue["change"]
        row = {"Category": issue["category"], **{y: issue["counts_by_year"][y] for y in years},
               "change now": change["count"], "change before": change["baseline_count"],
               "rate": issue["rate_per_1000"], "pct_change": change["pct_change"],
               "change_p": change["p_value"], "change_q": change.get("q_value"),
               "trend_p": issue["trend"]["p_value"],
               "vs_district_p": issue["vs_district_p_value"]}
        # The change's counts cover some of the year's months: the difference is a count too.
        for key, y in (("change now", last), ("change before", before)):
            if isinstance(row[key], int) and isinstance(row.get(y), int) \
                    and policy.is_small(row[y] - row[key]):
                leaks.append(Leak("profile JSON", issue["category"], issue["category"], key,
                                  row[y] - row[key], f"{y} less the change's {key} is a count "
                                  f"below {policy.threshold}"))
        for y in years:
            row[f"rate {y}"] = issue["rates_by_year"][y]
        for role, entry in issue["comparisons"].items():
            row[f"{role} p"] = entry.get("p_value")
            if role != "peers":
                row[f"{role} rest rate"] = entry.get("rest_rate_per_1000")
        rows.append(row)
    frame = pd.DataFrame(rows)
    crime = [i for i, c in enumerate(frame["Category"]) if c not in (ASB, ALL_CRIME)]
    total = [i for i, c in enumerate(frame["Category"]) if c == ALL_CRIME]
    derived: list[tuple[str, Any]] = []
    if last in years:
        derived += [("rate", Computed((last,)))]
        derived += [(c, Computed((last,))) for c in frame.columns
                    if c == "vs_district_p" or c.endswith((" p", " rest rate"))]
        derived += [("pct_change", PercentChange("change now", "change before")),
                    ("change_p", Computed(("change now", "change before"))),
                    ("change_q", Computed(("change now", "change before")))]
    derived += [(f"rate {y}", Computed((y,))) for y in years]
    derived += [("trend_p", Computed(tuple(years)))]
    leaks += audit_table(frame, Arithmetic(
        counts=(*years, "change now", "change before"),
        row_sums=tuple(RowSum(t, tuple(crime)) for t in total),
        derived=tuple(derived), threshold=policy.threshold, label=policy.label,
        secondary_label=policy.secondary_label), name="profile JSON issues")
    months = pd.DataFrame(published["trend"])
    if not months.empty:
        year_of = months["month"].str[:4]
        known = tuple(KnownSum(c, int(frame.loc[frame["Category"] == c, y].iloc[0]),
                               tuple(months.index[year_of == y]))
                      for c in (ALL_CRIME, ASB) if c in set(frame["Category"])
                      for y in sorted(set(year_of)) if y in years
                      and isinstance(frame.loc[frame["Category"] == c, y].iloc[0], int))
        leaks += audit_table(months, Arithmetic(
            counts=(ALL_CRIME, ASB), known_sums=known, threshold=policy.threshold,
            label=policy.label, secondary_label=policy.secondary_label),
            name="profile JSON monthly counts")
    if leaks:
        raise DisclosureLeak(leaks)


def _change_paragraphs(data: dict[str, Any], hidden: set[str], settings: Settings
                       ) -> list[Paragraph]:
    years = data["years"]
    out = []
    for issue in data["issues"]:
        ch = issue["change"]
        if issue["category"] in hidden or ch["verdict"] not in ("significant increase",
                                                               "significant decrease"):
            continue
        row = {"period": str(years[-1]), "baseline_period": str(years[-2]), **ch}
        out.append(Paragraph(change_sentence(issue["category"], row, settings), "finding"))
    return out


def _asb_section(con: duckdb.DuckDBPyConnection, data: dict[str, Any],
                 settings: Settings) -> Section:
    area = _selection(data)
    series = monthly_series(con, area, category=ASB, **_judged(data), settings=settings)
    small = bool(((series["count"] >= 1) & (series["count"] < settings.suppress_below)).any()
                 ) if not series.empty else False
    blocks: list[Paragraph | Any] = []
    if series.empty or not small:
        blocks.append(trend_chart("asb-trend", f"Anti-social behaviour by month, {data['name']}",
                                  series, area_name=data["name"], source="police.uk"))
    else:
        # Monthly counts this small would be published by the chart: show the seasonal
        # index instead, which is a ratio and discloses no count.
        index = pd.DataFrame([{"month": m, "index": v}
                              for m, v in data["asb"]["seasonality"].items()])
        blocks.append(bar_chart("asb-trend", f"Anti-social behaviour: seasonal index by month, "
                                f"{data['name']}", index, category="month", value="index",
                                value_title="Seasonal index (1 = average month)",
                                source="police.uk"))
        blocks.append(Paragraph("Monthly counts include some below "
                                f"{settings.suppress_below}, so the seasonal index is shown "
                                "instead of the monthly series.", "caveat"))
    peaks = data["asb"]["peak_months"]
    if peaks:
        words = ", ".join(pd.Timestamp(p + "-01").strftime("%B %Y") for p in peaks)
        blocks.insert(0, Paragraph(f"{{figure:asb-trend}} shows anti-social behaviour by "
                                   f"month. The busiest months of {data['period']} were "
                                   f"{words}."))
    return Section("asb", "Anti-social behaviour through the year", blocks)


def _deprivation_section(con: duckdb.DuckDBPyConnection, data: dict[str, Any]) -> Section:
    dep = data["deprivation"]
    if not dep["lsoas"]:
        return Section("deprivation", "Deprivation",
                       [Paragraph(f"No deprivation ranks are held ({dep.get('note')}).",
                                  "caveat")])
    frame = pd.DataFrame([{"LSOA": r["code"], "Name": r["name"], "Ward": r["ward"],
                           "IMD rank": r["imd_rank"], "National decile": r["national_decile"],
                           "Local decile": r["local_decile"]} for r in dep["lsoas"]])
    other = dep.get("other_edition") or {}
    order = {d: i for i, d in enumerate(DOMAIN_NAMES)}
    names = sorted(dict.fromkeys([*dep["domains"], *other.get("domains", {})]),
                   key=lambda d: order.get(d, len(order)))
    own_col = f"IoD{dep['edition']} mean national rank"

    def whole(value: float | None) -> int | None:   # a mean rank to the nearest rank
        return None if value is None else int(round(value))

    domains = pd.DataFrame([{"Domain": DOMAIN_NAMES.get(d, d),
                             own_col: whole(dep["domains"].get(d))} for d in names])
    domain_notes = ["Rank 1 is the most deprived LSOA in England."]
    if other.get("domains"):
        other_col = f"IoD{other['edition']} mean national rank"
        domains[other_col] = [whole(other["domains"].get(d)) for d in names]
        if other.get("mapped"):
            domain_notes.append(
                f"IoD{other['edition']} is published on the other LSOA edition: its ranks are "
                f"those of the {len(other['lsoas'])} LSOAs the ONS lookup links to this "
                f"area's, and describe the area as it was measured then.")
    codes = pd.DataFrame({"code": [r["code"] for r in dep["lsoas"]],
                          "name": [r["name"] for r in dep["lsoas"]],
                          "value": [r["national_decile"] for r in dep["lsoas"]]})
    figure = choropleth("deprivation-map", f"{data['name']}: IMD national decile by LSOA",
                        con, codes_values=codes, level="lsoa",
                        value_title="National decile (1 = most deprived)",
                        vintage=data["lsoa_vintage"], source=f"IoD{dep['edition']}",
                        domain=(1, 10), reverse=True)
    return Section("deprivation", "Deprivation", [
        Paragraph(f"{{table:deprivation}} ranks the area's LSOAs on the Index of Multiple "
                  f"Deprivation (IoD{dep['edition']}); {{figure:deprivation-map}} maps their "
                  f"national deciles. Local deciles rank the LSOAs within "
                  f"{dep.get('local_within') or 'the district'} (1 = its most deprived tenth)."),
        Table("deprivation", f"Deprivation of the LSOAs of {data['name']}", frame,
              source=f"IoD{dep['edition']}"),
        Table("domains", f"Mean national rank by domain, {data['name']}", domains,
              source=", ".join(dict.fromkeys(
                  [f"IoD{dep['edition']}"]
                  + ([f"IoD{other['edition']}"] if other.get("domains") else []))),
              notes=domain_notes),
        figure])


def _methods_section(data: dict[str, Any], policy: DisclosurePolicy) -> Section:
    pop = data["population"]
    district = data["district"]["name"]
    blocks = [
        Paragraph(f"How the area was drawn: {data['rule']}.", "caveat"),
        Paragraph(f"Residents: {pop['source']}"
                  + (f"; {pop['note']}." if pop.get("note") else ".")
                  + " Every rate in this briefing uses populations on the same LSOA edition, "
                  "so the area and the places it is compared with are measured alike.",
                  "caveat"),
        Paragraph(f"Comparisons test {data['name']} against the rest of each place (for "
                  f"{district}, its {data['district']['rest_lsoas']} other LSOAs), never "
                  "against a total that includes the area itself. Similar wards are the "
                  f"wards of {district} whose population is within 50% of the area's, pooled "
                  "into one comparison and leaving out wards lying wholly inside the area.",
                  "caveat"),
        Paragraph("Police recorded crime counts what was reported and recorded where it was "
                  "located (to an anonymised point), not all crime; a change in recording or "
                  "in reporting moves the figures as much as a change in crime does.",
                  "caveat"),
        Paragraph("Tests: a change on the previous year is computed on the calendar months "
                  "both years hold and tested on those monthly counts (quasi-Poisson, allowing "
                  "for the month-to-month variation the series shows; the exact Poisson E-test "
                  "where too few months or no extra variation); a trend over the three years "
                  "is tested on the monthly counts with calendar-month effects in the same "
                  "way; a comparison of rates uses the E-test. Each family of tests below is "
                  "decided together with the Benjamini–Hochberg procedure, so that a verdict "
                  "names a difference only when it survives the number of issues tested: "
                  + "; ".join(data.get("families", [])) + ".", "caveat"),
        Paragraph(f"Counts from 1 to {policy.threshold - 1} are not published, nor any "
                  "figure from which one could be worked out; the JSON file beside this "
                  "briefing holds the same published figures. Exact figures for analysts are "
                  "written only on request and must not be published.", "caveat")]
    return Section("context", "Method and caveats", blocks)


def _selection(data: dict[str, Any]) -> AreaSelection:
    if data["level"] == "custom":
        return AreaSelection(data["code"], data["name"], "custom", tuple(data["lsoas"]))
    return AreaSelection(data["code"], data["name"], data["level"])
