"""The vulnerable-places index, checked against counts from the raw police files, partner events
fetched with plain SQL, and the flag and score formulas written again here."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from cspkit.measures.areas import select_area
from cspkit.measures.periods import calendar_year
from cspkit.measures.places import ranking_stability, vulnerable_places

from .conftest import ASB

BEDFORD = "E06000055"
POLICE_ISSUES = {
    "all_crime": lambda c: c != ASB,
    "violence": lambda c: c == "Violence and sexual offences",
    "asb": lambda c: c == ASB,
    "criminal_damage": lambda c: c == "Criminal damage and arson",
    "burglary": lambda c: c == "Burglary",
}
WEIGHTS = {"all_crime": 1, "violence": 1, "asb": 1, "criminal_damage": 0.5, "burglary": 0.5,
           "deliberate_fires": 0.5, "domestic_abuse": 1, "deprivation": 1}
ISSUES = list(WEIGHTS)


@pytest.fixture(scope="module")
def bedford_wards(demo_warehouse) -> pd.DataFrame:
    return vulnerable_places(demo_warehouse, "Bedford", calendar_year(2023))


def test_contract_columns_and_order(bedford_wards):
    frame = bedford_wards
    assert len(frame) == 28
    assert list(frame.columns[:5]) == ["code", "name", "score", "rank", "flags"]
    for column in ["population", "drivers"] + [f"{s}_{w}" for s in ISSUES
                                               for w in ("count", "rate", "flag")]:
        assert column in frame
    assert frame["rank"].is_monotonic_increasing and frame["rank"].iloc[0] == 1
    assert frame["score"].is_monotonic_decreasing
    assert frame.attrs["skipped"] == {}
    assert (frame["population"] > 0).all()
    assert frame["drivers"].str.len().gt(0).all()


def test_police_counts_match_raw_files(bedford_wards, bedfordshire_events):
    rows = bedfordshire_events[(bedfordshire_events["lad_code"] == BEDFORD)
                               & bedfordshire_events["month"].str.startswith("2023-")]
    frame = bedford_wards.set_index("code")
    for slug, keep in POLICE_ISSUES.items():
        expected = (rows[rows["category"].map(keep)].groupby("ward_code").size()
                    .reindex(frame.index, fill_value=0))
        pd.testing.assert_series_equal(frame[f"{slug}_count"], expected, check_names=False,
                                       check_dtype=False)
        rate = 1000 * frame[f"{slug}_count"] / frame["population"]
        np.testing.assert_allclose(frame[f"{slug}_rate"], rate)


def test_partner_counts_match_plain_sql(demo_warehouse, bedford_wards):
    raw = demo_warehouse.execute(
        """SELECT g.ward_code, e.source, e.subcategory, e.attributes
           FROM events e JOIN lsoa_geography g
             ON g.lsoa_code = e.lsoa_code AND g.lsoa_vintage = e.lsoa_vintage
           WHERE g.lad_code = ? AND e.month >= DATE '2023-01-01'
             AND e.month < DATE '2024-01-01'""", [BEDFORD]).df()
    fires = raw[(raw["source"] == "fire") & (raw["subcategory"] == "Deliberate")]
    markers = raw[raw["source"] == "police-markers"]
    abuse = markers[markers["attributes"].str.contains('"domestic_abuse": true')]
    frame = bedford_wards.set_index("code")
    for slug, rows in [("deliberate_fires", fires), ("domestic_abuse", abuse)]:
        expected = rows.groupby("ward_code").size().reindex(frame.index, fill_value=0)
        assert expected.sum() > 0
        pd.testing.assert_series_equal(frame[f"{slug}_count"], expected, check_names=False,
                                       check_dtype=False)


def test_deprivation_is_population_weighted_rank_index(demo_warehouse, bedford_wards):
    lsoas = demo_warehouse.execute(
        """SELECT g.ward_code, i.rank, p.persons FROM lsoa_geography g
           JOIN imd i ON i.lsoa_code = g.lsoa_code AND i.edition = '2025' AND i.domain = 'imd'
           JOIN population p ON p.code = g.lsoa_code AND p.vintage = '2021' AND p.year = 2021
           WHERE g.lad_code = ? AND g.lsoa_vintage = '2021'""", [BEDFORD]).df()
    n = demo_warehouse.execute(
        "SELECT count(*) FROM imd WHERE edition = '2025' AND domain = 'imd'").fetchone()[0]
    lsoas["x"] = (n + 1 - lsoas["rank"]) / n * lsoas["persons"]
    sums = lsoas.groupby("ward_code")[["x", "persons"]].sum()
    frame = bedford_wards.set_index("code")
    np.testing.assert_allclose(frame["deprivation_rate"], (sums["x"] / sums["persons"])
                               .reindex(frame.index))
    assert frame["deprivation_count"].sum() == 117


def test_flags_are_top_fifth_by_rate(bedford_wards):
    k = math.ceil(0.2 * 28)
    for slug in ISSUES:
        rates = bedford_wards[f"{slug}_rate"]
        cut = sorted(rates, reverse=True)[k - 1]
        expected = [r >= cut and r > 0 for r in rates]
        assert bedford_wards[f"{slug}_flag"].tolist() == expected, slug
        assert bedford_wards[f"{slug}_flag"].sum() >= (k if cut > 0 else 0)
    flagged = sum(bedford_wards[f"{s}_flag"].astype(int) for s in ISSUES)
    assert bedford_wards["flags"].tolist() == flagged.tolist()


def test_composite_score_formula(bedford_wards):
    n = len(bedford_wards)
    total = np.zeros(n)
    for slug, weight in WEIGHTS.items():
        share = rankdata(bedford_wards[f"{slug}_rate"]) / n
        total += weight * -23 * np.log(1 - share * (1 - math.exp(-100 / 23)))
    expected = total / sum(WEIGHTS.values())
    np.testing.assert_allclose(bedford_wards["score"], expected)
    order = rankdata(-expected, method="min")
    assert bedford_wards["rank"].tolist() == order.tolist()


def test_drivers_name_flagged_issues_first(bedford_wards):
    top = bedford_wards.iloc[0]
    named = top["drivers"].split(", ")
    assert 1 <= len(named) <= 3
    labels = {"all crime": "all_crime", "violence": "violence", "ASB": "asb",
              "criminal damage": "criminal_damage", "burglary": "burglary",
              "deliberate fires": "deliberate_fires", "domestic abuse": "domestic_abuse",
              "deprivation": "deprivation"}
    flags = [bool(top[f"{labels[n]}_flag"]) for n in named]
    assert flags == sorted(flags, reverse=True)


def test_lsoa_level(demo_warehouse):
    frame = vulnerable_places(demo_warehouse, select_area(demo_warehouse, "Bedford"),
                              calendar_year(2023), level="lsoa")
    assert len(frame) == 117
    assert frame["score"].notna().all()
    assert (frame["deprivation_count"] == 1).all()
    assert frame["all_crime_flag"].sum() >= math.ceil(0.2 * 117)


def test_weights_override_and_validation(demo_warehouse, bedford_wards):
    only_asb = {s: 0 for s in ISSUES} | {"asb": 1}
    frame = vulnerable_places(demo_warehouse, "Bedford", calendar_year(2023), weights=only_asb)
    assert frame.attrs["issues"] == ["asb"]
    assert frame["code"].iloc[0] == bedford_wards.sort_values("asb_rate")["code"].iloc[-1]
    with pytest.raises(ValueError, match="known issues: all_crime, violence"):
        vulnerable_places(demo_warehouse, "Bedford", calendar_year(2023),
                          weights={"shoplifting": 1})
    with pytest.raises(ValueError, match=">= 0"):
        vulnerable_places(demo_warehouse, "Bedford", calendar_year(2023), weights={"asb": -1})
    with pytest.raises(ValueError, match="level"):
        vulnerable_places(demo_warehouse, "Bedford", calendar_year(2023), level="county")


def test_ranking_stability(demo_warehouse):
    result = ranking_stability(demo_warehouse, "Bedford",
                               [calendar_year(2022), calendar_year(2023)], top_n=10)
    assert result["top_n"] == 10
    (pair,) = result["pairs"]
    assert (pair["from"], pair["to"]) == ("2022", "2023")
    assert -1 <= pair["spearman"] <= 1
    assert len(pair["entered"]) == len(pair["left"])
    assert not set(pair["entered"]) & set(pair["left"])


def test_places_command_contract(demo_warehouse_path):
    import io

    from typer.testing import CliRunner

    from cspkit.cli import app

    result = CliRunner().invoke(app, ["places", "--db", str(demo_warehouse_path), "--area",
                                      "Bedford", "--level", "ward", "--year", "2023",
                                      "--format", "csv"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert list(frame.columns[:5]) == ["code", "name", "score", "rank", "flags"]
    assert len(frame) == 28 and frame["rank"].min() == 1


def test_the_ranking_names_the_issues_from_synthetic_data(demo_warehouse):
    """The fire and police-marker samples are synthetic (their files say so); police.uk and
    deprivation are not."""
    ranking = vulnerable_places(demo_warehouse, "Bedford", calendar_year(2023), level="ward")
    assert {"deliberate_fires", "domestic_abuse"} <= set(ranking.attrs["issues"])
    assert ranking.attrs["synthetic"] == ["deliberate_fires", "domestic_abuse"]


def test_withheld_sources_are_left_out_of_the_index(demo_warehouse):
    """A reader who may not see a restricted source gets the index without its issues, as if
    that source were not loaded, and is told why."""
    period = calendar_year(2023)
    full = vulnerable_places(demo_warehouse, BEDFORD, period)
    assert "domestic_abuse" in full.attrs["issues"]
    public = vulnerable_places(demo_warehouse, BEDFORD, period,
                               withheld=frozenset({"police-markers"}))
    assert "domestic_abuse" not in public.attrs["issues"]
    assert not any(c.startswith("domestic_abuse") for c in public.columns)
    assert "withheld" in public.attrs["skipped"]["domestic_abuse"]
    assert public.attrs["issues"] == [i for i in full.attrs["issues"] if i != "domestic_abuse"]
    # The police.uk counts do not change.
    merged = full.merge(public, on="code", suffixes=("", "_public"))
    assert (merged["asb_count"] == merged["asb_count_public"]).all()
