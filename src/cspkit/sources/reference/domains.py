"""The English Indices of Deprivation as their files name them: domains and editions.

MHCLG column headers start with the domain's label ('Income Rank (where 1 is most deprived)',
'Index of Multiple Deprivation (IMD) Decile ...', 'Education, Skills and Training - Average
score'); the edition is in the file name (IoD2019, IMD2019, IoD2025) or follows from the
district codes the file uses.
"""

from __future__ import annotations

import re

from cspkit.errors import InputError

# Label at the start of a header -> domain. Order matters: IDACI and IDAOPI before income.
_LABELS: list[tuple[str, str]] = [
    (r"index of multiple deprivation(?: \(imd\))?|imd(?: 20\d\d)?", "imd"),
    (r"income deprivation affecting children index(?: \(idaci\))?|idaci", "idaci"),
    (r"income deprivation affecting older people(?: index)?(?: \(idaopi\))?|idaopi", "idaopi"),
    (r"income(?: deprivation)?", "income"),
    (r"employment(?: deprivation)?", "employment"),
    (r"education,? skills and training(?: deprivation)?|education", "education"),
    (r"health deprivation and disability|health", "health"),
    (r"crime", "crime"),
    (r"barriers to housing and services|barriers", "barriers"),
    (r"living environment(?: deprivation)?|living", "living_environment"),
]
# "(?![a-z0-9])" rather than \b: a label may end in ")" as in "... (IMD)".
LABELS = [(re.compile(rf"^(?:{pattern})(?![a-z0-9])", re.IGNORECASE), domain)
          for pattern, domain in _LABELS]
ANYWHERE = [(re.compile(rf"\b(?:{pattern})(?![a-z0-9])", re.IGNORECASE), domain)
            for pattern, domain in _LABELS]

# LSOAs and districts of England in each edition: the upper bound of their ranks.
NATIONAL_LSOAS = {"2010": 32482, "2015": 32844, "2019": 32844, "2025": 33755}
NATIONAL_LADS = {"2010": 326, "2015": 326, "2019": 317, "2025": 296}
# District code year in the header -> the edition published with those codes.
EDITION_OF_LAD_YEAR = {"2009": "2010", "2013": "2015", "2019": "2019", "2024": "2025"}
_EDITION_IN_NAME = re.compile(r"(?:iod|imd)[\s_-]?(20\d\d|\d\d)(?!\d)", re.IGNORECASE)
LAD_CODE_HEADER = re.compile(r"^local authority district code(?: \((\d{4})\))?$|^lad(\d\d)cd$",
                             re.IGNORECASE)
LSOA_CODE_HEADER = re.compile(r"^lsoa code(?: \((\d{4})\))?$|^lsoa(\d\d)cd$", re.IGNORECASE)


def split_domain(text: str) -> tuple[str, str] | None:
    """'Income Rank (where 1 ...)' -> ('income', 'Rank (where 1 ...)'); None if no domain."""
    if "sub-domain" in text.lower():
        return None  # sub-domains (Adult Skills, Indoors ...) are not stored
    for pattern, domain in LABELS:
        match = pattern.match(text.strip())
        if match:
            return domain, text.strip()[match.end():].strip(" -:")
    return None


def without_domain(text: str, domain: str) -> str:
    """'Rank of Income Scale' -> 'Rank of Scale' (the domain named inside a header)."""
    for pattern, name in ANYWHERE:
        if name == domain:
            text = pattern.sub("", text, count=1)
            break
    return " ".join(text.split())


def header_year(header: list[str], pattern: re.Pattern[str]) -> str | None:
    """The 4-digit year in the first header matching `pattern` ('LSOA code (2011)' -> '2011',
    'LSOA11CD' -> '2011')."""
    for text in header:
        match = pattern.match(text)
        if match:
            if match.group(1):
                return match.group(1)
            if match.group(2):
                return "20" + match.group(2)
    return None


def edition_of(explicit: str | None, file: str, source: str, header: list[str],
               sheet: str | None = None) -> str:
    """The edition: as given, else from the file or sheet name, else from the district codes'
    year in the header."""
    if explicit:
        if not re.fullmatch(r"\d{4}", explicit.strip()):
            raise InputError(file, f"edition '{explicit}' is not a year",
                             expected="an edition such as 2019 or 2025")
        return explicit.strip()
    for text in (source, sheet or ""):
        match = _EDITION_IN_NAME.search(text)
        if match:
            year = match.group(1)
            return year if len(year) == 4 else "20" + year
    lad_year = header_year(header, LAD_CODE_HEADER)
    if lad_year in EDITION_OF_LAD_YEAR:
        return EDITION_OF_LAD_YEAR[lad_year]
    raise InputError(file, "cannot tell which edition of the Indices of Deprivation this is",
                     expected="IoD2019 / IoD2025 in the file name, or --edition 2019")
