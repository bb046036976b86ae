"""The measures' names, what each computes, and which run on every engine: read without
importing the measures themselves (the CLI's help text needs them at start-up)."""

from __future__ import annotations

DESCRIPTIONS: dict[str, str] = {
    "counts": "Events by category (or sub-category) with rates per 1,000.",
    "change": "Change from a baseline period, with test, interval and verdict.",
    "wards": "Every ward with counts in both periods and the volume change.",
    "lsoas": "Every LSOA with counts in both periods and the volume change.",
    "series": (
        "Counts by month with rolling mean; with --period, its months' expected"
        " range and exceptional months."
    ),
    "seasonality": "Month-of-year index (1.0 = an average month).",
    "siblings": "The area beside the other districts of its county or force, and the parent.",
    "concentration": "Share of events in the top 5%/10% of LSOAs, Gini, and those LSOAs.",
    "deprivation": "The area's LSOAs with IMD rank, national and local deciles, domains.",
    "district-deprivation": "The district's IoD summary ranks by domain.",
    "deprivation-events": "Events by deprivation decile of their LSOA.",
    "harm": "Issues ranked by count and by harm-weighted count, side by side.",
    "hotspots": (
        "Hot and cold spots among the area's LSOAs: Getis-Ord Gi* (binary Queen"
        " contiguity, self included), two-sided normal p, Benjamini-Hochberg q;"
        " at least 30 LSOAs."
    ),
    "similar": (
        "cspkit similar districts: the district's family of most similar "
        "districts (nearest first) with the distance and each input "
        "(population, density, ages, IoD 2019 score, rurality, household size);"
        " not the Home Office's MSGs."
    ),
}

# Measures written in the query layer alone (store.tables): they run on every engine; the
# others need the DuckDB warehouse.
PORTABLE = (
    "counts", "change", "wards", "lsoas", "series", "seasonality", "siblings",
    "concentration", "deprivation", "deprivation-events", "harm"
)
