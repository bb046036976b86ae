"""A place profile: the briefing a partnership asks for about one neighbourhood, estate or ward
group (a named area or a custom one from `measures.custom_areas`).

`profile` returns the analyst view as a JSON-ready dict with exact counts. `write_profile` turns it
into a short briefing document (HTML/PDF through `write_document`) in which every published count
has passed the disclosure policy (1-4 shown as '<5', cells that would give them away as '*'),
and writes the dict as `{stem}.json` beside it.

The area is compared with the rest of its district (the district minus the area's LSOAs, so the
two counts are independent, as the Poisson test assumes, and both denominators are sums of the
same LSOA population figures), and with the district's wards of the same size class
(`custom_areas.size_class_peers`).
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
    LEVEL_COLUMN,
    AreaSelection,
    Population,
    children,
    custom_area,
    events_vintage,
    parents,
    populations_by_year,
)
from cspkit.measures.change import compare_counts
from cspkit.measures.comparisons import HIGHER, LOWER, SAME, TOO_FEW
from cspkit.measures.control import seasonal_profile
from cspkit.measures.counts import ALL_CRIME, ASB, area_period, rate
from cspkit.measures.custom_areas import area_lsoas, size_class_peers
from cspkit.measures.deprivation import DOMAIN_NAMES, EDITION_VINTAGE, lsoa_deprivation
from cspkit.measures.disclosure import DisclosurePolicy, publish
from cspkit.measures.period_change import change
from cspkit.measures.periods import calendar_year
from cspkit.measures.series import monthly_counts, monthly_series, peak_months
from cspkit.measures.settings import Settings
from cspkit.products.report.charts import bar_chart, choropleth, trend_chart
from cspkit.products.report.document import Document, Paragraph, Section, Table
from cspkit.products.report.narrative import change_sentence, count_text
from cspkit.products.report.render import write_document

FORMATS = {"html", "pdf", "json"}
SOURCE = "police.uk street-level crime and ASB; ONS population; MHCLG Indices of Deprivation"
_VERDICT_VS = {"significant increase": HIGHER, "significant decrease": LOWER,
               "no significant change": SAME}


# -- the analyst view -------------------------------------------------------------------------

def default_district(con: duckdb.DuckDBPyConnection, area: AreaSelection) -> AreaSelection:
    """The district holding most of the area's LSOAs (of the edition its events use)."""
    if area.level == "lad":
        return area
    condition, params = area.where("g")
    row = con.execute(
        f"""SELECT g.lad_code, any_value(g.lad_name), count(DISTINCT g.lsoa_code) n
            FROM lsoa_geography g WHERE {condition} AND g.lsoa_vintage = ?
              AND g.lad_code IS NOT NULL
            GROUP BY 1 ORDER BY n DESC, 1 LIMIT 1""",
        [*params, events_vintage(con, area)]).fetchone()
    if row is None:
        raise AreaNotFound(f"{area.name} lies in no district the warehouse holds")
    return AreaSelection(row[0], row[1] or row[0], "lad")


def _lsoas_used(con: duckdb.DuckDBPyConnection, area: AreaSelection, vintage: str) -> list[str]:
    if area.level == "custom":
        return list(area.lsoas)
    condition, params = area.where("g")
    return [r[0] for r in con.execute(
        f"""SELECT DISTINCT g.lsoa_code FROM lsoa_geography g
            WHERE {condition} AND g.lsoa_vintage = ? ORDER BY 1""",
        [*params, vintage]).fetchall()]


def _by_category(frame: pd.DataFrame, column: str = "count") -> dict[str, Any]:
    return {str(c): v for c, v in zip(frame["category"], frame[column], strict=True)}


