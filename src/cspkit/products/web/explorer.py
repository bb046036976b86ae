"""The Issue explorer: one issue x period x level (district, ward, LSOA) -> the monthly trend
with its expected range, a map of the level's areas, a sortable table, the comparison with the
district's siblings and most similar districts, and the table as CSV.

Everything shown is the strategic assessment's own work: the trend is `series.monthly_series`
judged with the document's family of inspected months (`assessment.exceptional_family`) and
described by `assessment.exceptional_sentence`; the ward and LSOA tables are
`period_change.place_change` with the document's share of the error budget for a ward table;
the comparisons are the document's `assessment.comparison` and `similar_section`. All of it is
published through `blocks.checked`, so small counts show as <5 and the disclosure audit sees
every table together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import duckdb
import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from pydantic import BaseModel

from cspkit.measures import period_change, series
from cspkit.measures.areas import AreaSelection, children, events_vintage, populations
from cspkit.measures.comparisons import comparison_parent as comparisons_parent
from cspkit.measures.counts import ALL_CRIME
from cspkit.measures.disclosure import DisclosurePolicy, hidden_last, publish
from cspkit.measures.disclosure_audit import Difference, KnownSum, Rate
from cspkit.measures.held import categories_held
from cspkit.measures.periods import Period, year_before
from cspkit.measures.settings import Settings
from cspkit.products.report import charts
from cspkit.products.report.assessment import (
    ISSUES,
    MIN_FOR_WARD_TABLE,
    POLICE_SOURCE,
    Context,
    change_budget,
    compared_labels,
    comparison,
    exceptional_family,
    exceptional_sentence,
    verdict_note,
)
from cspkit.products.report.config import LocalContent
from cspkit.products.report.document import Block, Paragraph, Section, Table
from cspkit.products.report.partners import PARTNER_SOURCES
from cspkit.products.report.similar_section import similar_section
from cspkit.products.web.app import Warehouse, WebState, encode_json, json_api, state
from cspkit.products.web.auth import current_user, may_see_restricted, withheld_note
from cspkit.products.web.blocks import block_json, checked, table_csv, table_json
from cspkit.products.web.context import (
    AREA_PATTERN,
    PERIOD_PATTERN,
    BadRequest,
    NotFound,
    Scope,
)
from cspkit.products.web.snapshots import Token
from cspkit.products.web.svgmap import MapArea, published_number, svg_map
from cspkit.products.web.templating import page
from cspkit.store.ingest_log import restricted_sources, synthetic_sources

router = APIRouter()

ISSUE_PATTERN = r"^[a-z0-9][a-z0-9.-]{0,79}$"
CODE_PATTERN = r"^[A-Za-z][0-9]{8}$"
DEFAULT_ISSUE = "all-crime"
LEVEL_WORDS = {"district": "district", "ward": "ward", "lsoa": "LSOA"}
# How a partner source is named in the issue list (the report's section titles, except where
# one source feeds several sections).
SOURCE_TITLES = {p.source: p.title for p in reversed(PARTNER_SOURCES)} | {
    "police-markers": "Police records with markers"}


class Level(StrEnum):
    district = "district"
    ward = "ward"
    lsoa = "lsoa"


# --------------------------------------------------------------------------- issues


@dataclass(frozen=True)
class Issue:
    key: str
    title: str
    source: str
    categories: tuple[str, ...]
    group: str                       # how the list groups it: 'Police.uk', a partner title
    restricted: bool = False
    synthetic: bool = False

    @property
    def category(self) -> str | list[str]:
        """The measures' `category` argument: one category, or several counted together."""
        return self.categories[0] if len(self.categories) == 1 else list(self.categories)

    @property
    def police(self) -> bool:
        return self.source == "police.uk"

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "source": self.source,
                "categories": list(self.categories), "group": self.group,
                "restricted": self.restricted, "synthetic": self.synthetic}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def issues_held(con: duckdb.DuckDBPyConnection, district: AreaSelection) -> list[Issue]:
    """Every issue the warehouse holds events of for the district: all police recorded crime,
    the document's issues (acquisitive crime ... ASB), each police.uk category of an issue of
    several, and each category of each partner source (restricted ones marked)."""
    held = categories_held(con, district)
    police = set(held.loc[held["source"] == "police.uk", "category"])
    restricted, synthetic = restricted_sources(con), synthetic_sources(con)
    out: list[Issue] = []
    if police - {"Anti-social behaviour"}:
        out.append(Issue(DEFAULT_ISSUE, ALL_CRIME, "police.uk", (ALL_CRIME,), "Police.uk"))
    singles: list[Issue] = []
    for key, title, categories in ISSUES:
        present = tuple(c for c in categories if c in police)
        if present:
            out.append(Issue(key, title, "police.uk", present, "Police.uk"))
        if len(categories) > 1:
            singles += [Issue(slug(c), c, "police.uk", (c,), "Police.uk") for c in present]
    out += singles
    for source, frame in held[held["source"] != "police.uk"].groupby("source", sort=True):
        name = SOURCE_TITLES.get(str(source), str(source))
        for category in frame["category"]:
            out.append(Issue(f"{slug(str(source))}.{slug(str(category))}",
                             f"{name}: {category}", str(source), (str(category),), name,
                             restricted=source in restricted, synthetic=source in synthetic))
    return out


