"""Hot spots and cold spots of an area's LSOAs: Getis-Ord Gi* with false-discovery-rate control.

For each LSOA the Gi* statistic (Getis & Ord 1992; Ord & Getis 1995) compares the events in the
LSOA and its neighbours with what the area's mean would put there:

    z_i = (sum_j w_ij x_j - xbar W_i) / (s sqrt((n S1_i - W_i^2) / (n - 1)))

with x the count of each of the area's n LSOAs (0 where none), xbar their mean, s their standard
deviation (divisor n), W_i = sum_j w_ij and S1_i = sum_j w_ij^2. The weights are binary
contiguity (Queen: LSOAs sharing a boundary or a corner; Rook: a boundary) on the LSOA polygons
held in the warehouse, with the LSOA itself included (w_ii = 1, the 'star'), computed by PySAL
(`libpysal` weights, `esda.G_Local`). Only the area's own LSOAs are neighbours: an LSOA on the
area's edge has fewer, and events beyond the edge do not count.

The p-value is two-sided from the normal approximation (the z-score against the standard
normal), and the family of all LSOAs tested is controlled for the false discovery rate with the
Benjamini-Hochberg procedure: an LSOA is a hot (cold) spot when its q-value is below
`settings.alpha` and its z-score is positive (negative).

Not tested (but still counted in the mean and spread): an LSOA with no neighbour among the
area's LSOAs, or no boundary held (an 'island': Gi* would be its own count against the mean,
which says nothing about a cluster), and an LSOA whose neighbourhood is the whole area (n S1_i =
W_i^2: nothing is left to compare it with).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from esda.getisord import G_Local
from libpysal.graph import Graph
from scipy import stats
from shapely.geometry.base import BaseGeometry

from cspkit.errors import CspkitError
from cspkit.measures.areas import AreaSelection, events_vintage, reads_warehouse
from cspkit.measures.error_control import BH, adjust
from cspkit.measures.hotspots import lsoa_counts, lsoa_names
from cspkit.measures.periods import Period
from cspkit.measures.settings import Settings
from cspkit.store.geography import lsoa_boundary_wkb
from cspkit.store.tables import EngineError, Warehouse, WarehouseLike, duckdb_con

HOT = "hot spot"
COLD = "cold spot"
NOT_SIGNIFICANT = "not significant"
NOT_TESTED = "not tested"
# The normal approximation of Gi* needs enough LSOAs for the mean and spread to be estimated and
# for each neighbourhood to be a small part of the area; 30 is the usual rule of thumb (e.g.
# ESRI's Hot Spot Analysis guidance). A ward (a handful of LSOAs) is refused.
MIN_LSOAS = 30
WEIGHTS = {"queen": "Queen contiguity (LSOAs sharing a boundary or a corner)",
           "rook": "Rook contiguity (LSOAs sharing a boundary)"}
TEST = ("two-sided p-values from the normal approximation of the Gi* z-score, "
        f"{BH} false discovery rate across the LSOAs tested")


class HotspotError(CspkitError, ValueError):
    """The hot-spot test cannot be run as asked; the message names the argument at fault."""


@dataclass(frozen=True)
class LsoaWeights:
    """Binary contiguity weights over every LSOA of an area, self included (Gi*)."""

    graph: Graph                   # w_ij = 1 for neighbours and for i itself
    kind: str                      # 'queen' | 'rook'
    islands: tuple[str, ...]       # boundary held but no neighbour among the area's LSOAs
    no_boundary: tuple[str, ...]   # no boundary held: no neighbours either

    def neighbours(self) -> dict[str, set[str]]:
        """Each LSOA's neighbours, itself excluded."""
        adjacency = self.graph.adjacency
        out: dict[str, set[str]] = {str(c): set() for c in self.graph.unique_ids}
        for (focal, neighbour), weight in adjacency.items():
            if weight and focal != neighbour:
                out[str(focal)].add(str(neighbour))
        return out

    @property
    def description(self) -> str:
        return (f"binary {WEIGHTS[self.kind]}, each LSOA included in its own neighbourhood "
                "(Gi*); neighbours only among the area's own LSOAs")


def lsoa_boundaries(con: WarehouseLike, codes: Sequence[str], vintage: str
                    ) -> dict[str, BaseGeometry]:
    """The boundary held for each LSOA code of `vintage` (WGS84 lon/lat as published); codes
    with none held are left out. Boundaries are held only in the DuckDB warehouse: EngineError
    on another engine."""
    shapes = lsoa_boundary_wkb(_boundaries_held(con), list(codes), vintage)
    geoms = {code: shapely.from_wkb(wkb) for code, wkb in shapes.items()}
    return {c: g for c, g in geoms.items() if g is not None and not g.is_empty}


