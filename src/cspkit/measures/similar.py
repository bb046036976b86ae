"""cspkit similar districts: for each district, the districts most like it on open data.

In the spirit of the Home Office's most similar groups of CSPs, but cspkit's own method, on the
data the package ships, so anyone can reproduce it:

Variables (one row per current district, from `store.similar_inputs.district_inputs`):

- ``population``: residents, ONS mid-year estimate (log10, so a district twice the size is as
  far as one half the size);
- ``density``: residents per square km (log10), from the LSOA land areas and populations;
- ``share_15_29``: share of residents aged 15 to 29, the ages at which offending and
  victimisation peak (ONS mid-year estimates by single year of age);
- ``share_65_plus``: share of residents aged 65 and over;
- ``imd_score``: IoD 2019 average score of the district's LSOAs (deprivation, England only);
- ``rural_share``: share of residents living in LSOAs classed rural (ONS Rural Urban
  Classification 2011: classes D1..F2 'Rural town and fringe', 'Rural village and dispersed');
- ``household_size``: residents per household, census 2011.

Each variable is transformed (log10 for population and density), then standardised to a
z-score across all the districts that have every variable (so England's current districts,
as IoD 2019 covers England only; population standard deviation). The distance between two
districts is the Euclidean distance between their weighted z-scores, with equal weights
(`WEIGHTS`). A district's family is the `size` districts nearest to it (itself excluded),
nearest first, ties broken by district code, so the family is the same whatever the order of
the input rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cspkit.measures.areas import AreaSelection, memoised
from cspkit.store.similar_inputs import district_inputs
from cspkit.store.tables import WarehouseLike, duckdb_con

# (column, what it is, log10 before standardising)
VARIABLES: list[tuple[str, str, bool]] = [
    ("population", "residents (mid-year estimate), log10", True),
    ("density", "residents per sq km, log10", True),
    ("share_15_29", "share of residents aged 15-29", False),
    ("share_65_plus", "share of residents aged 65 and over", False),
    ("imd_score", "IoD 2019 average score", False),
    ("rural_share", "share of residents in rural LSOAs (RUC 2011)", False),
    ("household_size", "residents per household (census 2011)", False),
]
WEIGHTS: dict[str, float] = {name: 1.0 for name, _, _ in VARIABLES}
DEFAULT_SIZE = 15
# Shown to a reader: enough digits to compare, no false precision.
DECIMALS = {"density": 1, "share_15_29": 4, "share_65_plus": 4, "imd_score": 3,
            "rural_share": 4, "household_size": 3}
NAME = "cspkit similar districts"


class SimilarError(ValueError):
    """The district cannot be given a family (it lacks an input, or is not a district)."""


@dataclass(frozen=True)
class SimilarFamily:
    """A district's family: `members` (rank, code, name, distance and each input), nearest
    first, and the districts left out of the comparison for lack of an input."""

    code: str
    name: str
    members: pd.DataFrame
    pool: int                     # districts compared (every input held)
    left_out: tuple[str, ...]     # districts lacking an input

    @property
    def codes(self) -> list[str]:
        return [str(c) for c in self.members["code"]]


def variables() -> list[str]:
    return [name for name, _, _ in VARIABLES]


def _complete(inputs: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The rows holding every variable (sorted by code, so results do not depend on the
    input order), and the codes of those that do not."""
    missing = [name for name in ["code", *variables()] if name not in inputs.columns]
    if missing:
        raise SimilarError(f"the inputs lack the column(s) {', '.join(missing)}")
    frame = inputs.sort_values("code", kind="mergesort").reset_index(drop=True)
    if frame["code"].duplicated().any():
        raise SimilarError(f"district {frame.loc[frame['code'].duplicated(), 'code'].iloc[0]} "
                           "is given twice")
    values = frame[variables()].apply(pd.to_numeric, errors="coerce")
    ok = values.notna().all(axis=1)
    for name, _, logged in VARIABLES:
        if logged:
            ok &= values[name] > 0
    return frame[ok].reset_index(drop=True), tuple(frame.loc[~ok, "code"].astype(str))


def standardise(inputs: pd.DataFrame) -> pd.DataFrame:
    """z-scores (log10 first where the variable says so) of every complete district: one
    row per district, indexed by code, one column per variable. A variable with no spread
    scores 0 everywhere."""
    frame, _ = _complete(inputs)
    out = pd.DataFrame(index=pd.Index(frame["code"].astype(str), name="code"))
    for name, _, logged in VARIABLES:
        values = frame[name].astype(float).to_numpy()
        if logged:
            values = np.log10(values)
        spread = values.std()
        out[name] = (values - values.mean()) / spread if spread > 0 else 0.0
    return out


