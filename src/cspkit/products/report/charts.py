"""Charts and maps for the report: Altair (Vega-Lite) specs rendered to static SVG by
vl-convert, so the HTML and the PDF embed the same inline markup.

Everything renders offline: data goes inline into each spec, vl-convert is allowed no external
URL at all, fonts are a generic family list (nothing is fetched), and maps draw only the
boundaries held in the warehouse (no tiles, no basemap, no world files).

Each function returns a `Figure` whose `alt` states in words what the chart shows, with the key
numbers, for readers who cannot see it. Bars and areas whose values are counts (given, or all
whole numbers on a scale of its own) never show or state a count below the disclosure threshold:
such a value is drawn and described as not shown, like a suppressed one, and the figure is
marked `shows_counts` so the disclosure audit holds its description to that.

Element ids in the SVG are prefixed with the figure key: inline SVGs share one HTML id space,
and a second chart's `url(#gradient_0)` would otherwise resolve to the first chart's gradient.
"""

from __future__ import annotations

import html
import json
import math
import re
import textwrap
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any

import altair as alt
import duckdb
import pandas as pd
import shapely
import vl_convert
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.polygon import orient

from cspkit.measures.settings import Settings
from cspkit.products.report.document import Figure
from cspkit.store.geography import area_boundaries, lsoa_shapes_by_area

FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
WIDTH = 600                 # overall SVG width: fits an A4 text block at 96 dpi
TITLE_CHARS = 80            # about what fits across WIDTH at the title font size

# Colours: dark blue for the data, orange for the average (distinct under common colour
# vision deficiencies), red/purple for exceptional months, pale grey for missing areas.
COUNT_COLOUR = "#1f4e79"
AVERAGE_COLOUR = "#e07b00"
BAND_COLOUR = "#d9d9d9"
EXPECTED_COLOUR = "#595959"
HIGH_COLOUR = "#c00000"
LOW_COLOUR = "#7030a0"
BAR_COLOUR = "#8fb3d9"
HIGHLIGHT_COLOUR = "#1f4e79"
BASELINE_COLOUR = "#a6c8e8"
NOT_SHOWN_COLOUR = "#c8c8c8"
MAP_SCHEME = "blues"

EXPECTED_RANGE, EXPECTED = "Expected range", "Expected"
THRESHOLD = Settings().suppress_below   # counts below this are never drawn nor stated
NO_BOUNDARIES = "No boundaries loaded for this map"
NO_DATA = "No data for this chart"
# Check each spec against the Vega-Lite schema before drawing. The specs come from this module's
# code, so the tests check them (tests/products/report/test_charts.py turns this on) and a
# report skips the check, which costs more than a report's statistics.
VALIDATE_SPECS = False

Datasets = dict[str, list[dict[str, Any]]]

LEVEL_WORDS = {"lsoa": "LSOA", "msoa": "MSOA", "oa": "output area", "lad": "district",
               "ward": "ward", "cty": "county", "county": "county", "pfa": "force area"}


# -- public API ---------------------------------------------------------------------------------

