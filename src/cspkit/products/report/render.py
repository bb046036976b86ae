"""Render a numbered Document: one self-contained HTML file, a PDF made from it, and the tables
as CSV files and one XLSX workbook.

Rendering only formats what the document holds. The HTML must open anywhere (an email
attachment, an offline laptop) and never fetch anything, so styles and figures are inline and
`render_html` refuses output that points outside itself.

Column headers: HTML, PDF and XLSX show each column in words with its unit (`labels`), and the
column's kind decides how values are written (shares as percentages, years without separators);
CSV files keep the machine field names, described in `data-dictionary.csv` beside them. Tables
and figures marked synthetic say SYNTHETIC DATA in every output. Text a spreadsheet would run as
a formula (`=`, `+`, `-`, `@`, ...) gets a leading `'` in every CSV and XLSX
(`cspkit.products.cell_safety`).

Nothing is written that would disclose a small count: `write_document` and `write_tables` first
audit every table against its arithmetic and every sentence, title, note and figure description
(`check_document`, see `cspkit.measures.disclosure_audit`), and refuse with an error naming the
table or figure and the cell or sentence.
"""

from __future__ import annotations

import base64
import logging
import math
import numbers
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from cspkit.errors import CspkitError
from cspkit.measures.disclosure_audit import (
    DisclosureLeak,
    Leak,
    audit_table,
    audit_text,
    svg_texts,
)
from cspkit.products.cell_safety import as_text, safe_cell, write_csv
from cspkit.products.report import labels
from cspkit.products.report.document import Document, Figure, Paragraph, Section, Table

PACKAGE = "cspkit.products.report"
TEMPLATE = "assessment.html.j2"
STYLESHEET = "assessment.css"

KIND_LABELS = {"finding": "Finding", "caveat": "Caveat", "local": "Partnership commentary"}
PARAGRAPH_KINDS = {"text", *KIND_LABELS}

DICTIONARY = "data-dictionary.csv"
SYNTHETIC_LABEL = "SYNTHETIC DATA"
# Published strings that still belong in a number column: suppressed or bounded counts.
_NUMBER_LIKE = re.compile(r"^\s*(?:[<>≤≥~]\s*)?-?[\d,]*\.?\d+\s*%?\s*$|^\s*[*:x.-]\s*$")
_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_WHOLE = re.compile(r"^-?(?:0|[1-9]\d{0,14})$")   # no leading zeros: those are codes
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool


@dataclass(frozen=True)
class Column:
    name: str            # the header in words
    numeric: bool
    field: str = ""      # the machine name, as in the CSV
    kind: str = "auto"


@dataclass(frozen=True)
class TableView:
    columns: list[Column]
    rows: list[list[Cell]]


# ---------------------------------------------------------------------------------------------
# HTML


def render_html(doc: Document) -> str:
    """The whole document as one HTML string with its CSS and SVG inline."""
    _require_numbered(doc)
    for section in doc.walk():
        for block in section.blocks:
            if isinstance(block, Paragraph) and block.kind not in PARAGRAPH_KINDS:
                raise ValueError(f"section {section.number}: unknown paragraph kind "
                                 f"{block.kind!r} (expected one of {sorted(PARAGRAPH_KINDS)})")
    template = _environment().get_template(TEMPLATE)
    css = (files(PACKAGE) / "templates" / STYLESHEET).read_text(encoding="utf-8")
    html = template.render(
        table_view=lambda table: table_view(table, doc.rate_per),
        table_notes=table_notes,
        synthetic_label=SYNTHETIC_LABEL,
        doc=doc,
        css=Markup(css),  # our own file: escaping would break selectors such as `a > b`
        produced=f"{doc.produced.day} {doc.produced:%B %Y}",
        tables=doc.tables(),
        figures=doc.figures(),
    )
    _check_self_contained(html)
    return html


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(PACKAGE, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a typo in the template fails loudly, not blank
        keep_trailing_newline=True,
    )
    env.globals.update(
        kind_labels=KIND_LABELS,
        table_view=table_view,
        svg_markup=svg_markup,
        section_id=section_id,
        block_kind=block_kind,
    )
    return env


def section_id(section: Section) -> str:
    """Anchor from the number, which is unique where section keys need not be."""
    return "section-" + section.number.replace(".", "-")