def offered(issues: list[Issue], withheld: frozenset[str]) -> list[Issue]:
    return [i for i in issues if i.source not in withheld]


# --------------------------------------------------------------------------- the view


@dataclass
class Explored:
    """One explorer view: its blocks as published (numbered and audited together)."""

    district: AreaSelection
    period: Period
    baseline: Period
    issue: Issue
    level: str
    selected: AreaSelection | None
    trend: list[Block]
    monthly: Table
    table: Table | None               # the level's areas (district: beside its parent)
    table_note: str                   # why there is no table, when there is none
    map_svg: str
    map_title: str
    comparisons: list[tuple[str, list[Block]]]
    selected_blocks: list[Block]
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        selected = self.selected
        return {
            "area": {"code": self.district.code, "name": self.district.name},
            "period": self.period.label, "baseline": self.baseline.label,
            "issue": self.issue.as_json(), "level": self.level,
            "selected": ({"code": selected.code, "name": selected.name,
                          "level": selected.level} if selected else None),
            "trend": [block_json(b) for b in self.trend],
            "monthly": table_json(self.monthly),
            "table": table_json(self.table) if self.table else None,
            "table_note": self.table_note,
            "map": {"title": self.map_title, "svg": self.map_svg},
            "comparisons": [{"title": title, "blocks": [block_json(b) for b in blocks]}
                            for title, blocks in self.comparisons],
            "selected_blocks": [block_json(b) for b in self.selected_blocks],
            "notes": self.notes,
        }


def _source_text(issue: Issue) -> str:
    return POLICE_SOURCE if issue.police else f"Partner data: {issue.group}"


def _monthly_table(trend: pd.DataFrame, issue: Issue, district: AreaSelection,
                   known: list[tuple[list[Any], ...]], policy: DisclosurePolicy) -> Table:
    """Every month of the chart: its count and, for the months inspected, the expected count,
    the expected range and whether the month fell outside it."""
    frame = pd.DataFrame({
        "month": [m.strftime("%Y-%m") for m in trend["month"]],
        "count": trend["count"].astype(int),
        "expected": trend["expected"].round(1),
        "lower": trend["lower"],
        "upper": trend["upper"],
        "exceptional": trend["exceptional"].map(
            {"above": "above the expected range", "below": "below the expected range"}
        ).fillna(""),
    })
    months = list(trend["month"])
    sums = []
    for group in known:   # sums of months published elsewhere on the page
        for wanted in group:
            rows = tuple(i for i, m in enumerate(months) if m in set(wanted))
            if rows:
                sums.append(KnownSum("count", int(frame.loc[list(rows), "count"].sum()), rows))
    published = publish(frame, ["count"], known_sums=tuple(sums), policy=policy)
    return Table("explorer-months", f"{issue.title} by month, {district.name}", published,
                 source=_source_text(issue), synthetic=issue.synthetic,
                 headers={"month": "Month", "expected": "Expected count",
                          "lower": "Expected range, lowest", "upper": "Expected range, highest",
                          "exceptional": "Outside the expected range"},
                 notes=["Expected counts and ranges are given for the months of the period "
                        "only; earlier months are the history they are fitted to.",
                        "Counts of 1-4 are shown as <5."])


