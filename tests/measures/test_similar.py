"""cspkit similar districts: the method on small frames checked by hand, and its families on
the shipped data (the demo warehouse) checked for the broad type of district."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from cspkit.measures import similar
from cspkit.measures.areas import select_area
from cspkit.measures.catalogue import run_measure
from cspkit.measures.similar import (
    SimilarError,
    distances,
    family_of,
    similar_districts,
    standardise,
)


def frame(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["code", "name", *similar.variables()])


FOUR = frame([
    # code, name, population, density, 15-29, 65+, imd, rural, household size
    ("E1", "Alpha", 100_000, 100.0, 0.15, 0.25, 10.0, 0.70, 2.40),
    ("E2", "Beta", 400_000, 4_000.0, 0.25, 0.12, 30.0, 0.00, 2.30),
    ("E3", "Gamma", 150_000, 300.0, 0.16, 0.20, 15.0, 0.40, 2.45),
    ("E4", "Delta", 250_000, 1_000.0, 0.18, 0.18, 22.0, 0.10, 2.50),
])


def by_hand(rows: pd.DataFrame) -> np.ndarray:
    """The distance matrix written out with numpy alone: log10 of population and density,
    z-scores with the population standard deviation, equal weights, Euclidean distance."""
    x = rows[similar.variables()].to_numpy(dtype=float).copy()
    x[:, 0], x[:, 1] = np.log10(x[:, 0]), np.log10(x[:, 1])
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    n = len(x)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = np.sqrt(((z[i] - z[j]) ** 2).sum())
    return out


def test_distances_match_a_hand_computation() -> None:
    expected = by_hand(FOUR)
    for i, code in enumerate(FOUR["code"]):
        got = distances(FOUR, code)
        for j, other in enumerate(FOUR["code"]):
            if other != code:
                assert got[other] == pytest.approx(expected[i, j], rel=1e-12)
    # Gamma is nearest to Alpha, Beta furthest; the family lists them so.
    family = similar_districts(FOUR, "E1", size=3)
    assert family.codes == ["E3", "E4", "E2"]
    assert list(family.members["rank"]) == [1, 2, 3]
    assert family.members["distance"].tolist() == [round(expected[0, j], 4) for j in (2, 3, 1)]


def test_z_scores_have_mean_zero_and_unit_spread() -> None:
    z = standardise(FOUR)
    assert np.allclose(z.mean(), 0) and np.allclose(z.std(ddof=0), 1)
    assert z.loc["E2", "population"] == pytest.approx(
        (np.log10(400_000) - np.log10(FOUR["population"]).mean())
        / np.log10(FOUR["population"]).std(ddof=0))


def test_same_family_whatever_the_row_order() -> None:
    rng = np.random.default_rng(12)
    rows = [(f"E{i:02d}", f"D{i}", *rng.uniform(1, 10, size=len(similar.variables())))
            for i in range(30)]
    base = frame(rows)
    first = similar_districts(base, "E07", size=10)
    for seed in range(5):
        shuffled = base.sample(frac=1, random_state=seed).reset_index(drop=True)
        again = similar_districts(shuffled, "E07", size=10)
        assert again.codes == first.codes
        pd.testing.assert_frame_equal(again.members, first.members)


def test_ties_are_broken_by_code() -> None:
    # E9 and E5 are copies of each other, so equally far from E1: E5 comes first.
    rows = FOUR.copy()
    twin = rows[rows["code"] == "E3"].iloc[0].to_dict()
    rows = pd.concat([rows[rows["code"] != "E3"],
                      pd.DataFrame([twin | {"code": "E9", "name": "Nine"},
                                    twin | {"code": "E5", "name": "Five"}])])
    family = similar_districts(rows, "E1", size=2)
    assert family.codes == ["E5", "E9"]
    assert family.members["distance"].iloc[0] == family.members["distance"].iloc[1]


def test_districts_lacking_an_input_are_left_out_and_named() -> None:
    rows = pd.concat([FOUR, frame([("W1", "Wales", 120_000, 150.0, 0.15, 0.22, None, 0.5,
                                    2.3)])])
    family = similar_districts(rows, "E1", size=10)
    assert "W1" not in family.codes and family.left_out == ("W1",)
    assert family.pool == 4 and len(family.codes) == 3
    with pytest.raises(SimilarError, match="lacks imd_score"):
        similar_districts(rows, "W1")
    with pytest.raises(SimilarError, match="not a current district"):
        similar_districts(rows, "E99")
    with pytest.raises(SimilarError, match="size"):
        similar_districts(rows, "E1", size=0)


# --------------------------------------------------------------------------- shipped data


@pytest.fixture(scope="module")
def inputs(demo_warehouse: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return similar.inputs_of(demo_warehouse)


def test_london_boroughs_families_are_mostly_london(inputs: pd.DataFrame) -> None:
    london = inputs[inputs["region"] == "London"]
    assert len(london) == 33
    shares = []
    for code in london["code"]:
        members = similar_districts(inputs, code).members
        shares.append((members["region"] == "London").mean())
    # Most members of a London borough's family are London boroughs (cities elsewhere,
    # Brighton, Bristol, Manchester, resemble inner London; outer boroughs resemble their
    # neighbours outside London); by chance it would be 32 of 295, about 11%.
    assert np.mean(shares) > 0.5
    assert min(shares) > 0


def test_rural_districts_families_are_rural(inputs: pd.DataFrame) -> None:
    rural = inputs.dropna().nlargest(20, "rural_share")
    for code in rural["code"]:
        members = similar_districts(inputs, code).members
        assert members["rural_share"].median() > 0.5, code
    # East Cambridgeshire (72% of residents in rural LSOAs): a family of rural districts.
    east = similar_districts(inputs, "E07000009").members
    assert (east["rural_share"] > 0.5).all()


def test_every_english_district_has_a_family(inputs: pd.DataFrame) -> None:
    england = inputs[inputs["code"].str.startswith("E")]
    assert len(england) == 296 and england[similar.variables()].notna().all().all()
    family = similar_districts(inputs, "E06000055")
    assert family.pool == 296 and len(family.left_out) == 22   # Wales: no IoD 2019
    assert all(code.startswith("E") for code in family.codes)


def test_measure_lists_the_family_with_inputs(demo_warehouse: duckdb.DuckDBPyConnection
                                              ) -> None:
    table = run_measure(demo_warehouse, "similar", area="East Cambridgeshire")
    assert list(table.columns[:4]) == ["rank", "code", "name", "distance"]
    assert set(similar.variables()) <= set(table.columns)
    assert table["rank"].tolist() == list(range(16))
    assert table.iloc[0]["code"] == "E07000009" and table.iloc[0]["distance"] == 0
    assert table["distance"].is_monotonic_increasing
    area = select_area(demo_warehouse, "East Cambridgeshire")
    assert table["code"].tolist()[1:] == family_of(demo_warehouse, area).codes


def test_measure_refuses_what_has_no_family(demo_warehouse: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(SimilarError, match="districts .* only"):
        run_measure(demo_warehouse, "similar", area="Bedfordshire Police")
    with pytest.raises(SimilarError, match="Cardiff .*lacks imd_score"):
        run_measure(demo_warehouse, "similar", area="Cardiff")