def block_kind(block: Paragraph | Table | Figure) -> str:
    if isinstance(block, Paragraph):
        return "paragraph"
    if isinstance(block, Table):
        return "table"
    if isinstance(block, Figure):
        return "figure"
    raise TypeError(f"not a document block: {type(block).__name__}")


def svg_markup(figure: Figure) -> Markup:
    """The figure's SVG as markup, without an XML prolog or doctype (meaningless inline).

    The wrapper carries role="img" and the alt text, so the SVG itself is hidden from
    assistive technology: otherwise some screen readers announce a second, unnamed image."""
    svg = figure.svg
    start = svg.find("<svg")
    if start < 0:
        raise ValueError(f"figure {figure.key!r}: svg holds no <svg> element")
    svg = svg[start:].strip()
    opening = svg[: svg.index(">") + 1]
    if "aria-hidden" not in opening:
        svg = '<svg aria-hidden="true" focusable="false"' + svg[len("<svg"):]
    return Markup(svg)


def column_labels(table: Table, rate_per: int = 1000) -> list[labels.ColumnLabel]:
    """Each column's words, kind and unit: the table's own `headers` over `labels`."""
    return [labels.label(name, rate_per=rate_per, header=table.headers.get(str(name)))
            for name in table.frame.columns]


def table_view(table: Table, rate_per: int = 1000) -> TableView:
    """Headers in words and cells formatted by kind; the index is dropped as tables publish
    columns only."""
    frame = _bare(table.frame)
    named = column_labels(table, rate_per)
    rows = [
        [_cell(value, column.kind) for value, column in zip(row, named, strict=True)]
        for row in frame.itertuples(index=False, name=None)
    ]
    columns = [
        Column(column.header,
               bool(rows) and all(row[i].numeric or not row[i].text for row in rows),
               column.name, column.kind)
        for i, column in enumerate(named)
    ]
    return TableView(columns, rows)


def _bare(frame: pd.DataFrame) -> pd.DataFrame:
    """The same data without its attrs (the arithmetic `publish` records): pandas deep-copies
    attrs on every column read, which costs more than the rendering itself."""
    return pd.DataFrame(frame)


def table_notes(table: Table) -> list[str]:
    """The notes shown under a table: the synthetic-data warning first where it applies."""
    return ([labels.synthetic_note()] if table.synthetic else []) + list(table.notes)


def format_value(value: Any, rate: bool = False, kind: str | None = None) -> str:
    """Published text for one value: '' for missing; strings (such as '<5') unchanged except
    that digits get thousands separators in count columns; numbers as their column's `kind`
    asks (see `labels`). Without a kind: separators, and one decimal place when `rate`."""
    kind = kind or ("rate" if rate else "auto")
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        # Published count columns hold text ('<5' beside '1234'): separate the thousands.
        if kind in ("count", "rank", "auto") and value.lstrip("-").isdigit():
            return f"{int(value):,}"
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return ""
        return _format_number(value, number, kind)
    if isinstance(value, datetime) and value == datetime.combine(value.date(), time()):
        return value.date().isoformat()  # a month or day, not a moment
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _format_number(value: numbers.Real, number: float, kind: str) -> str:
    if kind == "year":
        return str(int(number)) if number.is_integer() else str(number)
    if kind in ("rate", "percentage"):
        return f"{number:,.1f}"
    if kind == "share":
        return f"{100 * number:,.1f}"
    if kind == "p_value":
        return "<0.0001" if number < 0.0001 else f"{number:.4f}"
    if isinstance(value, numbers.Integral) or number.is_integer():
        # Whole numbers in float columns (counts after a join) read as counts.
        return f"{number:,.0f}"
    return f"{number:,.1f}" if kind == "rank" else f"{number:,}"


def _cell(value: Any, kind: str) -> Cell:
    text = format_value(value, kind=kind)
    numeric = (isinstance(value, numbers.Number) and not isinstance(value, bool)) or (
        isinstance(value, str) and bool(_NUMBER_LIKE.match(value)))
    return Cell(text, numeric and text != "")


class OutsideResource(CspkitError, ValueError):
    """Rendered HTML that would make a browser or WeasyPrint fetch or run something."""


