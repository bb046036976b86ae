"""The one formatting and disclosure layer of the dashboard: what a page shows and what its
API returns are the document's own blocks (products.report.document), published by the
measures' disclosure policy, audited by the document's audit and formatted by its renderer.

A page never formats a number itself: it shows `table_json` cells, which are the same strings
the HTML and PDF documents print, and its CSV downloads are written as the document writes
its CSVs. A view that builds its own tables passes them through `checked`, which refuses any
table set from which a hidden count could be recovered (DisclosureLeak).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from cspkit.products.cell_safety import write_csv
from cspkit.products.report.document import Document, Figure, Paragraph, Section, Table
from cspkit.products.report.render import (
    check_document,
    csv_frame,
    svg_markup,
    table_notes,
    table_view,
)


def table_json(table: Table, rate_per: int = 1000) -> dict[str, Any]:
    """A published table: headers in words, cells as the document prints them."""
    view = table_view(table, rate_per)
    return {
        "key": table.key, "number": table.number, "title": table.title,
        "source": table.source, "notes": table_notes(table), "synthetic": table.synthetic,
        "columns": [{"field": c.field, "label": c.name, "kind": c.kind, "numeric": c.numeric}
                    for c in view.columns],
        "rows": [[cell.text for cell in row] for row in view.rows],
    }


def figure_json(figure: Figure) -> dict[str, Any]:
    return {"key": figure.key, "number": figure.number, "title": figure.title,
            "alt": figure.alt, "source": figure.source, "synthetic": figure.synthetic,
            "svg": str(svg_markup(figure))}


def paragraph_json(paragraph: Paragraph) -> dict[str, Any]:
    return {"kind": paragraph.kind, "text": paragraph.text}


def block_json(block: Paragraph | Table | Figure, rate_per: int = 1000) -> dict[str, Any]:
    if isinstance(block, Table):
        return {"type": "table", **table_json(block, rate_per)}
    if isinstance(block, Figure):
        return {"type": "figure", **figure_json(block)}
    return {"type": "paragraph", **paragraph_json(block)}


def section_json(section: Section, rate_per: int = 1000) -> dict[str, Any]:
    return {"key": section.key, "number": section.number, "title": section.title,
            "blocks": [block_json(b, rate_per) for b in section.blocks],
            "subsections": [section_json(s, rate_per) for s in section.subsections]}


def checked(title: str, blocks: list[Paragraph | Table | Figure], *, area_name: str = "",
            area_code: str = "", period_label: str = "", rate_per: int = 1000) -> Document:
    """The blocks as one numbered document, after the document's disclosure audit: the
    audit sees every table a page shows together, as a reader would."""
    doc = Document(title=title, area_name=area_name, area_code=area_code,
                   period_label=period_label, produced=date.today(), rate_per=rate_per,
                   sections=[Section("view", title, list(blocks))])
    doc.number()
    check_document(doc)
    return doc


def table_csv(table: Table) -> str:
    """The table's CSV exactly as the document writes it (machine field names, formula-like
    text defused, a provenance column on synthetic tables)."""
    return write_csv(csv_frame(table)) or ""