def _place_table(ctx: Context, issue: Issue, level: str
                 ) -> tuple[Table | None, str, pd.DataFrame, list[Any]]:
    """The district's wards (or LSOAs): counts in both periods on the months both hold, the
    change with each area's test (one family, the document's share of its error budget for a
    ward table), and the rate per 1,000 residents."""
    frame = period_change.place_change(ctx.con, ctx.area, ctx.period, ctx.baseline,
                                       level=level, category=issue.category,
                                       source=issue.source, allow_partial=True,
                                       settings=ctx.settings, alpha=change_budget(ctx)[1])
    match = period_change.month_pairs(frame)
    months = [match.months, match.baseline_months] if match else []
    now_label, before_label = compared_labels(frame, ctx)
    places = [AreaSelection(str(c), str(n), level)
              for c, n in zip(frame[f"{level}_code"], frame[f"{level}_name"], strict=True)]
    pops = populations(ctx.con, places, ctx.period.start.year,
                       events_vintage(ctx.con, ctx.area, issue.source))
    frame["population"] = [pops[p].persons for p in places]
    frame["rate_per_1000"] = [round(ctx.settings.rate_per * c / p, 3) if p else None
                              for c, p in zip(frame["count"], frame["population"], strict=True)]
    if int(frame["count"].sum()) < MIN_FOR_WARD_TABLE:
        return None, (f"Too few {issue.title.lower()} incidents to tabulate by "
                      f"{LEVEL_WORDS[level]} without revealing small numbers."), frame, months
    name = "ward" if level == "ward" else "lsoa"
    table = frame.rename(columns={f"{level}_name": name, f"{level}_code": "code",
                                  "count": now_label, "baseline_count": before_label})[
        [name, "code", before_label, now_label, "change", "population", "rate_per_1000",
         "verdict"]]
    published = publish(table.reset_index(drop=True), [before_label, now_label],
                        derived={"change": Difference(now_label, before_label),
                                 "rate_per_1000": Rate(now_label, "population")},
                        known_sums=tuple(KnownSum(c, int(table[c].sum()))
                                         for c in (before_label, now_label)),
                        policy=ctx.policy)
    words = LEVEL_WORDS[level]
    return Table(f"explorer-{level}s", f"{issue.title} by {words}: volume change "
                 f"{before_label} to {now_label}, {ctx.area.name}",
                 hidden_last(published, "change", name, ctx.policy), source=_source_text(issue),
                 synthetic=issue.synthetic,
                 headers={"code": "Code", "lsoa": "LSOA", "population": "Residents",
                          "rate_per_1000": f"Rate per {ctx.settings.rate_per:,} residents "
                                           f"({now_label})"},
                 notes=[verdict_note(frame, ctx),
                        "Largest rise first (areas whose change is not shown last): the order "
                        "is a ranking, not a test.",
                        "Counts of 1-4 are shown as <5; a figure that would reveal one is "
                        "shown as *."]), "", frame, months