# What would make a browser or WeasyPrint fetch or run something: a URL attribute pointing
# somewhere other than an anchor in this page, CSS url() other than data: or #fragment, @import,
# <link>, <script>, embedded documents and a meta refresh. Read from the parsed tags, attributes
# and <style> elements, so text that merely mentions `src=` or `url(` (a title, a note) is fine.
_RUNS_OR_EMBEDS = frozenset({"link", "script", "iframe", "frame", "frameset", "object", "embed",
                             "applet", "base", "portal"})
_URL_ATTRIBUTES = frozenset({"src", "href", "xlink:href", "srcset", "poster", "data", "action",
                             "formaction", "background", "codebase", "longdesc", "ping",
                             "manifest", "archive", "cite"})
# Attributes that hold words for people, never CSS: url( there is just text.
_TEXT_ATTRIBUTES = frozenset({"alt", "title", "content", "label", "placeholder", "value"})
_EXTERNAL_URL = re.compile(r"""url\(\s*(?!["']?\s*(?:data:|#))""", re.IGNORECASE)
_CSS_FETCHES = re.compile(r"@import|image-set\(", re.IGNORECASE)


class _ResourceFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        shown = f"<{tag} " + " ".join(f'{k}="{v}"' if v is not None else k
                                      for k, v in attrs) + ">"
        if tag in _RUNS_OR_EMBEDS:
            self.problems.append(shown)  # the document is read, never run
            return
        self._in_style = tag == "style"
        for name, value in attrs:
            value = (value or "").strip()
            if name in _URL_ATTRIBUTES and value and not value.startswith("#"):
                self.problems.append(shown)
            elif tag == "meta" and name == "http-equiv" and value.lower() == "refresh":
                self.problems.append(shown)
            elif (name not in _TEXT_ATTRIBUTES and not name.startswith(("aria-", "data-"))
                  and (_EXTERNAL_URL.search(value) or _CSS_FETCHES.search(value))):
                self.problems.append(shown)  # style="", and SVG's fill, filter, mask, ...

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and (_EXTERNAL_URL.search(data) or _CSS_FETCHES.search(data)):
            self.problems.append("<style> with url() or @import")


def _check_self_contained(html: str) -> None:
    finder = _ResourceFinder()
    finder.feed(html)
    finder.close()
    if finder.problems:
        shown = "; ".join(p[:120] for p in dict.fromkeys(finder.problems))
        raise OutsideResource(f"rendered HTML refers to outside resources: {shown[:400]}")


def _is_numbered(doc: Document) -> bool:
    return all(s.number for s in doc.walk()) and all(
        b.number > 0 for b in [*doc.tables(), *doc.figures()])


def _require_numbered(doc: Document) -> None:
    if not _is_numbered(doc):
        raise ValueError("the document is not numbered: call doc.number() first "
                         "(write_document does this)")


# ---------------------------------------------------------------------------------------------
# Disclosure


@dataclass
class AuditReport:
    """What the disclosure audit found: leaks, and the tables that declare no counts (ranks,
    scores, deciles, coverage), whose figures are not counts of events."""

    leaks: list[Leak] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)


def audit_document(doc: Document) -> AuditReport:
    """Audit every table against its arithmetic and every piece of text a reader or a screen
    reader meets: section and table titles, notes, paragraphs, figure titles, descriptions and
    the SVG's own title and aria text. The threshold is the tables' policy (default 5)."""
    report = AuditReport()
    specs = [t.arithmetic for t in doc.tables() if t.arithmetic is not None]
    threshold, label = (specs[0].threshold, specs[0].label) if specs else (5, "<5")

    def text(value: str, where: str, counts: bool = False) -> None:
        report.leaks.extend(audit_text(value, where=where, threshold=threshold, label=label,
                                       counts=counts))

    text(doc.title, "document title")
    for section in doc.walk():
        text(section.title, f"section {section.number or section.key} title")
        for block in section.blocks:
            if isinstance(block, Paragraph):
                text(block.text, f"section {section.number or section.key} paragraph")
            elif isinstance(block, Table):
                name = f"{block.number} ({block.key})" if block.number else block.key
                where = f"table {name}"
                for value in (block.title, *block.notes):
                    text(value, where)
                if block.arithmetic is None:
                    report.unchecked.append(block.key)
                else:
                    report.leaks += audit_table(block.frame, block.arithmetic, name=name)
            elif isinstance(block, Figure):
                where = f"figure {block.number} ({block.key})" if block.number \
                    else f"figure {block.key}"
                text(block.title, where)
                for value in dict.fromkeys((block.alt, *svg_texts(block.svg))):
                    text(value, where, counts=block.shows_counts)
    report.leaks = list(dict.fromkeys(report.leaks))
    return report