def _boundaries_held(con: WarehouseLike) -> duckdb.DuckDBPyConnection:
    """The DuckDB warehouse holding the boundaries (Spark and Parquet exports have none)."""
    if isinstance(con, Warehouse) and not con.has_con:
        raise EngineError(
            f"the Gi* hot-spot test needs LSOA boundaries, which only the DuckDB warehouse "
            f"holds ({con.engine} over {con.location} has none): run it on the warehouse "
            f"itself (--engine duckdb)")
    return duckdb_con(con)


def contiguity(codes: Sequence[str], boundaries: Mapping[str, BaseGeometry],
               kind: str = "queen") -> LsoaWeights:
    """Binary contiguity over `codes` from their polygons, with w_ii = 1; codes without a
    polygon, and polygons touching none of the others, have only themselves."""
    if kind not in WEIGHTS:
        raise HotspotError(f"argument 'weights' must be one of {', '.join(WEIGHTS)}, "
                           f"got {kind!r}")
    codes = list(dict.fromkeys(str(c) for c in codes))
    drawn = [c for c in codes if c in boundaries]
    focal: list[str] = []
    neighbour: list[str] = []
    if len(drawn) > 1:
        # Vertex sharing (libpysal's default): ONS boundaries share the vertices of common edges.
        built = Graph.build_contiguity(
            gpd.GeoSeries([boundaries[c] for c in drawn], index=drawn, crs="EPSG:4326"),
            rook=kind == "rook")
        for (i, j), weight in built.adjacency.items():
            if weight and i != j:
                focal.append(str(i))
                neighbour.append(str(j))
    linked = set(focal)
    focal += codes
    neighbour += codes
    graph = Graph.from_arrays(np.array(focal, dtype=object), np.array(neighbour, dtype=object),
                              np.ones(len(focal)))
    return LsoaWeights(graph=graph, kind=kind,
                       islands=tuple(c for c in drawn if c not in linked),
                       no_boundary=tuple(c for c in codes if c not in boundaries))


def gi_star(counts: pd.Series, weights: LsoaWeights, *, alpha: float = 0.05) -> pd.DataFrame:
    """Gi* for each place of `counts` (indexed by code, aligned with `weights`): count,
    neighbours, gi_z, p_value, q_value and classification, in the order of `counts`."""
    ids = [str(c) for c in weights.graph.unique_ids]
    if sorted(ids) != sorted(str(c) for c in counts.index):
        raise HotspotError("argument 'counts' must hold exactly the places of the weights")
    y = counts.reindex(ids).to_numpy(dtype=float)
    neighbours = weights.graph.cardinalities.reindex(ids).to_numpy() - 1   # self excluded
    w_i = neighbours + 1.0
    n = len(y)
    no_neighbours = set(weights.islands) | set(weights.no_boundary)
    # n S1_i = W_i^2 (binary weights: W_i = n) leaves nothing to compare the LSOA with; equal
    # counts everywhere leave no spread: neither can be tested.
    tested = (np.array([c not in no_neighbours for c in ids]) & (n * w_i - w_i**2 > 0)
              & (np.ptp(y) > 0 if n else False))
    z = np.full(n, np.nan)
    p = np.full(n, np.nan)
    q = np.full(n, np.nan)
    if tested.any():
        # permutations=0: the analytic moments only; transform 'B' keeps the weights binary.
        # Untestable places divide 0 by 0 inside esda; their z is discarded just below.
        with np.errstate(invalid="ignore", divide="ignore"):
            found = G_Local(y, weights.graph, transform="B", star=True, permutations=0).Zs
        z[tested] = found[tested]
        p[tested] = 2 * stats.norm.sf(np.abs(z[tested]))
        q[tested] = adjust(p[tested], BH)   # statsmodels' fdr_bh
    classification = np.where(tested, NOT_SIGNIFICANT, NOT_TESTED).astype(object)
    significant = tested & (q < alpha)
    classification[significant & (z > 0)] = HOT
    classification[significant & (z < 0)] = COLD
    out = pd.DataFrame({"code": ids, "count": y.astype(np.int64), "neighbours": neighbours,
                        "gi_z": z, "p_value": p, "q_value": q,
                        "classification": classification})
    return out.set_index("code").reindex([str(c) for c in counts.index]).reset_index()


