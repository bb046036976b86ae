"""The Custom area page: an area made of LSOAs or wards picked on the map (or in the list
beside it, the keyboard and screen-reader way), or of the LSOAs inside an uploaded GeoJSON
polygon, and its profile at once, with its briefing to download (HTML or PDF).

An area is built by `measures.custom_areas` (wards and polygons) or `areas.custom_area` (LSOA
codes), so it is counted exactly as a named area is; its profile is the place briefing of
`products.profile`, audited like the document (places.profile_view). Profiles are cached per
snapshot on the sorted LSOA set, year and name, so asking again costs nothing; ward lists and
polygons are resolved to their LSOAs through the cache as well.

`POST /api/custom-area` reads at most MAX_UPLOAD bytes and answers 422 naming what is wrong
with a body that is too large, not JSON, not GeoJSON, or selects no LSOA.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import duckdb
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Template
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from cspkit.errors import AreaNotFound, CspkitError
from cspkit.measures.areas import (
    AreaSelection,
    children,
    custom_area,
    events_vintage,
    latest_full_year,
    select_area,
)
from cspkit.measures.custom_areas import (
    CENTROID_RULE,
    area_from_geometry,
    area_from_wards,
    polygon_of,
)
from cspkit.products.profile import default_district, slug
from cspkit.products.report.charts import map_shapes
from cspkit.products.report.document import Document
from cspkit.products.report.render import render_html, write_pdf
from cspkit.products.web.app import Warehouse, WebState, cached_answer, json_api, state
from cspkit.products.web.auth import current_user, may_see_restricted
from cspkit.products.web.context import AREA_PATTERN, BadRequest, NotFound, scope
from cspkit.products.web.places import (
    profile_view,
    refuse,
    withheld_sources,
)
from cspkit.products.web.snapshots import Token
from cspkit.products.web.svgmap import MapArea, svg_map
from cspkit.products.web.templating import environment, page

router = APIRouter()

MAX_UPLOAD = 2 * 1024 * 1024          # bytes of a POST body (a GeoJSON polygon is far less)
LSOA_PATTERN = r"^[EW]01[0-9]{6}$"
WARD_PATTERN = r"^[EW]05[0-9]{6}$"
NAME_PATTERN = r"^[A-Za-z0-9 ,.'()&-]{1,80}$"
MAX_LSOAS = 5000
MAX_WARDS = 500

LsoaCode = Annotated[str, StringConstraints(pattern=LSOA_PATTERN)]
WardCode = Annotated[str, StringConstraints(pattern=WARD_PATTERN)]


class CustomAreaRequest(BaseModel):
    """Exactly one of `lsoas`, `wards` or `geometry` (a GeoJSON Polygon or MultiPolygon, or a
    Feature or FeatureCollection holding them; WGS84 lon/lat, or a legacy `crs` member)."""
    model_config = ConfigDict(extra="forbid")

    lsoas: list[LsoaCode] | None = Field(None, min_length=1, max_length=MAX_LSOAS,
                                         description="LSOA codes, e.g. E01017540")
    wards: list[WardCode] | None = Field(None, min_length=1, max_length=MAX_WARDS,
                                         description="Ward codes, e.g. E05014501")
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON polygon")
    rule: Literal["population-weighted-centroid", "area-share"] = Field(
        CENTROID_RULE, description="How a polygon selects LSOAs")
    area: str | None = Field(None, pattern=AREA_PATTERN, max_length=80,
                             description="District compared with (default: the one holding "
                                         "most of the area)")
    year: int | None = Field(None, ge=2000, le=2100, description="Calendar year")
    name: str | None = Field(None, pattern=NAME_PATTERN, description="The area's name")

    @model_validator(mode="after")
    def one_selection(self) -> CustomAreaRequest:
        given = [k for k in ("lsoas", "wards", "geometry") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of lsoas, wards or geometry"
                             + (f" (got {', '.join(given)})" if given else ""))
        return self


# -- building the area and its profile --------------------------------------------------------

def _name(request: CustomAreaRequest | None, kind: str) -> str:
    """The area's name: the one given, else words without figures (the disclosure audit
    reads a figure from 1 to 4 in a name as a count)."""
    if request is not None and request.name:
        return request.name
    return "Drawn area" if kind == "geometry" else "Custom area"


def _ward_names(names: list[str]) -> str:
    names = sorted(names)
    if len(names) > 3:
        return ", ".join(names[:3]) + " and others"
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]


def _district(con: duckdb.DuckDBPyConnection, area: str | None) -> AreaSelection | None:
    return scope(con, area, None).district if area else None


def _home_of(con: duckdb.DuckDBPyConnection, wards: list[AreaSelection]
             ) -> AreaSelection | None:
    """The one district holding all these wards, or None. Wards nest in districts and are
    given by code here, so looking them up in their district finds the same LSOAs as looking
    them up nationally, without reading the whole country's ward lookup (most of a cold
    ward-pair profile's time otherwise)."""
    try:
        homes = {default_district(con, ward) for ward in wards}
    except LookupError:
        return None
    return homes.pop() if len(homes) == 1 else None


