"""The document model: sections holding paragraphs, tables and figures, numbered in reading
order so the text can refer to "Table 3" and "Figure 5".

Renderers (HTML, PDF, CSV/XLSX) only walk this structure; they compute nothing. Tables hold the
values as published: the disclosure policy has already been applied by whoever built them.
Column names may be machine field names: the renderers show them in words (`labels`). A table
or figure built from synthetic sample data is marked `synthetic`, and every output says so. A
table carries the arithmetic of its figures (`arithmetic`, taken from the frame `publish` made)
so the renderer can audit that no hidden count can be recovered from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from cspkit.measures.disclosure_audit import Arithmetic, arithmetic_of


@dataclass
class Paragraph:
    """Text that may refer to tables and figures as {table:KEY} and {figure:KEY}; numbering
    replaces them with 'Table N' / 'Figure N'."""

    text: str
    kind: str = "text"          # text | finding | caveat | local (partnership commentary)


@dataclass
class Table:
    key: str                    # unique slug: the CSV file name and the XLSX sheet name
    title: str
    frame: pd.DataFrame         # published values (strings where suppressed)
    source: str = ""
    notes: list[str] = field(default_factory=list)
    number: int = 0
    synthetic: bool = False     # built from synthetic sample data: labelled wherever shown
    headers: dict[str, str] = field(default_factory=dict)   # column -> words, over `labels`
    # Counts, totals and how each other figure is computed from them (None: the table
    # publishes no counts of events); by default what `publish` recorded on the frame.
    arithmetic: Arithmetic | None = None

    def __post_init__(self) -> None:
        if self.arithmetic is None:
            self.arithmetic = arithmetic_of(self.frame)


@dataclass
class Figure:
    key: str
    title: str
    svg: str                    # inline SVG markup, self-contained
    alt: str                    # text alternative: what the figure shows, in words
    source: str = ""
    number: int = 0
    synthetic: bool = False     # built from synthetic sample data: labelled wherever shown
    shows_counts: bool = False  # its values are counts: no value below the threshold is stated


Block = Paragraph | Table | Figure


@dataclass
class Section:
    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)
    number: str = ""            # '3' or '4.2', set by numbering


@dataclass
class Document:
    title: str
    area_name: str
    area_code: str
    period_label: str
    produced: date
    details: dict[str, str] = field(default_factory=dict)   # document details for the cover
    sections: list[Section] = field(default_factory=list)
    # The families of tests behind the document's statements (measures.error_control.Family).
    families: list[Any] = field(default_factory=list)
    rate_per: int = 1000        # Settings.rate_per: the base of 'rate_per_1000' columns

    def walk(self) -> Iterator[Section]:
        def visit(sections: list[Section]) -> Iterator[Section]:
            for section in sections:
                yield section
                yield from visit(section.subsections)
        yield from visit(self.sections)

    def tables(self) -> list[Table]:
        return [b for s in self.walk() for b in s.blocks if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        return [b for s in self.walk() for b in s.blocks if isinstance(b, Figure)]

    def number(self) -> None:
        """Number sections, tables and figures in reading order and resolve references."""
        def visit(sections: list[Section], prefix: str) -> None:
            for i, section in enumerate(sections, start=1):
                section.number = f"{prefix}{i}"
                visit(section.subsections, f"{section.number}.")
        visit(self.sections, "")
        tables = figures = 0
        labels: dict[str, str] = {}
        for section in self.walk():
            for block in section.blocks:
                if isinstance(block, Table):
                    tables += 1
                    block.number = tables
                    labels[f"table:{block.key}"] = f"Table {tables}"
                elif isinstance(block, Figure):
                    figures += 1
                    block.number = figures
                    labels[f"figure:{block.key}"] = f"Figure {figures}"
        keys = [t.key for t in self.tables()] + [f.key for f in self.figures()]
        duplicates = {k for k in keys if keys.count(k) > 1}
        if duplicates:
            raise ValueError(f"duplicate table/figure keys: {', '.join(sorted(duplicates))}")
        for section in self.walk():
            for block in section.blocks:
                if isinstance(block, Paragraph):
                    block.text = _resolve(block.text, labels)


def _resolve(text: str, labels: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in labels:
            raise ValueError(f"text refers to {{{key}}}, which is not in the document")
        return labels[key]
    return re.sub(r"\{((?:table|figure):[a-z0-9_-]+)\}", replace, text)