def _vs(count: int, rest_count: int, pop: float | None, rest_pop: float | None,
        settings: Settings) -> tuple[str, float | None]:
    if not pop or not rest_pop:
        return "", None
    result = compare_counts(count, rest_count, pop, rest_pop, settings)
    return _VERDICT_VS.get(result.verdict, TOO_FEW), result.p_value


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
    lsoas = _lsoas_used(con, area, vintage)

    # Every count below comes from one table of the events by LSOA, edition, year and
    # category, summed over each place's (LSOA, edition) pairs: the same join `counts` makes.
    inside = area_lsoas(con, area)
    rest_codes = sorted(set(_lsoas_used(con, district, vintage)) - inside)
    rest = (custom_area(con, f"{district.name} excluding {area.name}", rest_codes)
            if rest_codes else None)
    # Every population on the area's LSOA edition, in one batch: the area, the rest of the
    # district, the containing areas and every ward the peers are chosen from.
    context = _context_places(con, district)
    batch = populations_by_year(con, [area, *([rest] if rest else []),
                                      *[p for _, p in context],
                                      *children(con, district, "ward")], [year, year - 1],
                                vintage)
    pops = {place: value for (place, y), value in batch.items() if y == year}
    peers = size_class_peers(con, area, district, year=year)
    places = [area, district, *([rest] if rest else []), *peers]
    totals = _place_counts(con, _pairs(con, places), years[0], year)
    counts_of = totals[area]
    now = area_period(con, area, period)
    area_pop = now.population.persons
    district_now = totals[district][year]
    district_pop = pops[district]
    rest_counts = totals[rest][year] if rest else {}
    rest_pop = pops[rest].persons if rest else None
    peer_counts = {p: totals[p][year] for p in peers}
    changes = change(con, area, period, calendar_year(year - 1), allow_partial=True,
                     total=True, settings=settings)

    # Most frequent first (as `counts` orders them), then by name; the total last.
    named = {c for y in years for c in counts_of[y]} | set(district_now)
    categories = sorted(named - {ALL_CRIME},
                        key=lambda c: (-counts_of[year].get(c, 0), c)) + [ALL_CRIME]
    change_rows = {str(r["category"]): r for r in changes.to_dict("records")}
    issues = []
    for category in categories:
        count = counts_of[year].get(category, 0)
        verdict, p_value = _vs(count, rest_counts.get(category, 0), area_pop, rest_pop,
                               settings)
        peer_rates = [rate(peer_counts[p].get(category, 0), category, pops[p], settings)
                      for p in peers]
        peer_rates_known = [r for r in peer_rates if r is not None]
        ch = change_rows.get(category, {})
        issues.append({
            "category": category,
            "is_total": category == ALL_CRIME,
            "count": count,
            "rate_per_1000": rate(count, category, now.population, settings),
            "counts_by_year": {str(y): counts_of[y].get(category, 0) for y in years},
            "change": {
                "count": int(ch.get("count", count)),
                "baseline_count": int(ch.get("baseline_count",
                                             counts_of[year - 1].get(category, 0))),
                "pct_change": ch.get("pct_change"),
                "p_value": ch.get("p_value"),
                "verdict": ch.get("verdict", ""),
                "comparison_note": ch.get("comparison_note", ""),
            },
            "district_rate_per_1000": rate(district_now.get(category, 0), category,
                                           district_pop, settings) or 0.0,
            "vs_district": verdict,
            "vs_district_p_value": p_value,
            "peer_rate_per_1000": (round(sum(peer_rates_known) / len(peer_rates_known), 3)
                                   if peer_rates_known else None),
        })
    pop = now.population
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
        "district": {"code": district.code, "name": district.name,
                     "rest_population": rest_pop, "rest_lsoas": len(rest_codes)},
        "peers": [{"code": p.code, "name": p.name} for p in peers],
        "issues": issues,
        "stands_out_on": [i["category"] for i in issues
                          if i["vs_district"] == HIGHER and not i["is_total"]],
        "deprivation": _deprivation(con, area, district),
        "asb": _asb(con, area, period, settings),
        "parents": _parents(con, context, pops, period, settings),
        "settings": {"alpha": settings.alpha, "suppress_below": settings.suppress_below,
                     "rate_per": settings.rate_per},
    }
    return _plain(result)  # type: ignore[no-any-return]