def _map(ctx: Context, level: str, labels: dict[str, str], codes: list[str],
         names: list[str], href: Any, title: str) -> str:
    """The level's areas shaded by their published rate (`labels`: code -> published cell)."""
    map_level = "lad" if level == "district" else level
    vintage = None if level != "lsoa" else events_vintage(ctx.con, ctx.area)
    dissolved: set[str] = set()
    shapes = charts.map_shapes(ctx.con, codes, map_level, vintage, dissolved)
    note = ""
    if dissolved:
        plural = "districts" if level == "district" else f"{LEVEL_WORDS[level]}s"
        note = (f" {len(dissolved)} {plural} with no boundary of their own held are drawn "
                "from their LSOAs.")
    by_name = dict(zip(codes, names, strict=True))
    # A hidden figure ('*', '<5') is 'not shown' on the map, never a number.
    values = {code: published_number(labels.get(code, "")) for code in shapes}
    areas = [MapArea(code, by_name.get(code, code), shape, values[code],
                     labels[code] if values[code] is not None else "")
             for code, shape in shapes.items()]
    drawn = svg_map(areas, title=title, value_title=f"Rate per {ctx.settings.rate_per:,} "
                    "residents", href=href)
    return str(drawn) + (f'<p class="map-note">{note.strip()}</p>' if note else "")


def _district_table(section: Section) -> Table | None:
    return next((b for b in section.blocks if isinstance(b, Table)), None)


def explore(con: duckdb.DuckDBPyConnection, where: Scope, issue: Issue, level: str,
            select: str | None, links: dict[str, str], settings: Settings | None = None
            ) -> Explored:
    settings = settings or Settings()
    district, period = where.district, where.period
    baseline = year_before(period)
    ctx = Context(con, district, period, baseline, LocalContent(), settings,
                  DisclosurePolicy.from_settings(settings))
    notes: list[str] = []

    # The trend: the document's chart and its judgement of the period's months.
    trend = series.monthly_series(con, district, category=issue.category, inspect=period,
                                  family_size=exceptional_family(ctx), source=issue.source,
                                  settings=settings)
    figure = charts.trend_chart("explorer-trend", f"{issue.title} by month, {district.name}",
                                trend, y_title="Count", area_name=district.name,
                                settings=settings)
    figure.source = _source_text(issue)
    figure.synthetic = issue.synthetic
    trend_blocks: list[Block] = [
        Paragraph("{figure:explorer-trend} shows the monthly trend since the data begins. "
                  + exceptional_sentence(ctx, issue.title, trend)), figure]

    # The level's areas.
    comparisons: list[tuple[str, list[Block]]] = []
    table: Table | None = None
    table_note = ""
    known_months: list[Any] = []
    sibling_section: Section | None = None
    if issue.police:
        sibling_section = comparison(ctx, issue.category, "explorer",
                                     subject=issue.title if issue.categories != (ALL_CRIME,)
                                     else None)
        comparisons.append((sibling_section.title, sibling_section.blocks))
        doc_issues = [(ALL_CRIME, [ALL_CRIME])] + [(t, c) for _, t, c in ISSUES]
        if list(issue.categories) not in [c for _, c in doc_issues]:
            doc_issues.append((issue.title, list(issue.categories)))
        similar = similar_section(ctx, doc_issues, key="explorer")
        comparisons.append((similar.title, similar.blocks))
    else:
        notes.append(f"{issue.group} is partner data held for this partnership: it is not "
                     "compared with other districts.")

    selected: AreaSelection | None = None
    place_frame: pd.DataFrame | None = None
    if level == "district":
        table = _district_table(sibling_section) if sibling_section else None
        districts = ([]  if table is None else
                     children(con, comparisons_parent(con, district), "lad"))
        by_name = {d.name: d.code for d in districts}
        labels = ({by_name[str(n)]: str(v) for n, v in zip(table.frame["name"],
                                                          table.frame["rate_per_1000"],
                                                          strict=True) if str(n) in by_name}
                  if table is not None else {})
        if table is None:
            table_note = "Districts are compared for police.uk issues only."
            districts = [district]
        map_title = (f"{issue.title}: rate per {settings.rate_per:,} residents by district, "
                     f"{period.label}")
        map_svg = _map(ctx, level, labels, [d.code for d in districts],
                       [d.name for d in districts],
                       lambda code: links["district"].replace("__CODE__", code), map_title)
    else:
        table, table_note, place_frame, known_months = _place_table(ctx, issue, level)
        codes = [str(c) for c in place_frame[f"{level}_code"]]
        names = [str(n) for n in place_frame[f"{level}_name"]]
        labels = ({str(c): str(v) for c, v in zip(table.frame["code"],
                                                  table.frame["rate_per_1000"], strict=True)}
                  if table is not None else {})
        map_title = (f"{issue.title}: rate per {settings.rate_per:,} residents by "
                     f"{LEVEL_WORDS[level]}, {compared_labels(place_frame, ctx)[0]}")
        map_svg = _map(ctx, level, labels, codes, names,
                       lambda code: links["select"].replace("__CODE__", code), map_title)
        if select:
            if select not in codes:
                raise NotFound(f"{select} is not a {LEVEL_WORDS[level]} of {district.name}")
            selected = AreaSelection(select, names[codes.index(select)], level)
    known = [known_months] if known_months else []
    monthly = _monthly_table(trend, issue, district, known, ctx.policy)

    selected_blocks: list[Block] = []
    if selected is not None:
        own = series.monthly_series(con, selected, category=issue.category, inspect=period,
                                    family_size=exceptional_family(ctx), source=issue.source,
                                    settings=settings)
        chart = charts.trend_chart("explorer-selected-trend",
                                   f"{issue.title} by month, {selected.name}", own,
                                   y_title="Count", area_name=selected.name, settings=settings)
        chart.source = _source_text(issue)
        chart.synthetic = issue.synthetic
        selected_blocks = [Paragraph("{figure:explorer-selected-trend} shows "
                                     f"{selected.name}'s monthly trend. "
                                     + exceptional_sentence(ctx, issue.title, own)), chart]

    blocks: list[Block] = [*trend_blocks, monthly, *selected_blocks]
    if table is not None and level != "district":
        blocks.append(table)
    for _, extra in comparisons:
        blocks += extra
    checked(f"{issue.title}, {district.name}", blocks, area_name=district.name,
            area_code=district.code, period_label=period.label, rate_per=settings.rate_per)
    return Explored(district, period, baseline, issue, level, selected, trend_blocks, monthly,
                    table, table_note, map_svg, map_title, comparisons, selected_blocks, notes)


