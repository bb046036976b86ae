"""Hot spots by Getis-Ord Gi*: the weights against an independent contiguity computation on the
shipped boundary file, the z-scores against the Gi* formula written out in numpy, the q-values
against a direct Benjamini-Hochberg, a 3x3 grid worked by hand, and the refusals."""

from __future__ import annotations

import gzip
import io
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from cspkit.cli import app
from cspkit.measures.areas import custom_area, select_area
from cspkit.measures.counts import ALL_CRIME, ASB
from cspkit.measures.getis_ord import (
    COLD,
    HOT,
    MIN_LSOAS,
    NOT_SIGNIFICANT,
    NOT_TESTED,
    HotspotError,
    contiguity,
    gi_star,
    lsoa_boundaries,
    lsoa_hotspots,
)
from cspkit.measures.periods import parse_period
from cspkit.store import connect

BEDFORD = "E06000055"
BOUNDARIES = Path("geography") / "boundaries" / "lsoa21" / "E06000055_Bedford_lsoa21.geojson.gz"


# --------------------------------------------------------------------------- independent sums


def shipped_polygons(demo_dir: Path) -> dict[str, shapely.Geometry]:
    """Bedford's 2021 LSOA polygons read straight from the shipped GeoJSON, not the warehouse."""
    with gzip.open(demo_dir / BOUNDARIES, "rt", encoding="utf-8") as handle:
        features = json.load(handle)["features"]
    return {f["properties"]["LSOA21CD"]: shapely.geometry.shape(f["geometry"])
            for f in features}


def touching(polygons: dict[str, shapely.Geometry]) -> dict[str, set[str]]:
    """Queen contiguity by shapely predicates: two polygons are neighbours when they share at
    least a point (intersect) and their interiors do not overlap."""
    codes = sorted(polygons)
    geoms = np.array([polygons[c] for c in codes])
    meets = shapely.intersects(geoms[:, None], geoms[None, :])
    overlaps = shapely.overlaps(geoms[:, None], geoms[None, :])
    return {c: {codes[j] for j in np.flatnonzero(meets[i] & ~overlaps[i]) if j != i}
            for i, c in enumerate(codes)}


def gi_star_numpy(x: np.ndarray, adjacency: np.ndarray) -> np.ndarray:
    """Getis & Ord (1995), self included: z = (sum_j w_ij x_j - xbar W_i) /
    (s sqrt((n S1_i - W_i^2) / (n - 1))), s the standard deviation with divisor n."""
    w = adjacency.astype(float) + np.eye(len(x))
    n = len(x)
    xbar = x.mean()
    s = math.sqrt((x**2).mean() - xbar**2)
    w_i = w.sum(axis=1)
    s1 = (w**2).sum(axis=1)
    return (w @ x - xbar * w_i) / (s * np.sqrt((n * s1 - w_i**2) / (n - 1)))


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """q_(k) = min over j >= k of p_(j) m / j, capped at 1, in the original order."""
    m = len(p)
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    q = np.empty(m)
    q[order] = q_sorted
    return q


def two_sided_normal(z: np.ndarray) -> np.ndarray:
    return np.array([math.erfc(abs(v) / math.sqrt(2)) for v in z])


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def polygons(demo_dir: Path) -> dict[str, shapely.Geometry]:
    return shipped_polygons(demo_dir)


@pytest.fixture(scope="module")
def bedford_events_2023(bedfordshire_events: pd.DataFrame) -> pd.DataFrame:
    return bedfordshire_events[(bedfordshire_events["lad_code"] == BEDFORD)
                               & bedfordshire_events["month"].str.startswith("2023-")]


def expected_counts(events: pd.DataFrame, lsoas: list[str], category: str) -> pd.Series:
    chosen = events["category"] != ASB if category == ALL_CRIME else events["category"] == ASB
    return events[chosen].groupby("lsoa_code").size().reindex(lsoas, fill_value=0)


# --------------------------------------------------------------------------- the weights


