"""The demo: a warehouse built end to end from the real public data shipped with cspkit."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

import duckdb

from cspkit.store import transaction
from cspkit.store.holdings import (
    areas_by_level,
    deprivation_editions,
    partner_rows,
    police_spans,
    population_editions,
)
from cspkit.store.ingest_log import new_run_id


def demo_data_dir() -> Path:
    return Path(str(resources.files("cspkit") / "demo_data"))


# The shipped reference tables that cover all of England and Wales (lookups, centroids,
# deprivation, population), as opposed to the demo's boundaries of a few districts.
NATIONAL_FOLDERS = ("geography/lookups", "geography/centroids", "population", "imd2019",
                    "imd2025")


def national_reference_paths() -> list[str]:
    """The shipped national reference folders: what the demo and `cspkit setup` both load."""
    root = demo_data_dir()
    return [str(root / sub) for sub in NATIONAL_FOLDERS]


def reference_paths() -> list[str]:
    """The demo's reference data: the national tables and its districts' boundaries."""
    return [*national_reference_paths(), str(demo_data_dir() / "geography" / "boundaries")]


def police_paths() -> list[str]:
    return [str(p) for p in sorted((demo_data_dir() / "police").glob("*.zip"))]


# Shipped synthetic partner samples and the schema each is read with.
PARTNER_SAMPLES = {
    "fire_incidents_SYNTHETIC.csv": "fire",
    "ambulance_assault_callouts_SYNTHETIC.xlsx": "ambulance",
    "ed_assault_attendances_SYNTHETIC.csv": "istv",
    "treatment_SYNTHETIC.csv": "treatment",
    "safe_and_well_visits_SYNTHETIC.csv": "safe-and-well",
    "police_crime_markers_SYNTHETIC.csv": "police-markers",
    "domestic_abuse_SYNTHETIC.xlsx": "domestic-abuse",
}


def partner_paths() -> list[tuple[str, str]]:
    """(file, schema) for every shipped partner sample present."""
    root = demo_data_dir() / "partner"
    return [(str(root / name), schema) for name, schema in PARTNER_SAMPLES.items()
            if (root / name).exists()]


def build_demo(con: duckdb.DuckDBPyConnection,
               on_file: Callable[[str, int, int], None] | None = None) -> None:
    """Load the shipped reference data, the police archives, then the synthetic partner
    samples (each step one transaction). Re-running it changes nothing: every file is
    recognised as already loaded."""
    from cspkit.ingest import ingest_police, ingest_reference

    with transaction(con):
        ingest_reference(con, reference_paths(), run_id=new_run_id(), on_file=on_file)
    with transaction(con):
        ingest_police(con, police_paths(), run_id=new_run_id(), on_file=on_file)
    samples = partner_paths()
    if samples:
        from cspkit.ingest import ingest_partner

        with transaction(con):
            run_id = new_run_id()
            for path, schema in samples:
                ingest_partner(con, [path], schema=schema, run_id=run_id, on_file=on_file)


def summary(con: duckdb.DuckDBPyConnection) -> list[str]:
    """A few lines saying what the warehouse now holds."""
    lines = ["areas: " + ", ".join(f"{n:,} {level}" for level, n in areas_by_level(con))]
    lines.append("population: " + ", ".join(f"{y} ({n:,} areas, {v} geography, {m})"
                                            for y, v, m, n in population_editions(con)))
    lines.append("deprivation: " + ", ".join(f"IoD{e} ({n:,} LSOAs, {d} domains)"
                                             for e, n, d in deprivation_editions(con)))
    for span in police_spans(con):
        lines.append(f"police.uk {span.force}: {span.events:,} crimes and ASB incidents, "
                     f"{span.months} months between {span.first_month} and {span.last_month}")
    partner = partner_rows(con)
    if partner:
        lines.append("partner data (SYNTHETIC samples): " + ", ".join(
            f"{source} {n:,}" for source, n in partner))
    return lines
