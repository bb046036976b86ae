"""The disclosure audit: hand-built published tables whose arithmetic gives a hidden count away
are caught with the value and the relation; the same tables after correct suppression pass;
the integer programme agrees with brute-force enumeration; sentences that state a small count
are caught and ordinary numbers are not."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from cspkit.measures.disclosure import publish
from cspkit.measures.disclosure_audit import (
    Arithmetic,
    ArithmeticMismatch,
    Computed,
    Difference,
    DisclosureLeak,
    KnownSum,
    PercentChange,
    Rate,
    RowSum,
    Share,
    arithmetic_of,
    audit_table,
    audit_text,
    check_table,
    stack,
    svg_texts,
)


def leaks_of(frame: pd.DataFrame, spec: Arithmetic, **kwargs) -> dict[tuple, int | None]:
    return {(leak.row, leak.column): leak.value for leak in audit_table(frame, spec, **kwargs)}


# -- tables -----------------------------------------------------------------------------------

WARDS = pd.DataFrame({"ward": ["A", "B", "C"], "2022": ["<5", "20", "9"],
                      "2023": ["11", "25", "<5"], "change": ["8", "5", "*"]})
WARD_SPEC = Arithmetic(counts=("2022", "2023"),
                       derived=(("change", Difference("2023", "2022")),))


def test_a_change_beside_a_hidden_baseline_gives_it_away():
    # The case: '<5, 11, 8' is 11 - 8 = 3.
    leaks = audit_table(WARDS, WARD_SPEC, name="wards")
    assert [(leak.row, leak.column, leak.value) for leak in leaks] == [(0, "2022", 3)]
    assert leaks[0].row_name == "A"
    assert "change = 2023 - 2022" in leaks[0].relation
    with pytest.raises(DisclosureLeak, match=r"table wards, row 0 \(A\), column '2022' = 3"):
        check_table(WARDS, WARD_SPEC, name="wards")


def test_the_same_difference_found_by_inspection_when_undeclared():
    # Declared only as computed from the current count (the old `derived`), the column is
    # still seen to be 2023 - 2022 on every row where both are shown.
    wards = pd.concat([WARDS, pd.DataFrame({"ward": ["D", "E"], "2022": ["7", "30"],
                                            "2023": ["12", "28"], "change": ["5", "-2"]})],
                      ignore_index=True)
    spec = Arithmetic(counts=("2022", "2023"), derived=(("change", Computed(("2023",))),))
    assert leaks_of(wards, spec) == {(0, "2022"): 3}
    assert leaks_of(wards, spec, infer=False) == {}


def test_publish_with_both_sources_hides_the_change_and_passes():
    exact = pd.DataFrame({"ward": ["A", "B", "C"], "2022": [3, 20, 9], "2023": [11, 25, 2]})
    exact["change"] = exact["2023"] - exact["2022"]
    published = publish(exact, ["2022", "2023"], derived={"change": ("2023", "2022")})
    assert published["change"].tolist() == ["*", 5, "*"]
    assert audit_table(published, arithmetic_of(published)) == []
    # Declared as the relation itself, publishing and auditing agree too.
    exact_spec = publish(exact, ["2022", "2023"],
                         derived={"change": Difference("2023", "2022")})
    assert audit_table(exact_spec, WARD_SPEC) == []


def test_a_rate_beside_its_published_population_gives_the_count_away():
    table = pd.DataFrame({"area": ["A", "B"], "count": ["<5", "250"],
                          "population": [2000, 50_000], "rate": [1.5, 5.0]})
    spec = Arithmetic(counts=("count",), derived=(("rate", Rate("count", "population")),))
    assert leaks_of(table, spec) == {(0, "count"): 3}    # 1.5 x 2,000 / 1,000
    # Rounded to a whole rate per 1,000 of 2,000 residents: 1 means 1..2.99, not one value.
    assert leaks_of(table.assign(rate=["1", "5"]), spec) == {}
    # A population known from elsewhere (a constant) does the same.
    constant = Arithmetic(counts=("count",), derived=(("rate", Rate("count", 2000.0)),))
    assert leaks_of(table.assign(rate=[1.5, 125.0]), constant) == {(0, "count"): 3}
    # Published correctly, the rate goes with its count.
    exact = pd.DataFrame({"area": ["A", "B"], "count": [3, 250], "population": [2000, 50_000],
                          "rate": [1.5, 5.0]})
    published = publish(exact, ["count"], derived={"rate": Rate("count", "population")})
    assert published["rate"].tolist() == ["*", 5.0]
    assert audit_table(published, arithmetic_of(published)) == []


def test_a_percentage_change_from_a_shown_baseline_gives_the_count_away():
    table = pd.DataFrame({"category": ["Robbery", "Drugs", "Burglary", "Theft"],
                          "2023": ["<5", "40", "60", "<5"], "2022": ["10", "32", "75", "<5"],
                          "change_pct": [-70.0, 25.0, -20.0, "*"]})
    spec = Arithmetic(counts=("2023", "2022"),
                      derived=(("change_pct", PercentChange("2023", "2022")),))
    assert leaks_of(table, spec) == {(0, "2023"): 3}
    # One decimal place is still exact here; a whole percent of 10 is too (each step is 10%).
    assert leaks_of(table.assign(change_pct=["-70", "25", "-20", "*"]), spec) == {(0, "2023"): 3}
    # From a baseline of 200, -99% (a whole percent: -99.5 to -98.5) leaves 1, 2 or 3.
    large = table.assign(**{"2022": ["200", "32", "75", "<5"]})
    assert leaks_of(large.assign(change_pct=["-99", "25", "-20", "*"]), spec) == {}
    assert leaks_of(large.assign(change_pct=["-98.5", "25", "-20", "*"]), spec) == {
        (0, "2023"): 3}


def test_a_published_total_that_pins_a_small_count():
    # '<5' + '*' = 6 with '*' at least 5: the small count is 1.
    table = pd.DataFrame({"a": ["<5"], "b": ["*"], "c": ["10"], "total": ["16"]})
    spec = Arithmetic(counts=("a", "b", "c", "total"), total_column="total")
    assert leaks_of(table, spec) == {(0, "a"): 1}
    # Total rows: the column's total less the rows shown.
    rows = pd.DataFrame({"x": ["<5", "12", "20", "35"]}, index=["A", "B", "C", "Total"])
    by_rows = Arithmetic(counts=("x",), row_sums=(RowSum("Total", ("A", "B", "C")),))
    assert leaks_of(rows, by_rows) == {("A", "x"): 3}
    # A sum published elsewhere (a sentence, another table) does the same.
    known = Arithmetic(counts=("x",), known_sums=(KnownSum("x", 35, ("A", "B", "C")),))
    assert leaks_of(rows.iloc[:3], known) == {("A", "x"): 3}
    # Correct suppression: publish hides a second cell and nothing is pinned.
    exact = pd.DataFrame({"a": [1], "b": [5], "c": [10], "total": [16]})
    published = publish(exact, ["a", "b", "c", "total"], total_column="total")
    assert audit_table(published, arithmetic_of(published)) == []
    exact_rows = pd.DataFrame({"x": [3, 12, 20, 35]}, index=["A", "B", "C", "Total"])
    published_rows = publish(exact_rows, ["x"], total_rows=["Total"])
    assert published_rows["x"].tolist() == ["<5", "*", "20", "35"]
    assert audit_table(published_rows, arithmetic_of(published_rows)) == []


def test_shares_publish_the_column_total():
    # Shares of the shown rows give the total (2,000), so the one hidden count is 2,000 less
    # the others.
    table = pd.DataFrame({"decile": [1, 2, 3], "count": ["1200", "797", "<5"],
                          "share": [0.6, 0.3985, "*"]})
    spec = Arithmetic(counts=("count",), derived=(("share", Share("count")),))
    assert leaks_of(table, spec) == {(2, "count"): 3}
    exact = pd.DataFrame({"decile": [1, 2, 3], "count": [1200, 797, 3],
                          "share": [0.6, 0.3985, 0.0015]})
    published = publish(exact, ["count"], derived={"share": Share("count")})
    assert published["count"].tolist() == ["1200", "*", "<5"]
    assert audit_table(published, arithmetic_of(published)) == []


def test_a_p_value_shown_beside_a_hidden_count_is_a_leak():
    table = pd.DataFrame({"year": ["2022/23"], "treated": ["700"], "completed": ["<5"],
                          "p_value": [0.0123]})
    spec = Arithmetic(counts=("treated", "completed"),
                      derived=(("p_value", Computed(("completed", "treated"))),))
    (leak,) = audit_table(table, spec)
    assert (leak.column, leak.value) == ("p_value", None) and "inverted" in leak.relation


def test_row_order_can_pin_a_hidden_change():
    # Sorted by change: a hidden change between two changes of -4 is -4, so 2023 = 5 - 4 = 1.
    table = pd.DataFrame({"ward": list("ABCDEFG"),
                          "2022": ["20", "12", "18", "13", "5", "14", "9"],
                          "2023": ["29", "14", "14", "9", "<5", "10", "4"],
                          "change": ["9", "2", "-4", "-4", "*", "-4", "-5"]})
    table.loc[6, ["2023", "change"]] = ["<5", "*"]
    spec = Arithmetic(counts=("2022", "2023"), derived=(("change", Difference("2023", "2022")),))
    assert leaks_of(table, spec) == {(4, "2023"): 1}
    # Rows with a hidden change listed after the others tell nothing.
    from cspkit.measures.disclosure import hidden_last

    moved = hidden_last(table, "change", "ward")
    assert list(moved["ward"]) == list("ABCDFEG")
    assert leaks_of(moved, spec) == {}


def test_a_figure_not_computed_as_declared_is_audited_as_computed():
    # change_pct from per-month rates of unequal periods: not 100 (a - b) / b of the counts
    # shown, so the audit cannot use it as that, and treats it as any figure computed from
    # the counts (shown only where they are).
    table = pd.DataFrame({"c": ["A", "B"], "2019": ["40", "<5"], "2018": ["30", "20"],
                          "change_pct": [100.0, "*"]})
    spec = Arithmetic(counts=("2019", "2018"),
                      derived=(("change_pct", PercentChange("2019", "2018")),))
    assert audit_table(table, spec) == []
    leaky = table.assign(change_pct=[100.0, -40.0])
    (leak,) = audit_table(leaky, spec)
    assert leak.row == 1 and leak.value is None and "not as declared" in leak.relation


def test_the_spec_must_match_the_table():
    with pytest.raises(ArithmeticMismatch, match="renamed"):
        audit_table(WARDS.rename(columns={"change": "Change"}), WARD_SPEC)
    renamed = WARD_SPEC.renamed({"change": "Change", "2023": "2023 (12 months)"})
    frame = WARDS.rename(columns={"change": "Change", "2023": "2023 (12 months)"})
    assert leaks_of(frame, renamed) == {(0, "2022"): 3}
    with pytest.raises(ArithmeticMismatch, match="no whole-number counts"):
        # '<5' + '<5' cannot be 20.
        audit_table(pd.DataFrame({"a": ["<5"], "b": ["<5"], "t": ["20"]}),
                    Arithmetic(counts=("a", "b", "t"), total_column="t"))
    with pytest.raises(ArithmeticMismatch, match="not a published count"):
        audit_table(pd.DataFrame({"a": ["x"]}), Arithmetic(counts=("a",)))


def test_a_small_count_shown_is_a_leak():
    leaks = audit_table(pd.DataFrame({"a": ["3", "12"]}), Arithmetic(counts=("a",)))
    assert [(leak.row, leak.value) for leak in leaks] == [(0, 3)]


def test_stacked_tables_keep_their_own_totals():
    crime = publish(pd.DataFrame({"c": ["x", "y", "total"], "n": [3, 40, 43]}), ["n"],
                    total_rows=[2])
    asb = publish(pd.DataFrame({"c": ["asb"], "n": [12]}), ["n"])
    both = stack([asb, crime])
    spec = arithmetic_of(both)
    assert spec is not None and spec.row_sums == (RowSum(3, (1, 2)),)
    assert both["n"].tolist() == ["12", "<5", "*", "43"]
    assert audit_table(both, spec) == []


def _brute_force(rows: list[list[str]], threshold: int = 5, top: int = 30
                 ) -> set[tuple[int, int]]:
    """Every primary cell with one feasible value, by enumerating every assignment of the
    hidden cells (primary 1..4, secondary threshold..top) of each row against its total (the
    last cell): rows are independent, so each is enumerated on its own."""
    pinned = set()
    for i, row in enumerate(rows):
        hidden = [j for j, v in enumerate(row) if v in ("<5", "*")]
        ranges = [range(1, threshold) if row[j] == "<5" else range(threshold, top + 1)
                  for j in hidden]
        seen: dict[int, set[int]] = {j: set() for j in hidden}
        for assignment in itertools.product(*ranges):
            cells = [int(v) if v not in ("<5", "*") else 0 for v in row]
            for j, v in zip(hidden, assignment, strict=True):
                cells[j] = v
            if sum(cells[:-1]) == cells[-1]:
                for j, v in zip(hidden, assignment, strict=True):
                    seen[j].add(v)
        pinned |= {(i, j) for j, options in seen.items() if row[j] == "<5" and len(options) == 1}
    return pinned


def test_the_integer_programme_agrees_with_brute_force():
    rng = np.random.default_rng(11)
    spec = Arithmetic(counts=("a", "b", "c", "t"), total_column="t")
    checked = pinned = 0
    for _ in range(60):
        n = int(rng.integers(1, 3))
        body = rng.choice([0, 1, 2, 3, 4, 5, 6, 7], size=(n, 3))
        shown = [[str(v) for v in row] + [str(row.sum())] for row in body]
        # Hide small counts and, at random, some larger ones, without protecting them.
        for row in shown:
            for j in range(4):
                v = int(row[j])
                if 1 <= v < 5:
                    row[j] = "<5"
                elif v >= 5 and j < 3 and rng.random() < 0.4:
                    row[j] = "*"
        values = {c: [row[j] for row in shown] for j, c in enumerate(spec.counts)}
        expected = _brute_force(shown)
        got = {(leak.row, list(spec.counts).index(leak.column))
               for leak in audit_table(pd.DataFrame(values), spec)}
        assert got == expected, values
        checked += 1
        pinned += len(expected)
    assert checked >= 30 and pinned >= 5


# -- sentences --------------------------------------------------------------------------------

LEAKING = [
    "Line chart of possession of weapons by month: highest 23 in March 2024; lowest 2 in "
    "January 2022.",
    "Police recorded 3 incidents of arson in the ward.",
    "There were two burglaries in Harrold.",
    "Deliberate fires peaked at 4 in July.",
    "Robbery fell significantly: fewer than 5 in 2023 against 12 in 2022, 75% lower.",
    "Shoplifting: <5 in 2023, up 3 on 2022.",
    "Drugs showed no significant change: fewer than 5 in 2023 against 8 in 2022 (p = 0.39).",
    "Fire and rescue attended fewer than 5 fires in Harrold in 2023: accidental 50%, "
    "deliberate 25%.",
    "Only 1 serious violent crime was recorded.",
]
SAFE = [
    "Table 3 lists crimes by ward and Figure 2 maps deliberate fires.",
    "The data covers 8 of 12 months of 2021.",
    "1 month exceptionally high (March 2024); 4 months exceptionally low.",
    "Bedford ranks 2 of 3 districts by average score (1 = most deprived).",
    "Decile 1 holds 5 LSOAs; the 2nd most deprived decile 12.",
    "Shoplifting rose significantly: 1,054 in 2023 against 908 in 2022, 16% higher "
    "(p < 0.001).",
    "Counts of 1 to 4 are published as <5 (and a second cell where needed).",
    "Wards with fewer than 5 are shown grey.",
    "Robbery in Bedford: fewer than 5 in 2023 against 7 in 2022. These numbers are too small "
    "to tell whether any difference is more than chance.",
    "On 3 March 2023 the force changed its recording of crimes.",
    "The rate was 0.4 crimes per 1,000 residents; 2.5 incidents per month on average.",
    "Verdicts from the Poisson E-test at the 5% level; counts of 1-4 are shown as <5.",
    "The 12-month average rose from 1,136 to 1,178; control limits 1,048 to 1,252.",
    "Map: IMD national decile by LSOA. Highest Bedford 005D (10); lowest Bedford 015F (1).",
    "Stability: entering the top ten: none. Two county lines were disrupted this year.",
    "The change of -4 crimes is not significant.",
]


@pytest.mark.parametrize("text", LEAKING)
def test_sentences_stating_a_small_count_are_caught(text):
    assert audit_text(text), text


@pytest.mark.parametrize("text", SAFE)
def test_ordinary_numbers_are_not_mistaken_for_small_counts(text):
    assert audit_text(text) == [], audit_text(text)


def test_figures_of_counts_are_held_to_more():
    text = "Map: Drugs by ward, 2023. Highest Greyfriars (82); lowest Kempston South (3)."
    assert audit_text(text) == []
    (leak,) = audit_text(text, counts=True)
    assert "(3)" in leak.relation
    assert audit_text("Bar chart: counts. All values: Ward A 12; Ward B 3.", counts=True)
    assert audit_text("Map: decile. Lowest Bedford 015F (1).", counts=False) == []
    assert audit_text("Map: counts; lowest Shortstown (0). Not shown (grey): Harrold.",
                      counts=True) == []


def test_the_threshold_is_the_policys():
    assert audit_text("There were 7 burglaries.", threshold=10)
    assert audit_text("There were 7 burglaries.") == []
    assert audit_text("fewer than 10 in 2023, 30% lower", threshold=10, label="<10")


def test_svg_texts_are_read():
    svg = ('<svg role="img" aria-label="Chart: lowest 2 in May &amp; June"><title>Ward A: '
           '3 incidents</title><desc>x</desc><text>4</text></svg>')
    assert svg_texts(svg) == ["Ward A: 3 incidents", "x", "Chart: lowest 2 in May & June"]
