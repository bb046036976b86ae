"""Monthly series from the demo warehouse, checked against pandas counts by month."""

from __future__ import annotations

import zipfile
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.stats import nbinom, norm
from scipy.stats import t as t_dist

from cspkit.measures.areas import select_area
from cspkit.measures.periods import calendar_year
from cspkit.measures.series import monthly_counts, monthly_series

from .conftest import ASB

BEDFORD = "E06000055"


def month(text: str) -> date:
    return date(int(text[:4]), int(text[5:7]), 1)


@pytest.fixture(scope="module")
def bedford_asb(demo_warehouse) -> pd.DataFrame:
    return monthly_series(demo_warehouse, select_area(demo_warehouse, "Bedford"), category=ASB,
                          inspect=calendar_year(2023), family_size=120)


def test_bedford_asb_counts_for_all_36_months(bedford_asb, bedfordshire_events):
    rows = bedfordshire_events[(bedfordshire_events["lad_code"] == BEDFORD)
                               & (bedfordshire_events["category"] == ASB)]
    expected = rows.groupby("month").size()
    assert len(expected) == 36
    assert len(bedford_asb) == 36
    assert list(bedford_asb["month"]) == [month(m) for m in expected.index]
    assert list(bedford_asb["count"]) == expected.tolist()


def test_rolling_mean_is_the_mean_of_the_twelve_months_to_date(bedford_asb,
                                                               bedfordshire_events):
    rows = bedfordshire_events[(bedfordshire_events["lad_code"] == BEDFORD)
                               & (bedfordshire_events["category"] == ASB)]
    window = [str(p) for p in pd.period_range("2021-05", "2022-04", freq="M")]
    by_hand = sum(int((rows["month"] == m).sum()) for m in window) / 12
    at = bedford_asb.set_index("month")["rolling_mean"]
    assert at[month("2022-04")] == pytest.approx(by_hand)
    # Before twelve months of data there is no rolling mean.
    assert at[month("2022-03")] != at[month("2022-03")]   # NaN


def test_exceptional_months_are_exactly_those_outside_the_limits(bedford_asb):
    judged = bedford_asb[bedford_asb["inspected"]]
    assert judged["month"].tolist() == [date(2023, m, 1) for m in range(1, 13)]
    above = judged["count"] > judged["upper"]
    below = judged["count"] < judged["lower"]
    assert (judged.loc[above, "exceptional"] == "above").all()
    assert (judged.loc[below, "exceptional"] == "below").all()
    assert (judged.loc[~above & ~below, "exceptional"] == "").all()
    # Only 2023 is judged: months before are its history, months after are not inspected.
    rest = bedford_asb[~bedford_asb["inspected"]]
    assert (rest["exceptional"] == "").all() and rest["upper"].isna().all()


def test_expected_range_of_bedford_asb_by_hand(bedford_asb, bedfordshire_events):
    """20 months of history (May 2021 to December 2022): January-April appear once, so the
    season is one annual harmonic rather than month effects; the span is under two years, so
    no trend. Checked against an independent fit (statsmodels' formula GLM on the counts read
    with pandas), phi the Pearson ratio, the limits negative-binomial quantiles of the
    predictive mean and variance."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    rows = bedfordshire_events[(bedfordshire_events["lad_code"] == BEDFORD)
                               & (bedfordshire_events["category"] == ASB)]
    by_month = rows.groupby("month").size()
    history = by_month[by_month.index < "2023-01"]
    assert len(history) == 20
    frame = pd.DataFrame({"count": history.to_numpy(float),
                          "a": [2 * np.pi * (int(m[5:7]) - 1) / 12 for m in history.index]})
    fit = smf.glm("count ~ np.sin(a) + np.cos(a)", frame, family=sm.families.Poisson()).fit()
    q = 0.05 / 240
    chi2 = float(fit.pearson_chi2)
    dispersion = max(1.0, chi2 / 17 * (t_dist.isf(q, 17) / norm.isf(q)) ** 2)
    new = pd.DataFrame({"a": 2 * np.pi * np.arange(12) / 12})
    mean = fit.predict(new).to_numpy()
    x = np.column_stack([np.ones(12), np.sin(new["a"]), np.cos(new["a"])])
    var_eta = np.einsum("ij,jk,ik->i", x, dispersion * np.asarray(fit.cov_params()), x)
    variance = dispersion * mean + mean ** 2 * var_eta
    size, prob = mean ** 2 / (variance - mean), mean / variance
    attrs = bedford_asb.attrs
    assert attrs["season"] == "one annual harmonic" and not attrs["trend"]
    assert attrs["phi"] == pytest.approx(chi2 / 17, rel=1e-6) and attrs["phi"] > 2
    assert (attrs["history_start"], attrs["history_end"]) == (date(2021, 5, 1),
                                                              date(2022, 12, 1))
    assert (attrs["m"], attrs["alpha"], attrs["inspected"]) == (120, 0.05, "2023")
    judged = bedford_asb[bedford_asb["inspected"]]
    assert judged["expected"].tolist() == pytest.approx(mean.tolist(), rel=1e-6)
    for i in range(12):
        lower, upper = judged["lower"].iloc[i], judged["upper"].iloc[i]
        assert nbinom.cdf(upper, size[i], prob[i]) >= 1 - q > nbinom.cdf(upper - 1, size[i],
                                                                          prob[i])
        assert nbinom.cdf(lower, size[i], prob[i]) >= q > nbinom.cdf(lower - 1, size[i],
                                                                     prob[i])


def test_categories_counted_together(demo_warehouse):
    bedford = select_area(demo_warehouse, "Bedford")
    both = monthly_series(demo_warehouse, bedford, category=["Burglary", "Robbery"],
                          inspect=calendar_year(2023))
    one = [monthly_counts(demo_warehouse, bedford, category=c) for c in ("Burglary", "Robbery")]
    assert both["count"].tolist() == (one[0]["count"] + one[1]["count"]).tolist()
    assert both["category"].iloc[0] == "Burglary, Robbery"
    assert np.isfinite(both.loc[both["inspected"], "upper"]).all()


def test_without_a_period_inspected_no_month_is_judged(demo_warehouse):
    series = monthly_series(demo_warehouse, select_area(demo_warehouse, "Bedford"))
    assert (series["exceptional"] == "").all() and series["upper"].isna().all()
    assert series.attrs["reason"] == "no period was inspected"


def test_east_cambridgeshire_series_has_only_the_covered_months(demo_warehouse,
                                                                cambridgeshire_zip,
                                                                cambridgeshire_events):
    with zipfile.ZipFile(cambridgeshire_zip) as archive:
        covered = sorted(m.split("/")[0] for m in archive.namelist()
                         if m.endswith("-street.csv"))
    assert len(covered) == 8
    series = monthly_series(demo_warehouse, select_area(demo_warehouse, "E07000009"))
    assert list(series["month"]) == [month(m) for m in covered]
    expected = cambridgeshire_events[cambridgeshire_events["lad_code"] == "E07000009"
                                     ].groupby("month").size()
    assert list(series["count"]) == [int(expected[m]) for m in covered]
    assert series["rolling_mean"].isna().all()    # never twelve consecutive months
    judged = monthly_series(demo_warehouse, select_area(demo_warehouse, "E07000009"),
                            inspect=calendar_year(2019))
    assert judged.attrs["reason"].startswith("too little history: 4 months of data before 2019")
    assert (judged["exceptional"] == "").all()