def trend_chart(key: str, title: str, series: pd.DataFrame, *, y_title: str = "Count",
                area_name: str = "", source: str = "", settings: Settings | None = None
                ) -> Figure:
    """Monthly counts as a line with points, the 12-month rolling mean as a second line and,
    for the inspected months (`measures.series.monthly_series(inspect=...)`), the expected
    count as a dashed line inside the expected range (a shaded band), with the months outside
    it as larger marks. A series that stops (a partner source ending before the police data)
    is drawn to its last month and no further."""
    settings = settings or Settings()
    frame = _trend_frame(series)
    if frame.empty:
        return _message_figure(key, title, NO_DATA, f"{title}: no months to chart.", source)
    names, colours = ["Monthly count"], [COUNT_COLOUR]
    x = alt.X("month:T", title="Month", scale=alt.Scale(type="utc"),
              axis=alt.Axis(format="%b %Y", labelAngle=0, grid=False,
                            tickCount={"interval": "month", "step": _month_step(len(frame))}))
    y_scale = alt.Scale(zero=True)
    layers: list[alt.Chart] = []
    datasets: Datasets = {}
    banded = frame[frame["lower"].notna() & frame["upper"].notna()]
    has_band = not banded.empty
    if has_band:
        names += [EXPECTED_RANGE, EXPECTED]
        colours += [BAND_COLOUR, EXPECTED_COLOUR]
    has_average = bool(frame["rolling_mean"].notna().any())
    if has_average:
        names.append("12-month average")
        colours.append(AVERAGE_COLOUR)
    flagged = frame[frame["exceptional"].isin(["above", "below"])]
    for direction, name, colour in (("above", "Exceptionally high", HIGH_COLOUR),
                                    ("below", "Exceptionally low", LOW_COLOUR)):
        if (flagged["exceptional"] == direction).any():
            names.append(name)
            colours.append(colour)
    color = alt.Color("series:N", title=None, scale=alt.Scale(domain=names, range=colours),
                      legend=alt.Legend(orient="bottom", direction="horizontal", symbolOpacity=1,
                                        columns=3 if len(names) > 3 else len(names)))

    if has_band:
        band = _values(datasets, "band", banded[["month", "lower", "upper"]],
                       series=EXPECTED_RANGE)
        layers.append(alt.Chart(band).mark_area(opacity=0.6).encode(
            x=x, y=alt.Y("lower:Q", scale=y_scale), y2="upper:Q", color=color))
        expected = _values(datasets, "expected", banded[["month", "expected"]],
                           series=EXPECTED)
        layers.append(alt.Chart(expected).mark_line(strokeWidth=1.5, strokeDash=[5, 3]).encode(
            x=x, y=alt.Y("expected:Q", scale=y_scale), color=color))
    # Months the data does not hold are blanks in the line, never joined across: a gap of
    # several months drawn as a straight line would read as a trend nobody measured.
    # A month of 1-4 is not plotted (its point could be read off the axis): a gap instead.
    small = frame["count"].between(1, settings.suppress_below - 1)
    plotted = frame.assign(count=frame["count"].where(~small))
    counts = _values(datasets, "counts", _with_gaps(plotted)[["month", "count"]],
                     series="Monthly count")
    layers.append(alt.Chart(counts).mark_line(
        point=alt.OverlayMarkDef(filled=True, size=22), strokeWidth=1.5,
        invalid="break-paths-show-domains").encode(
            x=x, y=alt.Y("count:Q", title=y_title, scale=y_scale), color=color))
    if has_average:
        # Broken at missing months too: the average is unknown there, not a straight line.
        average = _values(datasets, "average", _with_gaps(frame)[["month", "rolling_mean"]],
                          series="12-month average")
        layers.append(alt.Chart(average).mark_line(
            strokeWidth=2.5, invalid="break-paths-show-domains").encode(
                x=x, y=alt.Y("rolling_mean:Q", scale=y_scale), color=color))
    flagged = flagged[~small[flagged.index]]
    if not flagged.empty:
        labelled = _values(datasets, "flagged", flagged[["month", "count"]].assign(
            series=flagged["exceptional"].map({"above": "Exceptionally high",
                                               "below": "Exceptionally low"})))
        layers.append(alt.Chart(labelled).mark_point(
            filled=True, size=90, opacity=1, stroke="white", strokeWidth=1).encode(
                x=x, y=alt.Y("count:Q", scale=y_scale), color=color))

    description = _trend_alt(title, frame, area_name, series.attrs, settings)
    if small.any():
        n = int(small.sum())
        description += (f" {n} month{'s' if n > 1 else ''} with fewer than "
                        f"{settings.suppress_below} {'are' if n > 1 else 'is'} not plotted.")
    chart = alt.layer(*layers).properties(
        width=WIDTH - 60, height=260, title=_title(title))
    return _figure(key, title, chart, description, source, datasets)


def bar_chart(key: str, title: str, frame: pd.DataFrame, *, category: str, value: str,
              value_title: str, highlight: str | None = None, category_title: str = "",
              source: str = "", counts: bool | None = None, threshold: int = THRESHOLD
              ) -> Figure:
    """Horizontal bars sorted largest first, with value labels; `highlight` (a category, e.g.
    the selected district among its siblings) is drawn in a stronger colour and bold label.
    `counts`: the values are counts (default: when all are whole numbers), so any from 1 to
    `threshold` - 1 is not shown."""
    data = pd.DataFrame({"category": frame[category].astype(str),
                         "value": pd.to_numeric(frame[value], errors="coerce")})
    counts = _are_counts(data["value"]) if counts is None else counts
    if counts:
        data["value"] = _without_small(data["value"], threshold)
    missing = data.loc[data["value"].isna(), "category"].tolist()
    data = data.dropna(subset=["value"]).sort_values(["value", "category"],
                                                     ascending=[False, True])
    if data.empty:
        return _message_figure(key, title, NO_DATA, f"{title}: no values to chart.", source)
    fmt = _number_format(data["value"])
    data["label"] = [format(v, fmt) for v in data["value"]]
    data["highlight"] = data["category"] == highlight
    datasets: Datasets = {}
    order = data["category"].tolist()
    y = alt.Y("category:N", sort=order, title=category_title or None,
              axis=alt.Axis(labelLimit=190, labelFontWeight=_bold_if(highlight)))
    x = alt.X("value:Q", title=value_title, axis=_value_axis(fmt))
    base = alt.Chart(_values(datasets, "bars", data)).encode(y=y)
    bars = base.mark_bar().encode(
        x=x, color=alt.condition("datum.highlight", alt.value(HIGHLIGHT_COLOUR),
                                 alt.value(BAR_COLOUR)))
    labels = _value_labels(base, "value", "label")
    description = _bar_alt(title, data, value_title, category_title, highlight, missing)
    chart = alt.layer(bars, *labels).properties(
        width=WIDTH - 230, height=alt.Step(20), title=_title(title))
    return _figure(key, title, chart, description, source, datasets, shows_counts=counts)


