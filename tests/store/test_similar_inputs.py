"""The inputs of cspkit similar districts, each checked against the shipped files read with
plain pandas (the demo warehouse is built from those files alone)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from cspkit.store.similar_inputs import district_inputs, police_months
from tests.sources.reference.helpers import CENSUS, MYE_2019, RURAL_URBAN, SAPE_2018, WD19

BEDFORD = "E06000055"
NORTH_YORKSHIRE = "E06000065"       # since April 2023: the county's seven districts merged
NORTH_YORKSHIRE_2019 = ["E07000163", "E07000164", "E07000165", "E07000166", "E07000167",
                        "E07000168", "E07000169"]


@pytest.fixture(scope="module")
def inputs(demo_warehouse: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return district_inputs(demo_warehouse).set_index("code")


@pytest.fixture(scope="module")
def mye() -> pd.DataFrame:
    raw = pd.read_excel(MYE_2019, sheet_name="MYE2 - Persons", header=4, engine="calamine")
    raw.columns = [str(c).removesuffix(".0") for c in raw.columns]
    return raw[raw["Geography1"].notna()].set_index("Code")


@pytest.fixture(scope="module")
def bedford_lsoas() -> list[str]:
    lookup = pd.read_csv(WD19, dtype=str, encoding="utf-8-sig")
    return sorted(set(lookup.loc[lookup["LAD19CD"] == BEDFORD, "LSOA11CD"]))


def test_current_districts_only(inputs: pd.DataFrame) -> None:
    """The districts of the newest lookup (2023): 296 in England, 22 in Wales; none abolished
    since 2019 (Craven, Harrogate ...), and those created since (North Yorkshire) kept."""
    assert len(inputs) == 318
    assert sum(inputs.index.str.startswith("E")) == 296
    assert not set(NORTH_YORKSHIRE_2019) & set(inputs.index)
    assert inputs.loc[NORTH_YORKSHIRE, "name"] == "North Yorkshire"


def test_population_and_ages_from_the_mid_year_estimates(
        demo_warehouse: duckdb.DuckDBPyConnection, inputs: pd.DataFrame, mye: pd.DataFrame
) -> None:
    # By default the newest estimates by age held (mid-2022, on April 2023 districts, where
    # North Yorkshire is published as itself); mid-2019 when asked for.
    assert inputs.loc[BEDFORD, "population_year"] == 2022
    assert inputs.loc[BEDFORD, "population"] == 187_466
    inputs = district_inputs(demo_warehouse, year=2019).set_index("code")
    row, raw = inputs.loc[BEDFORD], mye.loc[BEDFORD]
    assert row["population"] == raw["All ages"] == 173_292
    assert row["population_year"] == 2019
    assert row["share_15_29"] == pytest.approx(
        sum(raw[str(a)] for a in range(15, 30)) / raw["All ages"])
    assert row["share_65_plus"] == pytest.approx(
        (sum(raw[str(a)] for a in range(65, 90)) + raw["90+"]) / raw["All ages"])
    # A district made since the estimates: its predecessors added up.
    merged = mye.loc[NORTH_YORKSHIRE_2019]
    assert inputs.loc[NORTH_YORKSHIRE, "population"] == merged["All ages"].sum()
    assert inputs.loc[NORTH_YORKSHIRE, "share_65_plus"] == pytest.approx(
        (merged[[str(a) for a in range(65, 90)]].sum().sum() + merged["90+"].sum())
        / merged["All ages"].sum())


def test_density_rurality_and_household_size_from_lsoas(inputs: pd.DataFrame,
                                                        bedford_lsoas: list[str]) -> None:
    sape = pd.read_excel(SAPE_2018, sheet_name="Mid-2018 Population Density", header=4,
                         engine="calamine").set_index("Code").loc[bedford_lsoas]
    row = inputs.loc[BEDFORD]
    assert row["density"] == pytest.approx(sape["Mid-2018 population"].sum()
                                           / sape["Area Sq Km"].sum())
    ruc = pd.read_csv(RURAL_URBAN, dtype=str, encoding="utf-8-sig").set_index("LSOA11CD")
    rural = ruc.loc[bedford_lsoas, "RUC11CD"].str[0].isin(["D", "E", "F"])
    assert row["rural_share"] == pytest.approx(
        sape.loc[rural[rural].index, "Mid-2018 population"].sum()
        / sape["Mid-2018 population"].sum())
    census = pd.read_csv(CENSUS, dtype=str, thousands=",")
    census = census[census["LSOA Code"].isin(bedford_lsoas)]
    persons = census["Persons"].str.replace(",", "").astype(int).sum()
    households = census["Households"].str.replace(",", "").astype(int).sum()
    assert row["household_size"] == pytest.approx(persons / households)


def test_deprivation_own_or_weighted_from_predecessors(inputs: pd.DataFrame,
                                                       demo_warehouse: duckdb.DuckDBPyConnection
                                                       ) -> None:
    assert inputs.loc[BEDFORD, "imd_score"] == 18.932    # IoD 2019 File 10, as published
    scores = dict(demo_warehouse.execute(
        """SELECT lad_code, value FROM imd_district WHERE edition = '2019' AND domain = 'imd'
           AND measure = 'average_score'""").fetchall())
    merged = [scores[c] for c in NORTH_YORKSHIRE_2019]
    assert min(merged) < inputs.loc[NORTH_YORKSHIRE, "imd_score"] < max(merged)
    # Wales has no IoD 2019: its districts lack only that input.
    wales = inputs[inputs.index.str.startswith("W")]
    assert wales["imd_score"].isna().all()
    assert wales.drop(columns=["imd_score", "region"]).notna().all().all()


def test_police_months_are_those_of_the_force_covering_the_district(
        demo_warehouse: duckdb.DuckDBPyConnection) -> None:
    held = police_months(demo_warehouse, [BEDFORD, "E07000009", "E07000110", "E07000118"])
    assert len(held[BEDFORD]) == 36
    assert len(held["E07000009"]) == 8           # Cambridgeshire's eight months
    # Maidstone (Kent): nothing loaded; Chorley: a few stray records, but no force's area.
    assert held["E07000110"] == set() and held["E07000118"] == set()