def test_queen_weights_match_shapely_contiguity(demo_warehouse, polygons, lsoa21_lookup):
    lsoas = sorted(lsoa21_lookup.loc[lsoa21_lookup["LAD23CD"] == BEDFORD, "LSOA21CD"].unique())
    assert len(lsoas) == 117 and set(polygons) == set(lsoas)
    weights = contiguity(lsoas, lsoa_boundaries(demo_warehouse, lsoas, "2021"), "queen")
    expected = touching(polygons)
    assert weights.neighbours() == expected
    assert weights.islands == () and weights.no_boundary == ()
    # Binary, with each LSOA its own neighbour (Gi*).
    adjacency = weights.graph.adjacency
    assert set(adjacency.unique()) == {1.0}
    assert all((c, c) in adjacency.index for c in lsoas)
    assert sum(len(v) for v in expected.values()) == 662   # 331 shared boundaries or corners


def test_rook_is_queen_without_corner_only_contacts(demo_warehouse, polygons):
    codes = sorted(polygons)
    held = lsoa_boundaries(demo_warehouse, codes, "2021")
    rook = contiguity(codes, held, "rook").neighbours()
    queen = contiguity(codes, held, "queen").neighbours()
    for code in codes:
        assert rook[code] <= queen[code]
        for other in queen[code] - rook[code]:   # corner only: the shared part is no line
            shared = polygons[code].intersection(polygons[other])
            assert shared.length == pytest.approx(0, abs=1e-9)


# --------------------------------------------------------------------------- the statistic


@pytest.mark.parametrize("category", [ALL_CRIME, ASB])
def test_bedford_2023_against_independent_gi_star(demo_warehouse, polygons, bedford_events_2023,
                                                  category):
    result = lsoa_hotspots(demo_warehouse, select_area(demo_warehouse, "Bedford"),
                           parse_period("2023"), category=category)
    codes = sorted(polygons)
    assert sorted(result["lsoa_code"]) == codes
    counts = expected_counts(bedford_events_2023, codes, category)
    table = result.set_index("lsoa_code").loc[codes]
    assert table["count"].tolist() == counts.tolist()

    neighbours = touching(polygons)
    adjacency = np.array([[other in neighbours[code] for other in codes] for code in codes])
    assert table["neighbours"].tolist() == adjacency.sum(axis=1).tolist()
    z = gi_star_numpy(counts.to_numpy(dtype=float), adjacency)
    np.testing.assert_allclose(table["gi_z"], z, rtol=1e-9)

    p = two_sided_normal(z)
    np.testing.assert_allclose(table["p_value"], p, rtol=1e-9, atol=1e-300)
    q = benjamini_hochberg(p)
    np.testing.assert_allclose(table["q_value"], q, rtol=1e-9, atol=1e-300)
    expected_class = np.where(q < 0.05, np.where(z > 0, HOT, COLD), NOT_SIGNIFICANT)
    assert table["classification"].tolist() == expected_class.tolist()

    attrs = result.attrs
    assert attrs["n_lsoas"] == attrs["n_tested"] == 117
    assert attrs["n_hot"] == int((expected_class == HOT).sum()) > 0
    assert attrs["n_cold"] == int((expected_class == COLD).sum())
    assert "Queen contiguity" in attrs["weights"] and "binary" in attrs["weights"]
    assert attrs["star"] is True and "Benjamini–Hochberg" in attrs["test"]
    assert "normal approximation" in attrs["test"]
    assert result["gi_z"].is_monotonic_decreasing
    assert (result["period"] == "2023").all() and (result["category"] == category).all()
    assert result["lsoa_name"].notna().all() and result["ward_name"].notna().all()


def test_bedford_2023_figures(demo_warehouse):
    """The figures the assessment reports, pinned (the test above proves them)."""
    area = select_area(demo_warehouse, "Bedford")
    crime = lsoa_hotspots(demo_warehouse, area, parse_period("2023"), category=ALL_CRIME)
    asb = lsoa_hotspots(demo_warehouse, area, parse_period("2023"), category=ASB)
    assert (crime.attrs["n_hot"], crime.attrs["n_cold"]) == (11, 0)
    assert (asb.attrs["n_hot"], asb.attrs["n_cold"]) == (10, 0)
    assert crime.iloc[0]["lsoa_name"] == "Bedford 012H"


# --------------------------------------------------------------------------- worked by hand


def grid(rows: int, cols: int) -> dict[str, shapely.Geometry]:
    return {f"r{r}c{c}": shapely.box(c, r, c + 1, r + 1) for r in range(rows)
            for c in range(cols)}


HOT_CENTRE = pd.Series([1, 1, 1, 1, 9, 1, 1, 1, 1],
                       index=[f"r{r}c{c}" for r in range(3) for c in range(3)])


