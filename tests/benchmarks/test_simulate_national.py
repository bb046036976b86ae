"""The national simulator behind the national-scale benchmark (benchmarks/simulate_national.py):
every LSOA of England and Wales in its own force, files the real ingest loads whole, and
volumes, mix and unlocated shares that follow the real Bedfordshire files it was fitted to."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cspkit.ingest import ingest_police
from cspkit.police_forces import FORCES
from cspkit.store import connect, transaction
from cspkit.store.ingest_log import new_run_id

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import simulate_force as sim  # noqa: E402
import simulate_national as nat  # noqa: E402

MONTHS = [date(2023, 6, 1), date(2023, 7, 1)]


@pytest.fixture(scope="module")
def nation() -> nat.Nation:
    return nat.read_nation()


@pytest.fixture(scope="module")
def model(bedfordshire_zip: Path) -> sim.ForceModel:
    return sim.fit_force_model(bedfordshire_zip)


def test_every_lsoa_of_england_and_wales_has_one_territorial_force(
        nation: nat.Nation, demo_dir: Path) -> None:
    lookup = pd.read_csv(demo_dir / "geography" / "lookups" / nat.LOOKUP, dtype=str,
                         encoding="utf-8-sig")
    assert len(nation.lsoa_codes) == lookup["LSOA21CD"].nunique() == 35_672
    assert set(nation.forces()) == set(FORCES) - {"btp", "northern-ireland"}
    assert len(nation.forces()) == 43
    # The centroids are in England and Wales, in WGS84.
    assert nation.lon.min() > -6.5 and nation.lon.max() < 2.0
    assert nation.lat.min() > 49.8 and nation.lat.max() < 56.0


def test_files_load_whole_and_follow_the_fitted_rates(
        nation: nat.Nation, model: sim.ForceModel, tmp_path: Path) -> None:
    forces = ["bedfordshire", "city-of-london"]
    written = nat.generate(tmp_path / "files", months=MONTHS, forces=forces, seed=3, scale=1.0,
                           nation=nation, model=model)
    assert (tmp_path / "files" / "2023-06" / "2023-06-bedfordshire-street.csv").exists()
    assert "SYNTHETIC" in (tmp_path / "files" / "README-SYNTHETIC.txt").read_text()

    con = connect(tmp_path / "sim.duckdb")
    with transaction(con):
        report = ingest_police(con, [str(tmp_path / "files")], run_id=new_run_id())
    assert report.rows_quarantined == 0
    assert report.rows_loaded == report.rows_in == sum(written.values())

    rows = pd.concat(pd.read_csv(p, dtype=str, keep_default_na=False)
                     for p in sorted((tmp_path / "files").rglob("*bedfordshire-street.csv")))
    # Every located row is in one of the force's own LSOAs.
    own = set(nation.lsoa_codes[nation.force == "bedfordshire"])
    located = rows[rows["LSOA code"] != ""]
    assert set(located["LSOA code"]) <= own
    # Volume: each month within 20% of the fitted expectation (about 5,000 a month).
    for when in MONTHS:
        expected = model.seasonal[when.month - 1].sum()
        got = (rows["Month"] == when.strftime("%Y-%m")).sum()
        assert abs(got - expected) < 0.2 * expected, (when, got, expected)
    # Mix: each category's count within 4 standard deviations of its fitted expectation,
    # the variance being the real series' dispersion ratio times the mean (quasi-Poisson).
    real = pd.Series(model.seasonal[[m.month - 1 for m in MONTHS]].sum(axis=0),
                     index=list(model.categories))
    simulated = rows["Crime type"].value_counts().reindex(real.index, fill_value=0)
    spread = np.sqrt(np.maximum(model.dispersion, 1) * real)
    assert (np.abs(simulated - real) < 4 * spread).all(), (simulated - real) / spread
    # Unlocated share near the real one (3-4% in the real files).
    real_unlocated = (real * model.unlocated_share).sum() / real.sum()
    assert abs((rows["LSOA code"] == "").mean() - real_unlocated) < 0.01
    # ASB carries no Crime ID, as police.uk publishes it; every crime has a 64-hex one.
    asb = rows["Crime type"] == sim.ASB
    assert (rows.loc[asb, "Crime ID"] == "").all()
    assert rows.loc[~asb, "Crime ID"].str.fullmatch(r"[0-9a-f]{64}").all()