def resolve(con: duckdb.DuckDBPyConnection, token: Token | None, web: Any,
            req: CustomAreaRequest) -> tuple[AreaSelection, dict[str, Any] | None]:
    """The custom area asked for (and the polygon's selection record), through the cache."""
    district = web.cached(token, ("district-of", req.area), lambda: _district(con, req.area))
    if req.lsoas is not None:
        codes = tuple(sorted({c.upper() for c in req.lsoas}))
        name = _name(req, "lsoas")
        area = web.cached(token, ("custom-lsoas", codes, name),
                          lambda: custom_area(con, name, list(codes)))
        return area, None
    if req.wards is not None:
        wards = tuple(sorted({w.upper() for w in req.wards}))

        def from_wards() -> tuple[AreaSelection, dict[str, Any]]:
            try:
                found = [select_area(con, w) for w in wards]
            except LookupError as exc:
                raise NotFound(str(exc)) from exc
            names = _ward_names([a.name for a in found])
            area = area_from_wards(con, req.name or names, list(wards),
                                   district=district or _home_of(con, found))
            return area, {"rule": f"an area made of the LSOAs of the wards {names}"}

        return web.cached(token, ("custom-wards", wards, req.name, req.area), from_wards)
    assert req.geometry is not None
    digest = hashlib.sha256(json.dumps(req.geometry, sort_keys=True).encode()).hexdigest()

    def from_polygon() -> tuple[AreaSelection, dict[str, Any]]:
        try:
            polygon, note = polygon_of(req.geometry or {}, "the uploaded GeoJSON")
            return area_from_geometry(con, _name(req, "geometry"), polygon, note, req.rule,
                                      label="the uploaded polygon")
        except AreaNotFound as exc:
            raise BadRequest(str(exc)) from exc
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc

    return web.cached(token, ("custom-polygon", digest, req.rule, req.name), from_polygon)


def custom_profile(con: duckdb.DuckDBPyConnection, token: Token | None, web: Any,
                   req: CustomAreaRequest, withheld: frozenset[str]
                   ) -> tuple[dict[str, Any], Document | None, tuple[Any, ...]]:
    """The profile view, its Document (None when refused) and the cache key they share."""
    area, info = resolve(con, token, web, req)
    district = web.cached(token, ("district-of", req.area), lambda: _district(con, req.area))

    def context() -> tuple[AreaSelection, int | None]:
        home = district or default_district(con, area)
        try:
            return home, latest_full_year(con, home)
        except (LookupError, ValueError):
            return home, None

    home, latest = web.cached(token, ("custom-home", area.lsoas, req.area), context)
    year = req.year or latest
    if year is None:
        raise NotFound(f"no police.uk data is held for {home.name}")
    rule = (info or {}).get("rule")
    key = ("custom-profile", area.lsoas, year, area.name, rule, home.code, withheld)
    view, doc = web.cached(token, key, lambda: _profile(con, area, year, info, home))
    refuse(view)
    return {**view, "selection": _selection(req, area, year)}, doc, key


def _profile(con: duckdb.DuckDBPyConnection, area: AreaSelection, year: int,
             info: dict[str, Any] | None, home: AreaSelection
             ) -> tuple[dict[str, Any], Document | None]:
    holder: dict[str, Document] = {}
    view = profile_view(con, area, year, info=info, district=home, keep=holder)
    return view, holder.get("doc")


