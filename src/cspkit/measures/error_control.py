"""Error control across a document: every test belongs to a declared family, and significance
is decided across the family, not test by test.

A strategic assessment runs hundreds of tests (every issue, every ward per issue, every month
of every chart). At 5% each, chance alone would make some of them 'significant' in every
document. So:
- tables decide significance with the Benjamini–Hochberg procedure across their family
  (controls the false discovery rate: of the changes a table calls significant, at most
  alpha are expected to be false), and
- a statement promoted to the key findings needs the Holm procedure across its family
  (controls the family-wise error rate: the chance of any false finding is at most alpha).

Only tests that were actually run count towards a family: a 'too few to tell' row makes no
claim and is not a test. The adjusted p-values are statsmodels' `multipletests` for BH and its
Holm arithmetic done here (both tested equal to a direct implementation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from cspkit.measures.change import DECREASE, INCREASE, NO_CHANGE

BH = "Benjamini–Hochberg"
HOLM = "Holm"
_METHODS = {BH: "fdr_bh", HOLM: "holm"}
# Each significant verdict of the measures, and what it reads when control demotes it.
DEMOTED = {INCREASE: NO_CHANGE, DECREASE: NO_CHANGE,
           "significantly higher": "no significant difference",
           "significantly lower": "no significant difference",
           "rising": "no significant trend", "falling": "no significant trend"}
SIGNIFICANT = tuple(DEMOTED)
# Verdicts that carry no test: never part of a family.
UNTESTED = ("too few to tell", "too few years to tell", "not compared", "", None)


def adjust(p_values: Sequence[float], procedure: str = BH) -> np.ndarray:
    """Adjusted p-values (q-values for BH) of `procedure` over `p_values`; empty in, empty out.
    A test is significant at level alpha when its adjusted p-value is below alpha."""
    if procedure not in _METHODS:
        raise ValueError(f"procedure must be one of {', '.join(_METHODS)}, not {procedure!r}")
    values = np.asarray(list(p_values), dtype=float)
    if values.size == 0:
        return values
    # Exact tests summing probabilities can land a hair above 1 (1.00000000000001).
    if np.isnan(values).any() or (values < -1e-9).any() or (values > 1 + 1e-9).any():
        raise ValueError("p-values must be numbers between 0 and 1")
    values = np.clip(values, 0.0, 1.0)
    if procedure == HOLM:
        return _holm(values)
    return np.asarray(multipletests(values, method=_METHODS[procedure])[1])


def _holm(values: np.ndarray) -> np.ndarray:
    """statsmodels' Holm step-down, operation for operation, without the full garbage
    collection it runs on every call (about 0.2 s each with a report's objects alive)."""
    order = np.argsort(values)
    stepped = np.maximum.accumulate(values[order] * np.arange(values.size, 0, -1))
    stepped[stepped > 1] = 1
    out = np.empty_like(stepped)
    out[order] = stepped
    return out


@dataclass(frozen=True)
class Family:
    """A declared family of tests: what it holds, how many tests it ran, the procedure and
    how many survived. Documents list their families in the method section."""

    name: str
    tests: int
    procedure: str
    alpha: float
    significant: int

    def renamed(self, name: str) -> Family:
        """The same family under the name a document gives it."""
        return replace(self, name=name)

    def describe(self) -> str:
        """'Change by type of crime: 14 tests, Benjamini–Hochberg at 5%, 3 significant.'"""
        return (f"{self.name}: {self.tests} test{'s' if self.tests != 1 else ''}, "
                f"{self.procedure} at {level_text(self.alpha)}, {self.significant} significant")


def control(frame: pd.DataFrame, name: str, *, alpha: float, procedure: str = BH,
            p_column: str = "p_value", verdict_column: str = "verdict",
            adjusted_column: str = "q_value") -> tuple[pd.DataFrame, Family]:
    """`frame` with `adjusted_column` added (adjusted p-values over the rows that were
    tested) and `verdict_column` rewritten: a significant verdict whose adjusted p-value is
    not below `alpha` is demoted ('significant increase' -> 'no significant change',
    'significantly higher' -> 'no significant difference'; see DEMOTED). The raw verdict is kept in
    `<verdict_column>_unadjusted`. Returns the frame and its Family record."""
    out = frame.copy()
    tested = ~out[verdict_column].isin(UNTESTED) & out[verdict_column].notna() \
        & out[p_column].notna()
    adjusted = pd.Series(np.nan, index=out.index, dtype=float)
    if tested.any():
        adjusted[tested] = adjust(out.loc[tested, p_column].astype(float), procedure)
    out[f"{verdict_column}_unadjusted"] = out[verdict_column]
    out[adjusted_column] = adjusted
    demote = out[verdict_column].isin(SIGNIFICANT) & ~(adjusted < alpha)
    out.loc[demote, verdict_column] = out.loc[demote, verdict_column].map(DEMOTED)
    family = Family(name, int(tested.sum()), procedure, alpha,
                    int(out[verdict_column].isin(SIGNIFICANT).sum()))
    return out, family


def level_text(alpha: float) -> str:
    """'5%', '4%', '0.11%': a significance level as a reader writes it."""
    return f"{alpha * 100:.2g}%"


def budget(alpha: float, headline_share: float, families: int) -> tuple[float, float]:
    """A document's error budget for change claims split in two: (the level of the headline
    family, the level of each of `families` further families). By the union bound, a
    document in which nothing changed claims a change with probability at most `alpha`."""
    if not 0 < headline_share <= 1:
        raise ValueError(f"headline_share must be in (0, 1], got {headline_share}")
    rest = alpha * (1 - headline_share)
    return alpha * headline_share, (rest / families if families else 0.0)


def survivors(p_values: Sequence[float], *, alpha: float, procedure: str = HOLM) -> list[bool]:
    """Which of `p_values` survive `procedure` at `alpha` (for promoting to key findings)."""
    return [bool(q < alpha) for q in adjust(p_values, procedure)]
