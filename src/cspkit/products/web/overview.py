"""The Overview page for a district: the headline counts and rates with their verdicts, the key
findings that survived the document's error control, the overall-crime section, and what data
the figures rest on (coverage and freshness).

Everything statistical comes from the strategic assessment itself (`build_assessment`, the
same tests, error control and disclosure), published through blocks.py: the page never
formats a number or words a verdict of its own. The document is built once per snapshot,
district, period and set of withheld sources (a few seconds cold) and then served from the
cache. `GET /api/overview` returns the dict the page is rendered from.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from cspkit.measures.areas import latest_full_year, months_covered, select_area
from cspkit.measures.periods import Period, month_label
from cspkit.products.report.assessment import build_assessment
from cspkit.products.report.document import Document, Section
from cspkit.products.report.partners import PARTNER_SOURCES
from cspkit.products.web.app import Warehouse, WebState, encoder, json_api, state
from cspkit.products.web.auth import WITHHELD_NOTE, current_user, may_see_restricted
from cspkit.products.web.blocks import section_json
from cspkit.products.web.context import AREA_PATTERN, PERIOD_PATTERN, Scope
from cspkit.products.web.snapshots import Token
from cspkit.products.web.templating import page
from cspkit.store.areas import HeldDistrict, districts_held
from cspkit.store.coverage import coverage, source_holdings
from cspkit.store.ingest_log import synthetic_sources

router = APIRouter()

AREA_QUERY = Query(None, pattern=AREA_PATTERN, max_length=80,
                   description="District code or name (default: the first district held)")
PERIOD_QUERY = Query(None, pattern=PERIOD_PATTERN, max_length=20,
                     description="Period: 2023, 2023/24, 2023-01..2023-06 or rolling:2024-03 "
                                 "(default: the district's latest full year)")
WITHHELD_TEXT = WITHHELD_NOTE


# --------------------------------------------------------------------------- API models


class DistrictHeldOut(BaseModel):
    code: str
    name: str
    force: str = Field(description="The police force whose data covers the district")
    first_month: str = Field(description="YYYY-MM: first month of police.uk data held")
    last_month: str = Field(description="YYYY-MM: newest month of police.uk data held")
    months_held: int = Field(description="Months of police.uk data held for the district")
    latest_full_year: int | None = Field(
        description="The latest calendar year whose 12 months are all held (else the latest "
                    "year holding any month); the default period")


class Cell(BaseModel):
    label: str
    value: str


class Headline(BaseModel):
    title: str
    cells: list[Cell] = Field(description="Cells of the document's table, as it prints them")
    verdict: str = Field(description="The table's test result for this row, as printed")
    verdict_label: str
    table: str = Field(description="The document table the cells come from")


class PoliceCoverage(BaseModel):
    force: str
    months_held: int
    first_month: str
    newest_month: str
    missing_months: list[str]
    last_loaded: str | None = Field(description="When the newest police file was loaded")
    period_months: str = Field(description="How much of the period the data holds")


class PartnerCoverage(BaseModel):
    source: str
    title: str
    kind: str
    first_month: str
    last_month: str
    spans: int
    unit: str
    synthetic: bool


class CoverageOut(BaseModel):
    police: PoliceCoverage
    partners: list[PartnerCoverage]


class OverviewOut(BaseModel):
    area_code: str
    area_name: str
    period: str = Field(description="The period's label")
    period_query: str = Field(description="The period as a `period` parameter")
    compared_with: str
    title: str = Field(description="The document's title")
    details: dict[str, str] = Field(description="The document's details (area, period...)")
    headline: list[Headline]
    key_findings: dict[str, Any] = Field(
        description="The document's key-findings section (blocks.section_json)")
    overall_crime: dict[str, Any] = Field(
        description="The document's overall-crime section: sentence, trend chart, table of "
                    "change by type and comparisons (blocks.section_json)")
    coverage: CoverageOut
    withheld: str | None = Field(description="Said when restricted sources are withheld")


# --------------------------------------------------------------------------- data


def _month_text(yyyymm: str) -> str:
    year, month = yyyymm.split("-")
    return month_label(date(int(year), int(month), 1))


def _period_query(period: Period, asked: str | None) -> str:
    if asked:
        return asked
    return period.label if period.kind == "calendar" else f"{period.start.year}"


def _tables(section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {b["key"]: b for b in section["blocks"] if b["type"] == "table"}
    for sub in section["subsections"]:
        found.update(_tables(sub))
    return found


def _row(table: dict[str, Any], field: str, value: str) -> dict[str, str] | None:
    """One row of a published table, field -> printed cell, where `field` is `value`."""
    fields = [c["field"] for c in table["columns"]]
    for row in table["rows"]:
        cells = dict(zip(fields, row, strict=True))
        if cells.get(field) == value:
            return cells
    return None


def _headline(table: dict[str, Any], row: dict[str, str], title: str, shown: list[str],
              verdict_label: str) -> dict[str, Any]:
    labels = {c["field"]: c["label"] for c in table["columns"]}
    return {"title": title, "table": table["key"],
            "cells": [{"label": labels[f], "value": row[f]} for f in shown if f in row],
            "verdict": row.get("verdict", ""), "verdict_label": verdict_label}


def headlines(overall: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline figures: cells picked from the document's own tables, as printed."""
    tables = _tables(overall)
    found: list[dict[str, Any]] = []
    rates = tables.get("overall-rates-table")
    if rates:
        row = _row(rates, "role", "area")
        parent = _row(rates, "role", "parent")
        if row:
            against = f"Against {parent['name']}" if parent else "Against the parent area"
            found.append(_headline(rates, row, "Police recorded crime (excluding ASB)",
                                   ["count", "rate_per_1000"], against))
    change = tables.get("overall-change")
    if change:
        fields = [c["field"] for c in change["columns"]]
        counts = [f for f in fields if f not in ("category", "change", "change_pct", "verdict")]
        for category in ("Anti-social behaviour", "Violence and sexual offences"):
            row = _row(change, "category", category)
            if row:
                found.append(_headline(change, row, category,
                                       [*counts, "change", "change_pct"],
                                       "Change between the periods"))
    return found