def change_chart(key: str, title: str, frame: pd.DataFrame, *, category: str, count: str,
                 baseline: str, period: str, baseline_period: str, value_title: str = "Count",
                 category_title: str = "", source: str = "", counts: bool | None = None,
                 threshold: int = THRESHOLD) -> Figure:
    """Grouped horizontal bars, one pair per category (or ward): the baseline period above the
    current one, categories ordered by the current count. Counts from 1 to `threshold` - 1
    are not shown (`counts`: default when all values are whole numbers)."""
    wide = pd.DataFrame({"category": frame[category].astype(str),
                         "count": pd.to_numeric(frame[count], errors="coerce"),
                         "baseline": pd.to_numeric(frame[baseline], errors="coerce")})
    counts = (_are_counts(pd.concat([wide["count"], wide["baseline"]])) if counts is None
              else counts)
    if counts:
        wide["count"] = _without_small(wide["count"], threshold)
        wide["baseline"] = _without_small(wide["baseline"], threshold)
    wide = wide.sort_values(["count", "baseline", "category"], ascending=[False, False, True],
                            na_position="last")
    if wide[["count", "baseline"]].isna().all().all():
        return _message_figure(key, title, NO_DATA, f"{title}: no values to chart.", source)
    fmt = _number_format(pd.concat([wide["count"], wide["baseline"]]).dropna())
    rows = [{"category": r.category, "period": label, "order": order, "value": float(v),
             "label": format(v, fmt)}
            for r in wide.itertuples()
            for label, order, v in ((baseline_period, 0, r.baseline), (period, 1, r.count))
            if not pd.isna(v)]
    long = pd.DataFrame(rows)
    datasets: Datasets = {}
    y = alt.Y("category:N", sort=wide["category"].tolist(), title=category_title or None,
              axis=alt.Axis(labelLimit=190))
    offset = alt.YOffset("period:N", sort=[baseline_period, period])
    base = alt.Chart(_values(datasets, "bars", long)).encode(y=y, yOffset=offset)
    bars = base.mark_bar().encode(
        x=alt.X("value:Q", title=value_title, axis=_value_axis(fmt)),
        color=alt.Color("period:N", title=None,
                        scale=alt.Scale(domain=[baseline_period, period],
                                        range=[BASELINE_COLOUR, COUNT_COLOUR]),
                        legend=alt.Legend(orient="bottom", direction="horizontal")))
    labels = _value_labels(base, "value", "label", size=10)
    description = _change_alt(title, wide, period, baseline_period, category_title, fmt)
    chart = alt.layer(bars, *labels).properties(
        width=WIDTH - 230, height=alt.Step(15), title=_title(title))
    return _figure(key, title, chart, description, source, datasets, shows_counts=counts)


def choropleth(key: str, title: str, con: duckdb.DuckDBPyConnection, *,
               codes_values: pd.DataFrame, level: str, value_title: str,
               vintage: str | None = None, source: str = "",
               domain: tuple[float, float] | None = None, reverse: bool = False,
               counts: bool | None = None, threshold: int = THRESHOLD) -> Figure:
    """Areas shaded by value on a sequential scale; areas whose value is None (suppressed or
    unknown) are grey and labelled 'Not shown'. Boundaries come from `area_geometry`; when none
    is held for the codes, the figure says so instead of raising.

    `domain` fixes the scale's ends (e.g. (1, 10) for deciles, so a map of a few LSOAs is not
    stretched over their own range); `reverse` makes low values dark (decile 1, the most
    deprived, darkest). `counts`: the values are counts (default: all whole numbers and no
    fixed `domain`), so any from 1 to `threshold` - 1 is shown and described as not shown."""
    data = _map_frame(codes_values)
    counts = (domain is None and _are_counts(data["value"])) if counts is None else counts
    if counts:
        data["value"] = _without_small(data["value"], threshold)
    dissolved: set[str] = set()
    shapes = map_shapes(con, data["code"].tolist(), level, vintage, dissolved)
    singular = LEVEL_WORDS.get(level.lower(), level)
    plural = _plural(singular)
    if not shapes:
        return _message_figure(key, title, NO_BOUNDARIES,
                               f"{title}: map not drawn. No boundaries loaded for this map "
                               f"(none held for {_count_of(len(data), singular)}).", source)
    drawn = data[data["code"].isin(list(shapes))]
    fmt = _number_format(drawn["value"].dropna())
    features = [_feature(shapes[r.code], r.code, r.name, r.value, fmt)
                for r in drawn.itertuples()]
    layers: list[alt.Chart] = []
    projection = alt.Projection(type="mercator")
    map_width = WIDTH - 150
    height = _map_height(list(shapes.values()), map_width)
    outline = {"stroke": "white", "strokeWidth": 0.6}
    if drawn["value"].notna().any():
        layers.append(alt.Chart(alt.Data(name="areas")).mark_geoshape(**outline)
                      .transform_filter("isValid(datum.properties.value)")
                      .encode(color=alt.Color(
                          "properties.value:Q", title=_wrap(value_title, 18),
                          scale=alt.Scale(scheme=MAP_SCHEME, zero=False, reverse=reverse,
                                          **({"domain": list(domain)} if domain else {})),
                          legend=alt.Legend(format=fmt, gradientLength=min(height - 60, 180)))))
    if drawn["value"].isna().any():
        layers.append(alt.Chart(alt.Data(name="areas")).mark_geoshape(**outline)
                      .transform_filter("!isValid(datum.properties.value)")
                      .encode(fill=alt.Fill("properties.status:N", title=None,
                                            scale=alt.Scale(domain=["Not shown"],
                                                            range=[NOT_SHOWN_COLOUR]))))
    description = _map_alt(title, data, drawn, value_title, plural, fmt, reverse=reverse)
    description += _dissolved_note(dissolved, plural)
    chart = alt.layer(*layers).properties(
        width=map_width, height=height, projection=projection, title=_title(title))
    return _figure(key, title, chart, description, source, {"areas": features},
                   shows_counts=counts)


