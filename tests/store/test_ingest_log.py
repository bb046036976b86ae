"""The ingest log's query for synthetic data: a source is synthetic when any of its rows came
from a file whose name says SYNTHETIC."""

from __future__ import annotations

from pathlib import Path

import duckdb

from cspkit.ingest import ingest_partner, ingest_reference
from cspkit.store.ingest_log import synthetic_sources
from tests.sources.partner.conftest import (
    AMBULANCE_HEADER,
    AMBULANCE_ROWS,
    FIRE_HEADER,
    LOOKUP_HEADER,
    LOOKUP_ROWS,
    fire_rows,
    write_csv,
)


def test_a_source_is_synthetic_when_a_file_of_it_says_so(warehouse: duckdb.DuckDBPyConnection,
                                                         tmp_path: Path) -> None:
    lookup = write_csv(tmp_path / "lookup" / "LSOA21_WD23_LAD23_lookup.csv", LOOKUP_HEADER,
                       LOOKUP_ROWS)
    ingest_reference(warehouse, [str(lookup)], run_id="geo")
    assert synthetic_sources(warehouse) == frozenset()

    real = write_csv(tmp_path / "fire_2022.csv", FIRE_HEADER, fire_rows()[:6])
    ingest_partner(warehouse, [str(real)], schema="fire", run_id="a")
    assert synthetic_sources(warehouse) == frozenset()   # a real file says nothing

    made_up = write_csv(tmp_path / "fire_synthetic.csv", FIRE_HEADER, fire_rows()[6:])
    ingest_partner(warehouse, [str(made_up)], schema="fire", run_id="b")
    calls = write_csv(tmp_path / "ambulance_SYNTHETIC.csv", AMBULANCE_HEADER, AMBULANCE_ROWS)
    ingest_partner(warehouse, [str(calls)], schema="ambulance", run_id="c")
    # Any case; events and indicators alike; one synthetic file makes the source synthetic.
    assert synthetic_sources(warehouse) == {"fire", "ambulance"}


def test_the_demo_partner_samples_are_synthetic_and_police_data_is_not(demo_warehouse) -> None:
    assert synthetic_sources(demo_warehouse) == {
        "fire", "ambulance", "istv", "treatment", "safe-and-well", "police-markers",
        "domestic-abuse"}
