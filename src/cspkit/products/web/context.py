"""What a request is about: the district (by code or name, as the CLI takes it) and the
period (the document's period syntax), checked once and shared by every page."""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from cspkit.errors import CspkitError
from cspkit.measures.areas import AreaSelection, latest_full_year, select_area
from cspkit.measures.periods import Period, calendar_year, parse_period
from cspkit.store.areas import HeldDistrict, districts_held

# Query parameters are checked against these before they reach a measure.
AREA_PATTERN = r"^[A-Za-z0-9 ,.'()&-]{1,80}$"
PERIOD_PATTERN = r"^(?:\d{4}(?:/\d{2})?|\d{4}-\d{2}\.\.\d{4}-\d{2}|rolling:\d{4}-\d{2})$"


class NotFound(CspkitError, LookupError):
    """An area or thing the warehouse does not hold: HTTP 404."""


class BadRequest(CspkitError, ValueError):
    """A parameter that is well-formed but unusable: HTTP 422."""


@dataclass(frozen=True)
class Scope:
    district: AreaSelection
    period: Period


def held(con: duckdb.DuckDBPyConnection) -> list[HeldDistrict]:
    return districts_held(con)


def default_district(con: duckdb.DuckDBPyConnection) -> HeldDistrict:
    found = districts_held(con)
    if not found:
        raise NotFound("the warehouse holds no police.uk data yet: load some with "
                       "`cspkit ingest police` or `cspkit setup`")
    return found[0]


def scope(con: duckdb.DuckDBPyConnection, area: str | None, period: str | None) -> Scope:
    """The district and period asked for; the first district held and its latest full year
    when not given."""
    if area is not None and not re.match(AREA_PATTERN, area):
        raise BadRequest(f"area {area!r} is not a name or code")
    try:
        district = select_area(con, area or default_district(con).code)
    except LookupError as exc:
        raise NotFound(str(exc)) from exc
    if district.level != "lad":
        raise BadRequest(f"{district.name} is a {district.level}; the dashboard reports on "
                         "districts (local authorities)")
    if period is None:
        try:
            return Scope(district, calendar_year(latest_full_year(con, district)))
        except (LookupError, ValueError) as exc:
            raise NotFound(f"no full year of police.uk data for {district.name}") from exc
    if not re.match(PERIOD_PATTERN, period):
        raise BadRequest(f"period {period!r}: expected e.g. 2023, 2023/24, "
                         "2023-01..2023-06 or rolling:2024-03")
    try:
        return Scope(district, parse_period(period))
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