def category_map(key: str, title: str, con: duckdb.DuckDBPyConnection, *,
                 codes_classes: pd.DataFrame, level: str, classes: Sequence[tuple[str, str]],
                 legend_title: str, vintage: str | None = None, source: str = "") -> Figure:
    """Areas coloured by class (`codes_classes`: code, name, value = one of `classes`, given
    as (label, colour) in legend order); boundaries as for `choropleth`. The description names
    the areas of every class but the last (the background class, e.g. 'not significant')."""
    data = _map_frame(codes_classes.assign(value=0))
    data["label"] = data["code"].map(dict(zip(codes_classes["code"].astype(str).str.strip(),
                                              codes_classes["value"].astype(str), strict=True)))
    dissolved: set[str] = set()
    shapes = map_shapes(con, data["code"].tolist(), level, vintage, dissolved)
    singular = LEVEL_WORDS.get(level.lower(), level)
    plural = _plural(singular)
    if not shapes:
        return _message_figure(key, title, NO_BOUNDARIES, f"{title}: map not drawn. No "
                               f"boundaries loaded for this map.", source)
    drawn = data[data["code"].isin(list(shapes))]
    features = [{"type": "Feature", "geometry": json.loads(shapely.to_geojson(shapes[r.code])),
                 "properties": {"code": r.code, "name": r.name, "label": r.label}}
                for r in drawn.itertuples()]
    height = _map_height(list(shapes.values()), WIDTH - 150)
    chart = alt.Chart(alt.Data(name="areas")).mark_geoshape(stroke="white", strokeWidth=0.6)\
        .encode(color=alt.Color("properties.label:N", title=_wrap(legend_title, 18),
                                scale=alt.Scale(domain=[c for c, _ in classes],
                                                range=[colour for _, colour in classes]),
                                legend=alt.Legend(symbolType="square")))
    chart = alt.layer(chart).properties(width=WIDTH - 150, height=height,
                                        projection=alt.Projection(type="mercator"),
                                        title=_title(title))
    parts = []
    for label, _ in classes[:-1]:
        names = sorted(drawn.loc[drawn["label"] == label, "name"].tolist())
        parts.append(f"{label}: " + (f"{_count_of(len(names), singular)} ({_join(names, 6)})"
                                      if names else "none"))
    rest = int((drawn["label"] == classes[-1][0]).sum())
    text = (f"Map: {title}. {_count_of(len(drawn), plural)} coloured by "
            f"{_lower_first(legend_title)}. " + "; ".join(parts)
            + f"; {classes[-1][0]}: the other {rest}.")
    undrawn = data.loc[~data["code"].isin(drawn["code"]), "name"].tolist()
    if undrawn:
        text += f" No boundary held, not drawn: {_join(undrawn, limit=6)}."
    text += _dissolved_note(dissolved, plural)
    return _figure(key, title, chart, text, source, {"areas": features})


def _dissolved_note(dissolved: set[str], plural: str) -> str:
    if not dissolved:
        return ""
    return (f" The boundaries of {len(dissolved)} {plural} are drawn by joining their LSOAs, "
            f"as no boundary of their own is held.")


# -- rendering ----------------------------------------------------------------------------------

def _figure(key: str, title: str, chart: alt.LayerChart, alt_text: str, source: str,
            datasets: Datasets | None = None, shows_counts: bool = False) -> Figure:
    return Figure(key=key, title=title, svg=_render(chart, key, alt_text, datasets),
                  alt=alt_text, source=source, shows_counts=shows_counts)


