"""The force simulator behind the false-claims benchmark (benchmarks/simulate_force.py)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from cspkit.ingest import ingest_police
from cspkit.store import connect, transaction
from cspkit.store.ingest_log import new_run_id

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import simulate_force as sim  # noqa: E402

YEARS = (2022, 2023)


@pytest.fixture(scope="module")
def model(bedfordshire_zip: Path) -> sim.ForceModel:
    return sim.fit_force_model(bedfordshire_zip)


def test_files_load_through_the_real_ingest_with_nothing_quarantined(
        model: sim.ForceModel, tmp_path: Path) -> None:
    scenario = sim.Scenario("overdispersed", (2023,))     # one year keeps the test fast
    generated = sim.generate(tmp_path / "files", scenario, 7, model)
    assert [p.relative_to(tmp_path / "files").as_posix() for p in generated.paths[:2]] == [
        "2023-01/2023-01-bedfordshire-street.csv", "2023-02/2023-02-bedfordshire-street.csv"]
    con = connect(tmp_path / "sim.duckdb")
    with transaction(con):
        report = ingest_police(con, [str(tmp_path / "files")], run_id=new_run_id())
    assert report.rows_quarantined == 0
    assert report.rows_loaded == report.rows_in == int(generated.counts.sum())
    located, unlocated, asb_ids, months = con.execute(
        """SELECT count(*) FILTER (WHERE located), count(*) FILTER (WHERE NOT located),
                  count(record_id) FILTER (WHERE category = 'Anti-social behaviour'),
                  count(DISTINCT month) FROM events""").fetchone()
    assert unlocated == int(generated.counts[:, :, -1].sum())
    assert located == int(generated.counts[:, :, :-1].sum())
    assert asb_ids == 0 and months == 12          # police.uk publishes ASB without IDs
    ids = [r[0] for r in con.execute("SELECT record_id FROM events WHERE record_id IS NOT NULL"
                                     ).fetchall()]
    assert len(ids) == len(set(ids)) and all(re.fullmatch("[0-9a-f]{64}", i) for i in ids)
    # Same seed, same files.
    again = sim.generate(tmp_path / "again", scenario, 7, model)
    assert again.paths[5].read_bytes() == generated.paths[5].read_bytes()
    con.close()


def test_both_years_have_the_same_expectation(model: sim.ForceModel) -> None:
    for variant in ("poisson", "overdispersed"):
        mu = sim.expected_counts(model, sim.Scenario(variant, YEARS))
        first, second = mu[:12].sum(axis=(0, 2)), mu[12:].sum(axis=(0, 2))
        np.testing.assert_allclose(first, second, rtol=1e-12)
        # Each month's force expectation is the fitted seasonal value, split without loss.
        np.testing.assert_allclose(mu[:12].sum(axis=2), model.seasonal, rtol=1e-12)
    # A small seeded run: the two years' totals differ by no more than Poisson noise.
    counts = sim.simulate_counts(model, sim.Scenario("poisson", YEARS), np.random.default_rng(3))
    first, second = counts[:12].sum(axis=(0, 2)), counts[12:].sum(axis=(0, 2))
    assert np.all(np.abs(first - second) < 5 * np.sqrt(first + second))


def test_expectations_and_dispersion_match_the_real_series(model: sim.ForceModel,
                                                           bedfordshire_zip: Path) -> None:
    rows = sim.read_street_archive(bedfordshire_zip)
    assert len(model.real_months) == 36
    yearly = rows.groupby("Crime type").size() / 3
    # Evaluated at the middle of the trend, a year's expectation is close to the real average.
    np.testing.assert_allclose(model.yearly_expected().loc[yearly.index], yearly, rtol=0.03)
    unlocated = (rows["LSOA code"] == "").groupby(rows["Crime type"]).mean()
    np.testing.assert_allclose(model.unlocated_share, unlocated.loc[list(model.categories)])
    # The dispersion by a second method: the formula interface, month as a category.
    for category in ("Robbery", "Violence and sexual offences"):
        series = (rows[rows["Crime type"] == category].groupby("Month").size()
                  .rename("n").reset_index())
        dates = pd.to_datetime(series["Month"])
        series["calendar"] = dates.dt.month.astype(str)
        series["t"] = np.arange(len(series))
        fit = smf.glm("n ~ C(calendar) + t", series, family=sm.families.Poisson()).fit()
        phi = fit.pearson_chi2 / fit.df_resid
        assert model.dispersion[model.category_index(category)] == pytest.approx(phi, rel=1e-6)
    # The issue reports about 1.6 (robbery) to 14 (violence).
    assert 1.3 < model.dispersion[model.category_index("Robbery")] < 2.2
    assert model.dispersion[model.category_index("Violence and sexual offences")] > 10


def _generated_dispersion(model: sim.ForceModel, variant: str) -> np.ndarray:
    scenario = sim.Scenario(variant, tuple(range(2000, 2020)))   # 240 months: a tight estimate
    counts = sim.simulate_counts(model, scenario, np.random.default_rng(11))
    series = sim.force_series(counts, model, scenario)
    return np.array([sim.dispersion_ratio(series["month"], series[c])
                     for c in model.categories])


def test_overdispersed_series_vary_as_much_as_the_real_ones(model: sim.ForceModel) -> None:
    poisson = _generated_dispersion(model, "poisson")
    assert np.all((poisson > 0.6) & (poisson < 1.5))
    over = _generated_dispersion(model, "overdispersed")
    ratio = over / model.dispersion
    assert np.all((ratio > 0.6) & (ratio < 1.6))
    assert over[model.category_index("Violence and sexual offences")] > 8


def test_real_change_multiplies_one_district_category_in_the_second_year(
        model: sim.ForceModel) -> None:
    category = sim.pick_change_category(model, "Bedford")
    assert category == "Burglary"          # about 709 a year in Bedford, the nearest to 700
    assert abs(model.yearly_expected("Bedford")[category] - 700) < 50
    scenario = sim.Scenario("real-change", YEARS, 1.25)
    bedford = np.append(model.district_mask("Bedford"), False)
    c = model.category_index(category)
    mu = sim.expected_counts(model, scenario)
    assert mu[12:, c, bedford].sum() / mu[:12, c, bedford].sum() == pytest.approx(1.25)
    base = sim.expected_counts(model, sim.Scenario("overdispersed", YEARS))
    untouched = np.ones_like(mu, dtype=bool)
    untouched[12:, c, bedford] = False
    np.testing.assert_allclose(mu[untouched], base[untouched])
    # In expectation over seeded runs, the simulated ratio is 1.25 too.
    rng = np.random.default_rng(5)
    totals = np.array([[y[:12, c, bedford].sum(), y[12:, c, bedford].sum()]
                       for y in (sim.simulate_counts(model, scenario, rng) for _ in range(40))])
    assert totals[:, 1].sum() / totals[:, 0].sum() == pytest.approx(1.25, abs=0.05)
