"""Rendering a hand-built Document to HTML (checked in real headless Chromium), PDF, CSV and
XLSX."""

from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from cspkit.products.report.document import Document, Figure, Paragraph, Section, Table
from cspkit.products.report.render import (
    format_value,
    render_html,
    sheet_names,
    write_document,
    write_pdf,
    write_tables,
)
from tests.products.report.browser import needs_chromium, offline_page


def _svg(colour: str, label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="320" height="120" '
            f'viewBox="0 0 320 120"><rect x="10" y="20" width="200" height="60" '
            f'fill="{colour}"/><text x="10" y="110" font-size="12">{label}</text></svg>')


def make_document() -> Document:
    counts = pd.DataFrame({
        "Crime type": ["Burglary", "Robbery", "Arson"],
        "Offences": [12345, 678, 3],
        "Rate per 1,000": [45.678, 2.5, 0.011],
        "Change pct": [-3.25, 10.0, float("nan")],
    })
    outcomes = pd.DataFrame({
        "Ward": ["North", "South"],
        "Charged": ["<5", "17"],
        "Share of outcomes": [0.0, 12.34],
    })
    return Document(
        title="Strategic Assessment 2025",
        area_name="Exampleshire",
        area_code="E06000099",
        period_label="April 2024 to March 2025",
        produced=date(2025, 6, 3),
        details={"Version": "1.0 (draft)", "Classification": "OFFICIAL", "Author": "CSP analyst"},
        sections=[
            Section("summary", "Summary", blocks=[
                Paragraph("Recorded crime is summarised in {table:counts} and {figure:trend}."),
                Paragraph("Burglary fell & robbery rose.", kind="finding"),
                Figure("trend", "Recorded crime by month", _svg("#1d70b8", "trend"),
                       alt="Line chart: recorded crime fell from 1,200 to 1,050 a month.",
                       source="Police recorded crime"),
                Table("counts", "Offences by crime type", counts, source="Police recorded crime",
                      notes=["Rates use mid-year population estimates."]),
            ]),
            Section("outcomes", "Outcomes", blocks=[
                Paragraph("Counts under five are suppressed; see {table:outcomes}.", kind="caveat"),
                Paragraph("The partnership will review charge rates.", kind="local"),
            ], subsections=[
                Section("wards", "Outcomes by ward", blocks=[
                    Table("outcomes", "Charges by ward", outcomes, source="Police outcomes"),
                    Figure("wards", "Charges by ward", _svg("#d4351c", "wards"),
                           alt="Bar chart: South ward had 17 charges; North fewer than five.",
                           source="Police outcomes"),
                    Paragraph("{figure:wards} maps the same counts."),
                ]),
            ]),
        ],
    )


@pytest.fixture
def doc() -> Document:
    document = make_document()
    document.number()
    return document


@pytest.fixture
def html(doc: Document) -> str:
    return render_html(doc)


# ---------------------------------------------------------------------------------------------
# HTML


def test_html_is_self_contained(html: str) -> None:
    for attr, value in re.findall(r"""\b(src|href|xlink:href)\s*=\s*["']?([^"'\s>]*)""", html):
        assert value.startswith("#"), f"{attr}={value!r} points outside the file"
    assert "<link" not in html.lower()
    assert "<script" not in html.lower()
    assert "@import" not in html
    for target in re.findall(r"url\(\s*['\"]?([^)'\"]*)", html):
        assert target.startswith(("data:", "#")), target