def _render(chart: alt.LayerChart, key: str, alt_text: str,
            datasets: Datasets | None = None) -> str:
    # aria=False: Vega's per-mark labels ('properties.value: 5') are noise to a screen reader;
    # the whole SVG is announced as one image described by the figure's alt text instead.
    configured = (chart.configure(font=FONT, background="white", padding=8, aria=False)
                  .configure_view(stroke=None)
                  .configure_title(fontSize=14, anchor="start", offset=10, color="#222222")
                  .configure_axis(labelFontSize=11, titleFontSize=12, titleColor="#333333",
                                  labelColor="#333333")
                  .configure_legend(labelFontSize=11, titleFontSize=11, labelLimit=240))
    # allowed_base_urls=[]: no spec may pull anything over the network, even by accident.
    spec = configured.to_dict(validate=VALIDATE_SPECS)
    spec.setdefault("datasets", {}).update(datasets or {})
    svg = vl_convert.vegalite_to_svg(spec, vl_version=_vl_version(),
                                     allowed_base_urls=[])
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(alt_text)}" ', 1)
    return _scope_ids(svg, key)


@lru_cache(maxsize=1)
def _vl_version() -> str | None:
    """The Vega-Lite version Altair writes specs for, if vl-convert bundles it."""
    match = re.match(r"v?(\d+\.\d+)", alt.SCHEMA_VERSION)
    wanted = match.group(1) if match else None
    return wanted if wanted in vl_convert.get_vegalite_versions() else None


def _scope_ids(svg: str, key: str) -> str:
    prefix = "fig-" + re.sub(r"[^A-Za-z0-9_-]", "-", key) + "-"
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    return re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)


def _message_figure(key: str, title: str, message: str, alt_text: str, source: str) -> Figure:
    text = html.escape(message)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="60" '
           f'viewBox="0 0 {WIDTH} 60" role="img" aria-label="{text}">'
           f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="59" fill="#f7f7f7" '
           f'stroke="#cccccc"/><text x="{WIDTH / 2:g}" y="35" text-anchor="middle" '
           f'font-family="{FONT}" font-size="14" fill="#555555">{text}</text></svg>')
    return Figure(key=key, title=title, svg=svg, alt=alt_text, source=source)


def _title(title: str) -> alt.TitleParams:
    # Vega does not wrap titles: long ones become several lines rather than overflow A4.
    return alt.TitleParams(text=_wrap(title, TITLE_CHARS))


def _wrap(text: str, width: int) -> str | list[str]:
    lines = textwrap.wrap(text, width) or [text]
    return lines[0] if len(lines) == 1 else lines


def _values(datasets: Datasets, name: str, frame: pd.DataFrame, **constant: Any) -> alt.Data:
    """Rows as a named inline dataset, added to the spec only when rendering: Altair would
    otherwise deep-copy and validate every row (every map coordinate) at each step."""
    datasets[name] = [{k: _json_value(v) for k, v in {**record, **constant}.items()}
                      for record in frame.to_dict(orient="records")]
    return alt.Data(name=name)


def _json_value(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | date):
        return value.strftime("%Y-%m-%d")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):   # numpy scalars
        return value.item()
    return value


def _value_labels(base: alt.Chart, field: str, label: str, size: int = 11) -> list[alt.Chart]:
    """Value labels just past the end of each bar (left of it for negative values)."""
    labels = []
    for test, align, dx in ((f"datum.{field} >= 0", "left", 3), (f"datum.{field} < 0", "right",
                                                                    -3)):
        labels.append(base.mark_text(align=align, baseline="middle", dx=dx, fontSize=size,
                                     color="#333333")
                      .encode(x=alt.X(f"{field}:Q"), text=alt.Text(f"{label}:N"))
                      .transform_filter(test))
    return labels


def _value_axis(fmt: str) -> alt.Axis:
    # Ticks trimmed of trailing zeros ('10', not '10.0'); whole counts get whole-number ticks.
    if fmt == ",.0f":
        return alt.Axis(format=",~f", tickMinStep=1)
    return alt.Axis(format=",~f")


def _bold_if(highlight: str | None) -> Any:
    if highlight is None:
        return "normal"
    return alt.ExprRef(expr=f"datum.value === {json.dumps(highlight)} ? 'bold' : 'normal'")


# -- data preparation ---------------------------------------------------------------------------