# --------------------------------------------------------------------------- routes


class IssueOut(BaseModel):
    key: str
    title: str
    source: str
    categories: list[str]
    group: str
    restricted: bool
    synthetic: bool


class IssuesOut(BaseModel):
    area: dict[str, str]
    issues: list[IssueOut]
    withheld: str


AreaQuery = Query(None, pattern=AREA_PATTERN, description="District code or name (default: "
                  "the first district held).")
PeriodQuery = Query(None, pattern=PERIOD_PATTERN, description="The document's period syntax: "
                    "2023, 2023/24, 2023-01..2023-06 or rolling:2024-03 (default: the latest "
                    "full year held).")
IssueQuery = Query(None, pattern=ISSUE_PATTERN, description="An issue key from "
                   "/api/explorer/issues (default: all-crime).")
LevelQuery = Query(Level.ward, description="The areas to map and tabulate.")
SelectQuery = Query(None, pattern=CODE_PATTERN, description="A ward or LSOA of the district "
                    "(at the chosen level) to show on its own.")


def _withheld_words(withheld: frozenset[str], held: list[Issue]) -> str:
    return withheld_note({i.source for i in held if i.source in withheld})


def _withheld(request: Request, con: duckdb.DuckDBPyConnection, token: Token | None
              ) -> frozenset[str]:
    return state(request).withheld(may_see_restricted(current_user(request)), con, token)


def _issues(web: WebState, con: duckdb.DuckDBPyConnection, token: Token | None,
            district: AreaSelection, withheld: frozenset[str]) -> tuple[list[Issue], str]:
    held = web.cached(token, ("explorer-issues", district.code),
                      lambda: issues_held(con, district))
    return offered(held, withheld), _withheld_words(withheld, held)


