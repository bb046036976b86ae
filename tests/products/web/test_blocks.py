"""The dashboard's figures: captioned by the page, so their SVG loses the title the document's
charts draw inside (the document keeps it), and is exactly as tall as the same chart drawn
without a title."""

from __future__ import annotations

import re

import altair as alt
import pandas as pd
import pytest

from cspkit.products.report import charts
from cspkit.products.report.document import Figure
from cspkit.products.web.blocks import figure_json, untitled_svg


def _height(svg: str) -> float:
    found = re.search(r'<svg [^>]*?height="([\d.]+)"[^>]*?viewBox="0 0 [\d.]+ ([\d.]+)"', svg)
    assert found is not None
    assert found.group(1) == found.group(2)
    return float(found.group(1))


@pytest.mark.parametrize("title", ["Burglary by month, Bedford",
                                   ["Burglary by month, Bedford, and a title long enough",
                                    "to be drawn on two lines"]])
def test_the_drawn_title_goes_and_its_room_with_it(title: str | list[str]) -> None:
    frame = pd.DataFrame({"area": ["Bedford", "Luton"], "rate": [72.5, 1800.0]})

    def chart(**title_param: object) -> alt.Chart:
        return alt.Chart(frame).mark_bar().encode(y="area:N", x="rate:Q").properties(
            width=300, **title_param)

    titled = charts._render(chart(title=alt.TitleParams(text=title)), "k", "alt")
    bare = charts._render(chart(), "k", "alt")
    shown = untitled_svg(titled)
    assert 'class="mark-group role-title" display="none"' in shown
    assert _height(shown) == _height(bare) < _height(titled)
    plot = re.compile(r'<rect [^>]*/><g [^>]*transform="translate\(([\d.]+),([\d.]+)\)"')
    assert plot.search(shown).groups() == plot.search(bare).groups()  # type: ignore[union-attr]


def test_an_svg_without_a_drawn_title_is_left_alone() -> None:
    svg = '<svg class="map" viewBox="0 0 10 10"><path d="M0,0h1v1z"/></svg>'
    assert untitled_svg(svg) == svg
    figure = Figure(key="f", title="A map", svg=svg, alt="A map of nothing")
    assert figure_json(figure)["svg"].endswith(svg[4:])
