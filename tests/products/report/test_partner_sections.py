"""Partner sections on the shipped (synthetic) samples: every table, figure and finding built
from them carries the SYNTHETIC label, and none would without synthetic data; the deliberate
fires chart covers only the months the fire data holds."""

from __future__ import annotations

import pytest

from cspkit.measures.areas import select_area
from cspkit.measures.disclosure import DisclosurePolicy
from cspkit.measures.periods import calendar_year
from cspkit.measures.settings import Settings
from cspkit.products.report import partner_sections
from cspkit.products.report.assessment import Context
from cspkit.products.report.config import LocalContent
from cspkit.products.report.document import Figure, Paragraph, Table
from cspkit.products.report.partners import PARTNER_SOURCES, partner_section


def context(con, area: str, year: int) -> Context:  # type: ignore[no-untyped-def]
    settings = Settings()
    return Context(con, select_area(con, area), calendar_year(year),
                   calendar_year(year - 1), LocalContent(), settings,
                   DisclosurePolicy.from_settings(settings))


def test_every_partner_table_and_figure_is_labelled_synthetic(demo_warehouse) -> None:
    ctx = context(demo_warehouse, "Bedford", 2023)
    section = partner_section(demo_warehouse, ctx)
    assert len(section.subsections) == len(PARTNER_SOURCES)
    shown = [b for sub in section.subsections for b in sub.blocks
             if isinstance(b, Table | Figure)]
    assert len(shown) >= 10
    assert all(block.synthetic for block in shown), [b.key for b in shown if not b.synthetic]
    for sub in section.subsections:   # and each section opens with the caveat
        assert isinstance(sub.blocks[0], Paragraph) and "SYNTHETIC" in sub.blocks[0].text


def test_a_finding_from_the_fire_samples_says_synthetic(demo_warehouse) -> None:
    ctx = context(demo_warehouse, "Bedford", 2023)
    partner_sections.fire(demo_warehouse, ctx)
    fire = [s for _, s in ctx.findings if "Deliberate fires" in s]
    assert fire, "the fire samples hold a month above the control limits"
    assert all(s.endswith("(SYNTHETIC sample data).") for s in fire)


def test_real_partner_data_is_not_labelled(demo_warehouse,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The label follows the ingest log: with no file named SYNTHETIC, nothing is marked."""
    monkeypatch.setattr(partner_sections, "synthetic_sources", lambda con: frozenset())
    ctx = context(demo_warehouse, "Bedford", 2023)
    section = partner_section(demo_warehouse, ctx)
    blocks = [b for sub in section.subsections for b in sub.blocks]
    assert not any(b.synthetic for b in blocks if isinstance(b, Table | Figure))
    assert not any("SYNTHETIC" in b.text for b in blocks if isinstance(b, Paragraph))
    assert not any("SYNTHETIC" in s for _, s in ctx.findings)


@pytest.mark.parametrize("area,year,span", [
    ("Bedford", 2023, "May 2021 to April 2024 (36 months)"),
    ("East Cambridgeshire", 2019, "January 2017 to December 2019 (36 months)"),
])
def test_the_fire_chart_stops_where_the_fire_data_stops(demo_warehouse, area: str, year: int,
                                                        span: str) -> None:
    ctx = context(demo_warehouse, area, year)
    figure = next(b for b in partner_sections.fire(demo_warehouse, ctx)
                  if isinstance(b, Figure) and b.key == "fire-deliberate-trend")
    assert span in figure.alt
    assert "to 0.0" not in figure.alt   # no average run down by months of no data
