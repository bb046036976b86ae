"""Report charts and maps: static, offline SVG with the data drawn and described in words."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import shapely
from shapely.geometry.polygon import orient

from cspkit.demo import demo_data_dir
from cspkit.ingest import ingest_reference
from cspkit.products.report import charts
from cspkit.products.report.charts import (
    NO_BOUNDARIES,
    NOT_SHOWN_COLOUR,
    bar_chart,
    change_chart,
    choropleth,
    trend_chart,
)
from cspkit.products.report.document import Figure
from cspkit.store import connect, transaction

SVG = "{http://www.w3.org/2000/svg}"
NAMESPACES = ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink")
BEDFORD_WARDS = "geography/boundaries/ward2025/E06000055_Bedford_wards2025.geojson.gz"


# -- helpers ------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def validated_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports skip the schema check of each chart's spec; these tests make every one."""
    monkeypatch.setattr(charts, "VALIDATE_SPECS", True)


def parse(figure: Figure) -> ET.Element:
    return ET.fromstring(figure.svg)


def texts(root: ET.Element) -> list[str]:
    return [" ".join(t.itertext()) for t in root.iter(f"{SVG}text")]  # lines of a wrapped title


def marks(root: ET.Element, mark: str, layer: str | None = None) -> list[ET.Element]:
    """The drawn items of Vega mark groups of one type ('mark-rect', 'mark-shape', ...)."""
    found = []
    for group in root.iter(f"{SVG}g"):
        classes = group.get("class", "").split()
        if mark in classes and "role-mark" in classes and (layer is None or layer in classes):
            found.extend(child for child in group if child.tag == f"{SVG}path")
    return found


def assert_offline(figure: Figure) -> None:
    svg = figure.svg
    for namespace in NAMESPACES:
        svg = svg.replace(namespace, "")
    assert "http" not in svg
    assert "<image" not in svg and "@import" not in svg


def path_bounds(d: str) -> tuple[float, float, float, float]:
    """Bounds of an absolute M/L/Z path (what Vega writes for geoshapes)."""
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", d)]
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def plot_size(root: ET.Element) -> tuple[float, float]:
    """Width and height of the plot area (the root frame's background path 'M0,0hWvHh-WZ')."""
    for path in root.iter(f"{SVG}path"):
        match = re.fullmatch(r"M0,0h([\d.]+)v([\d.]+)h-[\d.]+Z", path.get("d", ""))
        if path.get("class") == "background" and match:
            return float(match.group(1)), float(match.group(2))
    raise AssertionError("no plot background found")


# -- data ---------------------------------------------------------------------------------------

@pytest.fixture
def series() -> pd.DataFrame:
    """May 2021 to April 2024 as `monthly_series(inspect=2023)` gives it: 2023 judged against
    an expected range, May 2023 above it and December 2023 below."""
    months = pd.date_range("2021-05-01", periods=36, freq="MS")
    counts = [300 + (i % 12) * 5 - i * 2 for i in range(36)]
    counts[24], counts[31] = 444, 123
    frame = pd.DataFrame({"month": [m.date() for m in months], "count": counts})
    frame["rolling_mean"] = frame["count"].rolling(12).mean()
    frame["inspected"] = [m.year == 2023 for m in months]
    frame["expected"] = frame["lower"] = frame["upper"] = float("nan")
    frame.loc[frame["inspected"], ["expected", "lower", "upper"]] = [290.0, 180.0, 400.0]
    frame["exceptional"] = ""
    frame.loc[24, "exceptional"] = "above"
    frame.loc[31, "exceptional"] = "below"
    frame.attrs.update({"reason": None, "seasonal": True, "trend": False, "m": 120,
                        "history_start": date(2021, 5, 1), "history_end": date(2022, 12, 1),
                        "inspected": "2023"})
    return frame


@pytest.fixture(scope="module")
def wards_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(tmp_path_factory.mktemp("charts") / "w.duckdb")
    with transaction(con):
        ingest_reference(con, [str(demo_data_dir() / BEDFORD_WARDS)], run_id="t")
    yield con
    con.close()


