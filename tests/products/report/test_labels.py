"""Column headers in words: the labels themselves, how each kind is written, and every table of
the Bedford 2023 assessment, the Kempston profile briefing and the places document checked for
a header that is still a field name."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from cspkit.measures.custom_areas import area_from_wards
from cspkit.measures.periods import calendar_year
from cspkit.products.places_report import ranking_blocks
from cspkit.products.profile import build_document, profile
from cspkit.products.report import labels
from cspkit.products.report.assessment import build_assessment
from cspkit.products.report.document import Document, Section, Table
from cspkit.products.report.render import format_value, render_html, table_view, write_tables


def test_field_names_become_words_with_units() -> None:
    assert labels.label("change_pct").header == "Change (%)"
    assert labels.label("pct_change").header == "Change (%)"
    assert labels.label("rate_per_1000").header == "Rate per 1,000 residents"
    # The rate base is the settings' one: a rate_per_1000 column holds rates per rate_per.
    assert labels.label("rate_per_1000", rate_per=100_000).header == \
        "Rate per 100,000 residents"
    assert labels.label("rate_per_1000", rate_per=100_000).unit == "per 100,000 residents"
    assert labels.label("share_of_events").header == "Share of incidents (%)"
    assert labels.label("rank_of_average_score").header == \
        "Rank of average score (1 = most deprived)"
    assert labels.label("baseline_count").header == "Count in the comparison period"
    assert labels.label("verdict").header == "Test result"
    # Families of names: the places ranking's per-issue columns.
    assert labels.label("criminal_damage_rate").header == \
        "Criminal damage and arson: rate per 1,000 residents"
    assert labels.label("all_crime_count").kind == "count"
    # A table's own header overrides the words, not the kind.
    named = labels.label("comparator_rate_pct", header="England completion rate (%)")
    assert (named.header, named.kind) == ("England completion rate (%)", "percentage")


def test_display_names_stay_as_they_are() -> None:
    for name in ("2023", "2021/22", "2021 (8 months)", "Ward", "Rate per 1,000 (2023)"):
        assert labels.label(name).header == name
    assert labels.label("2021/22").kind == "count"          # a period's counts
    assert labels.label("Rate per 1,000 (2023)").kind == "rate"
    assert labels.label("LSOA edition").kind == "year"
    # An unknown field name still never shows its underscores.
    assert labels.label("months_held").header == "Months held"


@pytest.mark.parametrize("value,kind,text", [
    (0.1655, "share", "16.6"),          # a share as a percentage, one decimal
    (0.1, "share", "10.0"),
    (0.0, "share", "0.0"),
    (-11.649831649831643, "percentage", "-11.6"),
    (2011, "year", "2011"),             # years and editions without separators
    ("2011", "year", "2011"),
    (2019.0, "year", "2019"),
    ("2685", "count", "2,685"),         # published counts are text: still separated
    ("<5", "count", "<5"),
    (173292.0, "count", "173,292"),
    (32959, "rank", "32,959"),
    (78.474, "rate", "78.5"),
    (0.0462, "p_value", "0.0462"),
    (0.00001, "p_value", "<0.0001"),
    (float("nan"), "rate", ""),
    ("2021/22", "text", "2021/22"),
])
def test_each_kind_is_written_as_readers_expect(value: object, kind: str, text: str) -> None:
    assert format_value(value, kind=kind) == text


# ---------------------------------------------------------------------------------------------
# Every table of the three documents


@pytest.fixture(scope="module")
def documents(demo_warehouse) -> dict[str, Document]:  # type: ignore[no-untyped-def]
    con = demo_warehouse
    year = calendar_year(2023)
    docs = {"assessment": build_assessment(con, "Bedford", year)}
    kempston = area_from_wards(con, "Kempston", ["Kempston West", "Kempston North"])
    docs["profile"] = build_document(con, profile(con, kempston, 2023))
    for level in ("ward", "lsoa"):
        blocks, _ = ranking_blocks(con, "Bedford", year, level=level, top=None)
        doc = Document(f"Places {level}", "Bedford", "E06000055", "2023", date(2024, 1, 1),
                       sections=[Section("ranking", "The ranking", blocks)])
        doc.number()
        docs[f"places-{level}"] = doc
    return docs


def _still_a_field_name(header: str) -> bool:
    """An underscore, a known field name, or one lower-case word ('family', 'tests'): words
    for readers start with a capital or hold a space."""
    return ("_" in header or header in labels.field_names()
            or re.fullmatch(r"[a-z][a-z0-9]*", header) is not None)


def test_no_header_is_a_field_name(documents: dict[str, Document], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    checked = 0
    for name, doc in documents.items():
        assert doc.tables(), name
        for table in doc.tables():
            for column in table.frame.columns:
                # Every column is either labelled or already named for readers.
                assert labels.known(str(column)) or "_" not in str(column), (name, column)
            headers = [c.name for c in table_view(table, doc.rate_per).columns]
            bad = [h for h in headers if _still_a_field_name(h)]
            assert not bad, f"{name}, table {table.key}: {bad}"
            checked += len(headers)
        # The rendered HTML (and so the PDF made from it) and the XLSX show the same words.
        html = render_html(doc)
        for header in re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', html):
            assert not _still_a_field_name(header), (name, header)
        out = tmp_path / name
        write_tables(doc, out)
        book = load_workbook(out / "tables.xlsx")
        for table, sheet in zip(doc.tables(), book.sheetnames[1:], strict=True):
            rows = list(book[sheet].iter_rows(values_only=True))
            header_row = next(r for r in rows if r[0] == table_view(table).columns[0].name)
            assert not [h for h in header_row if h and _still_a_field_name(str(h))], sheet
    assert checked > 150


def test_a_field_name_header_would_be_caught() -> None:
    table = Table("t", "t", pd.DataFrame({"change_pct": [1.0], "months_held": [2],
                                          "verdict": ["x"]}))
    assert [labels.known(c) for c in table.frame.columns] == [True, False, True]
    assert _still_a_field_name("verdict") and _still_a_field_name("q_value")
    assert _still_a_field_name("procedure")   # unknown, but a machine name all the same
    assert not _still_a_field_name("Test result") and not _still_a_field_name("2023")
    assert not _still_a_field_name("vs rest of Bedford")


def test_the_assessment_shows_shares_as_percentages_and_years_plainly(
        documents: dict[str, Document]) -> None:
    doc = documents["assessment"]
    tables = {t.key: t for t in doc.tables()}
    deciles = table_view(tables["deprivation-deciles"], doc.rate_per)
    share = [c.name for c in deciles.columns].index("Share of incidents (%)")
    frame = tables["deprivation-deciles"].frame
    for row, value in zip(deciles.rows, frame["share_of_events"], strict=True):
        if isinstance(value, float):
            assert row[share].text == f"{100 * value:.1f}"
    shown = [float(r[share].text) for r in deciles.rows if r[share].text not in ("", "*")]
    assert sum(shown) == pytest.approx(100, abs=0.6)   # shares of the whole, in per cent
    coverage = table_view(tables["coverage"], doc.rate_per)
    edition = [c.name for c in coverage.columns].index("LSOA edition")
    assert {r[edition].text for r in coverage.rows} <= {"2011", "2021"}
    rates = table_view(tables["domestic-abuse-rates"], doc.rate_per)
    year = [c.name for c in rates.columns].index("Population estimate year")
    assert all(re.fullmatch(r"\d{4}", r[year].text) for r in rates.rows)