def _section(doc: Document, key: str) -> Section | None:
    return next((s for s in doc.sections if s.key == key), None)


def police_coverage(con: duckdb.DuckDBPyConnection, district: HeldDistrict, period: Period,
                    details: dict[str, str]) -> dict[str, Any]:
    area = select_area(con, district.code)
    held = sorted(months_covered(con, area, "police.uk"))
    cov = coverage(con)
    loaded = [i["loaded_at"] for i in cov.ingests
              if i["kind"] == "police-street" and i["status"] == "loaded"
              and i["force"] == district.force_code and i["loaded_at"]]
    in_period = [m for m in held if period.start <= m <= period.end]
    return {
        "force": district.force_name,
        "months_held": len(held),
        "first_month": month_label(held[0]) if held else "none",
        "newest_month": month_label(held[-1]) if held else "none",
        "missing_months": [_month_text(m["month"]) for m in cov.missing_months
                           if m["force"] == district.force_code],
        "last_loaded": max(loaded).replace("T", " ") if loaded else None,
        "period_months": f"{len(in_period)} of {period.n_months} months of "
                         f"{details.get('Period', period.label)}",
    }


def partner_coverage(con: duckdb.DuckDBPyConnection, withheld: frozenset[str]
                     ) -> list[dict[str, Any]]:
    titles: dict[str, list[str]] = {}
    for partner in PARTNER_SOURCES:
        titles.setdefault(partner.source, []).append(partner.title)
    synthetic = synthetic_sources(con)
    return [{"source": h.source, "title": "; ".join(titles.get(h.source, [h.source])),
             "kind": h.kind, "first_month": _month_text(h.first_month),
             "last_month": _month_text(h.last_month), "spans": h.spans, "unit": h.unit,
             "synthetic": h.source in synthetic}
            for h in source_holdings(con) if h.source not in withheld]


def _held(con: duckdb.DuckDBPyConnection, code: str) -> HeldDistrict:
    for district in districts_held(con):
        if district.code == code:
            return district
    raise LookupError(code)


