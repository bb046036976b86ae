"""The synthetic partner samples shipped in demo_data/partner load with their shipped schemas,
every row accepted against the shipped LSOA lookups."""

from __future__ import annotations

from pathlib import Path

import pytest

from cspkit.demo import demo_data_dir
from cspkit.ingest import ingest_partner, ingest_reference
from cspkit.store import connect

SAMPLES = {
    "fire": "fire_incidents_SYNTHETIC.csv",
    "ambulance": "ambulance_assault_callouts_SYNTHETIC.xlsx",
    "istv": "ed_assault_attendances_SYNTHETIC.csv",
    "treatment": "treatment_SYNTHETIC.csv",
    "safe-and-well": "safe_and_well_visits_SYNTHETIC.csv",
    "police-markers": "police_crime_markers_SYNTHETIC.csv",
    "domestic-abuse": "domestic_abuse_SYNTHETIC.xlsx",
}
LOOKUPS = [
    "LSOA_(2021)_to_Electoral_Ward_(2023)_to_LAD_(2023)_Best_Fit_Lookup_in_EW.csv.gz",
    "Lower_Layer_Super_Output_Area_(2011)_to_Ward_(2019)_Lookup_in_England_and_Wales.csv.gz",
]
PARTNER = demo_data_dir() / "partner"


def test_every_sample_loads_with_its_schema(tmp_path: Path) -> None:
    missing = [f for f in SAMPLES.values() if not (PARTNER / f).is_file()]
    if missing:
        pytest.skip(f"partner sample files not generated yet in {PARTNER.name}/: "
                    + ", ".join(missing))
    con = connect(tmp_path / "w.duckdb")
    try:
        lookups = demo_data_dir() / "geography" / "lookups"
        ingest_reference(con, [str(lookups / name) for name in LOOKUPS], run_id="geo")
        for schema, name in SAMPLES.items():
            records = ingest_partner(con, [str(PARTNER / name)], schema=schema, run_id="demo")
            assert len(records) == 1
            record = records[0]
            bad = con.execute("SELECT line_no, reason FROM quarantine WHERE ingest_id = ? "
                              "LIMIT 5", [record.ingest_id]).fetchall()
            assert record.status == "loaded", name
            assert record.rows_in > 0 and record.rows_quarantined == 0, (name, bad)
            assert record.rows_in == record.rows_loaded
    finally:
        con.close()
