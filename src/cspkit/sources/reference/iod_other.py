"""English Indices of Deprivation files that are recognised but not loaded.

The warehouse holds each LSOA's domain ranks, deciles and scores (Files 1, 2, 3, 5, 7 and the
IoD2025 equivalents), population denominators (File 6, as population) and the lower-tier
district summaries (File 10). The other files are told apart by their headers, so that a user
who offers the whole release sees what each one is and why it was skipped, and the rest loads:

- File 4, sub-domains ('Children and Young People Sub-domain Rank ...');
- File 8, underlying indicators ('Income Domain numerator', '... indicator');
- File 9, transformed scores ('Income Score - exponentially transformed');
- Files 11-13, summaries for upper-tier authorities, Local Enterprise Partnerships and
  Clinical Commissioning Groups (IoD2025: Integrated Care Boards and sub-ICB locations).
"""

from __future__ import annotations

import re

from cspkit.sources.reference.domains import LSOA_CODE_HEADER

SUB_DOMAIN = re.compile(r"sub-domain (rank|decile|score)", re.IGNORECASE)
INDICATOR = re.compile(r"\b(numerator|indicator)\b", re.IGNORECASE)
TRANSFORMED = re.compile(r"exponentially transformed", re.IGNORECASE)
# Summary areas other than lower-tier districts, by their code column.
SUMMARY_AREAS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^upper tier local authority district code", re.IGNORECASE),
     "File 11, upper-tier local authority summaries"),
    (re.compile(r"^local enterprise partnership.*code", re.IGNORECASE),
     "File 12, Local Enterprise Partnership summaries"),
    (re.compile(r"^clinical commissioning group.*code", re.IGNORECASE),
     "File 13, Clinical Commissioning Group summaries"),
    (re.compile(r"^(integrated care board|sub[- ]icb).*code", re.IGNORECASE),
     "health-geography summaries (Integrated Care Boards)"),
]
_REASONS = {
    "sub-domains": "File 4, sub-domains: the warehouse holds the domains, not their sub-domains",
    "indicators": "File 8, underlying indicators: the warehouse holds the domains' ranks, "
                  "deciles and scores, not the indicators they are made from",
    "transformed": "File 9, exponentially transformed domain scores: used only to build the "
                   "IMD; the warehouse holds the published scores (File 5 or 7)",
}


def describe(header: list[str]) -> str | None:
    """What this IoD file is and why it is not loaded, or None if it is not one of these."""
    for pattern, what in SUMMARY_AREAS:
        if any(pattern.match(h) for h in header):
            return (f"Indices of Deprivation {what}: not loaded, the warehouse holds summaries "
                    "for lower-tier districts (File 10) only")
    if not any(LSOA_CODE_HEADER.match(h) for h in header):
        return None
    if any(TRANSFORMED.search(h) for h in header):
        key = "transformed"
    elif any(SUB_DOMAIN.search(h) for h in header):
        key = "sub-domains"
    elif sum(1 for h in header if INDICATOR.search(h)) >= 2:
        key = "indicators"
    else:
        return None
    return f"Indices of Deprivation {_REASONS[key]}; not loaded"