def build_overview(con: duckdb.DuckDBPyConnection, chosen: Scope, withheld: frozenset[str]
                   ) -> dict[str, Any]:
    """The overview of a district and period for a reader who may not see `withheld`."""
    district, the_period = chosen.district, chosen.period
    doc = build_assessment(con, district.code, the_period, withheld=withheld)
    findings, overall = _section(doc, "key-findings"), _section(doc, "overall-crime")
    overall_json = section_json(overall, doc.rate_per) if overall else {
        "key": "overall-crime", "number": "", "title": "Overall crime", "blocks": [],
        "subsections": []}
    try:
        held = _held(con, district.code)
    except LookupError:
        held = HeldDistrict(district.code, district.name, "", "no police force held", "", "")
    return {
        "area_code": district.code, "area_name": district.name,
        "period": the_period.label, "period_query": _period_query(the_period, None),
        "compared_with": doc.details.get("Compared with", ""),
        "title": doc.title, "details": dict(doc.details),
        "headline": headlines(overall_json),
        "key_findings": section_json(findings, doc.rate_per) if findings else {
            "key": "key-findings", "number": "", "title": "Key findings", "blocks": [],
            "subsections": []},
        "overall_crime": overall_json,
        "coverage": {"police": police_coverage(con, held, the_period, doc.details),
                     "partners": partner_coverage(con, withheld)},
        "withheld": WITHHELD_TEXT if withheld else None,
    }


def overview_of(web: WebState, con: duckdb.DuckDBPyConnection, token: Token | None,
                area: str | None, period: str | None, withheld: frozenset[str]
                ) -> dict[str, Any]:
    """The overview, cached per snapshot, district, period and withheld sources."""
    chosen = web.scope(con, token, area, period)   # bad or unknown input raises: never cached
    key = ("overview", chosen.district.code, chosen.period, withheld)
    data = web.cached(token, key, lambda: build_overview(con, chosen, withheld))
    return {**data, "period_query": _period_query(chosen.period, period)}


def overview_data(request: Request, con: duckdb.DuckDBPyConnection, token: Token | None,
                  area: str | None, period: str | None) -> dict[str, Any]:
    web = state(request)
    withheld = web.withheld(may_see_restricted(current_user(request)), con, token)
    return overview_of(web, con, token, area, period, withheld)


_overview_json = encoder(OverviewOut)
_districts_json = encoder(list[DistrictHeldOut])


def _overview_key(area: str | None, period: str | None) -> tuple[Any, ...]:
    return ("api-overview", area, period)


def warm(web: WebState, con: duckdb.DuckDBPyConnection, token: Token | None, area: str) -> None:
    """The warm-up: the public's /api/overview?area=CODE (its latest full year), and the
    district list."""
    web.answer(con, token, ("api-districts",), False,
               lambda c, t, w: web.cached(t, ("districts-api",), lambda: districts_data(c)),
               _districts_json)
    web.answer(con, token, _overview_key(area, None), False,
               lambda c, t, w: overview_of(web, c, t, area, None, w), _overview_json)


def districts_data(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    found = []
    for district in districts_held(con):
        area = select_area(con, district.code)
        held = months_covered(con, area, "police.uk")
        try:
            year: int | None = latest_full_year(con, area)
        except ValueError:
            year = None
        found.append({"code": district.code, "name": district.name,
                      "force": district.force_name, "first_month": district.first_month,
                      "last_month": district.last_month, "months_held": len(held),
                      "latest_full_year": year})
    return found


# --------------------------------------------------------------------------- routes


@router.get("/api/overview", response_model=OverviewOut, tags=["overview"],
            summary="A district's overview: headline figures, key findings, coverage",
            responses={404: {"description": "No such district held"},
                       422: {"description": "Invalid area or period"}})
async def api_overview(request: Request, area: str | None = AREA_QUERY,
                       period: str | None = PERIOD_QUERY) -> Response:
    web = state(request)
    return await json_api(request, may_see_restricted(current_user(request)),
                          _overview_key(area, period),
                          lambda con, token, withheld: overview_of(web, con, token, area,
                                                                   period, withheld),
                          _overview_json)


@router.get("/api/districts", response_model=list[DistrictHeldOut], tags=["overview"],
            summary="The districts held, with their months of police data and default year")
async def api_districts(request: Request) -> Response:
    web = state(request)
    return await json_api(request, False,      # the same for every reader
                          ("api-districts",),
                          lambda con, token, withheld: web.cached(
                              token, ("districts-api",), lambda: districts_data(con)),
                          _districts_json)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def overview_page(request: Request, area: str | None = AREA_QUERY,
                  period: str | None = PERIOD_QUERY,
                  warehouse: tuple[duckdb.DuckDBPyConnection, Token | None] = Warehouse
                  ) -> HTMLResponse:
    con, token = warehouse
    data = overview_data(request, con, token, area, period)
    return page(request, "overview.html.j2",
                title=f"Overview: {data['area_name']}, {data['period']}", active="overview",
                data=data)
