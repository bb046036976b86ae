"""The Places page: the vulnerable-places ranking of a district's wards (or LSOAs) with its
map and drivers, and the profile of any one place.

The ranking is the document's own (`places_report.ranking_blocks` over
`measures.places.vulnerable_places`), published through blocks.py; the map is drawn on the
server (svgmap.py) and each place on it links to its profile. A profile is the place briefing
of `products.profile` (`profile` then `build_document`), audited as the document is audited:
a profile whose tables would let a small count be worked out is refused in words, not shown.

Restricted partner sources (`auth.withheld_for`) are left out of the index for readers who
may not see them, and the page says so. Results are cached per warehouse snapshot.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import duckdb
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from cspkit.errors import AreaNotFound
from cspkit.measures.areas import AreaSelection, latest_full_year, select_area
from cspkit.measures.disclosure_audit import DisclosureLeak
from cspkit.measures.periods import Period
from cspkit.measures.places import vulnerable_places
from cspkit.products.places_report import LEVEL_WORDS, ranking_blocks
from cspkit.products.profile import build_document, default_district, profile
from cspkit.products.report.charts import map_shapes
from cspkit.products.report.document import Document, Figure, Paragraph
from cspkit.products.report.render import check_document
from cspkit.products.web.app import Warehouse, WebState, encode_json, json_api, state
from cspkit.products.web.auth import current_user, may_see_restricted, withheld_note
from cspkit.products.web.blocks import checked, section_json
from cspkit.products.web.context import (
    AREA_PATTERN,
    PERIOD_PATTERN,
    BadRequest,
    NotFound,
)
from cspkit.products.web.snapshots import Token
from cspkit.products.web.svgmap import areas_from, svg_map
from cspkit.products.web.templating import page

router = APIRouter()

LEVEL_PATTERN = r"^(ward|lsoa)$"
PLACE_PATTERN = r"^[EW]0[0-9]{7}$"    # a ward (E05/W05) or LSOA (E01/W01) code

AreaParam = Annotated[str | None, Query(pattern=AREA_PATTERN, max_length=80,
                                        description="District name or code (default: the "
                                                    "first held)")]
PeriodParam = Annotated[str | None, Query(pattern=PERIOD_PATTERN, max_length=20,
                                          description="Period, e.g. 2023, 2023/24 (default: "
                                                      "the latest full year)")]
LevelParam = Annotated[str, Query(pattern=LEVEL_PATTERN,
                                  description="Places ranked: ward or lsoa")]
YearParam = Annotated[int | None, Query(ge=2000, le=2100,
                                        description="Calendar year of the profile (default: "
                                                    "the district's latest full year)")]
CodeParam = Annotated[str, Path(pattern=PLACE_PATTERN, description="Ward or LSOA code")]


# -- shared with the custom area page ---------------------------------------------------------

def withheld_sources(request: Request, con: duckdb.DuckDBPyConnection,
                     token: Token | None) -> frozenset[str]:
    """The restricted sources the asking user may not see (cached per snapshot and role)."""
    return state(request).withheld(may_see_restricted(current_user(request)), con, token)


def withheld_words(withheld: frozenset[str] | list[str]) -> str:
    return withheld_note(withheld)


def profile_year(period: Period) -> int:
    """The calendar year a profile of this period is about: the year holding most of it."""
    middle = period.start.toordinal() + (period.end.toordinal() - period.start.toordinal()) // 2
    return date.fromordinal(middle).year


def profile_view(con: duckdb.DuckDBPyConnection, area: AreaSelection, year: int,
                 info: dict[str, Any] | None = None,
                 district: AreaSelection | None = None,
                 keep: dict[str, Document] | None = None) -> dict[str, Any]:
    """A place's profile as the dashboard shows it: the briefing's sections, published and
    audited. {'refused': message} when the audit finds a leak or no data is held. `keep`
    receives the briefing Document ('doc') when it passed the audit."""
    try:
        data = profile(con, area, year, info=info, district=district)
    except ValueError as exc:    # e.g. no police data held for the area in that year
        return {"refused": str(exc), "status": 404}
    doc = build_document(con, data)
    try:
        check_document(doc)
    except DisclosureLeak as exc:
        return {"refused": (
            f"The profile of {area.name} for {year} cannot be shown: its tables would let a "
            f"count under 5 be worked out ({len(exc.leaks)} place(s) found by the "
            "disclosure audit). Choose a larger area or another year."), "status": 422}
    if keep is not None:
        keep["doc"] = doc
    return {"code": data["code"], "name": data["name"], "level": data["level"],
            "year": year, "period": data["period"], "rule": data["rule"],
            "lsoas": data["lsoas"], "lsoa_vintage": data["lsoa_vintage"],
            "district": {"code": data["district"]["code"], "name": data["district"]["name"]},
            "title": doc.title, "sections": document_sections(doc)}


def document_sections(doc: Document) -> list[dict[str, Any]]:
    return [section_json(s, doc.rate_per) for s in doc.sections]


def refuse(view: dict[str, Any]) -> None:
    if "refused" in view:
        if view.get("status") == 404:
            raise NotFound(view["refused"])
        raise BadRequest(view["refused"])


# -- the ranking ------------------------------------------------------------------------------

def ranking_view(con: duckdb.DuckDBPyConnection, district: AreaSelection, period: Period,
                 level: str, withheld: frozenset[str]) -> dict[str, Any]:
    try:
        ranking = vulnerable_places(con, district, period, level=level, withheld=withheld)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    one, many = LEVEL_WORDS[level]
    year = profile_year(period)
    out: dict[str, Any] = {
        "district": {"code": district.code, "name": district.name}, "period": period.label,
        "level": level, "year": year, "withheld": len(withheld),
        "withheld_note": withheld_words(withheld),
        "skipped": dict(ranking.attrs.get("skipped", {})),
        "finding": None, "places": [], "sections": [], "map_svg": ""}
    blocks, finding = ranking_blocks(con, district.code, period, level=level, top=None,
                                     ranking=ranking, withheld=withheld)
    if not blocks:
        return out
    # The map is the dashboard's own (its places link to their profiles), not the figure.
    shown = [b for b in blocks if not isinstance(b, Figure)
             and not (isinstance(b, Paragraph) and "{figure:" in b.text)]
    if finding:
        shown.insert(0, Paragraph(finding, "finding"))
    doc = checked(f"Places with several issues: {district.name}", shown,
                  area_name=district.name, area_code=district.code, period_label=period.label)
    section = section_json(doc.sections[0], doc.rate_per)
    table = next(b for b in section["blocks"] if b.get("key") == "places-ranking")
    fields = [c["label"] for c in table["columns"]]
    places = []
    for code, row in zip(ranking["code"], table["rows"], strict=True):
        cells = dict(zip(fields, row, strict=True))
        places.append({"code": code, "name": cells[one[0].upper() + one[1:]],
                       "rank": cells["Rank"], "score": cells["Score"],
                       "flags": cells["Issues flagged"], "drivers": cells["Driven by"],
                       "profile": f"/places/{code}?year={year}"})
    shapes = map_shapes(con, [p["code"] for p in places], level, None)
    title = f"Multi-issue index by {one}, {district.name}, {period.label}"
    svg = svg_map(areas_from(shapes, {p["code"]: p["name"] for p in places},
                             {p["code"]: p["score"] for p in places}),
                  title=title, value_title="Index score",
                  href=lambda code: f"/places/{code}?year={year}")
    out.update(finding=finding, places=places, sections=[section], map_title=title,
               map_svg=str(svg),
               map_alt=f"{title}: darker {many} have higher scores. Each {one} on the map "
                       f"links to its profile; the table gives every {one}'s score.")
    return out


def ranking_of(web: WebState, con: duckdb.DuckDBPyConnection, token: Token | None,
               area: str | None, period: str | None, level: str, withheld: frozenset[str]
               ) -> dict[str, Any]:
    chosen = web.scope(con, token, area, period)
    return web.cached(
        token, ("places", chosen.district.code, chosen.period.label, level, withheld),
        lambda: ranking_view(con, chosen.district, chosen.period, level, withheld))


def _ranking(request: Request, con: duckdb.DuckDBPyConnection, token: Token | None,
             area: str | None, period: str | None, level: str) -> dict[str, Any]:
    return ranking_of(state(request), con, token, area, period, level,
                      withheld_sources(request, con, token))


def _ranking_json(web: WebState, area: str | None, period: str | None, level: str) -> Any:
    return lambda con, token, withheld: ranking_of(web, con, token, area, period, level,
                                                   withheld)


def warm(web: WebState, con: duckdb.DuckDBPyConnection, token: Token | None, area: str) -> None:
    """The warm-up: the public's /api/places?area=CODE (wards, the latest full year)."""
    web.answer(con, token, ("api-places", area, None, "ward"), False,
               _ranking_json(web, area, None, "ward"), encode_json)


