"""Harm weights: the shipped table, its derivation, user tables, and the ranking."""

from __future__ import annotations

import pandas as pd
import pytest

from cspkit.errors import InputError
from cspkit.measures.harm import (
    CATEGORIES,
    derived_weight,
    harm_rank,
    load_weights,
    shipped_weights_path,
)


def test_shipped_weights_cover_every_police_uk_category():
    weights = load_weights()
    assert set(CATEGORIES) <= set(weights.index) and len(CATEGORIES) == 14
    assert (weights > 0).all() and weights.name == "weight"


def test_shipped_weights_are_the_volume_weighted_mean_of_their_offences():
    table = pd.read_csv(shipped_weights_path())
    assert list(table.columns) == ["category", "weight", "method", "source_offences"]
    for row in table.itertuples():
        if row.category == "Anti-social behaviour":
            assert row.weight == 1 and row.method.startswith("nominal")
            continue
        assert row.weight == pytest.approx(derived_weight(row.source_offences), abs=0.05), \
            row.category


def test_asb_weighs_less_than_any_crime():
    weights = load_weights()
    crimes = weights.drop("Anti-social behaviour")
    assert weights["Anti-social behaviour"] < crimes.min()
    # The anchors ONS published: homicide 7,979 days and possession of cannabis 3.
    table = pd.read_csv(shipped_weights_path()).set_index("category")
    assert "homicide 0.04% x 7979" in table.loc["Violence and sexual offences", "source_offences"]
    assert "possession of cannabis 58% x 3" in table.loc["Drugs", "source_offences"]


def test_derived_weight_by_hand():
    assert derived_weight("a 75% x 100; b 25% x 20") == pytest.approx(80.0)
    with pytest.raises(ValueError, match="add up to 90%"):
        derived_weight("a 90% x 100")
    with pytest.raises(ValueError, match="cannot read offence"):
        derived_weight("a x 100")


def test_a_users_weights_file(tmp_path):
    path = tmp_path / "weights.csv"
    rows = [{"category": c, "weight": 2.0, "note": "local"} for c in CATEGORIES]
    rows.append({"category": "Local category", "weight": 7.0, "note": ""})
    pd.DataFrame(rows).to_csv(path, index=False)
    weights = load_weights(path)
    assert weights["Robbery"] == 2.0 and weights["Local category"] == 7.0


def test_missing_categories_are_named(tmp_path):
    path = tmp_path / "weights.csv"
    pd.DataFrame({"category": list(CATEGORIES[2:]), "weight": 1.0}).to_csv(path, index=False)
    with pytest.raises(InputError, match="no weight for Anti-social behaviour, Bicycle theft"):
        load_weights(path)


@pytest.mark.parametrize(("frame", "message"), [
    (pd.DataFrame({"category": list(CATEGORIES)}), "no column"),
    (pd.DataFrame({"category": list(CATEGORIES), "weight": ["x"] + [1] * 13}),
     "weight 'x' for 'Anti-social behaviour'"),
    (pd.DataFrame({"category": list(CATEGORIES) + ["Drugs"], "weight": 1}), "more than once"),
])
def test_bad_weights_files(tmp_path, frame, message):
    path = tmp_path / "weights.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=message) as err:
        load_weights(path)
    assert str(path) in str(err.value)


def test_unreadable_file_is_named(tmp_path):
    with pytest.raises(InputError, match="nothing.csv"):
        load_weights(tmp_path / "nothing.csv")


def test_harm_rank_puts_count_and_harm_side_by_side():
    weights = pd.Series({"Anti-social behaviour": 1.0, "Robbery": 800.0, "Shoplifting": 8.0,
                         "Burglary": 300.0})
    counts = pd.DataFrame({"category": ["Anti-social behaviour", "Robbery", "Shoplifting",
                                        "Burglary"],
                           "count": [1000, 10, 500, 40]})
    out = harm_rank(counts, weights)
    assert list(out.columns) == ["category", "count", "weight", "harm", "count_rank",
                                 "harm_rank", "harm_share"]
    assert out["category"].tolist() == ["Burglary", "Robbery", "Shoplifting",
                                        "Anti-social behaviour"]
    assert out["harm"].tolist() == [12000.0, 8000.0, 4000.0, 1000.0]
    assert out["count_rank"].tolist() == [3, 4, 2, 1]
    assert out["harm_rank"].tolist() == [1, 2, 3, 4]
    assert out["harm_share"].sum() == pytest.approx(1.0)
    assert out["harm_share"].iloc[0] == pytest.approx(12000 / 25000)


def test_harm_rank_with_shipped_weights_and_ties():
    counts = pd.DataFrame({"category": ["Shoplifting", "Bicycle theft"], "count": [5, 4]})
    out = harm_rank(counts)  # 5 x 8 = 40 = 4 x 10
    assert out["harm_rank"].tolist() == [1, 1]
    assert out["category"].tolist() == ["Bicycle theft", "Shoplifting"]


def test_harm_rank_errors_name_the_category():
    with pytest.raises(ValueError, match="no harm weight for Fraud"):
        harm_rank(pd.DataFrame({"category": ["Fraud"], "count": [3]}))
    with pytest.raises(ValueError, match="'Robbery'"):
        harm_rank(pd.DataFrame({"category": ["Robbery"], "count": [-3]}))
    with pytest.raises(KeyError, match="'count'"):
        harm_rank(pd.DataFrame({"category": ["Robbery"], "n": [3]}))