def _pairs(con: duckdb.DuckDBPyConnection, places: list[AreaSelection]
           ) -> dict[AreaSelection, frozenset[tuple[str, str]]]:
    """The (LSOA code, edition) pairs each place selects, as its `where` condition does on the
    hierarchy; one query per level rather than per place."""
    out: dict[AreaSelection, frozenset[tuple[str, str]]] = {}
    custom = [p for p in places if p.level == "custom"]
    if custom:
        rows = con.execute(
            """SELECT lsoa_code, lsoa_vintage FROM lsoa_geography
               WHERE lsoa_code IN (SELECT unnest(?))""",
            [sorted({c for p in custom for c in p.lsoas})]).fetchall()
        for place in custom:
            codes = set(place.lsoas)
            out[place] = frozenset((c, v) for c, v in rows if c in codes)
    by_level: dict[str, list[AreaSelection]] = {}
    for place in places:
        if place.level != "custom":
            by_level.setdefault(place.level, []).append(place)
    for level, group in by_level.items():
        column = LEVEL_COLUMN[level]
        found: dict[str, set[tuple[str, str]]] = {}
        for code, lsoa, edition in con.execute(
            f"""SELECT {column}, lsoa_code, lsoa_vintage FROM lsoa_geography
                WHERE {column} IN (SELECT unnest(?))""", [[p.code for p in group]]).fetchall():
            found.setdefault(code, set()).add((lsoa, edition))
        for place in group:
            out[place] = frozenset(found.get(place.code, set()))
    return out


def _place_counts(con: duckdb.DuckDBPyConnection,
                  places: dict[AreaSelection, frozenset[tuple[str, str]]], first_year: int,
                  last_year: int, source: str = "police.uk"
                  ) -> dict[AreaSelection, dict[int, dict[str, int]]]:
    """Located events of `source` by place, calendar year and category (with the all-crime
    total), from one query over the events joined to each place's (LSOA, edition) pairs."""
    order = list(places)
    members = [(i, code, edition) for i, place in enumerate(order)
               for code, edition in sorted(places[place])]
    rows = con.execute(
        """WITH m AS (SELECT unnest(?) AS place, unnest(?) AS lsoa_code,
                             unnest(?) AS lsoa_vintage)
           SELECT m.place, year(e.month) AS year, e.category, count(*)
           FROM events e
           JOIN lsoa_geography g
             ON g.lsoa_code = e.lsoa_code AND g.lsoa_vintage = e.lsoa_vintage
           JOIN m ON m.lsoa_code = e.lsoa_code AND m.lsoa_vintage = e.lsoa_vintage
           WHERE e.source = ? AND e.month BETWEEN ? AND ?
           GROUP BY ALL""",
        [[m[0] for m in members], [m[1] for m in members], [m[2] for m in members],
         source, date(first_year, 1, 1), date(last_year, 12, 31)]).fetchall()
    out: dict[AreaSelection, dict[int, dict[str, int]]] = {
        p: {y: {} for y in range(first_year, last_year + 1)} for p in order}
    for i, year, category, n in rows:
        out[order[i]][int(year)][str(category)] = int(n)
    for by_year in out.values():
        for counts_ in by_year.values():
            counts_[ALL_CRIME] = sum(n for c, n in counts_.items() if c != ASB)
    return out


def _first(frame: pd.DataFrame | None, column: str) -> Any:
    if frame is None or frame.empty or column not in frame:
        return None
    value = frame[column].iloc[0]
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _rule_text(area: AreaSelection, lsoas: list[str], vintage: str,
               info: dict[str, Any] | None) -> str:
    if info and info.get("rule"):
        return str(info["rule"])
    if area.level == "custom":
        return f"a custom area of {len(lsoas)} listed LSOAs ({vintage} edition)"
    return f"the {area.level} {area.name} ({area.code}): its {len(lsoas)} LSOAs ({vintage} edition)"


