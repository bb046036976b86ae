"""Maps drawn on the server as SVG: every area a path with its name and value in a <title>,
shaded on a colour-blind-safe sequential scale (viridis, light = low), with no tiles and no
script. An area can be a link (to its profile) or a toggle (for building a custom area); both
are focusable and work from the keyboard.

Values arrive as published: None where the document hides a figure (a count of 1-4, or a
figure that would reveal one), drawn grey and described as 'not shown'.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from markupsafe import Markup, escape
from shapely.geometry import MultiPolygon, Polygon

# viridis, light to dark (colour-blind safe and readable in greyscale)
PALETTE = ["#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"]
NOT_SHOWN = "#c8c8c8"
WIDTH = 640


@dataclass(frozen=True)
class MapArea:
    code: str
    name: str
    shape: Polygon | MultiPolygon       # lon/lat (WGS84)
    value: float | None                 # None: not shown (suppressed or unknown)
    label: str                          # the value as published, e.g. '12.3' or '<5'


def classes(values: list[float], n: int = len(PALETTE)) -> list[tuple[float, float]]:
    """Equal-interval classes over the shown values (one class when they are all equal)."""
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:
        return [(low, high)]
    step = (high - low) / n
    return [(low + i * step, low + (i + 1) * step) for i in range(n)]


def colour(value: float | None, bins: list[tuple[float, float]]) -> str:
    if value is None or not bins:
        return NOT_SHOWN
    if len(bins) == 1:
        return PALETTE[len(PALETTE) // 2]
    for i, (_, high) in enumerate(bins):
        if value <= high or i == len(bins) - 1:
            return PALETTE[i]
    return PALETTE[-1]


def _projector(shapes: list[Polygon | MultiPolygon], width: int
               ) -> tuple[Callable[[float, float], tuple[float, float]], int]:
    minx = min(s.bounds[0] for s in shapes)
    miny = min(s.bounds[1] for s in shapes)
    maxx = max(s.bounds[2] for s in shapes)
    maxy = max(s.bounds[3] for s in shapes)
    # Equirectangular at the map's middle latitude: true enough in shape for a district.
    k = math.cos(math.radians((miny + maxy) / 2))
    span_x = max((maxx - minx) * k, 1e-9)
    span_y = max(maxy - miny, 1e-9)
    pad = 6
    scale = (width - 2 * pad) / span_x
    height = int(span_y * scale) + 2 * pad
    if height > 720:   # very tall areas: fit the height instead
        scale = (720 - 2 * pad) / span_y
        height = 720

    def project(x: float, y: float) -> tuple[float, float]:
        return pad + (x - minx) * k * scale, pad + (maxy - y) * scale
    return project, height


def _path(shape: Polygon | MultiPolygon,
          project: Callable[[float, float], tuple[float, float]]) -> str:
    parts = []
    for polygon in getattr(shape, "geoms", [shape]):
        for ring in [polygon.exterior, *polygon.interiors]:
            points = [project(x, y) for x, y in ring.coords]
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points) + "Z")
    return "".join(parts)


def svg_map(areas: list[MapArea], *, title: str, value_title: str,
            href: Callable[[str], str] | None = None, selectable: bool = False,
            selected: set[str] | None = None, width: int = WIDTH) -> Markup:
    """The map as inline SVG markup. `href`: each area links there; `selectable`: each area
    is a toggle button (data-code, aria-pressed) for the page's script."""
    if not areas:
        return Markup(f'<p class="map-empty">{escape(title)}: no boundaries are held for '
                      "these areas, so no map is drawn.</p>")
    project, height = _projector([a.shape for a in areas], width)
    bins = classes([a.value for a in areas if a.value is not None])
    selected = selected or set()
    out = [f'<svg class="map" viewBox="0 0 {width} {height}" width="100%" role="group" '
           f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">']
    for area in areas:
        tip = f"{area.name} ({area.code})" + (
            f": {value_title} {area.label or 'not shown'}" if value_title else "")
        fill = colour(area.value, bins)
        path = (f'<path d="{_path(area.shape, project)}" fill="{fill}" '
                f'class="area" data-code="{escape(area.code)}"')
        if selectable:
            pressed = "true" if area.code in selected else "false"
            out.append(f'{path} role="button" tabindex="0" aria-pressed="{pressed}" '
                       f'aria-label="{escape(tip)}"><title>{escape(tip)}</title></path>')
        elif href is not None:
            out.append(f'<a href="{escape(href(area.code))}" aria-label="{escape(tip)}">'
                       f'{path}><title>{escape(tip)}</title></path></a>')
        else:
            out.append(f'{path}><title>{escape(tip)}</title></path>')
    out.append("</svg>")
    if not value_title:   # a map to select areas on: no values, so no legend
        return Markup("".join(out))
    return Markup("".join(out)) + legend(bins, value_title,
                                         any(a.value is None for a in areas))


def legend(bins: list[tuple[float, float]], value_title: str, any_hidden: bool) -> Markup:
    items = []
    for i, (low, high) in enumerate(bins):
        swatch = PALETTE[i] if len(bins) > 1 else PALETTE[len(PALETTE) // 2]
        text = f"{low:,.1f} to {high:,.1f}" if high != low else f"{low:,.1f}"
        items.append(f'<li><span class="swatch" style="background:{swatch}"></span>'
                     f"{escape(text)}</li>")
    if any_hidden:
        items.append(f'<li><span class="swatch" style="background:{NOT_SHOWN}"></span>'
                     "Not shown</li>")
    return Markup(f'<div class="map-legend"><p>{escape(value_title)}</p>'
                  f'<ul>{"".join(items)}</ul></div>')


def published_number(text: str) -> float | None:
    """A published cell as a number for shading: None for '<5', '' and other hidden marks."""
    cleaned = text.replace(",", "").strip()
    try:
        return float(cleaned)
    except ValueError:
        return None


def areas_from(shapes: Mapping[str, Polygon | MultiPolygon], names: Mapping[str, str],
               labels: Mapping[str, str]) -> list[MapArea]:
    """MapAreas for the codes that have a shape, from published labels ('<5' is not shown)."""
    return [MapArea(code, names.get(code, code), shape,
                    published_number(labels.get(code, "")), labels.get(code, ""))
            for code, shape in shapes.items()]