@pytest.fixture(scope="module")
def ward_values(wards_db: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    frame = wards_db.execute(
        "SELECT code, name FROM areas WHERE level = 'ward' ORDER BY code").df()
    frame["value"] = [float(10 + 3 * i) for i in range(len(frame))]
    return frame


# -- trend --------------------------------------------------------------------------------------

def test_trend_chart_draws_counts_average_expected_range_and_exceptional_months(
        series: pd.DataFrame) -> None:
    figure = trend_chart("asb-trend", "Anti-social behaviour by month", series,
                         y_title="Incidents", area_name="Bedford")
    root = parse(figure)
    words = texts(root)
    assert figure.title == "Anti-social behaviour by month"
    assert "Anti-social behaviour by month" in words
    assert {"Month", "Incidents"} <= set(words)
    assert {"Monthly count", "12-month average", "Expected range", "Expected",
            "Exceptionally high", "Exceptionally low"} <= set(words)      # the legend
    assert_offline(figure)
    assert len(marks(root, "mark-line")) == 3                       # counts, expected, average
    (band,) = marks(root, "mark-area")
    width, _ = plot_size(root)
    left, _, right, _ = path_bounds(band.get("d", ""))
    # The band covers 2023 only: the 21st to the 32nd of 36 months.
    assert left == pytest.approx(width * 20 / 35, abs=2)
    assert right == pytest.approx(width * 31 / 35, abs=2)
    symbols = marks(root, "mark-symbol")
    assert len(symbols) == 36 + 2                                   # every month + 2 flagged
    first, last = series["rolling_mean"].dropna().iloc[[0, -1]]
    assert figure.alt.startswith("Line chart of anti-social behaviour by month in Bedford, "
                                 "May 2021 to April 2024")
    for fact in ("highest 444 in May 2023", "lowest 123 in December 2023",
                 f"12-month average {first:.0f} at the start (April 2022) and {last:.0f} at "
                 "the end (April 2024)",
                 "expected range for January 2023 to December 2023 (seasonal expectation of "
                 "May 2021 to December 2022 and the series' own variation, limits widened for "
                 "120 months inspected): 180 to 400 each month",
                 "1 month exceptionally high (May 2023)",
                 "1 month exceptionally low (December 2023)"):
        assert fact in figure.alt
    assert not re.search(r"\b(rose|fell|rising|falling|steady|increase|decrease)", figure.alt)


def test_trend_chart_never_publishes_a_count_of_one_to_four() -> None:
    months = pd.date_range("2021-01-01", periods=24, freq="MS")
    counts = [0, 3, 2, 0, 1, 0, 0, 4, 0, 0, 2, 0] + [6, 8, 5, 7, 9, 6, 5, 7, 8, 12, 6, 7]
    frame = pd.DataFrame({"month": months, "count": counts})
    frame["rolling_mean"] = frame["count"].rolling(12).mean()
    figure = trend_chart("weapons", "Possession of weapons by month", frame)
    # The first 12-month average (12 / 12 = 1.0) is a total of 12; a total of 1-4 is hidden.
    assert "lowest 0 in January 2021" in figure.alt and "highest 12 in October 2022" in figure.alt
    small = frame.assign(count=[0] * 11 + [3] + [1] * 12)
    small["rolling_mean"] = small["count"].rolling(12).mean()   # 0.25: a total of 3
    words = trend_chart("tiny", "Robbery by month", small).alt
    assert "highest fewer than 5 in December 2021" in words
    assert "12-month average under 5 in 12 months at the start (December 2021)" in words
    spoken = re.sub(r"\b(19|20)\d\d\b|\d+ months|12-month", "", words)
    assert not re.search(r"(?<![\d.,])[1-4](?![\d.,])", spoken), words
    assert "0.25" not in words and "0.3" not in words
    for figure_ in (figure, trend_chart("tiny", "Robbery by month", small)):
        assert "<title" not in figure_.svg and "<desc" not in figure_.svg


def test_trend_chart_of_a_series_that_stops(series: pd.DataFrame) -> None:
    stopped = series.copy()
    stopped.loc[30:, "count"] = float("nan")    # a partner source ending in October 2023
    figure = trend_chart("fires", "Deliberate fires by month", stopped)
    assert "May 2021 to October 2023 (30 months)" in figure.alt
    assert "January 2023 to October 2023" in figure.alt
    assert "exceptionally low" not in figure.alt
    assert len(marks(parse(figure), "mark-symbol")) == 30 + 1


def test_trend_chart_says_why_no_range_is_drawn(series: pd.DataFrame) -> None:
    bare = series.assign(expected=float("nan"), lower=float("nan"), upper=float("nan"),
                         exceptional="")
    bare.attrs = {"reason": "too little history: 8 months of data before 2023"}
    figure = trend_chart("short", "Burglary by month", bare)
    assert "Expected range" not in texts(parse(figure))
    assert ("no expected range drawn (too little history: 8 months of data before 2023)"
            in figure.alt)


def test_trend_chart_with_counts_only(series: pd.DataFrame) -> None:
    short = series.loc[:5, ["month", "count"]].assign(rolling_mean=float("nan"))
    figure = trend_chart("short", "Burglary", short)
    root = parse(figure)
    words = texts(root)
    assert {"Burglary", "Month", "Count", "Monthly count"} <= set(words)
    assert "12-month average" not in words and "Expected range" not in words
    assert len(marks(root, "mark-symbol")) == 6
    assert "12-month average" not in figure.alt


def test_trend_chart_without_months_says_so() -> None:
    empty = pd.DataFrame({"month": pd.Series([], dtype="object"), "count": []})
    figure = trend_chart("empty", "Robbery", empty)
    assert "No data for this chart" in texts(parse(figure))
    assert "no months" in figure.alt


# -- bars ---------------------------------------------------------------------------------------

def test_bar_chart_sorted_highlighted_and_labelled() -> None:
    frame = pd.DataFrame({"district": ["Bedford", "Luton", "Central Bedfordshire",
                                       "Milton Keynes", "Northampton"],
                          "rate": [45.2, 61.3, 30.1, 50.0, None]})
    figure = bar_chart("siblings", "Crime rate, similar districts", frame,
                       category="district", value="rate", value_title="Crimes per 1,000",
                       highlight="Bedford", category_title="District")
    root = parse(figure)
    words = texts(root)
    assert {"Crime rate, similar districts", "Crimes per 1,000", "District"} <= set(words)
    assert {"61.3", "50.0", "45.2", "30.1"} <= set(words)           # value labels
    assert_offline(figure)
    bars = marks(root, "mark-rect")
    assert len(bars) == 4                                           # None is not drawn
    fills = [bar.get("fill") for bar in bars]
    assert len(set(fills)) == 2 and sum(f == fills[2] for f in fills) == 1  # one highlighted
    # Largest first: Luton's bar starts highest on the page.
    tops = [path_bounds(bar.get("d", ""))[1] + _translate_y(bar) for bar in bars]
    assert tops == sorted(tops)
    for fact in ("highest Luton (61.3)", "lowest Central Bedfordshire (30.1)",
                 "Bedford (highlighted) is 45.2, 3rd of 4", "Not shown: Northampton"):
        assert fact in figure.alt


def _translate_y(element: ET.Element) -> float:
    match = re.search(r"translate\(([-\d.]+),([-\d.]+)\)", element.get("transform", ""))
    return float(match.group(2)) if match else 0.0


# -- change -------------------------------------------------------------------------------------

def test_change_chart_pairs_two_periods_per_ward() -> None:
    frame = pd.DataFrame({"ward": ["Castle & Newnham", "Cauldwell", "Harpur"],
                          "now": [420, 300, 90], "was": [380, 330, 60]})
    figure = change_chart("ward-change", "Change by ward", frame, category="ward",
                          count="now", baseline="was", period="2023/24",
                          baseline_period="2022/23", category_title="Ward")
    root = parse(figure)
    words = texts(root)
    assert {"Change by ward", "Count", "Ward", "2023/24", "2022/23",
            "Castle & Newnham"} <= set(words)
    assert {"420", "380", "300", "330", "90", "60"} <= set(words)
    assert_offline(figure)
    bars = marks(root, "mark-rect")
    assert len(bars) == 6
    assert len({bar.get("fill") for bar in bars}) == 2
    for fact in ("Compares 2023/24 with 2022/23 for 3 wards", "in total 810, up 5% from 770",
                 "Castle & Newnham 420 (up 11% from 380)", "Cauldwell 300 (down 9% from 330)",
                 "Harpur 90 (up 50% from 60)"):
        assert fact in figure.alt


# -- maps ---------------------------------------------------------------------------------------

def _check_map(figure: Figure, drawn: int) -> list[ET.Element]:
    root = parse(figure)
    shapes = marks(root, "mark-shape")
    assert len(shapes) == drawn
    width, height = plot_size(root)
    for shape in shapes:
        assert shape.get("fill") not in (None, "none")
        x0, y0, x1, y1 = path_bounds(shape.get("d", ""))
        # A ring wound the wrong way fills the globe: its path spans the whole plot.
        assert (x1 - x0) < 0.9 * width or (y1 - y0) < 0.9 * height
        assert -1 <= x0 and x1 <= width + 1 and -1 <= y0 and y1 <= height + 1
    return shapes


def test_choropleth_of_bedford_wards(wards_db: duckdb.DuckDBPyConnection,
                                     ward_values: pd.DataFrame) -> None:
    values = ward_values.copy()
    grey = values.loc[3, "name"]
    values.loc[3, "value"] = None
    figure = choropleth("ward-map", "Crime rate by ward", wards_db, codes_values=values,
                        level="ward", value_title="Crimes per 1,000 residents")
    words = texts(parse(figure))
    assert "Crime rate by ward" in words
    assert "Crimes per 1,000 residents" in words and "Not shown" in words   # legends
    assert_offline(figure)
    shapes = _check_map(figure, 28)
    assert sum(shape.get("fill") == NOT_SHOWN_COLOUR for shape in shapes) == 1
    assert len({shape.get("fill") for shape in shapes}) > 10       # a graded scale
    top = values.dropna().sort_values("value").iloc[-1]
    bottom = values.dropna().sort_values("value").iloc[0]
    assert "28 wards shaded by crimes per 1,000 residents" in figure.alt
    assert f"highest {top['name']} ({top['value']:.0f})" in figure.alt
    assert f"lowest {bottom['name']} ({bottom['value']:.0f})" in figure.alt
    assert f"Not shown (grey): {grey}" in figure.alt


def test_choropleth_winds_rings_clockwise_whatever_is_stored(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    with transaction(con):
        ingest_reference(con, [str(demo_data_dir() / BEDFORD_WARDS)], run_id="t")
    rows = con.execute("SELECT code, geometry_wkb FROM area_geometry").fetchall()
    for code, wkb in rows:   # store every ring anticlockwise, as many GIS tools write them
        ccw = orient(shapely.from_wkb(bytes(wkb)), sign=1.0)
        con.execute("UPDATE area_geometry SET geometry_wkb = ? WHERE code = ?",
                    [shapely.to_wkb(ccw), code])
    values = con.execute("SELECT code, name, 1.5 AS value FROM areas WHERE level = 'ward'").df()
    figure = choropleth("ccw", "Map", con, codes_values=values, level="ward",
                        value_title="Rate", vintage="2019")   # 2019 not held: any vintage
    _check_map(figure, 28)
    con.close()


def test_choropleth_draws_what_it_has_and_names_the_rest(
        wards_db: duckdb.DuckDBPyConnection, ward_values: pd.DataFrame) -> None:
    extra = pd.DataFrame({"code": ["E05999999"], "name": ["Atlantis"], "value": [5.0]})
    values = pd.concat([ward_values.head(5), extra], ignore_index=True)
    figure = choropleth("part", "Part", wards_db, codes_values=values, level="ward",
                        value_title="Count")
    _check_map(figure, 5)
    assert "No boundary held, not drawn: Atlantis" in figure.alt


def test_choropleth_without_boundaries_says_so(wards_db: duckdb.DuckDBPyConnection) -> None:
    values = pd.DataFrame({"code": ["E01000001", "E01000002"], "name": ["A", "B"],
                           "value": [1.0, None]})
    figure = choropleth("lsoa-map", "Crime by LSOA", wards_db, codes_values=values,
                        level="lsoa", value_title="Crimes")
    root = parse(figure)
    assert NO_BOUNDARIES in texts(root)
    assert not marks(root, "mark-shape")
    assert "No boundaries loaded for this map" in figure.alt and "2 LSOAs" in figure.alt
    assert_offline(figure)
    # A connection with no warehouse tables at all: still a figure, never an exception.
    bare = duckdb.connect()
    assert NO_BOUNDARIES in choropleth("bare", "Bare", bare, codes_values=values,
                                       level="lsoa", value_title="Crimes").svg


def test_ids_are_scoped_to_the_figure(wards_db: duckdb.DuckDBPyConnection,
                                      ward_values: pd.DataFrame) -> None:
    """Inline SVGs share one HTML id space: two maps must not share a gradient id."""
    svgs = [choropleth(key, "Map", wards_db, codes_values=ward_values, level="ward",
                       value_title="Rate").svg for key in ("map-a", "map-b")]
    ids = [set(re.findall(r'\bid="([^"]+)"', svg)) for svg in svgs]
    assert ids[0] and not ids[0] & ids[1]
    for svg, own in zip(svgs, ids, strict=True):
        assert set(re.findall(r"url\(#([^)]+)\)", svg)) <= own


def test_figures_fit_an_a4_page(series: pd.DataFrame, wards_db: duckdb.DuckDBPyConnection,
                                ward_values: pd.DataFrame) -> None:
    figures = [trend_chart("t", "Trend", series),
               choropleth("m", "Map", wards_db, codes_values=ward_values, level="ward",
                          value_title="Rate")]
    for figure in figures:
        root = parse(figure)
        assert 400 <= float(root.get("width", 0)) <= 640
        assert float(root.get("height", 0)) <= 700
        assert root.get("role") == "img" and root.get("aria-label") == figure.alt


def test_month_dates_as_timestamps_or_dates_render_alike(series: pd.DataFrame) -> None:
    as_timestamps = series.assign(month=pd.to_datetime(series["month"]))
    unscoped = [re.sub(r"fig-[ab]-", "", trend_chart(key, "T", frame).svg)
                for key, frame in (("a", series), ("b", as_timestamps))]
    assert unscoped[0] == unscoped[1]


def _luminance(fill: str) -> float:
    """Relative lightness of an SVG fill, '#rrggbb' or 'rgb(r, g, b)'."""
    if fill.startswith("rgb"):
        red, green, blue = (float(v) for v in re.findall(r"[\d.]+", fill)[:3])
    else:
        red, green, blue = (int(fill.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


@pytest.mark.parametrize("reverse", [False, True])
def test_map_description_says_what_the_legend_shows(wards_db: duckdb.DuckDBPyConnection,
                                                    ward_values: pd.DataFrame,
                                                    reverse: bool) -> None:
    """A decile map drawn darkest for decile 1 (most deprived) says 'darker for lower values'
    and names the darkest areas first; a normal scale the other way round."""
    values = ward_values.copy()
    values["value"] = [1 + i % 10 for i in range(len(values))]
    figure = choropleth("decile-map", "IMD decile by ward", wards_db, codes_values=values,
                        level="ward", value_title="National decile (1 = most deprived)",
                        domain=(1, 10), reverse=reverse)
    shapes = _check_map(figure, 28)
    shade = {v: _luminance(s.get("fill", "")) for v, s in zip(values["value"], shapes,
                                                                strict=True)}
    ordered = values.sort_values(["value", "name"], ascending=[reverse, True])
    darkest, palest = ordered.iloc[0], ordered.iloc[-1]
    # What the drawing does: the darkest shade is where the description says.
    assert shade[darkest["value"]] < shade[palest["value"]]
    words = ("lower", "lowest", "highest") if reverse else ("higher", "highest", "lowest")
    assert (f"shaded by national decile (1 = most deprived), darker for {words[0]} values; "
            f"{words[1]} {darkest['name']} ({darkest['value']})") in figure.alt
    assert f"; {words[2]} {palest['name']} ({palest['value']})." in figure.alt


# -- disclosure ---------------------------------------------------------------------------------

def test_counts_below_five_are_neither_drawn_nor_stated() -> None:
    from cspkit.measures.disclosure_audit import audit_text

    frame = pd.DataFrame({"ward": ["A", "B", "C", "D"], "n": [40, 3, 0, 12]})
    bars = bar_chart("bars", "Fires by ward", frame, category="ward", value="n",
                     value_title="Fires")
    assert bars.shows_counts
    assert "Not shown: B" in bars.alt and "(3)" not in bars.alt and "B 3" not in bars.alt
    assert len(marks(parse(bars), "mark-rect")) == 3 and "3" not in texts(parse(bars))
    assert audit_text(bars.alt, counts=True) == []
    # Rates are not counts: a rate of 3.0 is drawn and stated.
    rates = bar_chart("rates", "Rates", frame.assign(n=[40.5, 3.0, 0.0, 12.25]),
                      category="ward", value="n", value_title="Per 1,000")
    assert not rates.shows_counts and "B 3.0" in rates.alt
    pairs = change_chart("pairs", "Fires by ward", frame.assign(was=[30, 8, 2, 12]),
                         category="ward", count="n", baseline="was", period="2023",
                         baseline_period="2022")
    assert pairs.shows_counts and "in total" not in pairs.alt   # a total would give B away
    assert "B not shown (was 8)" in pairs.alt and "C 0 (was not shown)" in pairs.alt
    assert audit_text(pairs.alt, counts=True) == []


def test_a_map_of_counts_greys_counts_below_five(wards_db: duckdb.DuckDBPyConnection,
                                                 ward_values: pd.DataFrame) -> None:
    from cspkit.measures.disclosure_audit import audit_text

    values = ward_values.copy()
    values["value"] = [float(v) for v in range(len(values))]   # 0, 1, 2, ... whole counts
    figure = choropleth("counts", "Fires by ward", wards_db, codes_values=values,
                        level="ward", value_title="Fires")
    assert figure.shows_counts
    small = values.loc[values["value"].between(1, 4), "name"]
    assert all(name in figure.alt.split("Not shown (grey): ")[1] or "more" in figure.alt
               for name in small)
    assert f"lowest {values.loc[0, 'name']} (0)" in figure.alt
    assert audit_text(figure.alt, counts=True) == []
    # Deciles on a fixed scale are not counts.
    deciles = choropleth("deciles", "Deciles", wards_db, codes_values=values.assign(
        value=[1 + v % 10 for v in range(len(values))]), level="ward",
        value_title="Decile", domain=(1, 10))
    assert not deciles.shows_counts and "(1)" in deciles.alt


def test_trend_chart_does_not_plot_a_month_of_1_to_4():
    series = pd.DataFrame({"month": pd.date_range("2022-01-01", periods=24, freq="MS"),
                           "count": [12, 3, 15, 11, 14, 2, 13, 12, 16, 10, 12, 14] * 2})
    figure = trend_chart("t", "Weapons by month", series)
    assert "4 months with fewer than 5 are not plotted" in figure.alt
    points = re.search(r'<g class="mark-symbol role-mark[^>]*>(.*?)</g>', figure.svg, re.S)
    assert points is not None and points.group(1).count("<path") == 20   # 24 less the four


def test_wards_without_boundaries_are_drawn_from_their_lsoas(demo_warehouse_path, tmp_path):
    """A district whose ward boundaries are not held, but whose LSOA boundaries and LSOA ->
    ward lookup are, still gets its ward map, and the map says how it was drawn."""
    import shutil

    path = tmp_path / "no-wards.duckdb"
    shutil.copyfile(demo_warehouse_path, path)
    con = connect(path)
    try:
        values = con.execute(
            """SELECT DISTINCT g.ward_code AS code, g.ward_name AS name FROM lsoa_geography g
               JOIN area_geometry a ON a.code = g.lsoa_code AND a.level = 'lsoa'
               WHERE g.lad_code = 'E06000055' AND g.lsoa_vintage = '2021'
                 AND g.ward_code IS NOT NULL
               ORDER BY 1""").df()
        assert len(values) == 28      # Bedford's wards of May 2023
        con.execute("DELETE FROM area_geometry WHERE level = 'ward'")
        values["value"] = [float(10 + i) for i in range(len(values))]
        figure = choropleth("dissolved", "Crime rate by ward", con, codes_values=values,
                            level="ward", value_title="Crimes per 1,000 residents")
        _check_map(figure, len(values))
        assert f"The boundaries of {len(values)} wards are drawn by joining their LSOAs" \
            in figure.alt
    finally:
        con.close()
