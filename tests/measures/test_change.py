"""Change tests, checked against published and hand-worked reference values."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy.stats import poisson_means_test

from cspkit.measures.change import (
    DECREASE,
    INCREASE,
    NO_CHANGE,
    TOO_FEW,
    compare_counts,
    compare_frame,
    format_p,
    rate_ratio_ci,
    verdict_sentence,
)
from cspkit.measures.settings import Settings


def test_e_test_reproduces_krishnamoorthy_thomson_example():
    # K&T (2004) example, as in SciPy's docs: 6 events in exposure 1 vs 2 in 1: p = 0.1749.
    assert poisson_means_test(6, 1, 2, 1).pvalue == pytest.approx(0.174874820, abs=1e-6)
    result = compare_counts(6, 2, settings=Settings(min_total_for_test=0, small_count=0))
    assert round(result.p_value, 3) == 0.175
    assert result.verdict == NO_CHANGE


def test_doubling_from_100_is_significant():
    r = compare_counts(200, 100)
    assert (r.change, r.pct_change, r.rate_ratio) == (100, 100.0, 2.0)
    assert r.p_value < 1e-6 and r.verdict == INCREASE
    assert r.ci_low > 1
    # Exact conditional interval by hand: Clopper-Pearson on 200 of 300, mapped p/(1-p).
    assert (r.ci_low, r.ci_high) == pytest.approx((1.5655, 2.5688), abs=1e-4)


def test_five_percent_on_100_is_not_significant():
    r = compare_counts(105, 100)
    assert r.verdict == NO_CHANGE and r.p_value == pytest.approx(0.729, abs=1e-3)
    assert r.ci_low < 1 < r.ci_high


def test_a_fall_is_a_significant_decrease():
    r = compare_counts(100, 200)
    assert r.verdict == DECREASE and r.pct_change == -50.0 and r.rate_ratio == 0.5


def test_too_few_to_tell_by_total_and_by_both_small():
    assert compare_counts(4, 2).verdict == TOO_FEW                    # total 6 < 10
    assert compare_counts(7, 0).verdict == TOO_FEW                    # total 7 < 10
    custom = Settings(min_total_for_test=0, small_count=5)
    assert compare_counts(4, 4, settings=custom).verdict == TOO_FEW   # both below 5
    assert compare_counts(9, 1, settings=custom).verdict != TOO_FEW


def test_zero_baseline_has_no_percentage_and_an_open_interval():
    r = compare_counts(12, 0)
    assert r.pct_change is None and r.rate_ratio is None
    assert r.ci_high == math.inf and r.ci_low > 0
    both_zero = compare_counts(0, 0)
    assert both_zero.ci_low is None and both_zero.p_value == 1.0 and both_zero.verdict == TOO_FEW


def test_exposures_compare_rates():
    # 150 events over 2 years against 120 in 1 year is a fall in the yearly rate.
    r = compare_counts(150, 120, exposure=2.0, baseline_exposure=1.0)
    assert r.rate_ratio == pytest.approx(0.625) and r.pct_change == pytest.approx(-37.5)
    assert r.verdict == DECREASE
    # Scaling both exposures changes nothing.
    a, b = compare_counts(30, 20, 5.0, 4.0), compare_counts(30, 20, 50.0, 40.0)
    assert a.p_value == pytest.approx(b.p_value) and a.ci_low == pytest.approx(b.ci_low)


def test_interval_matches_binomial_transform():
    low, high = rate_ratio_ci(6, 2)
    # Clopper-Pearson 95% for 6 of 8: (0.3491, 0.9681) -> p/(1-p).
    assert low == pytest.approx(0.3491 / 0.6509, rel=1e-3)
    assert high == pytest.approx(0.9681 / 0.0319, rel=2e-3)
    assert rate_ratio_ci(0, 0) is None


@pytest.mark.parametrize(("count", "baseline"), [(-1, 3), (2.5, 3), ("x", 3), (float("nan"), 1)])
def test_counts_must_be_whole_numbers(count, baseline):
    with pytest.raises(ValueError, match="count must be a whole number"):
        compare_counts(count, baseline)


def test_exposure_must_be_positive():
    with pytest.raises(ValueError, match="baseline_exposure must be a positive number"):
        compare_counts(3, 3, 1.0, 0.0)


def test_sentences():
    assert verdict_sentence("Burglary", compare_counts(200, 100)) == (
        "Burglary rose from 100 to 200 (+100%), a statistically significant increase "
        "(p < 0.001).")
    text = verdict_sentence("Burglary", compare_counts(100, 105))
    assert text.startswith("Burglary fell from 105 to 100 (-5%), no significant change")
    assert "p = 0.73" in text
    assert verdict_sentence("Robbery", compare_counts(4, 2)) == (
        "Robbery rose from 2 to 4 (+100%): too few incidents to tell whether this is more "
        "than chance.")
    assert verdict_sentence("Arson", compare_counts(7, 7)).startswith("Arson was unchanged at 7")
    assert "1,200" in verdict_sentence("ASB", compare_counts(1200, 1100))
    assert "(rate -38%)" in verdict_sentence("Burglary", compare_counts(150, 120, 2.0, 1.0))


def test_a_non_significant_change_is_never_called_an_increase_or_decrease():
    for count, baseline in [(105, 100), (95, 100), (130, 120), (3, 1), (0, 6), (60, 40)]:
        result = compare_counts(count, baseline)
        text = verdict_sentence("X", result)
        if result.verdict in (NO_CHANGE, TOO_FEW):
            assert "increase" not in text and "decrease" not in text
            assert "no significant change" in text or "too few incidents" in text


def test_format_p():
    assert [format_p(p) for p in (0.0004, 0.005, 0.0105, 0.5)] == [
        "p < 0.001", "p = 0.005", "p = 0.01", "p = 0.50"]


def test_compare_frame_adds_a_result_per_row():
    df = pd.DataFrame({"category": ["Burglary", "Robbery", "Drugs"],
                       "count": [200, 3, 105], "baseline_count": [100, 1, 100]})
    out = compare_frame(df, "count", "baseline_count")
    assert list(out["verdict"]) == [INCREASE, TOO_FEW, NO_CHANGE]
    assert list(out.columns[:3]) == ["category", "count", "baseline_count"]
    assert out.loc[0, "rate_ratio"] == 2.0 and "verdict" not in df.columns
    single = compare_counts(105, 100)
    assert out.loc[2, "p_value"] == pytest.approx(single.p_value)


def test_compare_frame_with_exposure_columns_and_errors():
    df = pd.DataFrame({"c": [150], "b": [120], "e": [2.0], "be": [1.0]}, index=["w1"])
    out = compare_frame(df, "c", "b", "e", "be")
    assert out.loc["w1", "verdict"] == DECREASE
    with pytest.raises(KeyError, match="'nope'"):
        compare_frame(df, "c", "nope")
    with pytest.raises(ValueError, match="row 'w1'"):
        compare_frame(df.assign(c=-1), "c", "b")


def test_poisson_etest_equals_scipys_poisson_means_test():
    """The fast E-test is scipy's computation step for step: equal to the last bit over
    thousands of count pairs, exposures and the edge cases (zeros, large unequal counts)."""
    import numpy as np

    from cspkit.measures.change import poisson_etest

    rng = np.random.default_rng(20240501)
    cases = [(6, 1.0, 2, 1.0), (0, 1.0, 0, 1.0), (0, 1.0, 5, 1.0), (5, 1.0, 0, 1.0),
             (127, 7832.33, 2497, 163790.67), (127, 7832.0, 9000, 660000.0),
             (1, 0.5, 0, 2.0), (3000, 1e5, 3500, 1.2e5)]
    cases += [(int(rng.integers(0, 80)), float(rng.uniform(0.05, 20)),
               int(rng.integers(0, 300)), float(rng.uniform(0.05, 20))) for _ in range(2000)]
    for k1, n1, k2, n2 in cases:
        assert poisson_etest(k1, n1, k2, n2) == poisson_means_test(k1, n1, k2, n2).pvalue, (
            k1, n1, k2, n2)
