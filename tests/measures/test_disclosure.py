"""Disclosure control: small counts hidden, and not recoverable from the totals shown."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cspkit.measures.disclosure import (
    PRIMARY,
    SECONDARY,
    DisclosurePolicy,
    hidden_last,
    publish,
    suppression_pattern,
)
from cspkit.measures.disclosure_audit import (
    Arithmetic,
    Difference,
    KnownSum,
    Rate,
    RowSum,
    Share,
    arithmetic_of,
    audit_table,
)
from cspkit.measures.settings import Settings

COLS = ["Burglary", "Robbery", "Drugs"]


def with_totals(body: pd.DataFrame, total_row: bool = False) -> pd.DataFrame:
    table = body.copy()
    table["Total"] = table[list(body.columns)].sum(axis=1)
    if total_row:
        table.loc["Total"] = table.sum()
    return table


def lines(pattern: pd.DataFrame, total_row: bool):
    """Every row (with the Total column) and, with a total row, every column."""
    for label in pattern.index:
        yield f"row {label}", pattern.loc[label]
    if total_row:
        for col in pattern.columns:
            yield f"column {col}", pattern[col]


def assert_no_lone_hidden_cell(published: pd.DataFrame, total_row: bool,
                               labels=("<5", "*")) -> None:
    hidden = published[COLS + ["Total"]].isin(labels)
    for name, line in lines(hidden, total_row):
        assert line.sum() != 1, f"{name} has one hidden cell: total minus the rest recovers it"


def test_single_small_cell_gets_a_partner_in_its_row():
    body = pd.DataFrame({"Burglary": [3, 10, 20], "Robbery": [12, 8, 15],
                         "Drugs": [30, 40, 7]}, index=["Ward A", "Ward B", "Ward C"])
    table = with_totals(body)
    out = publish(table, COLS + ["Total"], total_column="Total")
    assert list(out.loc["Ward A"]) == ["<5", "*", "30", "45"]  # 12 is the next smallest
    assert list(out.loc["Ward B"]) == ["10", "8", "40", "58"]
    assert_no_lone_hidden_cell(out, total_row=False)
    # The row's total minus visible cells leaves two unknowns, not one.
    assert table.loc["Ward A", "Total"] - 30 == 15
    # Exact values are untouched in the input.
    assert table.loc["Ward A", "Burglary"] == 3


def test_with_a_total_row_columns_are_protected_too():
    body = pd.DataFrame({"Burglary": [3, 10, 20], "Robbery": [12, 8, 15],
                         "Drugs": [30, 40, 7]}, index=["Ward A", "Ward B", "Ward C"])
    table = with_totals(body, total_row=True)
    out = publish(table, COLS + ["Total"], total_column="Total", total_rows=["Total"])
    assert_no_lone_hidden_cell(out, total_row=True)
    assert out.loc["Total"].tolist() == ["33", "35", "77", "145"]
    assert (out[COLS] == "<5").sum().sum() == 1


def test_bounds_cannot_pin_a_small_count():
    # Hiding only 1 and 5 would leave '<5' + '*' = 6, and '*' >= 5 forces '<5' = 1.
    table = with_totals(pd.DataFrame({"Burglary": [1], "Robbery": [5], "Drugs": [10]}))
    out = publish(table, COLS + ["Total"], total_column="Total")
    assert list(out.iloc[0]) == ["<5", "*", "*", "16"]
    # Every assignment consistent with what is published: the small count is not unique.
    options = {(a, b, c) for a in range(1, 5) for b in range(5, 17) for c in range(5, 17)
               if a + b + c == 16}
    assert len({a for a, _, _ in options}) > 1


def test_zero_stays_visible_and_small_counts_show_the_label():
    table = pd.DataFrame({"Burglary": [0, 4], "Robbery": [1, 6], "Drugs": [0, 0]})
    out = publish(table, COLS)
    assert out.to_dict("list") == {"Burglary": ["0", "<5"], "Robbery": ["<5", "6"],
                                   "Drugs": ["0", "0"]}


def test_threshold_is_configurable():
    table = pd.DataFrame({"Burglary": [4, 9, 10]})
    assert publish(table, ["Burglary"], policy=DisclosurePolicy(threshold=10))[
        "Burglary"].tolist() == ["<10", "<10", "10"]
    assert publish(table, ["Burglary"], policy=DisclosurePolicy(threshold=3))[
        "Burglary"].tolist() == ["4", "9", "10"]
    from_settings = DisclosurePolicy.from_settings(Settings(suppress_below=10))
    assert (from_settings.threshold, from_settings.label) == (10, "<10")
    custom = DisclosurePolicy(threshold=5, label="1-4", secondary_label="x")
    assert publish(table.assign(Burglary=[2, 5, 5]), ["Burglary"], policy=custom)[
        "Burglary"].tolist() == ["1-4", "5", "5"]


def test_derived_rates_are_hidden_with_their_counts():
    table = with_totals(pd.DataFrame({"Burglary": [3, 50], "Robbery": [20, 60],
                                      "Drugs": [30, 70]}))
    table["rate_per_1000"] = [1.5, 25.0]
    table["total_rate"] = [26.5, 90.0]
    out = publish(table, COLS + ["Total"], total_column="Total",
                  derived={"rate_per_1000": "Burglary", "total_rate": "Total"})
    assert out["rate_per_1000"].tolist() == ["*", 25.0]
    assert out["total_rate"].tolist() == [26.5, 90.0]
    with pytest.raises(KeyError):
        publish(table, COLS, derived={"rate_per_1000": "Nope"})


def test_pattern_names_primary_and_secondary():
    table = with_totals(pd.DataFrame({"Burglary": [3], "Robbery": [12], "Drugs": [30]}))
    pattern = suppression_pattern(table, COLS + ["Total"], total_column="Total")
    assert pattern.iloc[0].tolist() == [PRIMARY, SECONDARY, "", ""]


def test_bad_input_is_named():
    table = pd.DataFrame({"Burglary": [3, -1]}, index=["A", "B"])
    with pytest.raises(ValueError, match=r"row 'B', column 'Burglary'"):
        publish(table, ["Burglary"])
    with pytest.raises(ValueError, match="not the sum"):
        publish(pd.DataFrame({"a": [3], "Total": [4]}), ["a", "Total"], total_column="Total")
    with pytest.raises(ValueError):
        DisclosurePolicy(threshold=0)
    with pytest.raises(ValueError):
        DisclosurePolicy(label="*")


def _random_table(rng: np.random.Generator, total_row: bool) -> pd.DataFrame:
    n_rows = int(rng.integers(1, 5))
    # Mostly small counts, some zeros and some large: the hard case for suppression.
    values = rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 12, 20, 35], size=(n_rows, len(COLS)))
    body = pd.DataFrame(values, columns=COLS, index=[f"r{i}" for i in range(n_rows)])
    return with_totals(body, total_row)


def _feasible_small_values(out: pd.Series) -> dict[str, set[int]]:
    """For one published row with its total: the values each '<5' cell could take, given
    only what a reader sees ('<5' is 1-4, '*' is 5 or more, the rest exact)."""
    lo = {"<5": 1, "*": 5}
    hi = {"<5": 4, "*": 10**6}
    seen: dict[str, set[int]] = {}
    for cell in [c for c in COLS + ["Total"] if out[c] == "<5"]:
        seen[cell] = set()
        for value in range(1, 5):
            fixed = out.copy()
            fixed[cell] = str(value)
            hidden = [c for c in COLS if fixed[c] in lo]
            visible = sum(int(fixed[c]) for c in COLS if c not in hidden)
            # Parts add up to the total: sum(hidden parts) = total - visible parts.
            parts_lo = sum(lo[fixed[c]] for c in hidden)
            parts_hi = sum(hi[fixed[c]] for c in hidden)
            if fixed["Total"] in lo:
                t_lo, t_hi = lo[fixed["Total"]], hi[fixed["Total"]]
            else:
                t_lo = t_hi = int(fixed["Total"])
            if max(parts_lo, t_lo - visible) <= min(parts_hi, t_hi - visible):
                seen[cell].add(value)
    return seen


@pytest.mark.parametrize("total_row", [False, True])
def test_random_tables_never_leave_a_lone_hidden_cell(total_row):
    rng = np.random.default_rng(20240301 + total_row)
    cols = COLS + ["Total"]
    for _ in range(50):
        table = _random_table(rng, total_row)
        out = publish(table, cols, total_column="Total",
                      total_rows=["Total"] if total_row else ())
        assert_no_lone_hidden_cell(out, total_row)
        exact, shown = table[cols].to_numpy(), out[cols].to_numpy()
        small = (exact >= 1) & (exact < 5)
        assert (shown[small] == "<5").all() and not (shown[~small] == "<5").any()
        visible = ~np.isin(shown, ["<5", "*"])
        assert (shown[visible] == exact[visible].astype(str)).all()
        # Secondary cells are never zero or small, so '*' truthfully means 5 or more.
        assert (exact[shown == "*"] >= 5).all()


def test_random_single_row_tables_cannot_be_solved_by_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(80):
        table = _random_table(rng, total_row=False).iloc[:1]
        out = publish(table, COLS + ["Total"], total_column="Total")
        for cell, values in _feasible_small_values(out.iloc[0]).items():
            assert len(values) > 1, f"{cell} is recoverable in\n{out}"
            assert int(table.iloc[0][cell]) in values


def test_a_figure_from_two_counts_is_hidden_when_either_is():
    # The ward volume-change table: '<5, 11, 8' would give 3 away if the change followed only
    # the current count.
    table = pd.DataFrame({"ward": ["A", "B", "C", "D"], "2022": [3, 20, 9, 0],
                          "2023": [11, 25, 2, 0]})
    table["change"] = table["2023"] - table["2022"]
    table["change_pct"] = [266.7, 25.0, -77.8, None]
    out = publish(table, ["2022", "2023"], derived={"change": ("2023", "2022"),
                                                    "change_pct": ["2023", "2022"]})
    assert out["change"].tolist() == ["*", 5, "*", 0]
    assert out["change_pct"].tolist()[:3] == ["*", 25.0, "*"]
    # A single source still works as before, and a relation names its sources itself.
    one = publish(table, ["2022", "2023"], derived={"change": "2023"})
    assert one["change"].tolist() == [8, 5, "*", 0]
    related = publish(table, ["2022", "2023"], derived={"change": Difference("2023", "2022")})
    assert related["change"].tolist() == ["*", 5, "*", 0]
    with pytest.raises(KeyError):
        publish(table, ["2022", "2023"], derived={"change": ("2023", "Nope")})


def test_secondary_suppression_follows_to_every_derived_source():
    # A '*' protecting a small count in a total hides the figures computed from it too.
    table = pd.DataFrame({"a": [1, 10], "b": [8, 12]}, index=["x", "Total"])
    table.loc["Total"] = [13, 16]
    table.loc["y"] = [12, 8]
    table = table.loc[["x", "y", "Total"]]
    table["diff"] = table["b"] - table["a"]
    out = publish(table, ["a", "b"], total_rows=["Total"], derived={"diff": ("b", "a")})
    hidden = out[["a", "b"]].isin(["<5", "*"]).any(axis=1)
    assert (out.loc[hidden, "diff"] == "*").all() and hidden.sum() >= 2


def test_publish_records_the_arithmetic_it_applied():
    table = pd.DataFrame({"area": ["A", "B", "T"], "n": [3, 40, 43], "pop": [900, 12000, 12900]})
    table["rate"] = 1000 * table["n"] / table["pop"]
    out = publish(table, ["n"], total_rows=[2], derived={"rate": Rate("n", "pop")},
                  known_sums=[KnownSum("n", 43, (0, 1))])
    spec = arithmetic_of(out)
    assert spec == Arithmetic(counts=("n",), row_sums=(RowSum(2, (0, 1)),),
                              known_sums=(KnownSum("n", 43, (0, 1)),),
                              derived=(("rate", Rate("n", "pop")),))
    assert out["n"].tolist() == ["<5", "*", "43"]
    assert audit_table(out, spec) == []
    # A report table built from the frame carries it.
    from cspkit.products.report.document import Table

    assert Table("t", "T", out).arithmetic == spec


def test_a_sum_published_elsewhere_is_protected_like_a_total():
    # The district's count in another table is the sum of the ward counts: with one ward
    # hidden it would give that ward away.
    wards = pd.DataFrame({"ward": ["A", "B", "C"], "n": [3, 40, 25]})
    plain = publish(wards, ["n"])
    assert plain["n"].tolist() == ["<5", "40", "25"]
    protected = publish(wards, ["n"], known_sums=[KnownSum("n", 68)])
    assert protected["n"].tolist() == ["<5", "40", "*"]
    assert audit_table(protected, arithmetic_of(protected)) == []
    # A sum below the threshold is published as '<5' elsewhere: not known, nothing to add.
    small = publish(pd.DataFrame({"n": [1, 2]}), ["n"], known_sums=[KnownSum("n", 3)])
    assert arithmetic_of(small).known_sums == ()
    with pytest.raises(ValueError, match="published elsewhere"):
        publish(wards, ["n"], known_sums=[KnownSum("n", 70)])


def test_shares_protect_the_column_total():
    table = pd.DataFrame({"decile": [1, 2, 3], "n": [1200, 797, 3]})
    table["share"] = table["n"] / table["n"].sum()
    out = publish(table, ["n"], derived={"share": Share("n")})
    assert out["n"].tolist() == ["1200", "*", "<5"]
    assert out["share"].tolist()[1:] == ["*", "*"]


def test_hidden_rows_go_last_in_a_table_sorted_by_a_hidden_figure():
    table = pd.DataFrame({"ward": ["B", "A", "C", "D"], "2022": [20, 0, 9, 3],
                          "2023": [29, 3, 5, 1]})
    table["change"] = table["2023"] - table["2022"]
    table = table.sort_values("change", ascending=False)
    out = hidden_last(publish(table, ["2022", "2023"], derived={"change": ("2023", "2022")}),
                      "change", "ward")
    assert out["ward"].tolist() == ["B", "C", "A", "D"]
    assert arithmetic_of(out) is not None and list(out.index) == [0, 2, 1, 3]
