"""The hot-spot blocks of the assessment's places section, for Bedford 2023: the tables are the
measure's hot and cold spots published through the disclosure policy, the sentences state the
weights, the test, the LSOAs tested and the FDR procedure, and the map says what it shows."""

from __future__ import annotations

import pandas as pd
import pytest

from cspkit.measures.areas import select_area
from cspkit.measures.counts import ALL_CRIME, ASB
from cspkit.measures.disclosure import DisclosurePolicy
from cspkit.measures.getis_ord import COLD, HOT, lsoa_hotspots
from cspkit.measures.periods import parse_period, previous
from cspkit.measures.settings import Settings
from cspkit.products.report.assessment import Context, build_assessment
from cspkit.products.report.config import LocalContent
from cspkit.products.report.document import Figure, Paragraph, Table
from cspkit.products.report.hotspots_section import hotspot_blocks, q_label


@pytest.fixture(scope="module")
def blocks(demo_warehouse) -> list:  # type: ignore[no-untyped-def]
    period = parse_period("2023")
    ctx = Context(demo_warehouse, select_area(demo_warehouse, "Bedford"), period,
                  previous(period), LocalContent(), Settings(), DisclosurePolicy())
    return hotspot_blocks(ctx)


def by_key(blocks: list, kind: type, key: str):  # type: ignore[no-untyped-def]
    return next(b for b in blocks if isinstance(b, kind) and b.key == key)


@pytest.mark.parametrize(("slug", "category"), [("hotspots-crime", ALL_CRIME),
                                                ("hotspots-asb", ASB)])
def test_the_table_is_the_measure(demo_warehouse, blocks, slug, category):
    measure = lsoa_hotspots(demo_warehouse, select_area(demo_warehouse, "Bedford"),
                            parse_period("2023"), category=category)
    found = measure[measure["classification"].isin([HOT, COLD])]
    table = by_key(blocks, Table, slug).frame
    assert list(table.columns) == ["LSOA", "Ward", "Incidents", "Gi* z-score",
                                   "q-value (FDR)", "Hot or cold"]
    assert len(table) == len(found) == measure.attrs["n_hot"] + measure.attrs["n_cold"]
    expected = found.set_index("lsoa_name")
    for row in table.itertuples(index=False):
        source = expected.loc[row.LSOA]
        assert row.Ward == source["ward_name"]
        count = int(source["count"])
        assert row.Incidents == ("<5" if 0 < count < 5 else str(count))
        assert row[3] == f"{source['gi_z']:.1f}"
        assert row[4] == q_label(source["q_value"])
        assert row[5] == {HOT: "Hot spot", COLD: "Cold spot"}[source["classification"]]
    # Hot spots first, strongest first.
    hot_z = [float(z) for z, c in zip(table["Gi* z-score"], table["Hot or cold"], strict=True)
             if c == "Hot spot"]
    assert hot_z == sorted(hot_z, reverse=True)


@pytest.mark.parametrize(("slug", "label", "hot"), [
    ("hotspots-crime", "Police recorded crime (excluding ASB)", 11),
    ("hotspots-asb", "Anti-social behaviour", 10)])
def test_the_sentence_states_the_method_and_the_result(blocks, slug, label, hot):
    text = next(b.text for b in blocks if isinstance(b, Paragraph)
                and b.text.startswith(label + ", 2023"))
    assert "Getis-Ord Gi* on the 117 LSOAs of Bedford" in text
    assert "binary Queen contiguity" in text and "own neighbourhood" in text
    assert "two-sided against the normal approximation" in text
    assert "false discovery rate is held at 5% across the 117 LSOAs tested" in text
    assert "(Benjamini–Hochberg)" in text
    assert f"{hot} hot spots and 0 cold spots survived" in text
    assert "{figure:" + slug + "-map}" in text and "{table:" + slug + "}" in text


def test_the_map_describes_its_classes(blocks, demo_warehouse):
    figure = by_key(blocks, Figure, "hotspots-asb-map")
    assert "117 LSOAs coloured by hot-spot class" in figure.alt
    assert "Hot spot: 10 LSOAs" in figure.alt and "Cold spot: none" in figure.alt
    assert "Not significant: the other 107" in figure.alt
    assert figure.svg.startswith("<svg") and "Hot spot" in figure.svg


def test_each_issue_is_a_declared_family(demo_warehouse):
    period = parse_period("2023")
    ctx = Context(demo_warehouse, select_area(demo_warehouse, "Bedford"), period,
                  previous(period), LocalContent(), Settings(), DisclosurePolicy())
    hotspot_blocks(ctx)
    assert [(f.name, f.tests, f.procedure, f.significant) for f in ctx.families] == [
        ("Hot and cold spots by LSOA: police recorded crime (excluding ASB)", 117,
         "Benjamini–Hochberg", 11),
        ("Hot and cold spots by LSOA: anti-social behaviour", 117, "Benjamini–Hochberg", 10)]


def test_published_counts_hide_1_to_4(blocks):
    for block in blocks:
        if isinstance(block, Table):
            shown = pd.to_numeric(block.frame["Incidents"], errors="coerce").dropna()
            assert not ((shown >= 1) & (shown <= 4)).any()


def test_a_small_area_says_why_nothing_was_tested(demo_warehouse):
    period = parse_period("2023")
    ward = select_area(demo_warehouse, "E05014507")
    ctx = Context(demo_warehouse, ward, period, previous(period), LocalContent(), Settings(),
                  DisclosurePolicy())
    out = hotspot_blocks(ctx)
    caveats = [b.text for b in out if isinstance(b, Paragraph) and b.kind == "caveat"]
    assert len(caveats) == 2 and all("at least 30" in c for c in caveats)
    assert not any(isinstance(b, Table | Figure) for b in out)


def test_the_assessment_places_section_holds_them(demo_warehouse):
    doc = build_assessment(demo_warehouse, "Bedford", parse_period("2023"))
    places = next(s for s in doc.walk() if s.key == "places")
    keys = [b.key for b in places.blocks if isinstance(b, Table | Figure)]
    assert {"hotspots-crime", "hotspots-asb", "hotspots-crime-map",
            "hotspots-asb-map"} <= set(keys)
    families = next(t for t in doc.tables() if t.key == "method-families").frame
    assert {"Hot and cold spots by LSOA: police recorded crime (excluding ASB)",
            "Hot and cold spots by LSOA: anti-social behaviour"} <= set(families["family"])