def test_three_by_three_rook_by_hand():
    # n = 9, sum 17, xbar = 17/9, sum of squares 89, s^2 = 89/9 - (17/9)^2 = 512/81,
    # s = 16 sqrt(2) / 9.
    # Centre: W = 5 (itself and 4 edges), sum w x = 9 + 4 = 13, numerator 13 - 5 * 17/9 = 32/9,
    #   denominator s sqrt((9*5 - 25)/8) = 16 sqrt(5) / 9, so z = 2 / sqrt(5).
    # Edge: W = 4 (itself, centre, 2 corners), sum 12, numerator 40/9, same denominator:
    #   z = sqrt(5) / 2.
    # Corner: W = 3 (itself, 2 edges), sum 3, numerator 3 - 17/3 = -8/3,
    #   denominator s sqrt((27 - 9)/8) = 8 sqrt(2) / 3, so z = -1 / sqrt(2).
    weights = contiguity(list(HOT_CENTRE.index), grid(3, 3), "rook")
    result = gi_star(HOT_CENTRE, weights).set_index("code")
    expected = {"r1c1": 2 / math.sqrt(5)}
    expected |= {c: math.sqrt(5) / 2 for c in ("r0c1", "r1c0", "r1c2", "r2c1")}
    expected |= {c: -1 / math.sqrt(2) for c in ("r0c0", "r0c2", "r2c0", "r2c2")}
    for code, z in expected.items():
        assert result.loc[code, "gi_z"] == pytest.approx(z, rel=1e-12)
    assert result.loc["r1c1", "neighbours"] == 4 and result.loc["r0c0", "neighbours"] == 2
    # Nine places cannot carry a significant cluster: none survives.
    assert (result["classification"] == NOT_SIGNIFICANT).all()
    assert result.loc["r1c1", "p_value"] == pytest.approx(math.erfc(2 / math.sqrt(10)))


def test_three_by_three_queen_by_hand():
    # Corner: W = 4 (itself, 2 edges, the centre), sum 12: z = sqrt(5) / 2 as for a rook edge.
    # Edge: W = 6 (itself, 2 corners, 2 edges, the centre), sum 14, numerator 14 - 6*17/9 = 8/3,
    #   denominator s sqrt((54 - 36)/8) = 8 sqrt(2) / 3, so z = 1 / sqrt(2).
    # Centre: its neighbourhood is the whole grid (9 S1 = W^2 = 81): nothing to compare with.
    weights = contiguity(list(HOT_CENTRE.index), grid(3, 3), "queen")
    result = gi_star(HOT_CENTRE, weights).set_index("code")
    for code in ("r0c0", "r0c2", "r2c0", "r2c2"):
        assert result.loc[code, "gi_z"] == pytest.approx(math.sqrt(5) / 2, rel=1e-12)
    for code in ("r0c1", "r1c0", "r1c2", "r2c1"):
        assert result.loc[code, "gi_z"] == pytest.approx(1 / math.sqrt(2), rel=1e-12)
    centre = result.loc["r1c1"]
    assert centre["classification"] == NOT_TESTED and np.isnan(centre["gi_z"])
    assert np.isnan(centre["q_value"])
    # The BH family is the 8 places tested: the smallest p times 8 / 1 ...
    p = result["p_value"].dropna().to_numpy()
    np.testing.assert_allclose(result["q_value"].dropna(), benjamini_hochberg(p))


def test_islands_and_missing_boundaries_are_not_tested_but_counted():
    shapes = grid(3, 3) | {"island": shapely.box(10, 10, 11, 11)}
    counts = pd.concat([HOT_CENTRE, pd.Series({"island": 5, "unmapped": 2})])
    weights = contiguity(list(counts.index), shapes, "rook")
    assert weights.islands == ("island",) and weights.no_boundary == ("unmapped",)
    result = gi_star(counts, weights).set_index("code")
    for code in ("island", "unmapped"):
        assert result.loc[code, "classification"] == NOT_TESTED
        assert result.loc[code, "neighbours"] == 0 and np.isnan(result.loc[code, "q_value"])
    # They still count in the mean and spread: the grid's z-scores use all 11 counts.
    adjacency = np.zeros((11, 11), dtype=bool)
    codes = list(counts.index)
    rook = weights.neighbours()
    for i, a in enumerate(codes):
        for j, b in enumerate(codes):
            adjacency[i, j] = b in rook[a]
    z = gi_star_numpy(counts.to_numpy(dtype=float), adjacency)
    np.testing.assert_allclose(result.loc[codes[:9], "gi_z"], z[:9], rtol=1e-12)
    p = result["p_value"].dropna().to_numpy()
    assert len(p) == 9
    np.testing.assert_allclose(result["q_value"].dropna(), benjamini_hochberg(p))


