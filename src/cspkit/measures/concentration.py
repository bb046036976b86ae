"""How concentrated events are in places: top-5%/10% shares and the (generalized) Gini.

Input is one count per place, places with no events included as 0: leaving them out would
make crime look less concentrated than it is.

Top shares: the top p% of places is the ceil(p * N) places with the most events, ties broken
by code (ascending) so the list is reproducible; its share is their events / all events.

Gini (standard, 'biased' form, as DescTools::Gini(unbiased = FALSE) in R): with counts
sorted ascending x_(1) <= ... <= x_(N) and n = sum of counts,

    G = sum_i (2i - N - 1) x_(i) / (N n)

which is 1 - 2 x (area under the Lorenz curve, trapezoids at i/N). It is 0 when every place
has the same count and at most (N - 1) / N (all events in one place): [0, 0, 0, 10] gives 0.75.

Generalized Gini (Bernasco & Steenbeek 2017, 'More places than crimes', J. Quantitative
Criminology 33:451-467): with fewer events than places (n < N) even the most even
distribution possible, one event in each of n places, has G = 1 - n/N, so G overstates
concentration. They measure against that line of maximal equality instead of the diagonal:

    G' = max(1, N/n) * (G - 1) + 1

equal to G when n >= N, and 0 when n < N events fall in n different places. This is the
formula in their R package lorenzgini (gini(generalized = TRUE, unbiased = FALSE)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Concentration:
    """Concentration of events over places.

    n_places, n_events: N and n.
    top_shares: {share of places (0.05, 0.10): share of events in them}; None if no events.
    top_counts: {share of places: number of places it means, ceil(p * N)}.
    gini: standard Gini G; generalized_gini: Bernasco & Steenbeek's G'. None if no events.
    top_places: the places in the largest top group: place, count, share, cumulative_share,
        rank, and one bool column per top group (e.g. in_top_5pct).
    """

    n_places: int
    n_events: int
    top_shares: dict[float, float | None]
    top_counts: dict[float, int]
    gini: float | None
    generalized_gini: float | None
    top_places: pd.DataFrame = field(compare=False, repr=False)


def _counts(counts: pd.Series) -> pd.Series:
    """The counts as int64, or ValueError naming the first place whose count is not one."""
    if not counts.index.is_unique:
        dup = counts.index[counts.index.duplicated()][0]
        raise ValueError(f"place {dup!r} appears more than once; give one count per place")
    numeric = pd.to_numeric(counts, errors="coerce")
    bad = numeric.isna() | (numeric < 0) | (numeric % 1 != 0)
    if bad.any():
        place = counts.index[bad.to_numpy()][0]
        value = counts[place]
        if isinstance(value, np.generic):
            value = value.item()  # show -1, not np.int64(-1)
        raise ValueError(f"place {place!r}: {value!r} is not a count "
                         f"(a whole number, 0 or more)")
    return numeric.astype("int64")


def gini(counts: Sequence[float] | np.ndarray | pd.Series) -> float | None:
    """Standard Gini coefficient G of counts per place (see the module notes); None if all 0."""
    x = np.sort(np.asarray(counts, dtype=float))
    n_places, total = len(x), x.sum()
    if n_places == 0 or total == 0:
        return None
    i = np.arange(1, n_places + 1)
    return float(((2 * i - n_places - 1) * x).sum() / (n_places * total))


def generalized_gini(counts: Sequence[float] | np.ndarray | pd.Series) -> float | None:
    """Bernasco & Steenbeek's G' = max(1, N/n) * (G - 1) + 1; None if there are no events."""
    x = np.asarray(counts, dtype=float)
    g = gini(x)
    if g is None:
        return None
    return max(1.0, len(x) / x.sum()) * (g - 1) + 1


def _pct_name(share: float) -> str:
    """0.05 -> 'in_top_5pct'."""
    return f"in_top_{share * 100:g}pct"


def concentration(counts: pd.Series, shares: Sequence[float] = (0.05, 0.10)) -> Concentration:
    """Concentration of events over places, from a Series of counts indexed by place code."""
    counts = _counts(counts)
    if not all(0 < s <= 1 for s in shares):
        raise ValueError(f"shares of places must be in (0, 1], got {list(shares)}")
    n_places, n_events = len(counts), int(counts.sum())
    ranked = (pd.DataFrame({"place": counts.index, "count": counts.to_numpy()})
              .sort_values(["count", "place"], ascending=[False, True], kind="stable")
              .reset_index(drop=True))
    ranked["share"] = ranked["count"] / n_events if n_events else np.nan
    ranked["cumulative_share"] = ranked["share"].cumsum()
    ranked["rank"] = np.arange(1, n_places + 1)
    top_counts = {s: math.ceil(round(s * n_places, 9)) for s in shares}
    top_shares: dict[float, float | None] = {
        s: float(ranked["count"].iloc[:k].sum() / n_events) if n_events else None
        for s, k in top_counts.items()}
    for s, k in top_counts.items():
        ranked[_pct_name(s)] = ranked["rank"] <= k
    widest = max(top_counts.values(), default=0)
    return Concentration(
        n_places=n_places, n_events=n_events, top_shares=top_shares, top_counts=top_counts,
        gini=gini(counts), generalized_gini=generalized_gini(counts),
        top_places=ranked.iloc[:widest].reset_index(drop=True))
