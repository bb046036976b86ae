"""The assessment's comparison with cspkit similar districts, on the demo warehouse: honest
about how many of the family hold police data, no claim with too few, and with enough a
tested, error-controlled comparison whose published counts keep small numbers hidden."""

from __future__ import annotations

import duckdb
import pandas as pd

from cspkit.measures import counts
from cspkit.measures.areas import select_area
from cspkit.measures.comparisons import HIGHER, LOWER
from cspkit.measures.counts import ALL_CRIME
from cspkit.measures.disclosure import DisclosurePolicy
from cspkit.measures.periods import calendar_year
from cspkit.measures.settings import Settings
from cspkit.products.report.assessment import ISSUES, Context
from cspkit.products.report.config import LocalContent
from cspkit.products.report.document import Paragraph, Section, Table
from cspkit.products.report.similar_section import FAMILY_NAME, similar_section

HEADLINE = [(ALL_CRIME, [ALL_CRIME])] + [(title, cats) for _, title, cats in ISSUES]


def build(con: duckdb.DuckDBPyConnection, area: str, year: int, settings: Settings
          ) -> tuple[Section, Context]:
    ctx = Context(con, select_area(con, area), calendar_year(year), calendar_year(year - 1),
                  LocalContent(), settings, DisclosurePolicy.from_settings(settings))
    return similar_section(ctx, HEADLINE), ctx


def texts(section: Section) -> list[str]:
    return [b.text for b in section.blocks if isinstance(b, Paragraph)]


def test_too_few_with_data_makes_no_claim(demo_warehouse: duckdb.DuckDBPyConnection) -> None:
    section, ctx = build(demo_warehouse, "Bedford", 2023, Settings())
    said = " ".join(texts(section))
    assert section.title == "Bedford beside similar districts"
    assert said.startswith("The 15 districts most like Bedford, nearest first: Maidstone, ")
    assert "not the Home Office's most similar groups" in said and "MSG" not in said
    # Of the family only Central Bedfordshire (the same force) has police data for 2023.
    assert ("1 of 15 similar districts has police data held for 2023: Central Bedfordshire. "
            "With fewer than 3 of them holding data for the same months, Bedford is not "
            "compared with its similar districts and no claim is made") in said
    assert "higher" not in said and "lower" not in said
    assert not any(isinstance(b, Table) for b in section.blocks)
    assert ctx.families == []     # no test was run


def test_enough_with_data_compares_under_error_control(
        demo_warehouse: duckdb.DuckDBPyConnection) -> None:
    # A family of 100 reaches three Cambridgeshire districts, whose data covers the same
    # months of 2019 as East Cambridgeshire's (a part year).
    settings = Settings(similar_size=100)
    section, ctx = build(demo_warehouse, "East Cambridgeshire", 2019, settings)
    said = texts(section)
    assert ("3 of 100 similar districts have police data held for Jan–Feb 2019, Aug–Sep 2019: "
            "South Cambridgeshire, Huntingdonshire and Fenland.") in said[1]
    family = ctx.families[0]
    assert family.name == FAMILY_NAME and family.tests == len(HEADLINE)
    table = next(b for b in section.blocks if isinstance(b, Table))
    shown = table.frame
    assert shown["issue"].tolist() == [issue for issue, _ in HEADLINE]
    # The family rate is the members' pooled count over their pooled population.
    period = calendar_year(2019)
    pooled = pooled_pop = 0.0
    for name in ("South Cambridgeshire", "Huntingdonshire", "Fenland"):
        frame = counts.counts(demo_warehouse, select_area(demo_warehouse, name), period)
        pooled += frame.loc[frame["category"] != "Anti-social behaviour", "count"].sum()
        pooled_pop += frame["population"].iloc[0]
    total = shown.iloc[0]
    assert int(total["family_count"]) == pooled
    assert float(total["family_rate_per_1000"]) == round(1000 * pooled / pooled_pop, 3)
    # Nothing published reveals a count of 1-4.
    for column in ("count", "family_count"):
        for value in shown[column]:
            assert value in ("<5", "*") or int(value) == 0 or int(value) >= 5
    # Every 'higher'/'lower' sentence rests on a test that survived the control, with counts.
    findings = [b.text for b in section.blocks if isinstance(b, Paragraph)
                and b.kind == "finding"]
    significant = shown[shown["verdict"].isin([HIGHER, LOWER])]
    assert len(findings) == len(significant) == family.significant
    for text, (_, row) in zip(findings, significant.iterrows(), strict=True):
        assert text.startswith(f"{row['issue']}: ")
        assert f"significantly {'higher' if row['verdict'] == HIGHER else 'lower'}" in text
        assert text.count("recorded") == 2 and "survives the control across the 9 issues" in text
    others = " ".join(t for t in said if "significantly" not in t)
    assert "higher" not in others and "lower" not in others


def test_too_few_is_the_setting(demo_warehouse: duckdb.DuckDBPyConnection) -> None:
    """With the minimum lowered to 1, one member with data is enough: the wording follows."""
    section, ctx = build(demo_warehouse, "East Cambridgeshire", 2019,
                         Settings(similar_min_with_data=1))
    said = texts(section)
    assert "1 of 15 similar districts has police data held for Jan–Feb 2019, Aug–Sep 2019: " \
           "South Cambridgeshire." in said[1]
    assert ctx.families[0].tests == len(HEADLINE)
    findings = [b.text for b in section.blocks if isinstance(b, Paragraph)
                and b.kind == "finding"]
    assert findings    # East Cambridgeshire's all-crime rate is below South Cambridgeshire's
    for text in findings:
        assert "across the one similar district with data" in text
    assert isinstance(next(b for b in section.blocks if isinstance(b, Table)).frame,
                      pd.DataFrame)