def check_document(doc: Document) -> AuditReport:
    """`audit_document`, raising DisclosureLeak (a ValueError) naming every leak."""
    report = audit_document(doc)
    if report.leaks:
        raise DisclosureLeak(report.leaks)
    return report


# ---------------------------------------------------------------------------------------------
# PDF


# A figure's wrapper and its inline SVG, as `figure_block` writes them. Text inside is escaped
# by the template, so "<svg" and "</svg>" occur only as the tags themselves.
_FIGURE_SVG = re.compile(r'(?:(<div class="figure-graphic" role="img" aria-label="([^"]*)">)\s*)?'
                         r"(<svg\b[^>]*>.*?</svg>)", re.DOTALL)
_ARIA_LABEL = re.compile(r'\baria-label="([^"]*)"')
SVG_DATA_URL = "data:image/svg+xml;base64,"


def svg_as_images(html: str) -> str:
    """The HTML with each inline SVG as an <img> of that same SVG (a data: URL), for WeasyPrint.

    The PDF draws the same vector figure either way, but inline, WeasyPrint parses and styles
    every mark of every chart and map as an element of the page (thousands per document);
    as an image it meets one element each. The image's alt text is the figure's description,
    which also tags it as a figure with alternative text in the tagged PDF."""
    def image(match: re.Match[str]) -> str:
        wrapper, label, svg = match.group(1) or "", match.group(2), match.group(3)
        opening = svg[: svg.index(">")]
        if label is None:
            found = _ARIA_LABEL.search(opening)
            label = found.group(1) if found else "Figure"
        if 'xmlns="http://www.w3.org/2000/svg"' not in opening:  # a file of its own needs it
            svg = '<svg xmlns="http://www.w3.org/2000/svg"' + svg[len("<svg"):]
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        return f'{wrapper}<img class="figure-svg" alt="{label}" src="{SVG_DATA_URL}{data}">'

    return _FIGURE_SVG.sub(image, html)


def _refuse(url: str) -> None:
    raise PermissionError(f"cspkit PDFs fetch nothing; refused {url[:80]}")