def _trend_frame(series: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame({"month": pd.to_datetime(series["month"]),
                          "count": pd.to_numeric(series["count"], errors="coerce")})
    for column in ("rolling_mean", "expected", "lower", "upper"):
        frame[column] = (pd.to_numeric(series[column], errors="coerce")
                         if column in series else float("nan"))
    frame["exceptional"] = (series["exceptional"].fillna("").astype(str)
                            if "exceptional" in series else "")
    # A month with no count (a source that stopped) is not drawn, nor are its limits.
    return frame.dropna(subset=["month", "count"]).sort_values("month").reset_index(drop=True)


def _with_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """The monthly rows with a row of no count for every month missing between the first and
    the last."""
    if frame.empty:
        return frame
    every = pd.date_range(frame["month"].min(), frame["month"].max(), freq="MS")
    return (frame.set_index("month").reindex(every).rename_axis("month").reset_index()
            .assign(exceptional=lambda f: f["exceptional"].fillna("")))


def _month_step(months: int) -> int:
    return 1 if months <= 8 else 3 if months <= 24 else 6 if months <= 60 else 12


def _are_counts(values: pd.Series) -> bool:
    """Whole numbers, none negative: counts unless the caller says otherwise."""
    known = values.dropna()
    return bool(len(known)) and bool(((known == known.round()) & (known >= 0)).all())


def _without_small(values: pd.Series, threshold: int) -> pd.Series:
    """Counts from 1 to threshold - 1 as missing: drawn and described as not shown."""
    return values.where(~((values >= 1) & (values < threshold)))


def _number_format(values: pd.Series) -> str:
    """One format for labels, axis and alt text: whole numbers without decimals, small
    rates with enough digits to tell them apart."""
    if values.empty or bool((values == values.round()).all()):
        return ",.0f"
    largest = float(values.abs().max())
    return ",.0f" if largest >= 100 else ",.1f" if largest >= 1 else ",.2f"


def _map_frame(codes_values: pd.DataFrame) -> pd.DataFrame:
    data = pd.DataFrame({"code": codes_values["code"].astype(str).str.strip()})
    names = (codes_values["name"] if "name" in codes_values
             else pd.Series([None] * len(data), index=codes_values.index))
    data["name"] = [str(n) if isinstance(n, str) and n.strip() else c
                    for n, c in zip(names, data["code"], strict=True)]
    data["value"] = pd.to_numeric(codes_values["value"], errors="coerce")
    return data.drop_duplicates("code").reset_index(drop=True)


def map_shapes(con: duckdb.DuckDBPyConnection, codes: Sequence[str], level: str,
                vintage: str | None, dissolved: set[str] | None = None
                ) -> dict[str, Polygon | MultiPolygon]:
    """The boundary for each code (the given vintage first, else the newest held), rings wound
    clockwise as Vega's spherical geometry expects (anticlockwise fills the rest of the globe)
    and simplified below what a 600 px map can show. A ward with no boundary of its own is
    drawn from its LSOAs, and its code added to `dissolved`."""
    dissolved = set() if dissolved is None else dissolved
    if not codes:
        return {}
    geoms = {code: shapely.from_wkb(wkb)
             for code, wkb in area_boundaries(con, list(codes), level, vintage).items()}
    missing = [c for c in codes if c not in geoms]
    if level.lower() in ("ward", "lad") and missing:
        # No boundary held: the ward (or district) drawn as the union of its LSOAs (said under
        # the map).
        try:
            parts = lsoa_shapes_by_area(con, level, missing)
        except duckdb.Error:
            parts = {}
        for code, wkbs in parts.items():
            geoms[code] = shapely.union_all([shapely.from_wkb(w) for w in wkbs])
            dissolved.add(code)
    geoms = {code: g for code, g in geoms.items() if g is not None and not g.is_empty}
    if not geoms:
        return {}
    minx, miny, maxx, maxy = shapely.total_bounds(list(geoms.values()))
    tolerance = max(maxx - minx, maxy - miny) / 3000
    out: dict[str, Polygon | MultiPolygon] = {}
    for code, geom in geoms.items():
        simple = shapely.simplify(geom, tolerance, preserve_topology=True)
        polygons = [p for p in getattr(simple, "geoms", [simple])
                    if isinstance(p, Polygon) and not p.is_empty]
        if polygons:
            wound = [orient(p, sign=-1.0) for p in polygons]
            out[code] = wound[0] if len(wound) == 1 else MultiPolygon(wound)
    return out


def _feature(geom: Polygon | MultiPolygon, code: str, name: str, value: float,
             fmt: str) -> dict[str, Any]:
    shown = not pd.isna(value)
    return {"type": "Feature", "geometry": json.loads(shapely.to_geojson(geom)),
            "properties": {"code": code, "name": name,
                           "value": float(value) if shown else None,
                           "label": format(value, fmt) if shown else "not shown",
                           "status": "Value" if shown else "Not shown"}}


def _map_height(shapes: list[Polygon | MultiPolygon], width: int) -> int:
    """Height matching the shapes' Mercator aspect ratio, kept within an A4 page."""
    minx, miny, maxx, maxy = shapely.total_bounds(shapes)

    def mercator_y(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    span_x = math.radians(maxx - minx) or 1e-9
    ratio = (mercator_y(maxy) - mercator_y(miny)) / span_x
    return int(min(max(width * ratio, 220), 620))


# -- alt text -----------------------------------------------------------------------------------

def _trend_alt(title: str, frame: pd.DataFrame, area_name: str, attrs: dict[str, Any],
               settings: Settings) -> str:
    """What the chart shows, in facts only: no direction word for anything untested, and no
    count of 1 to suppress_below - 1 (nor a 12-month average that would give one away)."""
    counts = frame["count"]
    fmt = _number_format(counts)
    first, last = frame["month"].iloc[0], frame["month"].iloc[-1]
    subject = _lower_first(title)
    if area_name and area_name.lower() not in title.lower():
        subject += f" in {area_name}"
    parts = [f"Line chart of {subject}, {_month(first)} to {_month(last)}"
             f" ({len(frame)} months)"]
    facts = [f"highest {_count_words(counts.max(), fmt, settings)} in "
             f"{_months(frame.loc[counts == counts.max(), 'month'])}",
             f"lowest {_count_words(counts.min(), fmt, settings)} in "
             f"{_months(frame.loc[counts == counts.min(), 'month'])}"]
    averages = frame["rolling_mean"].dropna()
    if len(averages) >= 2:
        facts.append(f"12-month average {_average_words(averages.iloc[0], averages, settings)} "
                     f"at the start ({_month(frame.loc[averages.index[0], 'month'])}) and "
                     f"{_average_words(averages.iloc[-1], averages, settings)} at the end "
                     f"({_month(frame.loc[averages.index[-1], 'month'])})")
    elif len(averages) == 1:
        facts.append(f"12-month average {_average_words(averages.iloc[0], averages, settings)}")
    banded = frame[frame["lower"].notna() & frame["upper"].notna()]
    if not banded.empty:
        limits_fmt = _number_format(pd.concat([banded["lower"], banded["upper"]]))
        low, high = banded["lower"], banded["upper"]
        when = f"{_month(banded['month'].iloc[0])} to {_month(banded['month'].iloc[-1])}"
        if low.nunique() == 1 and high.nunique() == 1:
            limits = (f"{format(low.iloc[0], limits_fmt)} to {format(high.iloc[0], limits_fmt)} "
                      "each month")
        else:
            limits = (f"lower limit {_span_of(low, limits_fmt)}, upper limit "
                      f"{_span_of(high, limits_fmt)}")
        method = _range_method(attrs)
        facts.append(f"expected range for {when}{method}: {limits}")
    elif attrs.get("reason"):
        facts.append(f"no expected range drawn ({attrs['reason']})")
    for direction, word in (("above", "high"), ("below", "low")):
        months = frame.loc[frame["exceptional"] == direction, "month"]
        if not months.empty:
            facts.append(f"{_count_of(len(months), 'month')} exceptionally {word} "
                         f"({_months(months, limit=6)})")
    if not banded.empty and not frame["exceptional"].isin(["above", "below"]).any():
        facts.append("no month outside the expected range")
    return f"{parts[0]}: {'; '.join(facts)}."


def _count_words(value: float, fmt: str, settings: Settings) -> str:
    """A count as published: 1 to suppress_below - 1 as 'fewer than N'."""
    if 0 < value < settings.suppress_below:
        return f"fewer than {settings.suppress_below}"
    return format(value, fmt)


def _average_words(value: float, averages: pd.Series, settings: Settings) -> str:
    """A 12-month average, unless its 12-month total is a count the policy hides (an average
    of 0.25 is a total of 3)."""
    total = round(value * 12)
    if 0 < total < settings.suppress_below:
        return f"under {settings.suppress_below} in 12 months"
    return format(value, _number_format(averages))


def _span_of(values: pd.Series, fmt: str) -> str:
    low, high = format(values.min(), fmt), format(values.max(), fmt)
    return low if low == high else f"{low} to {high}"


def _range_method(attrs: dict[str, Any]) -> str:
    """' (from ..., limits widened for 120 months inspected)', from the series' attrs."""
    if not attrs.get("m"):
        return ""
    return (f" ({expectation_words(attrs)}, limits widened for "
            f"{_count_of(int(attrs['m']), 'month')} inspected)")


def expectation_words(attrs: dict[str, Any]) -> str:
    """What a series' expected range was built from, from `monthly_series(...).attrs`: e.g.
    'seasonal expectation and trend from January 2017 to December 2022 and the series' own
    variation'."""
    start, end = attrs.get("history_start"), attrs.get("history_end")
    if attrs.get("seasonal") and attrs.get("trend"):
        model = "seasonal expectation and trend"
    elif attrs.get("seasonal"):
        model = "seasonal expectation"
    elif attrs.get("trend"):
        model = "level and trend"
    else:
        model = "average month"
    when = f" of {_month(pd.Timestamp(start))} to {_month(pd.Timestamp(end))}" if start else ""
    return f"{model}{when} and the series' own variation"


def _bar_alt(title: str, data: pd.DataFrame, value_title: str, category_title: str,
             highlight: str | None, missing: list[str]) -> str:
    n = len(data)
    what = f"{_lower_first(value_title)} by {_lower_first(category_title) or 'category'}"
    text = f"Bar chart: {title}. {_count_of(n, 'bar')} of {what}"
    top, bottom = data.iloc[0], data.iloc[-1]
    if n == 1:
        text += f": {top['category']} {top['label']}"
    else:
        text += (f": highest {top['category']} ({top['label']}), "
                 f"lowest {bottom['category']} ({bottom['label']})")
    text += "."
    if highlight is not None and highlight in set(data["category"]):
        rank = data["category"].tolist().index(highlight) + 1
        value = data.loc[data["category"] == highlight, "label"].iloc[0]
        text += f" {highlight} (highlighted) is {value}, {_ordinal(rank)} of {n}."
    if 2 < n <= 12:
        text += " All values: " + "; ".join(f"{c} {v}" for c, v in
                                            zip(data["category"], data["label"], strict=True))
        text += "."
    if missing:
        text += f" Not shown: {_join(missing, limit=6)}."
    return text


def _change_alt(title: str, wide: pd.DataFrame, period: str, baseline_period: str,
                category_title: str, fmt: str) -> str:
    what = _lower_first(category_title) or "category"
    text = (f"Grouped bar chart: {title}. Compares {period} with {baseline_period} for "
            f"{_count_of(len(wide), what)}")
    # A total over the values shown would be no total, and beside one published elsewhere
    # would give the values not shown away: stated only when every value is shown.
    total, base = wide["count"].sum(min_count=1), wide["baseline"].sum(min_count=1)
    if not wide[["count", "baseline"]].isna().any().any():
        text += f"; in total {format(total, fmt)}, {_change_words(total, base, fmt)}"
    text += "."
    shown = wide.head(12)
    items = []
    for r in shown.itertuples():
        if pd.isna(r.count) or pd.isna(r.baseline):
            now = "not shown" if pd.isna(r.count) else format(r.count, fmt)
            was = "not shown" if pd.isna(r.baseline) else format(r.baseline, fmt)
            items.append(f"{r.category} {now} (was {was})")
        else:
            items.append(f"{r.category} {format(r.count, fmt)} "
                         f"({_change_words(r.count, r.baseline, fmt)})")
    label = "By " + what if len(wide) <= 12 else f"Largest 12 of {len(wide)}"
    return text + f" {label}: " + "; ".join(items) + "."


def _change_words(now: float, was: float, fmt: str) -> str:
    if now == was:
        return f"unchanged from {format(was, fmt)}"
    if was == 0:
        return f"up from {format(was, fmt)}"
    pct = (now - was) / was * 100
    verb = "up" if now > was else "down"
    return f"{verb} {abs(pct):.0f}% from {format(was, fmt)}"


def _map_alt(title: str, data: pd.DataFrame, drawn: pd.DataFrame, value_title: str,
             plural: str, fmt: str, *, reverse: bool = False) -> str:
    """What the map shows, as its legend does: with `reverse` the scale runs the other way
    (darkest for the lowest value, e.g. decile 1 = most deprived), and the darkest areas are
    named first."""
    dark, light = ("lowest", "highest") if reverse else ("highest", "lowest")
    text = (f"Map: {title}. {_count_of(len(drawn), plural)} shaded by "
            f"{_lower_first(value_title)}, darker for {'lower' if reverse else 'higher'} "
            "values")
    valued = drawn.dropna(subset=["value"]).sort_values(
        ["value", "name"], ascending=[reverse, True]).reset_index(drop=True)
    if len(valued) >= 2:
        top = valued.head(3)
        last = valued.iloc[-1]
        text += (f"; {dark} " + ", ".join(f"{r.name} ({format(r.value, fmt)})"
                                          for r in top.itertuples())
                 + f"; {light} {last['name']} ({format(last['value'], fmt)})")
    elif len(valued) == 1:
        text += f"; {valued.iloc[0]['name']} {format(valued.iloc[0]['value'], fmt)}"
    text += "."
    hidden = drawn.loc[drawn["value"].isna(), "name"].tolist()
    if hidden:
        text += f" Not shown (grey): {_join(hidden, limit=6)}."
    undrawn = data.loc[~data["code"].isin(drawn["code"]), "name"].tolist()
    if undrawn:
        text += f" No boundary held, not drawn: {_join(undrawn, limit=6)}."
    return text


def _month(value: pd.Timestamp) -> str:
    return value.strftime("%B %Y")


def _months(values: pd.Series, limit: int = 3) -> str:
    return _join([_month(v) for v in values], limit)


def _join(items: list[str], limit: int) -> str:
    if len(items) > limit:
        return ", ".join(items[:limit]) + f" and {len(items) - limit} more"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _count_of(n: int, noun: str) -> str:
    return f"{n} {noun if n == 1 else _plural(noun)}"


def _plural(noun: str) -> str:
    if noun.endswith("y") and not noun.endswith(("ay", "ey", "oy")):
        return noun[:-1] + "ies"
    return noun if noun.endswith("s") else noun + "s"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _lower_first(text: str) -> str:
    """'Anti-social behaviour' -> 'anti-social behaviour', but 'ASB' and 'LSOA' stay."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text
