"""The one formatting and disclosure layer of the dashboard: what a page shows and what its
API returns are the document's own blocks (products.report.document), published by the
measures' disclosure policy, audited by the document's audit and formatted by its renderer.

A page never formats a number itself: it shows `table_json` cells, which are the same strings
the HTML and PDF documents print, and its CSV downloads are written as the document writes
its CSVs. A view that builds its own tables passes them through `checked`, which refuses any
table set from which a hidden count could be recovered (DisclosureLeak).
"""

from __future__ import annotations

import re
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
    """A published figure. The page captions it with `title` (and its number), so its SVG
    comes without the title the document's charts draw inside themselves."""
    return {"key": figure.key, "number": figure.number, "title": figure.title,
            "alt": figure.alt, "source": figure.source, "synthetic": figure.synthetic,
            "svg": untitled_svg(str(svg_markup(figure)))}


_TITLE = re.compile(r'<g class="mark-group role-title">'
                    r'<g transform="translate\([-\d.]+,(-[\d.]+)\)"')
_ROOT = re.compile(r'(<rect width="[\d.]+" height=")([\d.]+)'
                   r'("[^>]*/><g [^>]*transform="translate\([-\d.]+,)([\d.]+)(\)")')
_SIZE = re.compile(r'(<svg [^>]*?height=")([\d.]+)'
                   r'("[^>]*?viewBox="[-\d.]+ [-\d.]+ [\d.]+ )([\d.]+)(")')
_PADDING, _TITLE_LINE, _TITLE_GAP = 8.0, 16.0, 24.0   # charts.py: padding, 14px title, offset 10


def untitled_svg(svg: str) -> str:
    """A Vega chart's SVG (charts.py) without its drawn title, and shorter by the room the
    title took when it was the topmost thing drawn (else the title is only hidden). The
    document's own HTML and PDF keep their titles: this is for the dashboard's figures."""
    title = _TITLE.search(svg)
    if title is None or svg.count('class="mark-group role-title"') != 1:
        return svg
    hidden = svg[:title.start()] + '<g class="mark-group role-title" display="none">' \
        + svg[title.start() + len('<g class="mark-group role-title">'):]
    root, size = _ROOT.search(hidden), _SIZE.search(hidden)
    if root is None or size is None:
        return hidden
    top = float(root.group(4))
    if abs(top + float(title.group(1)) - _PADDING) > 0.5:   # something drawn above the title
        return hidden
    end = hidden.find("</g></g></g>", title.start())
    lines = max(1, hidden[title.start():end].count("<tspan"))
    cut = _TITLE_GAP + _TITLE_LINE * (lines - 1)

    def less(value: str) -> str:
        return f"{float(value) - cut:g}"

    hidden = (hidden[:root.start()] + root.group(1) + less(root.group(2)) + root.group(3)
              + less(root.group(4)) + root.group(5) + hidden[root.end():])
    size = _SIZE.search(hidden)
    assert size is not None
    return (hidden[:size.start()] + size.group(1) + less(size.group(2)) + size.group(3)
            + less(size.group(4)) + size.group(5) + hidden[size.end():])


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