def _chosen(issues: list[Issue], key: str | None, district: AreaSelection) -> Issue:
    if not issues:
        raise NotFound(f"the warehouse holds no events for {district.name}")
    if key is None:
        return next((i for i in issues if i.key == DEFAULT_ISSUE), issues[0])
    found = next((i for i in issues if i.key == key), None)
    if found is None:
        raise BadRequest(f"issue {key!r} is not one held for {district.name}; see "
                         f"/api/explorer/issues?area={district.code}")
    return found


def _period_text(period: Period) -> str:
    """The period as the query string takes it back."""
    if period.kind == "rolling":
        return f"rolling:{period.end.strftime('%Y-%m')}"
    if period.kind in ("calendar", "financial"):
        return period.label
    return f"{period.start.strftime('%Y-%m')}..{period.end.strftime('%Y-%m')}"


@dataclass
class View:
    where: Scope
    issues: list[Issue]
    issue: Issue
    withheld: str
    explored: Explored
    data: dict[str, Any]          # explored.as_json(), made once per snapshot


def _view(web: WebState, con: duckdb.DuckDBPyConnection, token: Token | None,
          area: str | None, issue: str | None, period: str | None, level: Level,
          select: str | None, hidden: frozenset[str]) -> View:
    """The view asked for, for a reader from whom the sources `hidden` are withheld."""
    where = web.scope(con, token, area, period)
    issues, withheld = _issues(web, con, token, where.district, hidden)
    chosen = _chosen(issues, issue, where.district)
    period_text = _period_text(where.period)
    links = {"district": _link_text(chosen, period_text, "district", area="__CODE__"),
             "select": _link_text(chosen, period_text, level.value,
                                  area=where.district.code, select="__CODE__") + "#selected"}
    key = ("explorer", where.district.code, period_text, chosen.key, level.value,
           select.upper() if select else None)
    def compute() -> tuple[Explored, dict[str, Any]]:
        done = explore(con, where, chosen, level.value, select.upper() if select else None,
                       links)
        return done, done.as_json()

    explored, data = web.cached(token, key, compute)
    return View(where, issues, chosen, withheld, explored, data)


def _explorer_key(area: str | None, issue: str | None, period: str | None, level: Level,
                  select: str | None) -> tuple[Any, ...]:
    return ("api-explorer", area, issue, period, level.value, select)


def _explorer_json(web: WebState, area: str | None, issue: str | None, period: str | None,
                   level: Level, select: str | None) -> Any:
    def build(con: duckdb.DuckDBPyConnection, token: Token | None,
              withheld: frozenset[str]) -> dict[str, Any]:
        view = _view(web, con, token, area, issue, period, level, select, withheld)
        return {**view.data, "withheld": view.withheld}
    return build


def warm(web: WebState, con: duckdb.DuckDBPyConnection, token: Token | None, area: str) -> None:
    """The warm-up: the public's /api/explorer?area=CODE (the default issue, by ward, the
    latest full year) and its issue list."""
    web.answer(con, token, _explorer_key(area, None, None, Level.ward, None), False,
               _explorer_json(web, area, None, None, Level.ward, None), encode_json)


def _link_text(issue: Issue, period: str, level: str, **extra: str) -> str:
    from urllib.parse import urlencode
    query = {"area": extra.pop("area"), "issue": issue.key, "period": period, "level": level,
             **extra}
    return "/explorer?" + urlencode(query, safe="_:.")


@router.get("/api/explorer/issues", response_model=IssuesOut, tags=["explorer"],
            summary="The issues the explorer offers for a district")
def api_issues(request: Request, area: str | None = AreaQuery,
               warehouse: tuple[duckdb.DuckDBPyConnection, Token | None] = Warehouse
               ) -> dict[str, Any]:
    """Every issue held for the district: all police recorded crime, the document's issues,
    each police.uk category of an issue of several, and each partner category the user may
    see (restricted partner sources only for a role allowed them; `withheld` says so)."""
    con, token = warehouse
    web = state(request)
    where = (web.scope(con, token, None, None).district if area is None
             else _district_only(con, area))
    issues, withheld = _issues(web, con, token, where, _withheld(request, con, token))
    return {"area": {"code": where.code, "name": where.name},
            "issues": [i.as_json() for i in issues], "withheld": withheld}