def distances(inputs: pd.DataFrame, code: str,
              weights: Mapping[str, float] | None = None) -> pd.Series:
    """Weighted Euclidean distance in z-scores from `code` to every other complete district,
    nearest first, ties by code."""
    weights = {**WEIGHTS, **(weights or {})}
    z = standardise(inputs)
    if code not in z.index:
        raise SimilarError(_why_not(inputs, code))
    w = np.array([weights[name] for name in z.columns], dtype=float)
    diff = z.to_numpy() - z.loc[code].to_numpy()
    dist = pd.Series(np.sqrt((w * diff ** 2).sum(axis=1)), index=z.index, name="distance")
    dist = dist.drop(code)
    order = sorted(dist.index, key=lambda c: (dist[c], c))
    return dist[order]


def similar_districts(inputs: pd.DataFrame, code: str, size: int = DEFAULT_SIZE,
                      weights: Mapping[str, float] | None = None) -> SimilarFamily:
    """The `size` districts most similar to `code`, with each one's distance and inputs."""
    if size < 1:
        raise SimilarError(f"the family size must be 1 or more, got {size}")
    frame, left_out = _complete(inputs)
    nearest = distances(inputs, code, weights).head(size)
    by_code = frame.set_index(frame["code"].astype(str))
    columns = [c for c in frame.columns if c != "code"]
    members = by_code.loc[list(nearest.index), columns].reset_index()
    members.insert(0, "rank", range(1, len(members) + 1))
    members.insert(2 if "name" not in members.columns else 3, "distance",
                   [round(float(d), 4) for d in nearest])
    name = str(by_code.loc[code, "name"]) if "name" in by_code.columns else code
    return SimilarFamily(code, name, members.reset_index(drop=True), len(frame), left_out)


def _why_not(inputs: pd.DataFrame, code: str) -> str:
    row = inputs[inputs["code"] == code]
    if row.empty:
        return (f"{code} is not a current district (one in the newest LSOA to district "
                "lookup held), so it has no similar districts")
    values = pd.to_numeric(row.iloc[0][variables()], errors="coerce")
    lacking = [name for name, _, logged in VARIABLES
               if pd.isna(values[name]) or (logged and values[name] <= 0)]
    label = row.iloc[0].get("name", code)
    return (f"{label} ({code}) lacks {', '.join(lacking) or 'an input'}, so it cannot be "
            "compared with the other districts (IoD 2019 district summaries cover England "
            "only)")


def method_text(size: int = DEFAULT_SIZE) -> str:
    """How the family is made, for a document's method section and notes."""
    listed = "; ".join(text for _, text, _ in VARIABLES)
    return (f"A district's {NAME} are the {size} districts nearest to it on: {listed}. Each "
            "is standardised to a z-score across England's current districts and weighted "
            "equally; nearness is the Euclidean distance between the z-scores, ties broken by "
            "district code. This is cspkit's own grouping from open data, not the Home "
            "Office's most similar groups.")


# --------------------------------------------------------------------------- on a warehouse


def inputs_of(con: WarehouseLike) -> pd.DataFrame:
    """Every current district's inputs, from the store (kept until something is ingested).
    They draw on tables only the DuckDB warehouse holds (age bands, lookups as published,
    deprivation by district): EngineError on another engine."""
    return memoised(con, ("similar-inputs",),
                    lambda: district_inputs(duckdb_con(con))).copy()


def family_of(con: WarehouseLike, area: AreaSelection,
              size: int = DEFAULT_SIZE) -> SimilarFamily:
    """The family of a district held in the warehouse."""
    if area.level != "lad":
        raise SimilarError(f"{area.name} is a {area.level}: cspkit similar districts are "
                           "found for districts (local authority districts) only")
    return similar_districts(inputs_of(con), area.code, size)


def family_table(con: WarehouseLike, area: AreaSelection,
                 size: int = DEFAULT_SIZE) -> pd.DataFrame:
    """The `cspkit measure similar` table: the district itself (rank 0, distance 0), then
    its family nearest first, each with its inputs."""
    found = family_of(con, area, size)
    inputs = inputs_of(con)
    own = inputs[inputs["code"] == area.code].copy()
    own.insert(0, "rank", 0)
    own.insert(3, "distance", 0.0)
    frame = pd.concat([own[found.members.columns], found.members], ignore_index=True)
    frame = frame.round(DECIMALS)
    frame.attrs["method"] = method_text(size)
    return frame
