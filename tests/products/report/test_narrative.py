"""Words follow the statistics: built cases that must read as significant, not significant and
too few, with small counts hidden."""

from __future__ import annotations

import pytest

from cspkit.measures.change import compare_counts
from cspkit.products.report.narrative import change_sentence, count_text, rate_sentence


def row(count: int, baseline: int, note: str = "") -> dict[str, object]:
    result = compare_counts(count, baseline)
    return {"count": count, "baseline_count": baseline, "pct_change": result.pct_change,
            "p_value": result.p_value, "verdict": result.verdict, "period": "2023",
            "baseline_period": "2022", "comparison_note": note}


def test_a_significant_rise_is_called_a_significant_rise():
    text = change_sentence("Burglary", row(200, 100))
    assert "rose significantly" in text and "200 in 2023 against 100 in 2022" in text
    assert "100% higher" in text and "p < 0.001" in text


def test_a_significant_fall_is_called_a_significant_fall():
    text = change_sentence("Burglary", row(100, 200))
    assert "fell significantly" in text and "50% lower" in text


@pytest.mark.parametrize(("now", "before"), [(105, 100), (95, 100), (120, 100)])
def test_a_non_significant_change_is_never_called_a_rise_or_fall(now, before):
    text = change_sentence("Robbery", row(now, before))
    assert "no significant change" in text
    for word in ("rose", "fell", "increase", "decrease", "higher", "lower"):
        assert word not in text
    assert f"{now} in 2023 against {before} in 2022" in text


def test_small_numbers_are_too_few_to_tell_and_hidden():
    text = change_sentence("Robbery", row(3, 1))
    assert "too small to tell" in text
    assert "fewer than 5 in 2023 against fewer than 5 in 2022" in text
    assert " 3 " not in text and " 1 " not in text
    for word in ("rose", "fell", "significant"):
        assert word not in text.replace("too small", "")


def test_a_part_year_comparison_names_the_months_compared():
    note = "like for like on the 8 months both periods hold: May–Dec 2021 against May–Dec 2020"
    text = change_sentence("ASB", row(345, 263, note))
    assert text.endswith(f"Compared {note}.")


def test_periods_sharing_no_months_state_no_change():
    note = ("no change can be stated: the data holds Jan–Feb 2019 of 2019 and Mar 2018 of "
            "2018, which share no months to compare like for like")
    text = change_sentence("ASB", row(345, 263, note) | {"verdict": "not compared",
                                                         "p_value": None})
    assert "No change against" in text and "share no months" in text
    assert "rose" not in text and "fell" not in text and "263" not in text


def test_counts_in_text_follow_the_disclosure_policy():
    assert [count_text(n) for n in (0, 1, 4, 5, 1234)] == [
        "no", "fewer than 5", "fewer than 5", "5", "1,234"]


@pytest.mark.parametrize(("verdict", "words"), [
    ("significantly higher", "significantly higher"),
    ("significantly lower", "significantly lower"),
    ("no significant difference", "not significantly different"),
    ("too few to tell", "too few incidents to compare")])
def test_rates_beside_the_parent_follow_the_verdict(verdict, words):
    text = rate_sentence("Burglary", {"name": "Bedford", "rate_per_1000": 3.79,
                                      "parent_rate_per_1000": 3.1, "verdict": verdict},
                         "Bedfordshire Police")
    assert "3.8 per 1,000" in text and "3.1 across Bedfordshire Police" in text
    assert words in text