def _district_only(con: duckdb.DuckDBPyConnection, area: str) -> AreaSelection:
    from cspkit.measures.areas import select_area
    from cspkit.products.web.context import AREA_PATTERN as pattern
    if not re.match(pattern, area):
        raise BadRequest(f"area {area!r} is not a name or code")
    try:
        district = select_area(con, area)
    except LookupError as exc:
        raise NotFound(str(exc)) from exc
    if district.level != "lad":
        raise BadRequest(f"{district.name} is a {district.level}; the explorer reports on "
                         "districts (local authorities)")
    return district


@router.get("/api/explorer", tags=["explorer"],
            summary="One issue x period x level: trend, map, table and comparisons",
            responses={200: {"description": "area, period, baseline, issue, level, selected; "
                             "trend (paragraph and figure blocks), monthly (table), table (the "
                             "level's areas, or null with table_note), map (title and SVG), "
                             "comparisons (titled lists of blocks), selected_blocks, notes, "
                             "withheld. Tables are published as the document publishes them "
                             "(counts of 1-4 as <5)."}})
async def api_explorer(request: Request, area: str | None = AreaQuery,
                       issue: str | None = IssueQuery, period: str | None = PeriodQuery,
                       level: Level = LevelQuery, select: str | None = SelectQuery
                       ) -> Response:
    return await json_api(request, may_see_restricted(current_user(request)),
                          _explorer_key(area, issue, period, level, select),
                          _explorer_json(state(request), area, issue, period, level, select))


@router.get("/api/explorer/table.csv", tags=["explorer"],
            summary="The explorer's table of areas as CSV",
            response_class=Response,
            responses={200: {"content": {"text/csv": {}},
                             "description": "The table as the document writes its CSVs."}})
def api_explorer_csv(request: Request, area: str | None = AreaQuery,
                     issue: str | None = IssueQuery, period: str | None = PeriodQuery,
                     level: Level = LevelQuery,
                     warehouse: tuple[duckdb.DuckDBPyConnection, Token | None] = Warehouse
                     ) -> Response:
    con, token = warehouse
    view = _view(state(request), con, token, area, issue, period, level, None,
                 _withheld(request, con, token))
    table = view.explored.table
    if table is None:
        raise NotFound(view.explored.table_note or "no table for this view")
    name = f"{view.where.district.code}-{view.issue.key}-{level.value}-" \
           f"{slug(view.where.period.label)}.csv"
    return Response(table_csv(table), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/explorer", response_class=HTMLResponse, include_in_schema=False)
def explorer_page(request: Request, area: str | None = AreaQuery,
                  issue: str | None = IssueQuery, period: str | None = PeriodQuery,
                  level: Level = LevelQuery, select: str | None = SelectQuery,
                  warehouse: tuple[duckdb.DuckDBPyConnection, Token | None] = Warehouse
                  ) -> HTMLResponse:
    con, token = warehouse
    view = _view(state(request), con, token, area, issue, period, level, select,
                 _withheld(request, con, token))
    data = {**view.data, "withheld": view.withheld}
    period_text = _period_text(view.where.period)
    csv_query = _link_text(view.issue, period_text, level.value,
                           area=view.where.district.code).split("?", 1)[1]
    groups: dict[str, list[Issue]] = {}
    for i in view.issues:
        groups.setdefault(i.group, []).append(i)
    return page(request, "explorer.html.j2", title="Issue explorer", active="explorer",
                view=data, groups=groups, area=view.where.district.code,
                period=period_text, level=level.value, levels=LEVEL_WORDS,
                csv_href="/api/explorer/table.csv?" + csv_query,
                map_svg=Markup(view.explored.map_svg))