def test_equal_counts_everywhere_test_nothing():
    counts = pd.Series(3, index=HOT_CENTRE.index)
    result = gi_star(counts, contiguity(list(counts.index), grid(3, 3), "rook"))
    assert (result["classification"] == NOT_TESTED).all()
    assert result["gi_z"].isna().all()


def test_a_clear_cluster_is_found_in_a_larger_grid():
    # 8 x 8 grid of 1s with a 2 x 2 block of 20s: the block is a hot spot after FDR control.
    shapes = grid(8, 8)
    counts = pd.Series(1, index=list(shapes))
    block = ["r3c3", "r3c4", "r4c3", "r4c4"]
    counts[block] = 20
    result = gi_star(counts, contiguity(list(shapes), shapes, "queen")).set_index("code")
    assert set(result.index[result["classification"] == HOT]) >= set(block)
    assert (result.loc[block, "q_value"] < 0.05).all()
    assert not (result["classification"] == COLD).any()


# --------------------------------------------------------------------------- refusals


def test_too_few_lsoas_is_refused(demo_warehouse):
    ward = select_area(demo_warehouse, "E05014507")   # Kempston West: 3 LSOAs
    with pytest.raises(HotspotError, match=r"argument 'area'.*at least 30"):
        lsoa_hotspots(demo_warehouse, ward, parse_period("2023"))
    few = custom_area(demo_warehouse, "Five", ["E01017453", "E01017466", "E01017471",
                                               "E01034419", "E01034420"])
    with pytest.raises(HotspotError, match="has 5 LSOAs"):
        lsoa_hotspots(demo_warehouse, few, parse_period("2023"))
    assert MIN_LSOAS == 30


def test_unknown_weights_are_refused(demo_warehouse):
    with pytest.raises(HotspotError, match="argument 'weights'.*'distance'"):
        lsoa_hotspots(demo_warehouse, select_area(demo_warehouse, "Bedford"),
                      parse_period("2023"), weights="distance")


def test_no_boundaries_is_refused(demo_warehouse_path, tmp_path):
    copy = tmp_path / "no-boundaries.duckdb"
    shutil.copy(demo_warehouse_path, copy)
    con = connect(copy)
    try:
        con.execute("DELETE FROM area_geometry WHERE lower(level) = 'lsoa'")
        with pytest.raises(HotspotError, match=r"argument 'area': no boundaries are loaded "
                                               r"for the 117 2021 LSOAs of Bedford"):
            lsoa_hotspots(con, select_area(con, "Bedford"), parse_period("2023"))
    finally:
        con.close()


# --------------------------------------------------------------------------- the command


def test_cli_csv_is_the_measure(demo_warehouse, demo_warehouse_path):
    result = CliRunner().invoke(app, ["measure", "hotspots", "--area", "Bedford", "--period",
                                      "2023", "--category", ASB, "--format", "csv", "--db",
                                      str(demo_warehouse_path)])
    assert result.exit_code == 0, (result.output, result.exception)
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert list(frame.columns[:9]) == ["lsoa_code", "lsoa_name", "ward_name", "count",
                                       "neighbours", "gi_z", "p_value", "q_value",
                                       "classification"]
    expected = lsoa_hotspots(demo_warehouse, select_area(demo_warehouse, "Bedford"),
                             parse_period("2023"), category=ASB)
    assert frame["lsoa_code"].tolist() == expected["lsoa_code"].tolist()
    assert frame["classification"].tolist() == expected["classification"].tolist()
    np.testing.assert_allclose(frame["gi_z"], expected["gi_z"])


def test_cli_refuses_a_ward_clearly(demo_warehouse_path):
    result = CliRunner().invoke(app, ["measure", "hotspots", "--area", "E05014507",
                                      "--period", "2023", "--db", str(demo_warehouse_path)])
    assert result.exit_code != 0
    assert "at least 30" in str(result.exception)