def _selection(req: CustomAreaRequest, area: AreaSelection, year: int) -> dict[str, Any]:
    """How to ask for this area again by GET (the briefing links): its wards when chosen by
    ward, else its LSOAs (a polygon's as selected)."""
    params: list[tuple[str, str]] = []
    if req.wards is not None:
        params += [("ward", w) for w in sorted(set(req.wards))]
    else:
        params += [("lsoa", c) for c in area.lsoas]
    params.append(("year", str(year)))
    if req.area:
        params.append(("area", req.area))
    if req.name:
        params.append(("name", req.name))
    query = urlencode(params)
    return {"query": query,
            "briefing_html": f"/custom-area/briefing?{query}&format=html",
            "briefing_pdf": f"/custom-area/briefing?{query}&format=pdf",
            "page": f"/custom-area?{query}"}


@functools.cache
def _fragment_template() -> Template:
    return environment().from_string(
        '{% from "profile_parts.html.j2" import custom_result %}'
        "{{ custom_result(view, level) }}")


def profile_fragment(view: dict[str, Any], level: int = 3) -> str:
    """The profile as the page shows it (the same markup the server renders without script)."""
    return _fragment_template().render(view=view, level=level)


# -- API --------------------------------------------------------------------------------------

async def _limited_body(request: Request) -> bytes:
    length = request.headers.get("content-length")
    too_big = (f"the request body is larger than {MAX_UPLOAD // (1024 * 1024)} MB: "
               "simplify the polygon (fewer points) or choose fewer areas")
    if length is not None and (not length.isdigit() or int(length) > MAX_UPLOAD):
        raise BadRequest(too_big)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPLOAD:
            raise BadRequest(too_big)
    return bytes(body)


def parse_request(body: bytes) -> CustomAreaRequest:
    if not body.strip():
        raise BadRequest("the request body is empty: send JSON with lsoas, wards or geometry")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from exc
    try:
        return CustomAreaRequest.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in exc.errors()[:8])
        raise BadRequest(f"the request is not usable: {problems}") from exc


def _answer(web: WebState, req: CustomAreaRequest) -> Any:
    def build(con: duckdb.DuckDBPyConnection, token: Token | None, withheld: frozenset[str]
              ) -> dict[str, Any]:
        view, _, _ = custom_profile(con, token, web, req, withheld)
        return {**view, "html": profile_fragment(view)}
    return build


_SCHEMA = CustomAreaRequest.model_json_schema()


@router.post("/api/custom-area", tags=["custom area"], summary="A custom area's profile",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": _SCHEMA}}}},
             responses={422: {"description": "The body is too large (over 2 MB), not JSON, "
                                             "not a usable selection or GeoJSON polygon"},
                        404: {"description": "An LSOA or ward the warehouse does not hold"}})
async def custom_area_api(request: Request) -> Response:
    """The profile of an area made of `lsoas`, `wards` or the LSOAs inside a GeoJSON
    `geometry`: the briefing's sections as the document publishes them, the LSOAs used, links
    to download the briefing, and `html`, the profile as the page shows it."""
    body = await _limited_body(request)
    # The answer (profile and its HTML) is kept per body: the same request again is served
    # from memory before it is even parsed. (The profile itself is kept per LSOA set, so a
    # body written differently but asking the same costs only its encoding.)
    may_see = may_see_restricted(current_user(request))
    key = ("api-custom-area", hashlib.sha256(body).hexdigest())
    found = cached_answer(request, may_see, key)
    if found is not None:
        return found
    req = parse_request(body)
    return await json_api(request, may_see, key, _answer(state(request), req))


# -- the page and the briefing ----------------------------------------------------------------

LevelParam = Annotated[str, Query(pattern=r"^(ward|lsoa)$")]
AreaParam = Annotated[str | None, Query(pattern=AREA_PATTERN, max_length=80)]
WardsParam = Annotated[list[str] | None, Query(alias="ward", max_length=MAX_WARDS)]
LsoasParam = Annotated[list[str] | None, Query(alias="lsoa", max_length=MAX_LSOAS)]
YearParam = Annotated[int | None, Query(ge=2000, le=2100)]
NameParam = Annotated[str | None, Query(pattern=NAME_PATTERN)]


