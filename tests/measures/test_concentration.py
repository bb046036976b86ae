"""Concentration: top shares and Gini against hand-worked and published reference values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cspkit.measures.concentration import concentration, generalized_gini, gini


def lorenz_gini(counts) -> float:
    """Independent check: 1 - 2 x area under the Lorenz curve (trapezoids at i/N)."""
    x = np.sort(np.asarray(counts, dtype=float))
    lorenz = np.concatenate([[0.0], np.cumsum(x) / x.sum()])
    steps = np.full(len(x), 1 / len(x))
    area = float(np.sum(steps * (lorenz[1:] + lorenz[:-1]) / 2))
    return 1 - 2 * area


def test_all_events_in_one_of_four_places():
    # Standard (biased) Gini: its maximum is (N - 1) / N = 0.75 for N = 4.
    assert gini([0, 0, 0, 10]) == pytest.approx(0.75)
    assert generalized_gini([0, 0, 0, 10]) == pytest.approx(0.75)  # n >= N: unchanged


def test_equal_counts_have_gini_zero():
    assert gini([5, 5, 5, 5]) == 0.0


@pytest.mark.parametrize("counts", [[22, 18, 17, 12, 11, 8, 6, 3, 2, 1], [1, 2, 3, 4, 100],
                                    [0, 0, 7, 7, 9, 30], list(range(50))])
def test_gini_matches_the_lorenz_curve(counts):
    assert gini(counts) == pytest.approx(lorenz_gini(counts))


def test_reference_values_from_bernasco_and_steenbeek_lorenzgini():
    # Examples documented in the authors' R package lorenzgini (gini(), unbiased = FALSE).
    assert gini([10, 8, 2] + [0] * 7) == pytest.approx(0.78)
    assert generalized_gini([10, 8, 2] + [0] * 7) == pytest.approx(0.78)   # 20 >= 10 places
    assert gini([5, 2, 1] + [0] * 7) == pytest.approx(0.80)
    assert generalized_gini([5, 2, 1] + [0] * 7) == pytest.approx(0.75)    # 8 < 10 places
    assert gini([10] + [0] * 9) == pytest.approx(0.90)


def test_generalized_gini_equals_standard_when_events_at_least_places():
    rng = np.random.default_rng(5)
    for _ in range(20):
        counts = rng.poisson(3, size=int(rng.integers(2, 40)))
        if counts.sum() >= len(counts):
            assert generalized_gini(counts) == pytest.approx(gini(counts))


def test_sparse_events_each_in_a_different_place_are_maximally_even():
    # 5 events in 5 of 20 places: as even as 5 events can be. G says 0.75; G' says 0.
    counts = [1] * 5 + [0] * 15
    assert gini(counts) == pytest.approx(0.75)
    assert generalized_gini(counts) == pytest.approx(0.0)
    # All sparse events in one place: G' = 1 - 1/n.
    assert generalized_gini([5] + [0] * 19) == pytest.approx(0.8)


def test_no_events():
    result = concentration(pd.Series([0, 0, 0], index=["a", "b", "c"]))
    assert result.gini is None and result.generalized_gini is None
    assert result.top_shares == {0.05: None, 0.10: None}


def test_top_shares_round_places_up_and_break_ties_by_code():
    # 40 places: top 5% = 2 places, top 10% = 4 places.
    counts = pd.Series([0] * 34 + [10, 10, 10, 20, 30, 20],
                       index=[f"E0{i:07d}" for i in range(40)])
    result = concentration(counts)
    assert result.n_places == 40 and result.n_events == 100
    assert result.top_counts == {0.05: 2, 0.10: 4}
    assert result.top_shares[0.05] == pytest.approx(0.50)   # 30 + 20 (the lower code of the 20s)
    assert result.top_shares[0.10] == pytest.approx(0.80)   # + 20 + 10
    top = result.top_places
    assert list(top["place"]) == ["E00000038", "E00000037", "E00000039", "E00000034"]
    assert list(top["count"]) == [30, 20, 20, 10]
    assert list(top["in_top_5pct"]) == [True, True, False, False]
    assert list(top["in_top_10pct"]) == [True] * 4
    assert top["cumulative_share"].iloc[-1] == pytest.approx(0.80)
    assert list(top["rank"]) == [1, 2, 3, 4]


def test_small_area_counts_round_up_to_one_place():
    result = concentration(pd.Series([3, 1, 0], index=["x", "y", "z"]))
    assert result.top_counts == {0.05: 1, 0.10: 1}
    assert result.top_shares[0.05] == pytest.approx(0.75)
    # 0.1 * 30 is 3.0000000000000004 in floating point: still 3 places.
    assert concentration(pd.Series([1] * 30)).top_counts[0.10] == 3


@pytest.mark.parametrize("bad", [[1, -1], [1, 2.5], [1, None]])
def test_counts_must_be_whole_and_non_negative(bad):
    with pytest.raises(ValueError, match="place 1"):
        concentration(pd.Series(bad))


def test_duplicate_places_are_refused():
    with pytest.raises(ValueError, match="'a' appears more than once"):
        concentration(pd.Series([1, 2], index=["a", "a"]))
