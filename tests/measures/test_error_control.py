"""Families of tests: Benjamini-Hochberg and Holm, checked against direct implementations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cspkit.measures.error_control import BH, HOLM, adjust, control, survivors


def bh_by_hand(p: list[float]) -> list[float]:
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m - 1, -1, -1):
        i = order[rank]
        running = min(running, p[i] * m / (rank + 1))
        q[i] = running
    return q


def holm_by_hand(p: list[float]) -> list[float]:
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, p[i] * (m - rank)))
        out[i] = running
    return out


@pytest.mark.parametrize("seed", range(5))
def test_adjusted_p_values_equal_direct_implementations(seed):
    p = list(np.random.default_rng(seed).uniform(0, 0.2, 15))
    assert adjust(p, BH) == pytest.approx(bh_by_hand(p))
    assert adjust(p, HOLM) == pytest.approx(holm_by_hand(p))


@pytest.mark.parametrize("seed", range(5))
def test_holm_is_statsmodels_holm_exactly(seed):
    """Holm is computed here (statsmodels' runs a full garbage collection per call): the
    same floating-point values, ties and values capped at 1 included."""
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 0.3, 40) ** 2
    p[:6] = p[0]
    assert np.array_equal(adjust(p, HOLM), multipletests(p, method="holm")[1])


def test_control_demotes_what_does_not_survive_and_skips_untested_rows():
    frame = pd.DataFrame({
        "p_value": [0.001, 0.02, 0.04, None, 0.3],
        "verdict": ["significant increase", "significant decrease", "significantly higher",
                    "too few to tell", "no significant change"]})
    out, family = control(frame, "example", alpha=0.05)
    # BH q-values: 0.004, 0.04, 0.0533, (none), 0.3.
    assert family.tests == 4 and family.significant == 2
    assert list(out["verdict"]) == ["significant increase", "significant decrease",
                                    "no significant difference", "too few to tell",
                                    "no significant change"]
    assert list(out["verdict_unadjusted"]) == list(frame["verdict"])
    assert np.isnan(out["q_value"].iloc[3])
    assert "4 tests, Benjamini–Hochberg at 5%, 2 significant" in family.describe()


def test_holm_is_stricter_than_bh():
    p = [0.02, 0.03, 0.04, 0.045]
    assert survivors(p, alpha=0.05, procedure=BH) == [True] * 4
    assert survivors(p, alpha=0.05, procedure=HOLM) == [False] * 4


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="procedure"):
        adjust([0.1], "Bonferroni-ish")
    with pytest.raises(ValueError, match="between 0 and 1"):
        adjust([1.5])
    assert adjust([]).size == 0
    # An exact test's sum of probabilities can exceed 1 by rounding: taken as 1.
    assert adjust([1.00000000000001, 0.5]).max() == 1.0