def _url_fetcher() -> Any:
    """A fetcher that refuses every URL. Newer WeasyPrint wants a URLFetcher instance, older
    versions a plain function."""
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # pragma: no cover - WeasyPrint before URLFetcher existed
        from weasyprint import default_url_fetcher

        def refuse_all(url: str) -> Any:
            if url.startswith(SVG_DATA_URL):
                return default_url_fetcher(url)
            _refuse(url)

        return refuse_all

    class RefuseAll(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith(SVG_DATA_URL):   # our own figures (svg_as_images): no fetch
                return super().fetch(url, headers)
            _refuse(url)

    return RefuseAll()


class _BrowserOnlyCss(logging.Filter):
    """Drops WeasyPrint's warning about the browser-only `::details-content` print rule, so
    any warning left means something real."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "::details-content" not in record.getMessage()


def write_pdf(html: str, path: Path) -> None:
    """Print the HTML to PDF with WeasyPrint, tagged for screen readers, fetching nothing."""
    try:
        from weasyprint import HTML  # imported late: it loads Pango, which CLI users may not need
    except OSError as exc:  # a system library WeasyPrint loads is missing
        raise CspkitError(f"cannot write {path.name}: WeasyPrint needs Pango and HarfBuzz "
                          f"({exc}); `cspkit doctor` says what to install (assess, places and "
                          "profile can leave the PDF out with --no-pdf)") from exc

    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("weasyprint")
    quiet = _BrowserOnlyCss()
    logger.addFilter(quiet)
    try:
        HTML(string=svg_as_images(html), url_fetcher=_url_fetcher()).write_pdf(
            path, pdf_tags=True)
    finally:
        logger.removeFilter(quiet)


# ---------------------------------------------------------------------------------------------
# CSV and XLSX


def table_file_name(table: Table) -> str:
    return f"table-{table.number:02d}-{table.key}.csv"


def sheet_names(tables: list[Table]) -> list[str]:
    """'T01 key', at most 31 characters (Excel's limit) and unique ignoring case."""
    names: list[str] = []
    seen: set[str] = {"contents"}
    for table in tables:
        base = _SHEET_FORBIDDEN.sub("-", f"T{table.number:02d} {table.key}")[:31].strip("'")
        name, n = base, 1
        while name.lower() in seen:
            n += 1
            suffix = f"~{n}"
            name = base[: 31 - len(suffix)] + suffix
        seen.add(name.lower())
        names.append(name)
    return names


def write_tables(doc: Document, out_dir: Path) -> list[Path]:
    """One CSV per table (machine field names), `data-dictionary.csv` describing their columns,
    then `tables.xlsx` holding a Contents sheet and one sheet a table (headers in words).

    A synthetic table's CSV ends with a `provenance` column saying SYNTHETIC on every row, so
    the label survives any copy of the rows. Nothing is written when the disclosure audit
    finds a leak (DisclosureLeak)."""
    _require_numbered(doc)
    check_document(doc)
    return _write_tables(doc, out_dir)


def _write_tables(doc: Document, out_dir: Path) -> list[Path]:
    tables = doc.tables()
    for table in tables:
        if not _KEY.match(table.key):  # the key becomes a file name
            raise ValueError(f"table key {table.key!r} must be letters, digits, '-' or '_'")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for table in tables:
        path = out_dir / table_file_name(table)
        write_csv(csv_frame(table), path)
        paths.append(path)
    dictionary = out_dir / DICTIONARY
    write_csv(data_dictionary(doc), dictionary)
    paths.append(dictionary)
    workbook = out_dir / "tables.xlsx"
    _write_workbook(tables, workbook, doc.rate_per)
    paths.append(workbook)
    return paths


def csv_frame(table: Table) -> pd.DataFrame:
    if not table.synthetic:
        return _bare(table.frame)
    return _bare(table.frame).assign(**{labels.SYNTHETIC_COLUMN: labels.SYNTHETIC_VALUE})


def data_dictionary(doc: Document) -> pd.DataFrame:
    """One row per column of every table's CSV: file, table, column (the CSV name), header
    (the words in the HTML, PDF and XLSX), kind, unit and description."""
    rows = []
    for table in doc.tables():
        title = f"Table {table.number}: {table.title}" + (
            f" ({SYNTHETIC_LABEL})" if table.synthetic else "")
        named = column_labels(Table(table.key, table.title, csv_frame(table).head(0),
                                    headers=table.headers), doc.rate_per)
        for column in named:
            rows.append({"file": table_file_name(table), "table": title,
                         "column": column.name, "header": column.header,
                         "kind": column.kind, "unit": column.unit,
                         "description": column.description})
    return pd.DataFrame(rows, columns=["file", "table", "column", "header", "kind", "unit",
                                       "description"])


def _write_workbook(tables: list[Table], path: Path, rate_per: int = 1000) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    bold = Font(bold=True)
    book = Workbook()
    contents = book.active
    contents.title = "Contents"
    contents.append(["Contents"])
    contents["A1"].font = Font(bold=True, size=14)
    contents.append(["Table", "Title", "Source", "Sheet"])
    for cell in contents[2]:
        cell.font = bold
    names = sheet_names(tables)
    for table, name in zip(tables, names, strict=True):
        title = table.title + (f" ({SYNTHETIC_LABEL})" if table.synthetic else "")
        contents.append([table.number, safe_cell(title), safe_cell(table.source), name])
        for cell in contents[contents.max_row]:
            as_text(cell)
        link = contents.cell(row=contents.max_row, column=4)
        link.hyperlink = f"#'{name}'!A1"  # internal: jumps to the sheet, fetches nothing
        link.style = "Hyperlink"
        _write_sheet(book.create_sheet(name), table, rate_per)
    for column, width in zip("ABCD", (8, 60, 40, 32), strict=True):
        contents.column_dimensions[column].width = width
    contents.freeze_panes = "A3"
    book.save(path)


# Excel number formats by column kind; shares stay proportions, shown as percentages.
_EXCEL_FORMATS = {"rate": "#,##0.0", "percentage": "#,##0.0", "share": "0.0%", "year": "0",
                  "p_value": "0.0000"}


def _write_sheet(sheet: Any, table: Table, rate_per: int = 1000) -> None:
    """Title, source and notes above the table with no blank rows, as the GSS guidance on
    accessible spreadsheets asks; headers in words."""
    from openpyxl.styles import Alignment, Font

    sheet.append([f"Table {table.number}: {table.title}"
                  + (f" ({SYNTHETIC_LABEL})" if table.synthetic else "")])
    sheet["A1"].font = Font(bold=True, size=13)
    if table.source:
        sheet.append([f"Source: {table.source}"])
    for i, note in enumerate(table_notes(table), start=1):
        sheet.append([f"Note {i}: {note}"])
        if table.synthetic and i == 1:
            sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True, color="B10E1E")
    frame = _bare(table.frame)
    named = column_labels(table, rate_per)
    sheet.append([safe_cell(c.header) for c in named])
    header = sheet.max_row
    for cell in sheet[header]:
        as_text(cell)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")
    for row in frame.itertuples(index=False, name=None):
        sheet.append([_excel_value(v, c.kind) for v, c in zip(row, named, strict=True)])
        for cell, column in zip(sheet[sheet.max_row], named, strict=True):
            as_text(cell)
            if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                cell.number_format = _excel_format(cell.value, column.kind)
            elif isinstance(cell.value, str) and _NUMBER_LIKE.match(cell.value):
                cell.alignment = Alignment(horizontal="right")
    sheet.freeze_panes = sheet.cell(row=header + 1, column=1)
    for i, column in enumerate(named, start=1):
        longest = max([min(len(column.header), 24)]
                      + [len(format_value(v, kind=column.kind)) for v in frame.iloc[:, i - 1]])
        letter = sheet.cell(row=header, column=i).column_letter
        sheet.column_dimensions[letter].width = min(max(10, longest + 2), 60)


def _excel_format(value: float, kind: str) -> str:
    if kind in _EXCEL_FORMATS:
        return _EXCEL_FORMATS[kind]
    whole = isinstance(value, int) or float(value).is_integer()
    return "#,##0" if whole else "General"


def _excel_value(value: Any, kind: str = "auto") -> Any:
    """Plain Python values for openpyxl; missing values as empty cells. Whole numbers held as
    text (published counts beside '<5', a year '2011') become numbers Excel can sum, except in
    text columns."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str) and kind != "text" and _WHOLE.match(value):
        return int(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        return None if math.isnan(number) else number
    if isinstance(value, str):
        return safe_cell(value)
    if isinstance(value, bool | datetime | date):
        return value
    if hasattr(value, "item"):  # numpy scalars of other kinds
        return safe_cell(value.item())
    return safe_cell(str(value))  # periods, intervals and the like: as the HTML shows them


# ---------------------------------------------------------------------------------------------
# Everything


def write_document(doc: Document, out_dir: Path, stem: str, *, pdf: bool = True
                   ) -> dict[str, Path]:
    """Number the document if needed and write `{stem}.html`, `{stem}.pdf` (unless `pdf` is
    False), a CSV per table, `data-dictionary.csv` and `tables.xlsx`. Keys: 'html', 'pdf',
    'xlsx', 'dictionary', 'csv:{key}'. Nothing is written when the disclosure audit finds a
    leak (DisclosureLeak)."""
    if not _is_numbered(doc):
        doc.number()
    check_document(doc)
    out_dir.mkdir(parents=True, exist_ok=True)
    html = render_html(doc)
    html_path = out_dir / f"{stem}.html"
    html_path.write_text(html, encoding="utf-8")
    paths: dict[str, Path] = {"html": html_path}
    if pdf:
        paths["pdf"] = out_dir / f"{stem}.pdf"
        write_pdf(html, paths["pdf"])
    table_paths = _write_tables(doc, out_dir)
    for table, path in zip(doc.tables(), table_paths, strict=False):
        paths[f"csv:{table.key}"] = path
    paths["dictionary"] = table_paths[-2]
    paths["xlsx"] = table_paths[-1]
    return paths