def test_html_structure(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en-GB">' in html
    assert re.search(r"<h2[^>]*><span class=\"num\">1</span> Summary</h2>", html)
    assert re.search(r"<h2[^>]*><span class=\"num\">2</span> Outcomes</h2>", html)
    assert re.search(r"<h3[^>]*><span class=\"num\">2.1</span> Outcomes by ward</h3>", html)
    assert "Table 1: Offences by crime type</caption>" in html
    assert "Table 2: Charges by ward</caption>" in html
    assert "<figcaption>Figure 1: Recorded crime by month</figcaption>" in html
    assert "<figcaption>Figure 2: Charges by ward</figcaption>" in html
    assert "<td class=\"num\">&lt;5</td>" in html
    assert "Burglary fell &amp; robbery rose." in html
    # References resolved by numbering.
    assert "summarised in Table 1 and Figure 1." in html
    assert "Figure 2 maps the same counts." in html
    # Cover.
    assert "E06000099" in html and "3 June 2025" in html and "OFFICIAL" in html
    assert '<th scope="row">Classification</th>' in html


def test_html_contents_links_every_section(doc: Document, html: str) -> None:
    contents = html.split('<nav class="contents"', 1)[1].split("</nav>", 1)[0]
    for section in doc.walk():
        anchor = "section-" + section.number.replace(".", "-")
        assert f'<a href="#{anchor}"><span class="num">{section.number}</span> {section.title}</a>' in contents
        assert f'<section class="section level-{section.number.count(".") + 1}" id="{anchor}"' in html
    assert '<a href="#table-2">Table 2: Charges by ward</a>' in contents
    assert '<a href="#figure-1">Figure 1: Recorded crime by month</a>' in contents


def test_paragraph_kinds_are_labelled(html: str) -> None:
    assert '<p class="para para-finding"><span class="para-label">Finding:</span>' in html
    assert '<p class="para para-caveat"><span class="para-label">Caveat:</span>' in html
    assert ('<p class="para para-local"><span class="para-label">Partnership commentary:</span>'
            in html)


def test_table_numbers_are_formatted(html: str) -> None:
    assert '<td class="num">12,345</td>' in html
    assert '<td class="num">45.7</td>' in html          # rate: one decimal
    assert '<td class="num">-3.2</td>' in html          # pct: one decimal
    assert '<td class="num">0.0</td>' in html           # share of zero
    assert "nan" not in html.lower().replace("nanum", "")
    assert format_value(float("nan")) == "" and format_value(None) == ""
    assert format_value(pd.NA) == "" and format_value("<5", rate=True) == "<5"
    assert format_value(1234567) == "1,234,567" and format_value(2.0) == "2"
    assert format_value(12.25, rate=True) == "12.2"  # 12.25 is stored a little below
    assert format_value(pd.Timestamp("2024-04-01")) == "2024-04-01"
    assert format_value(pd.Period("2024-04", freq="M")) == "2024-04"


def test_figures_carry_text_alternatives(html: str) -> None:
    assert ('<div class="figure-graphic" role="img" aria-label="Line chart: recorded crime fell '
            'from 1,200 to 1,050 a month.">' in html)
    assert html.count("<summary>Text description</summary>") == 2


def test_render_refuses_unnumbered_and_external(doc: Document) -> None:
    with pytest.raises(ValueError, match="not numbered"):
        render_html(make_document())
    for svg in ['<svg><image href="https://example.org/x.png"/></svg>',
                '<svg><image xlink:href="x.png"/></svg>',
                '<svg><rect style="fill: url(https://example.org/p)"/></svg>',
                '<svg><script>alert(1)</script></svg>']:
        doc.figures()[0].svg = svg
        with pytest.raises(ValueError, match="outside resources"):
            render_html(doc)
    # Fragment references inside an SVG fetch nothing.
    doc.figures()[0].svg = ('<svg><defs><linearGradient id="g"/></defs>'
                            '<rect fill="url(#g)" width="5" height="5"/></svg>')
    assert 'fill="url(#g)"' in render_html(doc)


def test_outside_resources_are_refused_as_a_user_error(doc: Document) -> None:
    from cspkit.errors import CspkitError

    for svg in ['<svg><rect fill="url(https://example.org/p)" width="5" height="5"/></svg>',
                '<svg><style>@import "https://example.org/a.css";</style></svg>',
                '<svg><style>rect { fill: url(x.svg#p) }</style></svg>',
                '<svg><use href="other.svg#shape"/></svg>',
                '<svg><foreignObject><iframe></iframe></foreignObject></svg>']:
        doc.figures()[0].svg = svg
        with pytest.raises(CspkitError, match="outside resources"):
            render_html(doc)


def test_text_that_mentions_src_or_url_is_not_an_outside_resource(doc: Document) -> None:
    """Titles, notes and alt text are escaped words: `src=` or `url(` in them fetches nothing."""
    doc.title = "Data src=police url(x)"
    doc.sections[0].title = 'Sources: <img src="https://example.org/a.png"> and @import'
    doc.tables()[0].notes.append("See src=http://example.org and url(http://example.org).")
    doc.figures()[0].alt = "Line chart: data src=police, style url(x)."
    html = render_html(doc)
    assert "<h1>Data src=police url(x)</h1>" in html
    assert 'content="Data src=police url(x) for Exampleshire' in html
    assert "Sources: &lt;img src=&#34;https://example.org/a.png&#34;&gt; and @import" in html
    assert 'aria-label="Line chart: data src=police, style url(x)."' in html


def test_unknown_paragraph_kind_fails(doc: Document) -> None:
    doc.sections[0].blocks.append(Paragraph("x", kind="warning"))
    with pytest.raises(ValueError, match="unknown paragraph kind"):
        render_html(doc)


# ---------------------------------------------------------------------------------------------
# Chromium


@needs_chromium
def test_html_in_headless_chromium(tmp_path: Path, doc: Document, html: str) -> None:
    from playwright import sync_api

    page_path = tmp_path / "assessment.html"
    page_path.write_text(html, encoding="utf-8")
    with offline_page(page_path) as visit:
        page = visit.page
        svgs = page.locator("figure svg")
        assert svgs.count() == 2
        for i in range(svgs.count()):
            box = svgs.nth(i).bounding_box()
            assert box is not None and box["width"] > 0 and box["height"] > 0

        figures = doc.figures()
        for figure in figures:
            caption = f"Figure {figure.number}: {figure.title}"
            sync_api.expect(page.get_by_role("figure", name=caption)).to_have_count(1)
            graphic = page.locator(f"#figure-{figure.number}").get_by_role("img")
            sync_api.expect(graphic).to_have_accessible_name(figure.alt)
        # The text description opens on demand.
        details = page.locator("#figure-1 details")
        sync_api.expect(details.locator("p")).to_be_hidden()
        details.locator("summary").click()
        sync_api.expect(details.locator("p")).to_have_text(figures[0].alt)

        sync_api.expect(page.get_by_role("table", name="Table 1: Offences by crime type")
                        ).to_have_count(1)
        assert page.get_by_role("heading", name="2.1 Outcomes by ward", level=3).count() == 1
        assert page.locator("nav.contents a[href='#section-2-1']").count() == 1

    assert visit.requests == [visit.url], f"unexpected requests: {visit.requests}"
    assert visit.problems == []


# ---------------------------------------------------------------------------------------------
# PDF


def test_pdf(tmp_path: Path, doc: Document, html: str, caplog: pytest.LogCaptureFixture) -> None:
    from pypdf import PdfReader

    path = tmp_path / "assessment.pdf"
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        write_pdf(html, path)
    # Nothing fetched, and the stylesheet holds nothing WeasyPrint ignores with a warning.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []

    reader = PdfReader(path)
    # Cover, contents, then each top-level section on a page of its own.
    assert len(reader.pages) >= 4
    pages = [" ".join((page.extract_text() or "").split()) for page in reader.pages]
    assert "Strategic Assessment 2025" in pages[0] and "Exampleshire" in pages[0]
    assert "Page" not in pages[0]                       # the cover has no footer
    assert "Contents" in pages[1]
    text = " ".join(pages)
    for phrase in ["1 Summary", "2 Outcomes", "2.1 Outcomes by ward",
                   "Table 1: Offences by crime type", "Figure 2: Charges by ward",
                   "12,345", "<5", "Partnership commentary:", "Text description"]:
        assert phrase in text, phrase
    assert re.search(r"Page 2 of \d+", pages[1])
    assert reader.metadata is not None and reader.metadata.title


def test_pdf_without_pango_is_a_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    import sys
    import types

    from cspkit.errors import CspkitError

    class Unloadable(types.ModuleType):
        def __getattr__(self, name: str) -> object:
            raise OSError("cannot load library 'libpango-1.0-0'")

    monkeypatch.setitem(sys.modules, "weasyprint", Unloadable("weasyprint"))
    with pytest.raises(CspkitError, match=r"cannot write x\.pdf: WeasyPrint needs Pango.*"
                                          r"libpango-1\.0-0.*cspkit doctor.*--no-pdf"):
        write_pdf("<p>x</p>", tmp_path / "x.pdf")


def test_pdf_refuses_to_fetch(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    page = '<html><body><p>x</p><img src="https://example.org/a.png" alt="a"></body></html>'
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        write_pdf(page, tmp_path / "x.pdf")
    assert any("refused" in r.getMessage() for r in caplog.records)
    assert (tmp_path / "x.pdf").stat().st_size > 0


def test_the_pdf_draws_each_figure_from_its_own_svg(html: str, doc: Document) -> None:
    """WeasyPrint meets each figure as one image of the very SVG the HTML holds, described by
    the figure's text alternative; the HTML file itself keeps the SVG inline."""
    import base64

    from cspkit.products.report.render import SVG_DATA_URL, svg_as_images

    printed = svg_as_images(html)
    assert "<svg" not in printed and "<svg" in html
    images = re.findall(r'<img class="figure-svg" alt="([^"]*)" src="([^"]*)">', printed)
    assert len(images) == len(doc.figures()) == html.count("<svg")
    inline = re.findall(r"<svg\b.*?</svg>", html, re.DOTALL)
    for (alt, src), svg in zip(images, inline, strict=True):
        assert src.startswith(SVG_DATA_URL)
        drawn = base64.b64decode(src[len(SVG_DATA_URL):]).decode("utf-8")
        assert drawn.replace(' xmlns="http://www.w3.org/2000/svg"', "", 1) == svg.replace(
            ' xmlns="http://www.w3.org/2000/svg"', "", 1)
        assert alt and alt in html
    assert printed.replace("\n", "").count('class="figure-graphic"') == len(images)


# ---------------------------------------------------------------------------------------------
# CSV and XLSX


def test_tables_to_csv_and_xlsx(tmp_path: Path, doc: Document) -> None:
    from openpyxl import load_workbook

    paths = write_tables(doc, tmp_path)
    assert [p.name for p in paths] == ["table-01-counts.csv", "table-02-outcomes.csv",
                                       "data-dictionary.csv", "tables.xlsx"]
    for table, path in zip(doc.tables(), paths, strict=False):
        written = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        expected = table.frame.map(lambda v: "" if pd.isna(v) else str(v))
        assert list(written.columns) == list(table.frame.columns)
        assert written.values.tolist() == expected.values.tolist()
    assert "<5" in paths[1].read_text(encoding="utf-8")

    book = load_workbook(paths[-1])
    names = book.sheetnames
    assert names[0] == "Contents"
    assert len({n.lower() for n in names}) == len(names)
    assert all(len(n) <= 31 for n in names)
    listed = [row for row in book["Contents"].iter_rows(min_row=3, values_only=True)]
    assert [(r[0], r[1], r[2]) for r in listed] == [
        (t.number, t.title, t.source) for t in doc.tables()]
    assert [r[3] for r in listed] == names[1:]
    sheet = book[names[2]]
    values = [row for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "Table 2: Charges by ward"
    assert values[2] == ("Ward", "Charged", "Share of outcomes")
    assert values[3] == ("North", "<5", 0.0)


FORMULA_LIKE = ["=HYPERLINK(\"http://example.org\",\"x\")", "+1+1", "-2+3", "@SUM(A1)",
                "\tTab first", "\rReturn first"]


def test_formula_like_text_is_neutralised_in_csv_and_xlsx(tmp_path: Path) -> None:
    """A category (or any text) that a spreadsheet would run goes out with a leading quote in
    the table CSV, the data dictionary and the workbook, stored as text; numbers and plain
    signed numbers are left as they are."""
    from openpyxl import load_workbook

    frame = pd.DataFrame({"category": [*FORMULA_LIKE, "Burglary"],
                          "count": [10, 20, 30, 40, 50, 60, 70],
                          "change": ["-12", "+3", "-1,234", "-12%", "5", "-0.5", "0"],
                          "=1+1": ["a"] * 7})
    doc = Document(title="T", area_name="A", area_code="E06000099", period_label="2023",
                   produced=date(2025, 6, 3), sections=[Section("s", "S", blocks=[
                       Table("injected", "@Title", frame, source="=Source",
                             headers={"category": "-Category"})])])
    doc.number()
    paths = write_tables(doc, tmp_path)

    written = pd.read_csv(paths[0], dtype=str, keep_default_na=False)
    assert written["category"].tolist() == ["'" + t for t in FORMULA_LIKE] + ["Burglary"]
    assert written["count"].tolist() == ["10", "20", "30", "40", "50", "60", "70"]
    assert written["change"].tolist() == frame["change"].tolist()   # plain signed numbers
    assert list(written.columns) == ["category", "count", "change", "'=1+1"]
    dictionary = pd.read_csv(paths[-2], dtype=str, keep_default_na=False)
    assert dictionary["column"].tolist() == list(written.columns)
    assert "-Category" not in dictionary["header"].tolist()
    assert "'-Category" in dictionary["header"].tolist()

    book = load_workbook(paths[-1])
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    contents = [r for r in book["Contents"].iter_rows(min_row=3, values_only=True)]
    assert contents[0][1:3] == ("'@Title", "'=Source")
    rows = list(book.worksheets[1].iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if r[0] == "'-Category")
    assert rows[header][3] == "'=1+1"
    data = rows[header + 1:]
    # (XML reads a carriage return back as a line feed.)
    assert [r[0] for r in data] == ["'" + t.replace("\r", "\n") for t in FORMULA_LIKE] + [
        "Burglary"]
    assert [r[1] for r in data] == [10, 20, 30, 40, 50, 60, 70]
    # Whole numbers held as text become numbers; other plain signed numbers stay text.
    assert [r[2] for r in data][:4] == [-12, "+3", "-1,234", "-12%"]


def test_sheet_names_are_short_and_unique() -> None:
    frame = pd.DataFrame({"a": [1]})
    tables = [Table("a-very-long-key-that-excel-will-not-take-whole", "t", frame, number=1),
              Table("a-very-long-key-that-excel-will-not-take-whole-2", "t", frame, number=1)]
    names = sheet_names(tables)
    assert all(len(n) <= 31 for n in names)
    assert len(set(names)) == 2 and names[0].startswith("T01 a-very-long")


def test_write_document(tmp_path: Path) -> None:
    doc = make_document()  # unnumbered: write_document numbers it
    paths = write_document(doc, tmp_path / "out", "assessment")
    assert set(paths) == {"html", "pdf", "xlsx", "dictionary", "csv:counts", "csv:outcomes"}
    assert paths["html"].name == "assessment.html" and paths["pdf"].name == "assessment.pdf"
    assert paths["pdf"].read_bytes().startswith(b"%PDF")
    assert all(p.exists() and p.stat().st_size > 0 for p in paths.values())
    assert "Table 1: Offences by crime type" in paths["html"].read_text(encoding="utf-8")


def test_table_key_must_be_a_safe_file_name(tmp_path: Path, doc: Document) -> None:
    doc.tables()[0].key = "../escape"
    with pytest.raises(ValueError, match="table key"):
        write_tables(doc, tmp_path)


# ---------------------------------------------------------------------------------------------
# Headers in words, and synthetic data labelled


def labelled_document() -> Document:
    """A table of machine field names, and a synthetic table and figure."""
    rates = pd.DataFrame({"name": ["Bedford", "Luton"], "count": ["13599", "<5"],
                          "rate_per_1000": [78.474, None], "share_of_events": [0.1655, 0.0],
                          "population_year": [2019, 2019], "2023": ["1234", "7"]})
    fires = pd.DataFrame({"ward": ["North", "South"], "2023": ["12", "<5"]})
    return Document(
        title="T", area_name="A", area_code="E06000099", period_label="2023",
        produced=date(2025, 6, 3), rate_per=100_000,
        sections=[Section("s", "S", blocks=[
            Table("rates", "Rates", rates, source="Police"),
            Table("fires", "Fires by ward", fires, source="Fire service", synthetic=True,
                  headers={"ward": "Ward (2023 boundaries)"}),
            Figure("fire-map", "Fires by month", _svg("#1d70b8", "fires"),
                   alt="Line chart of fires.", synthetic=True),
            Figure("crime", "Crime by month", _svg("#1d70b8", "crime"), alt="Crime."),
        ])])


def test_headers_are_words_in_html_and_xlsx_and_field_names_in_csv(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    doc = labelled_document()
    doc.number()
    html = render_html(doc)
    headers = re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', html)
    assert headers[:6] == ["Area", "Count", "Rate per 100,000 residents",
                           "Share of incidents (%)", "Population estimate year", "2023"]
    assert headers[6] == "Ward (2023 boundaries)"    # the table's own words
    # Share as a percentage, year without a separator, counts with one, missing rate blank.
    row = re.search(r"<td>Bedford</td>(.*?)</tr>", html).group(1)  # type: ignore[union-attr]
    assert re.findall(r"<td[^>]*>([^<]*)</td>", row) == ["13,599", "78.5", "16.6", "2019",
                                                         "1,234"]

    paths = write_tables(doc, tmp_path)
    written = pd.read_csv(paths[0], dtype=str, keep_default_na=False)
    assert list(written.columns) == list(doc.tables()[0].frame.columns)
    assert written["share_of_events"].tolist() == ["0.1655", "0.0"]   # machine values kept
    book = load_workbook(paths[-1])
    sheet = list(book[book.sheetnames[1]].iter_rows())
    assert [c.value for c in sheet[2]] == headers[:6]
    cells = {c.column_letter: c for c in sheet[3]}
    assert (cells["B"].value, cells["B"].number_format) == (13599, "#,##0")
    assert (cells["D"].value, cells["D"].number_format) == (0.1655, "0.0%")
    assert (cells["E"].value, cells["E"].number_format) == (2019, "0")
    assert sheet[4][1].value == "<5"


def test_the_data_dictionary_describes_every_csv_column(tmp_path: Path) -> None:
    doc = labelled_document()
    doc.number()
    paths = write_tables(doc, tmp_path)
    dictionary = pd.read_csv(tmp_path / "data-dictionary.csv", dtype=str,
                             keep_default_na=False)
    assert list(dictionary.columns) == ["file", "table", "column", "header", "kind", "unit",
                                        "description"]
    for path in paths[:2]:
        columns = list(pd.read_csv(path, nrows=0).columns)
        assert dictionary.loc[dictionary["file"] == path.name, "column"].tolist() == columns
    rate = dictionary[dictionary["column"] == "rate_per_1000"].iloc[0]
    assert (rate["header"], rate["kind"], rate["unit"]) == (
        "Rate per 100,000 residents", "rate", "per 100,000 residents")
    share = dictionary[dictionary["column"] == "share_of_events"].iloc[0]
    assert share["kind"] == "share" and "0 to 1" in share["unit"]
    synthetic = dictionary[dictionary["file"] == paths[1].name]
    assert synthetic["table"].str.contains("SYNTHETIC DATA").all()
    assert "provenance" in synthetic["column"].tolist()


def test_synthetic_tables_and_figures_say_so_in_every_output(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    doc = labelled_document()
    doc.number()
    html = render_html(doc)
    assert ('Table 2: Fires by ward <strong class="synthetic-label">SYNTHETIC DATA</strong>'
            '</caption>' in html)
    assert ('<figcaption>Figure 1: Fires by month <strong class="synthetic-label">SYNTHETIC '
            'DATA</strong></figcaption>' in html)
    assert 'aria-label="SYNTHETIC DATA: Line chart of fires."' in html
    assert "<figcaption>Figure 2: Crime by month</figcaption>" in html   # real: no label
    assert "Table 1: Rates</caption>" in html
    notes = html.split('id="table-2"', 1)[1].split("</div>\n</div>", 1)[0]
    assert "SYNTHETIC DATA: This table uses synthetic sample data" in notes
    contents = html.split('<nav class="contents"', 1)[1].split("</nav>", 1)[0]
    assert contents.count("SYNTHETIC DATA") == 2

    paths = write_tables(doc, tmp_path)
    real = pd.read_csv(paths[0])
    fires = pd.read_csv(paths[1], dtype=str)
    assert "provenance" not in real.columns
    assert fires["provenance"].tolist() == ["SYNTHETIC sample data"] * 2   # on every row
    book = load_workbook(paths[-1])
    listed = [r[1] for r in book["Contents"].iter_rows(min_row=3, values_only=True)]
    assert listed == ["Rates", "Fires by ward (SYNTHETIC DATA)"]
    top = [r[0] for r in book[book.sheetnames[2]].iter_rows(max_row=3, values_only=True)]
    assert top[0] == "Table 2: Fires by ward (SYNTHETIC DATA)"
    assert top[2].startswith("Note 1: SYNTHETIC DATA")

    pdf = tmp_path / "doc.pdf"
    write_pdf(html, pdf)
    from pypdf import PdfReader

    text = " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(pdf).pages)
    assert "Table 2: Fires by ward SYNTHETIC DATA" in text
    assert "Figure 1: Fires by month SYNTHETIC DATA" in text


def _leaking_document() -> Document:
    """A ward change table whose change follows only the current count (the old `derived`):
    '<5, 11, 8' gives the hidden 3 away."""
    from cspkit.measures.disclosure import publish

    wards = pd.DataFrame({"ward": ["North", "South", "East", "West"], "2022": [3, 20, 9, 30],
                          "2023": [11, 25, 14, 28]})
    wards["change"] = wards["2023"] - wards["2022"]
    published = publish(wards, ["2022", "2023"], derived={"change": "2023"})
    return Document(title="T", area_name="A", area_code="E0", period_label="2023",
                    produced=date(2025, 1, 1), sections=[Section("s", "S", blocks=[
                        Paragraph("{table:wards} gives the change."),
                        Table("wards", "Change by ward", published)])])


def test_a_leaking_document_is_not_written(tmp_path: Path) -> None:
    from cspkit.measures.disclosure_audit import DisclosureLeak

    with pytest.raises(DisclosureLeak, match=r"table 1 \(wards\), row 0 \(North\), "
                                             r"column '2022' = 3: recovered from change"):
        write_document(_leaking_document(), tmp_path / "out", "leaky", pdf=False)
    assert not (tmp_path / "out").exists()
    doc = _leaking_document()
    doc.number()
    with pytest.raises(DisclosureLeak):
        write_tables(doc, tmp_path / "tables")
    assert not (tmp_path / "tables").exists()


def test_a_figure_stating_a_small_count_is_not_written(tmp_path: Path) -> None:
    from cspkit.measures.disclosure_audit import DisclosureLeak

    doc = make_document()
    figure = doc.figures()[0]
    figure.alt = "Line chart: highest 23 in March 2024; lowest 2 in January 2022."
    with pytest.raises(DisclosureLeak, match=r"figure 1 \(trend\).*'lowest 2'"):
        write_document(doc, tmp_path / "out", "leaky", pdf=False)
    # The SVG's own title is read too.
    doc = make_document()
    doc.figures()[0].svg = _svg("#1d70b8", "trend").replace(
        "<rect", "<title>North: 3 incidents</title><rect", 1)
    with pytest.raises(DisclosureLeak, match="3 incidents"):
        write_document(doc, tmp_path / "out", "leaky", pdf=False)


def test_the_audit_reports_tables_that_declare_no_counts() -> None:
    from cspkit.products.report.render import audit_document

    report = audit_document(make_document())
    assert report.leaks == [] and report.unchecked == ["counts", "outcomes"]