def _from_query(wards: list[str] | None, lsoas: list[str] | None, area: str | None,
                year: int | None, name: str | None) -> CustomAreaRequest | None:
    if not wards and not lsoas:
        return None
    bad = [c for c in wards or [] if not re.match(WARD_PATTERN, c)] + \
          [c for c in lsoas or [] if not re.match(LSOA_PATTERN, c)]
    if bad:
        raise BadRequest(f"not ward or LSOA codes: {', '.join(bad[:5])}")
    if wards and lsoas:
        raise BadRequest("choose wards or LSOAs, not both")
    return CustomAreaRequest(wards=wards or None, lsoas=lsoas or None, area=area, year=year,
                             name=name)


def _choices(con: duckdb.DuckDBPyConnection, district: AreaSelection, level: str
             ) -> list[MapArea]:
    places = children(con, district, level)
    vintage = events_vintage(con, district) if level == "lsoa" else None
    shapes = map_shapes(con, [p.code for p in places], level, vintage)
    return [MapArea(p.code, p.name, shapes[p.code], None, "") for p in places
            if p.code in shapes]


@router.get("/custom-area", response_class=HTMLResponse, include_in_schema=False)
def custom_area_page(request: Request, area: AreaParam = None, level: LevelParam = "ward",
                     ward: WardsParam = None, lsoa: LsoasParam = None, year: YearParam = None,
                     name: NameParam = None, db: Any = Warehouse) -> HTMLResponse:
    con, token = db
    web = state(request)
    req = _from_query(ward, lsoa, area, year, name)
    if req is not None and lsoa:
        level = "lsoa"
    elif req is not None and ward:
        level = "ward"
    district = scope(con, area, None).district
    choices = web.cached(token, ("custom-choices", district.code, level),
                         lambda: _choices(con, district, level))
    selected = set(ward or lsoa or [])
    many = "wards" if level == "ward" else "LSOAs"
    svg = svg_map(choices, title=f"{many[0].upper() + many[1:]} of {district.name}: select "
                  "to add to the area", value_title="", selectable=True, selected=selected)
    view = None
    if req is not None:
        withheld = withheld_sources(request, con, token)
        view, _, _ = custom_profile(con, token, web, req, withheld)
    return page(request, "custom_area.html.j2", title="Custom area", active="custom",
                area=district.code, district=district, level=level, choices=choices,
                selected=selected, map_svg=svg, view=view, year=year or "",
                max_mb=MAX_UPLOAD // (1024 * 1024))


@router.get("/custom-area/briefing", tags=["custom area"],
            summary="A custom area's briefing to download",
            responses={200: {"content": {"text/html": {}, "application/pdf": {}},
                             "description": "The briefing as HTML or PDF"}})
def custom_area_briefing(request: Request, area: AreaParam = None, ward: WardsParam = None,
                         lsoa: LsoasParam = None, year: YearParam = None,
                         name: NameParam = None,
                         format: Annotated[Literal["html", "pdf"], Query()] = "html",
                         db: Any = Warehouse) -> Response:
    """The custom area's place briefing (the document as `cspkit profile` writes it), for
    the wards (`ward=`) or LSOAs (`lsoa=`) given."""
    con, token = db
    web = state(request)
    req = _from_query(ward, lsoa, area, year, name)
    if req is None:
        raise BadRequest("choose at least one ward or LSOA (ward=... or lsoa=...)")
    withheld = withheld_sources(request, con, token)
    view, doc, key = custom_profile(con, token, web, req, withheld)
    assert doc is not None
    stem = f"{slug(view['name'])}-{view['year']}"
    html = web.cached(token, ("custom-briefing", *key), lambda: render_html(doc))
    if format == "html":
        return Response(html, media_type="text/html; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{stem}.html"'})

    def pdf() -> bytes:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "briefing.pdf"
            try:
                write_pdf(html, path)
            except (CspkitError, OSError) as exc:
                raise BadRequest(f"the PDF could not be made: {exc}") from exc
            return path.read_bytes()

    data = web.cached(token, ("custom-briefing-pdf", *key), pdf)
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{stem}.pdf"'})