def _deprivation(con: duckdb.DuckDBPyConnection, area: AreaSelection,
                 district: AreaSelection) -> dict[str, Any]:
    """The area's LSOAs with their national decile and their local decile, i.e. within the
    district (a decile within a handful of LSOAs would say little); LSOAs outside the district
    have no local decile."""
    try:
        in_district = lsoa_deprivation(con, district)
        edition = str(in_district["edition"].iloc[0]) if not in_district.empty else None
        frame = in_district[in_district["lsoa_code"].isin(area_lsoas(con, area))]
        if set(frame["lsoa_code"]) != set(_lsoas_used(con, area, EDITION_VINTAGE.get(
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
              "local_decile": r["local_decile"]} for r in frame.to_dict("records")]
    domains = {}
    for column in frame.columns:
        if column.endswith("_rank") and frame[column].notna().any():
            domain = "imd" if column == "imd_rank" else column[: -len("_rank")]
            domains[domain] = round(float(frame[column].mean()), 1)
    return {"edition": str(frame["edition"].iloc[0]), "lsoas": lsoas, "domains": domains,
            "local_within": district.name,
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


def _parents(con: duckdb.DuckDBPyConnection, places: list[tuple[str, AreaSelection]],
             pops: dict[AreaSelection, Population], period: Any,
             settings: Settings) -> dict[str, Any]:
    """All crime (excluding ASB) in the district, its county and force, counted as `counts`
    counts them, from one query."""
    scope = [f"g.{LEVEL_COLUMN[p.level]} = ?" for _, p in places]
    codes = [p.code for _, p in places]
    row = con.execute(
        f"""SELECT {", ".join(f"count(*) FILTER (WHERE {c})" for c in scope)}
            FROM events e JOIN lsoa_geography g
              ON g.lsoa_code = e.lsoa_code AND g.lsoa_vintage = e.lsoa_vintage
            WHERE e.source = 'police.uk' AND e.month BETWEEN ? AND ?
              AND e.category IS DISTINCT FROM ? AND ({" OR ".join(scope)})""",
        [*codes, period.start, period.end, ASB, *codes]).fetchone()
    out: dict[str, Any] = {}
    for (role, place), count in zip(places, row or [0] * len(places), strict=True):
        pop = pops[place]
        out[role] = {"code": place.code, "name": place.name, "level": place.level,
                     "category": ALL_CRIME, "count": int(count),
                     "rate_per_1000": rate(int(count), ALL_CRIME, pop, settings),
                     "population": pop.persons}
    return out


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
                  settings: Settings | None = None) -> dict[str, Path]:
    """Write the place briefing (`{stem}.html`, `{stem}.pdf`, its tables as CSV/XLSX) and the
    analyst view `{stem}.json`, stem being the slug of the area's name. `fmt` is a subset of
    {'html', 'pdf', 'json'} (default all). Returns the paths written by kind."""
    fmt = set(fmt or FORMATS)
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
        paths["json"].write_text(json.dumps(data, indent=2), encoding="utf-8")
    return paths


def build_document(con: duckdb.DuckDBPyConnection, data: dict[str, Any],
                   settings: Settings | None = None) -> Document:
    """The briefing Document for a profile dict; counts published through disclosure."""
    settings = settings or Settings()
    policy = DisclosurePolicy.from_settings(settings)
    name, year = data["name"], data["years"][-1]
    district = data["parents"].get("district", {}).get("name") or data["district"]["name"]
    issues_table, hidden = _issues_table(data, policy)
    doc = Document(
        title=f"Place profile: {name}", area_name=name, area_code=data["code"],
        period_label=str(year), produced=date.today(),
        details={"Area": name, "Selection": data["rule"], "District": district,
                 "Period": data["period"], "LSOAs": str(len(data["lsoas"]))})
    doc.sections = [
        _summary_section(data, district, hidden, policy, settings),
        Section("issues", "Crime and anti-social behaviour", [
            Paragraph(f"{{table:issues}} gives the counts for {data['years'][0]} to {year}, the "
                      f"rate per 1,000 residents in {year} beside {district}'s and the mean of "
                      f"{len(data['peers'])} wards of {district} of a similar population, "
                      f"and whether {name} differs significantly from the rest of {district}."),
            issues_table,
            *_change_paragraphs(data, hidden, settings)]),
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
        blocks.append(Paragraph(
            f"In {data['period']} police recorded {count_text(total['count'], settings)} "
            f"crimes in {name}; compared with the rest of {district} the rate was "
            f"{_verdict_words(total['vs_district'])}.", "finding"))
    stands = data["stands_out_on"]
    blocks.append(Paragraph(
        f"{name} stands out (significantly higher rate than the rest of {district}) on: "
        f"{', '.join(stands)}." if stands else
        f"On no category is {name}'s rate significantly higher than the rest of {district}.",
        "finding"))
    lsoa_names = {r["code"]: r for r in data["deprivation"]["lsoas"]}
    frame = pd.DataFrame([{"LSOA": code, "Name": lsoa_names.get(code, {}).get("name") or "",
                           "Ward": lsoa_names.get(code, {}).get("ward") or ""}
                          for code in data["lsoas"]])
    blocks.append(Table("lsoas", f"The LSOAs making up {name}", frame,
                        source="ONS LSOA geography",
                        notes=[f"LSOAs of the {data['lsoa_vintage']} edition."]))
    return Section("summary", "Summary", list(blocks))


def _verdict_words(verdict: str) -> str:
    return {HIGHER: "significantly higher", LOWER: "significantly lower",
            SAME: "not significantly different",
            TOO_FEW: "based on too few incidents to compare reliably"}.get(
                verdict, "not compared (no population for the rest of the district)")


def _issues_table(data: dict[str, Any], policy: DisclosurePolicy) -> tuple[Table, set[str]]:
    """The issues table with counts published; also the categories whose current or previous
    count is hidden (so no sentence restates them)."""
    years = [str(y) for y in data["years"]]
    rate_col = f"Rate per 1,000 ({years[-1]})"
    rows = [{"Category": i["category"], **{y: i["counts_by_year"][y] for y in years},
             rate_col: i["rate_per_1000"],
             "District rate per 1,000": i["district_rate_per_1000"],
             "Similar wards rate per 1,000": i["peer_rate_per_1000"],
             "Compared with rest of district": i["vs_district"] or "not compared",
             f"Change on {years[-2]}": i["change"]["verdict"],
             "_asb": i["category"] == ASB, "_total": i["is_total"]}
            for i in data["issues"]]
    frame = pd.DataFrame(rows)
    crime = frame[~frame["_asb"]].reset_index(drop=True)
    total_rows = list(crime.index[crime["_total"]])
    published_crime = publish(crime, years, total_rows=total_rows, derived={rate_col: years[-1]},
                              policy=policy)
    asb = frame[frame["_asb"]].reset_index(drop=True)
    published_asb = publish(asb, years, derived={rate_col: years[-1]}, policy=policy)
    published = pd.concat([published_asb, published_crime], ignore_index=True)
    hidden = {str(r["Category"]) for r in published.to_dict("records")
              if not (str(r[years[-1]]).isdigit() and str(r[years[-2]]).isdigit())}
    published = published.drop(columns=["_asb", "_total"])
    table = Table("issues", f"Crime and ASB in {data['name']}, {years[0]} to {years[-1]}",
                  published, source=SOURCE,
                  notes=[f"Counts from 1 to {policy.threshold - 1} are shown as "
                         f"'{policy.label}'; '{policy.secondary_label}' marks a figure hidden "
                         "so that a small count cannot be worked out from the totals.",
                         "Compared with rest of district: the area's rate against the rest of "
                         "the district (Poisson E-test, residents as exposure)."])
    return table, hidden


def _change_paragraphs(data: dict[str, Any], hidden: set[str], settings: Settings
                       ) -> list[Paragraph]:
    years = data["years"]
    out = []
    for issue in data["issues"]:
        ch = issue["change"]
        if issue["category"] in hidden or ch["verdict"] not in ("significant increase",
                                                               "significant decrease"):
            continue
        row = {**ch, "period": str(years[-1]), "baseline_period": str(years[-2])}
        out.append(Paragraph(change_sentence(issue["category"], row, settings), "finding"))
    return out


def _asb_section(con: duckdb.DuckDBPyConnection, data: dict[str, Any],
                 settings: Settings) -> Section:
    area = _selection(data)
    series = monthly_series(con, area, category=ASB, settings=settings)
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
    domains = pd.DataFrame([{"Domain": DOMAIN_NAMES.get(d, d), "Mean national rank": v}
                            for d, v in dep["domains"].items()])
    codes = pd.DataFrame({"code": [r["code"] for r in dep["lsoas"]],
                          "name": [r["name"] for r in dep["lsoas"]],
                          "value": [r["national_decile"] for r in dep["lsoas"]]})
    figure = choropleth("deprivation-map", f"{data['name']}: IMD national decile by LSOA",
                        con, codes_values=codes, level="lsoa",
                        value_title="National decile (1 = most deprived)",
                        vintage=data["lsoa_vintage"], source=f"IoD{dep['edition']}")
    return Section("deprivation", "Deprivation", [
        Paragraph(f"{{table:deprivation}} ranks the area's LSOAs on the Index of Multiple "
                  f"Deprivation (IoD{dep['edition']}); {{figure:deprivation-map}} maps their "
                  f"national deciles. Local deciles rank the LSOAs within "
                  f"{dep.get('local_within') or 'the district'} (1 = its most deprived tenth)."),
        Table("deprivation", f"Deprivation of the LSOAs of {data['name']}", frame,
              source=f"IoD{dep['edition']}"),
        Table("domains", f"Mean national rank by domain, {data['name']}", domains,
              source=f"IoD{dep['edition']}", notes=["Rank 1 is the most deprived LSOA in "
                                                    "England."]),
        figure])


def _methods_section(data: dict[str, Any], policy: DisclosurePolicy) -> Section:
    parents_ = data["parents"]
    frame = pd.DataFrame([{"Area": p["name"], "Level": p["level"],
                           "All crime rate per 1,000": p["rate_per_1000"]}
                          for p in parents_.values()])
    area_total = next(i for i in data["issues"] if i["is_total"])
    frame = pd.concat([pd.DataFrame([{"Area": data["name"], "Level": "this area",
                                      "All crime rate per 1,000": area_total["rate_per_1000"]
                                      if area_total["count"] >= policy.threshold
                                      or area_total["count"] == 0
                                      else policy.secondary_label}]), frame],
                      ignore_index=True)
    return Section("context", "Context and method", [
        Table("context", "All crime (excluding ASB): rates per 1,000 residents", frame,
              source=SOURCE),
        Paragraph(f"How the area was drawn: {data['rule']}. Populations: "
                  f"{data['population']['source']}.", "caveat"),
        Paragraph(f"Counts from 1 to {policy.threshold - 1} are not published; the JSON file "
                  "beside this briefing holds exact figures for analysts and must not be "
                  "published.", "caveat")])


def _selection(data: dict[str, Any]) -> AreaSelection:
    if data["level"] == "custom":
        return AreaSelection(data["code"], data["name"], "custom", tuple(data["lsoas"]))
    return AreaSelection(data["code"], data["name"], data["level"])
