"""Partner data sections: one entry per source, shown when its data is in the warehouse and
listed as "no data supplied" otherwise.

Adding a source is one `PartnerSource` in PARTNER_SOURCES: its key, title, the `source` name
its loader writes into events/indicators, and a builder that returns the section's blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

from cspkit.products.report import partner_sections as ps
from cspkit.products.report.document import Block, Paragraph, Section
from cspkit.store.holdings import holds_source, source_rows


@dataclass(frozen=True)
class PartnerSource:
    key: str
    title: str
    source: str                       # events.source / indicators.source written by its loader
    build: Callable[[duckdb.DuckDBPyConnection, Any], list[Block]] | None = None


def _summary_blocks(con: duckdb.DuckDBPyConnection, source: str) -> list[Block]:
    # Until a source has its own builder: say what is held, so nothing loaded goes unmentioned.
    events, indicators = source_rows(con, source)
    return [Paragraph(f"{events:,} records and {indicators:,} aggregate figures are held for "
                      "this source.")]


PARTNER_SOURCES = [
    PartnerSource("fire", "Fire and rescue incidents", "fire", ps.fire),
    PartnerSource("ambulance", "Ambulance callouts for assault", "ambulance", ps.ambulance),
    PartnerSource("ed-assaults", "Emergency department assault attendances (ISTV)", "istv",
                  ps.ed_assaults),
    PartnerSource("treatment", "Substance misuse treatment", "treatment", ps.treatment),
    PartnerSource("safe-and-well", "Safe and well visits", "safe-and-well", ps.safe_and_well),
    PartnerSource("hate-crime", "Hate crime", "police-markers", ps.hate_crime),
    PartnerSource("domestic-abuse", "Domestic abuse", "domestic-abuse", ps.domestic_abuse),
    PartnerSource("cyber", "Cyber crime", "police-markers", ps.cyber),
]


def held(con: duckdb.DuckDBPyConnection, source: str) -> bool:
    return holds_source(con, source)


def partner_section(con: duckdb.DuckDBPyConnection, context: object, *,
                    withheld: frozenset[str] = frozenset()) -> Section:
    """Partner data: a subsection per source held, and the list of sources not supplied.
    Sources in `withheld` (restricted, and this reader may not see them) are left out, and
    the section says so without naming them."""
    section = Section("partners", "Partner data")
    missing = []
    left_out = False
    for partner in PARTNER_SOURCES:
        if partner.source in withheld:
            left_out = True
            continue
        if not held(con, partner.source):
            missing.append(partner.title)
            continue
        blocks = (partner.build(con, context) if partner.build
                  else _summary_blocks(con, partner.source))
        section.subsections.append(Section(f"partner-{partner.key}", partner.title, blocks))
    if missing:
        section.blocks.append(Paragraph(
            "No data supplied for: " + "; ".join(missing) + ". These sections appear when "
            "the partner's data is loaded with `cspkit ingest`.", kind="caveat"))
    if left_out:
        section.blocks.append(Paragraph(
            "Sections from restricted partner sources (record-level data shared under "
            "agreement) are withheld for this reader.", kind="caveat"))
    return section