@reads_warehouse
def lsoa_hotspots(con: WarehouseLike, area: AreaSelection, period: Period, *,
                  category: str | None = None, weights: str = "queen",
                  settings: Settings | None = None, source: str = "police.uk"
                  ) -> pd.DataFrame:
    """Hot and cold spots among the area's LSOAs (every LSOA, 0 where no events), by Getis-Ord
    Gi* with binary contiguity weights and Benjamini-Hochberg FDR control at settings.alpha.

    Columns: lsoa_code, lsoa_name, ward_name, count, neighbours (self excluded), gi_z,
    p_value (two-sided, normal approximation), q_value (BH), classification ('hot spot',
    'cold spot', 'not significant', or 'not tested' for an LSOA without neighbours or whose
    neighbourhood is the whole area), period, category. Sorted by gi_z, highest first.
    `attrs` states the weights, the test, how many LSOAs were tested and what was not.

    HotspotError (naming the argument) when the area has fewer than MIN_LSOAS LSOAs, no LSOA
    boundaries are held for them, or `weights` is not 'queen' or 'rook'."""
    settings = settings or Settings()
    _boundaries_held(con)   # before counting: the test cannot end on another engine
    if weights not in WEIGHTS:
        raise HotspotError(f"argument 'weights' must be one of {', '.join(WEIGHTS)}, "
                           f"got {weights!r}")
    counts = lsoa_counts(con, area, period, category=category, source=source)
    vintage = events_vintage(con, area, source)
    if len(counts) < MIN_LSOAS:
        raise HotspotError(
            f"argument 'area': {area.name} has {len(counts)} LSOAs ({vintage} edition); the "
            f"Gi* hot-spot test needs at least {MIN_LSOAS} (use a district or larger area)")
    boundaries = lsoa_boundaries(con, counts.index.tolist(), vintage)
    if not boundaries:
        raise HotspotError(
            f"argument 'area': no boundaries are loaded for the {len(counts)} {vintage} LSOAs "
            f"of {area.name}; load them with `cspkit ingest reference` (an ONS LSOA "
            f"{vintage} boundary file)")
    lsoa_weights = contiguity(counts.index.tolist(), boundaries, weights)
    result = gi_star(counts, lsoa_weights, alpha=settings.alpha)
    names = lsoa_names(con, vintage, counts.index.tolist()).drop_duplicates("lsoa_code")
    result = (result.rename(columns={"code": "lsoa_code"})
              .merge(names, how="left", on="lsoa_code"))
    result["period"] = period.label
    result["category"] = category or "All crime and ASB"
    result = result[["lsoa_code", "lsoa_name", "ward_name", "count", "neighbours", "gi_z",
                     "p_value", "q_value", "classification", "period", "category"]]
    result = (result.sort_values(["gi_z", "lsoa_code"], ascending=[False, True],
                                 na_position="last").reset_index(drop=True))
    result.attrs = _attrs(result, lsoa_weights, vintage, settings.alpha, category)
    return result


def _attrs(result: pd.DataFrame, weights: LsoaWeights, vintage: str, alpha: float,
           category: str | None) -> dict[str, object]:
    classes = result["classification"]
    untested = result.loc[classes == NOT_TESTED, "lsoa_code"].tolist()
    notes = []
    if result["count"].nunique() == 1:
        notes.append("every LSOA has the same count, so none can stand out: nothing tested")
    if weights.islands:
        notes.append(f"{len(weights.islands)} LSOA(s) with no neighbour among the area's LSOAs "
                     f"not tested ({', '.join(weights.islands)}): Gi* would be the LSOA's own "
                     "count against the mean, not a cluster")
    if weights.no_boundary:
        notes.append(f"{len(weights.no_boundary)} LSOA(s) with no boundary held not tested "
                     f"({', '.join(weights.no_boundary)})")
    whole = [c for c in untested if c not in weights.islands and c not in weights.no_boundary]
    if whole and result["count"].nunique() > 1:
        notes.append(f"{len(whole)} LSOA(s) whose neighbourhood is the whole area not tested")
    return {
        "statistic": "Getis-Ord Gi*",
        "weights": weights.description,
        "weights_kind": weights.kind,
        "star": True,
        "test": TEST,
        "procedure": BH,
        "alpha": alpha,
        "lsoa_vintage": vintage,
        "category": category or "All crime and ASB",
        "n_lsoas": len(result),
        "n_tested": int((classes != NOT_TESTED).sum()),
        "n_hot": int((classes == HOT).sum()),
        "n_cold": int((classes == COLD).sum()),
        "not_tested": untested,
        "islands": list(weights.islands),
        "no_boundary": list(weights.no_boundary),
        "notes": notes,
    }