@router.get("/api/places", tags=["places"], summary="The vulnerable-places ranking")
async def places_api(request: Request, area: AreaParam = None, period: PeriodParam = None,
                     level: LevelParam = "ward") -> Response:
    """Every ward (or LSOA) of the district ranked on the multi-issue index, as the document
    publishes it: `places` (code, name, rank, score, issues flagged, drivers, profile link,
    cells as printed), `sections` (the document's blocks), the map as SVG and the sources
    withheld from this reader."""
    return await json_api(request, may_see_restricted(current_user(request)),
                          ("api-places", area, period, level),
                          _ranking_json(state(request), area, period, level))


@router.get("/places", response_class=HTMLResponse, include_in_schema=False)
def places_page(request: Request, area: AreaParam = None, period: PeriodParam = None,
                level: LevelParam = "ward", db: Any = Warehouse) -> HTMLResponse:
    con, token = db
    view = _ranking(request, con, token, area, period, level)
    return page(request, "places.html.j2", title=f"Places: {view['district']['name']}, "
                f"{view['period']}", active="places", view=view,
                area=view["district"]["code"], period=view["period"], level=level)


# -- a place's profile ------------------------------------------------------------------------

def _place(request: Request, con: duckdb.DuckDBPyConnection, token: Token | None, code: str,
           year: int | None) -> dict[str, Any]:
    web = state(request)

    def find() -> tuple[AreaSelection, AreaSelection, int | None]:
        try:
            area = select_area(con, code)
        except (AreaNotFound, LookupError) as exc:
            raise NotFound(f"no ward or LSOA {code} is held") from exc
        if area.level not in ("ward", "lsoa"):
            raise NotFound(f"{code} ({area.name}) is not a ward or LSOA: places are wards "
                           "and LSOAs")
        district = default_district(con, area)
        try:
            latest: int | None = latest_full_year(con, district)
        except (LookupError, ValueError):
            latest = None
        return area, district, latest

    area, district, latest = web.cached(token, ("place", code), find)
    year = year or latest
    if year is None:
        raise NotFound(f"no police.uk data is held for {area.name}")
    view = web.cached(token, ("profile", code, year),
                      lambda: profile_view(con, area, year, district=district))
    refuse(view)
    return view


@router.get("/api/places/{code}", tags=["places"], summary="A ward's or LSOA's profile")
def place_api(request: Request, code: CodeParam, year: YearParam = None,
              db: Any = Warehouse) -> dict[str, Any]:
    """The place briefing of one ward or LSOA for a calendar year: its sections as the
    document publishes them (counts 1-4 as <5). 404 for a code not held, 422 when the
    disclosure audit refuses the profile."""
    con, token = db
    return _place(request, con, token, code, year)


@router.get("/places/{code}", response_class=HTMLResponse, include_in_schema=False)
def place_page(request: Request, code: CodeParam, year: YearParam = None,
               db: Any = Warehouse) -> HTMLResponse:
    con, token = db
    view = _place(request, con, token, code, year)
    return page(request, "place.html.j2", title=f"{view['title']}, {view['year']}",
                active="places", view=view, area=view["district"]["code"])
