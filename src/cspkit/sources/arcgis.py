"""Boundaries from the ONS Open Geography Portal's ArcGIS feature services, as GeoJSON.

A layer is queried at ``<service>/query`` with ``where``, ``outFields``, ``outSR=4326`` (WGS84
lon/lat, as the warehouse stores geometry), ``f=geojson`` and paging by ``resultOffset`` and
``resultRecordCount``. A page that is not the last says so with ``exceededTransferLimit: true``
(top level, or under ``properties`` in GeoJSON responses), and the next page starts where it
ended. Areas are asked for by code (``LSOA21CD IN ('E01..', ...)``, in batches so the URL stays
short): LSOA boundary layers carry no district column, so the codes come from the lookups.

The service reports a bad query with HTTP 200 and ``{"error": {"code": 400, "message": ...,
"details": [...]}}``: that is raised as an ArcGISError naming the service and the message.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cspkit.errors import CspkitError
from cspkit.sources.download import get_bytes

# ONS Open Geography Portal, generalised (20 m) clipped boundaries.
ONS_ARCGIS = "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services"
LSOA21_SERVICE = (f"{ONS_ARCGIS}/Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BGC_V5"
                  "/FeatureServer/0")
# Ward boundaries by edition (the year of the ward codes, WDyyCD, in the lookup held).
WARD_SERVICES = {
    "2023": f"{ONS_ARCGIS}/Wards_December_2023_Boundaries_UK_BGC/FeatureServer/0",
    "2024": f"{ONS_ARCGIS}/Wards_December_2024_Boundaries_UK_BGC/FeatureServer/0",
}
WARD23_SERVICE = WARD_SERVICES["2023"]

BATCH = 100        # codes per query: keeps a GET URL well under servers' limits
PAGE_SIZE = 1000   # features per page (the ONS layers allow up to 2000)
_CODE = re.compile(r"^[A-Z][0-9]{8}$")
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

OnPage = Callable[[int], None]


class ArcGISError(CspkitError):
    """The feature service refused a query or answered with something that is not GeoJSON."""


def query_url(service: str, where: str, out_fields: list[str], offset: int, count: int) -> str:
    params = {"where": where, "outFields": ",".join(out_fields), "outSR": "4326",
              "f": "geojson", "resultOffset": str(offset), "resultRecordCount": str(count),
              "returnGeometry": "true"}
    return f"{service.rstrip('/')}/query?{urllib.parse.urlencode(params)}"


def features_by_code(service: str, field: str, codes: list[str], out_fields: list[str], *,
                     timeout: float = 60.0, on_page: OnPage | None = None
                     ) -> list[dict[str, Any]]:
    """Every feature of the layer whose `field` is one of `codes`, all pages of all batches.
    `on_page` is told the number of features each page brought."""
    if not _FIELD.match(field) or not all(_FIELD.match(f) for f in out_fields):
        raise ValueError(f"not a field name: {field} / {out_fields}")
    bad = [c for c in codes if not _CODE.match(c)]
    if bad:   # codes go into a query string: only GSS codes are ever sent
        raise ArcGISError(f"not GSS codes, not queried: {', '.join(bad[:5])}")
    features: list[dict[str, Any]] = []
    for start in range(0, len(codes), BATCH):
        batch = codes[start:start + BATCH]
        where = f"{field} IN ({', '.join(repr(c) for c in batch)})"
        offset = 0
        while True:
            url = query_url(service, where, out_fields, offset, PAGE_SIZE)
            page = _page(url, service, timeout)
            found = page["features"]
            features.extend(found)
            if on_page:
                on_page(len(found))
            exceeded = (page.get("exceededTransferLimit")
                        or (page.get("properties") or {}).get("exceededTransferLimit"))
            if not exceeded or not found:
                break
            offset += len(found)
    return features


def write_collection(features: list[dict[str, Any]], path: Path) -> None:
    """One GeoJSON FeatureCollection at `path`, written whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump({"type": "FeatureCollection", "features": features}, out)
    os.replace(tmp, path)


def codes_of(features: list[dict[str, Any]], field: str) -> set[str]:
    return {str((f.get("properties") or {}).get(field)) for f in features}


def _page(url: str, service: str, timeout: float) -> dict[str, Any]:
    body = get_bytes(url, timeout=timeout)
    try:
        page = json.loads(body)
    except ValueError as exc:
        start = body[:60].decode("utf-8", "replace").strip()
        raise ArcGISError(f"{service} answered with something that is not JSON "
                          f"(it starts {start!r})") from exc
    if not isinstance(page, dict):
        raise ArcGISError(f"{service} answered with JSON that is not a feature collection")
    error = page.get("error")
    if error is not None:
        error = error if isinstance(error, dict) else {"message": str(error)}
        details = "; ".join(str(d) for d in error.get("details") or [] if d)
        raise ArcGISError(f"{service} refused the query: error {error.get('code', '?')}: "
                          f"{error.get('message') or 'no message'}"
                          + (f" ({details})" if details else ""))
    if not isinstance(page.get("features"), list):
        raise ArcGISError(f"{service} answered without a 'features' list (not GeoJSON)")
    return page
