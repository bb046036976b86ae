"""Words for table columns: the presentation layer between machine field names and readers.

Tables are built from measures whose columns are field names (`change_pct`, `rate_per_1000`,
`share_of_events`). CSV files keep those names, which suit R, Python and Excel formulas; HTML,
PDF and XLSX show the header words given here, and each column's kind decides how its values
are written:

    count       whole numbers with thousands separators (12,345); text such as '<5' as it is
    rate        one decimal place (84.1)
    percentage  a value already in per cent, one decimal place (-11.6)
    share       a proportion 0-1 shown as a percentage with one decimal place (0.1655 -> 16.6)
    year        a year or edition, never with a separator (2011, not 2,011)
    rank        whole numbers with separators (rank 32,844 of 32,844)
    p_value     four decimal places, '<0.0001' below that
    text        as it is

Columns already named for readers ('2023', 'Ward', 'Rate per 1,000 (2023)') keep their name;
their kind is inferred as before (numbers as counts, names mentioning a rate, share or
percentage to one decimal place). The renderer writes `data-dictionary.csv` beside the CSVs
from these labels: every published column with its header, kind, unit and description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("count", "rate", "percentage", "share", "year", "rank", "p_value", "text", "auto")

UNITS = {
    "count": "number",
    "rate": "rate",
    "percentage": "per cent",
    "share": "proportion from 0 to 1 (shown as a percentage)",
    "year": "year",
    "rank": "rank",
    "p_value": "probability",
    "text": "",
    "auto": "",
}

SYNTHETIC_COLUMN = "provenance"
SYNTHETIC_VALUE = "SYNTHETIC sample data"


@dataclass(frozen=True)
class ColumnLabel:
    name: str           # the field name, as in the CSV
    header: str         # words shown in HTML, PDF and XLSX
    kind: str           # one of KINDS: decides how values are written
    unit: str
    description: str


# name -> (header, kind, description). '{per}' is the rate base (Settings.rate_per, '1,000').
_FIELDS: dict[str, tuple[str, str, str]] = {
    # changes between periods
    "category": ("Category", "text", "Police.uk crime or ASB category."),
    "subcategory": ("Subcategory", "text", "Subcategory of the record (e.g. fire cause)."),
    "count": ("Count", "count", "Number of records in the period."),
    "baseline_count": ("Count in the comparison period", "count",
                       "Number of records in the period compared with."),
    "change": ("Change (number)", "count",
               "Count in the period minus count in the comparison period."),
    "pct_change": ("Change (%)", "percentage",
                   "Change as a percentage of the comparison period's count."),
    "change_pct": ("Change (%)", "percentage",
                   "Change as a percentage of the comparison period's count."),
    "verdict": ("Test result", "text",
                "Whether the difference is statistically significant (see the method)."),
    "rate_ratio": ("Rate ratio", "rate", "Rate in the period divided by the comparison rate."),
    "ci_low": ("Rate ratio, lower 95% limit", "rate",
               "Lower end of the 95% confidence interval of the rate ratio."),
    "ci_high": ("Rate ratio, upper 95% limit", "rate",
                "Upper end of the 95% confidence interval of the rate ratio."),
    "p_value": ("p-value", "p_value", "Probability of a difference at least this large by "
                                      "chance alone."),
    "q_value": ("Adjusted p-value (q)", "p_value",
                "p-value adjusted for the number of tests in its family."),
    "adjusted_p": ("Adjusted p-value", "p_value",
                   "p-value adjusted for the number of tests in its family."),
    "comparison_note": ("Note", "text", "What the comparison covers."),
    "months": ("Months of data", "count", "Calendar months of data held."),
    "months_compared": ("Months compared", "text", "Calendar months both periods hold."),
    # rates and populations
    "rate_per_1000": ("Rate per {per} residents", "rate",
                      "Count per {per} residents (population estimate nearest the period)."),
    "baseline_rate_per_1000": ("Rate per {per} residents, comparison period", "rate",
                               "Count per {per} residents in the period compared with."),
    "parent_rate_per_1000": ("Parent area rate per {per} residents", "rate",
                             "Rate per {per} residents in the area containing this one."),
    "rate_ratio_vs_parent": ("Rate ratio to parent area", "rate",
                             "Rate divided by the parent area's rate."),
    "population": ("Population (residents)", "count", "Residents (ONS mid-year estimate)."),
    "issue": ("Issue", "text", "Issue: one or more police.uk categories counted together."),
    "family_count": ("Count, similar districts with data", "count",
                     "Records in the cspkit similar districts holding police data for the "
                     "same months, added together (the district itself excluded)."),
    "family_population": ("Population, similar districts with data", "count",
                          "Residents of those similar districts, added together."),
    "family_rate_per_1000": ("Rate per {per} residents, similar districts", "rate",
                             "Their pooled rate: their count over their population."),
    "population_year": ("Population estimate year", "year",
                        "Year of the population estimate used."),
    "denominator": ("Denominator", "text", "What the rate is per (residents or households)."),
    # areas
    "name": ("Area", "text", "Area name."),
    "code": ("Area code", "text", "ONS GSS code."),
    "role": ("Role in comparison", "text",
             "'area': the area reported on; 'sibling': another district of the same county "
             "or force; 'parent': the county or force."),
    "area": ("Area", "text", "Area name."),
    "area_name": ("Area", "text", "Area name."),
    "area_code": ("Area code", "text", "ONS GSS code."),
    "ward": ("Ward", "text", "Electoral ward."),
    "ward_name": ("Ward", "text", "Electoral ward."),
    "ward_code": ("Ward code", "text", "ONS GSS code of the ward."),
    "lsoa_code": ("LSOA code", "text", "ONS code of the Lower layer Super Output Area."),
    "lsoa_name": ("LSOA name", "text", "ONS name of the Lower layer Super Output Area."),
    "lsoa_vintage": ("LSOA edition", "year", "Census edition of the LSOA codes (2011 or 2021)."),
    "lsoas": ("LSOAs", "count", "Number of LSOAs."),
    "force": ("Police force", "text", "Police force whose data this is."),
    "month": ("Month", "text", "Calendar month (YYYY-MM)."),
    # deprivation
    "domain": ("Domain", "text", "Domain of the English Indices of Deprivation."),
    "domain_name": ("Domain", "text", "Domain of the English Indices of Deprivation."),
    "edition": ("IoD edition", "year", "Edition of the English Indices of Deprivation."),
    "rank_of_average_score": ("Rank of average score (1 = most deprived)", "rank",
                              "District's rank among districts by population-weighted "
                              "average LSOA score."),
    "rank_of_average_rank": ("Rank of average rank (1 = most deprived)", "rank",
                             "District's rank among districts by population-weighted "
                             "average LSOA rank."),
    "n_districts": ("Districts ranked", "count", "Number of districts ranked."),
    "imd_rank": ("IMD rank in England (1 = most deprived)", "rank",
                 "LSOA's rank among England's LSOAs on the Index of Multiple Deprivation."),
    "national_decile": ("National IMD decile (1 = most deprived)", "rank",
                        "Tenth of England's LSOAs the LSOA falls in (1 = most deprived 10%)."),
    "local_decile": ("Local decile (1 = most deprived)", "rank",
                     "Tenth of the district's own LSOAs the LSOA falls in."),
    "decile": ("IMD decile (1 = most deprived)", "rank", "National IMD decile."),
    "share_of_events": ("Share of incidents (%)", "share",
                        "The decile's share of the area's recorded crime and ASB."),
    # partner data
    "financial_year": ("Financial year", "text", "April to March."),
    "age_band": ("Age band", "text", "Age band of the patient."),
    "gender": ("Gender", "text", "Gender of the patient."),
    "weapon": ("Weapon", "text", "Weapon or means of assault recorded."),
    "in_treatment": ("People in treatment", "count", "People in structured treatment."),
    "completions": ("Successful completions", "count",
                    "People completing treatment free of dependence."),
    "completion_rate_pct": ("Completion rate (%)", "percentage",
                            "Successful completions as a percentage of people in treatment."),
    "comparator_rate_pct": ("Comparator completion rate (%)", "percentage",
                            "The comparator area's completion rate."),
    "incidents": ("Incidents", "count", "Incidents recorded."),
    "crimes": ("Crimes", "count", "Crimes recorded."),
    "incidents_per_1000": ("Incidents per 1,000 residents", "rate",
                           "Incidents per 1,000 residents."),
    "crimes_per_1000": ("Crimes per 1,000 residents", "rate", "Crimes per 1,000 residents."),
    # places
    "issues": ("Issues rising (number)", "count",
               "Number of issues on which the ward's rise was significant."),
    "rising issues": ("Issues rising", "text", "Issues on which the ward's rise was significant."),
    "score": ("Index score", "rate", "Multi-issue index score (0-100; higher = more issues)."),
    "rank": ("Rank", "rank", "Rank on the index (1 = highest score)."),
    "flags": ("Issues flagged", "count",
              "Issues on which the place is in the district's top fifth."),
    "drivers": ("Driven by", "text", "Issues adding most to the score."),
    # error control (method section)
    "family": ("Family of tests", "text", "A set of tests whose significance is decided together."),
    "tests": ("Tests", "count", "Number of tests in the family."),
    "procedure": ("Multiple-testing procedure", "text",
                  "How significance is decided across the family."),
    "significant": ("Significant", "count", "Number of the family's tests found significant."),
    "level": ("Level", "text", "The family's share of the document's error budget."),
    # coverage audit
    "rows": ("Records", "count", "Records in the force's file for the month."),
    "unlocated": ("Records without a location", "count",
                  "Records with no location, which no area can include."),
    "duplicates skipped": ("Repeated Crime IDs skipped", "count",
                           "Records whose Crime ID was already loaded."),
    # display names whose kind matters: the header stays as it is
    "LSOA edition": ("LSOA edition", "year", "Census edition of the LSOA codes (2011 or 2021)."),
    "Rank": ("Rank", "rank", "Rank on the index (1 = highest score)."),
    "Score": ("Score", "rate", "Multi-issue index score (0-100; higher = more issues)."),
    "Issues flagged": ("Issues flagged", "count",
                       "Issues on which the place is in the district's top fifth."),
    "IMD rank": ("IMD rank", "rank", "LSOA's rank in England (1 = most deprived)."),
    "National decile": ("National decile", "rank", "National IMD decile (1 = most deprived)."),
    "Local decile": ("Local decile", "rank", "Decile among the district's own LSOAs."),
    # the ranking's deprivation issue is not counted from records
    "deprivation_count": ("Deprivation: LSOAs ranked", "count",
                          "Number of the place's LSOAs with an IMD rank."),
    "deprivation_rate": ("Deprivation: index (near 1 = most deprived)", "rate",
                         "Population-weighted mean over the place's LSOAs of (N + 1 - IMD rank)"
                         " / N, N = LSOAs in England."),
    SYNTHETIC_COLUMN: ("Provenance", "text",
                       "SYNTHETIC: the table uses synthetic sample data, not real records."),
}

# Per-issue columns of the vulnerable-places ranking (<issue>_count, _rate, _flag) and other
# families of names; the first match gives the label.
_WORDS = {"all_crime": "All crime (excluding ASB)", "asb": "ASB",
          "criminal_damage": "Criminal damage and arson", "lsoas": "LSOAs",
          "events": "incidents"}
_PATTERNS: list[tuple[re.Pattern[str], str, str, str]] = [
    (re.compile(r"^(\w+)_count$"), "{0}: count", "count", "{0}: number of records."),
    (re.compile(r"^(\w+)_rate$"), "{0}: rate per 1,000 residents", "rate",
     "{0}: records per 1,000 residents."),
    (re.compile(r"^(\w+)_flag$"), "{0}: in the top fifth", "text",
     "{0}: whether the place is among the district's top fifth."),
    (re.compile(r"^(\w+)_rate_pct$"), "{0} rate (%)", "percentage", "{0} rate, per cent."),
    (re.compile(r"^(\w+)_pct$"), "{0} (%)", "percentage", "{0}, per cent."),
    (re.compile(r"^share_of_(\w+)$"), "Share of {0} (%)", "share",
     "Share of {0}, a proportion from 0 to 1."),
    (re.compile(r"^(\w+)_per_(\d+)$"), "{0} per {1} residents", "rate", "{0} per {1} residents."),
]
_RATE_WORDS = {"rate", "rates", "pct", "percent", "percentage", "share", "shares", "%"}


def _words(field: str, first: bool = True) -> str:
    if field in _WORDS:
        text = _WORDS[field]
    else:
        text = field.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if first else text


def known(name: str) -> bool:
    """Whether `name` has a label of its own (not merely inferred)."""
    return name in _FIELDS or any(p.match(name) for p, *_ in _PATTERNS)


def field_names() -> set[str]:
    """Every machine field name with a label: a header equal to one is still a field name."""
    return {name for name in _FIELDS if _FIELDS[name][0] != name}


def label(name: object, *, rate_per: int = 1000, header: str | None = None) -> ColumnLabel:
    """The label of column `name`. `header` overrides the words (a table's own headers).
    Unknown names are shown as they are when they read as words, else with '_' as spaces."""
    text = str(name)
    per = f"{rate_per:,}"
    if text in _FIELDS:
        words, kind, description = _FIELDS[text]
        words, description = words.format(per=per), description.format(per=per)
    else:
        words, kind, description = _from_pattern(text)
    unit = UNITS[kind]
    if kind == "rate" and "per " in words:
        unit = "per " + words.split("per ", 1)[1]
    elif kind == "percentage":
        unit = "per cent"
    return ColumnLabel(text, header or words, kind, unit, description)


# A column named by its period ('2023', '2021/22', '2021 (8 months)') holds that period's counts.
_PERIOD = re.compile(r"^\d{4}(?:/\d{2})?(?: \(.*\))?$")
# Or by the months compared ('May–Dec 2022', 'Apr 2019–Mar 2020, Jun 2020').
_MONTHS = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_MONTH_RUNS = re.compile(rf"^{_MONTHS}(?: \d{{4}})?(?:–{_MONTHS})? \d{{4}}"
                         rf"(?:, {_MONTHS}(?: \d{{4}})?(?:–{_MONTHS})? \d{{4}})*$")


def _from_pattern(text: str) -> tuple[str, str, str]:
    """Words, kind and description from a family of names, else the name as it reads."""
    if _PERIOD.match(text) or _MONTH_RUNS.match(text):
        return text, "count", f"Number of records in {text}."
    for pattern, words, kind, description in _PATTERNS:
        match = pattern.match(text)
        if match:
            first = not words.startswith("Share of")   # 'Share of incidents', not 'Incidents'
            parts = ([_words(match.group(1), first)]
                     + [f"{int(g):,}" for g in match.groups()[1:]])
            return words.format(*parts), kind, description.format(*parts)
    return (text if "_" not in text else _words(text)), _inferred_kind(text), ""


def _inferred_kind(name: str) -> str:
    """Display names keep the old inference: a rate, share or % word means one decimal."""
    words = re.split(r"[^a-z0-9%]+", name.lower())
    if any(word in _RATE_WORDS for word in words) or "%" in name:
        return "rate"
    return "auto"


def synthetic_note(what: str = "This table") -> str:
    return (f"SYNTHETIC DATA: {what} uses synthetic sample data (generated, not real records); "
            "no figure from it describes a real place.")
