"""ONS GSS codes and the column names ONS gives them (``LSOA21CD``, ``WD23NM``, ``LAD22NMW``).

Recognising columns by this pattern rather than by a fixed header list lets a user load any
national ONS lookup or boundary file, not only the ones cspkit ships.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The ONS column convention: geography prefix, two-digit year of the edition, CD/NM/NMW.
COLUMN = re.compile(r"^(OA|LSOA|MSOA|WD|LAD|CTY|RGN|CTRY)(\d\d)(CD|NM|NMW)$", re.IGNORECASE)
# A GSS code: entity letter then 8 digits (E01000001, W05000980, K02000001).
CODE = re.compile(r"^[A-Z]\d{8}$")

LEVEL_OF_PREFIX = {"OA": "oa", "LSOA": "lsoa", "MSOA": "msoa", "WD": "ward", "LAD": "lad",
                   "CTY": "county", "RGN": "region", "CTRY": "country"}
# Finest first: a child links to every coarser parent in the same row.
LEVEL_ORDER = ["oa", "lsoa", "msoa", "ward", "lad", "county", "region", "country"]
# MSOAs and wards are both built from LSOAs but neither nests in the other.
NOT_NESTED = {("msoa", "ward"), ("ward", "msoa"), ("oa", "ward")}

# Entity part of a GSS code -> level, for files that give codes without saying their level.
LEVEL_OF_ENTITY = {
    "E00": "oa", "W00": "oa",
    "E01": "lsoa", "W01": "lsoa",
    "E02": "msoa", "W02": "msoa",
    "E05": "ward", "W05": "ward", "S13": "ward", "N08": "ward",
    "E06": "lad", "E07": "lad", "E08": "lad", "E09": "lad", "W06": "lad", "S12": "lad",
    "N09": "lad",
    "E10": "county", "E11": "county",
    "E12": "region",
    "E92": "country", "W92": "country", "S92": "country", "N92": "country",
    "K02": "country", "K03": "country", "K04": "country",
}


@dataclass(frozen=True)
class GssColumn:
    """One column named by the ONS convention: LSOA21CD -> level lsoa, vintage 2021, CD."""

    index: int
    prefix: str      # LSOA, WD, LAD ...
    year: str        # the two digits, e.g. '21'
    part: str        # CD | NM | NMW

    @property
    def level(self) -> str:
        return LEVEL_OF_PREFIX[self.prefix]

    @property
    def vintage(self) -> str:
        return "20" + self.year

    @property
    def group(self) -> tuple[str, str]:
        return (self.prefix, self.year)


def clean_header(name: object) -> str:
    """A header cell as text: BOM, surrounding and repeated whitespace removed."""
    text = "" if name is None else str(name)
    return " ".join(text.replace("\ufeff", "").split())


def parse_column(name: str, index: int) -> GssColumn | None:
    """`LSOA21CD` (also `F_LSOA11CD`, `lsoa11cd`) -> GssColumn; anything else -> None."""
    text = clean_header(name)
    if text[:2].upper() == "F_":  # ArcGIS exports prefix the first field with F_
        text = text[2:]
    match = COLUMN.match(text)
    if not match:
        return None
    return GssColumn(index, match.group(1).upper(), match.group(2), match.group(3).upper())


def gss_columns(header: list[str]) -> list[GssColumn]:
    return [c for c in (parse_column(h, i) for i, h in enumerate(header)) if c is not None]


def code_columns(header: list[str]) -> list[GssColumn]:
    """The code (CD) columns, finest level first."""
    found = [c for c in gss_columns(header) if c.part == "CD"]
    return sorted(found, key=lambda c: (LEVEL_ORDER.index(c.level), c.index))


def name_column(header: list[str], code: GssColumn) -> GssColumn | None:
    """The English name column of the same geography as `code` (LSOA21CD -> LSOA21NM)."""
    for column in gss_columns(header):
        if column.group == code.group and column.part == "NM":
            return column
    return None


def is_code(value: str) -> bool:
    return bool(CODE.match(value))


def level_of_code(code: str) -> str | None:
    return LEVEL_OF_ENTITY.get(code[:3])


def level_rank(level: str) -> int:
    return LEVEL_ORDER.index(level)
