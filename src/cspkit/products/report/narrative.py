"""Sentences built from measure results, so the words always follow the statistics.

Rules every sentence here keeps:
- a change is called an increase or a decrease only when its verdict is significant; otherwise
  it is "no significant change", with the figures;
- when the numbers are too small for a test, it says so and claims no direction;
- every count in the text passes the disclosure policy: 1-4 is written "fewer than 5";
- a partial period or a comparison across different coverage carries its caveat.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cspkit.measures.change import DECREASE, INCREASE, NO_CHANGE, NOT_COMPARED, TOO_FEW, format_p
from cspkit.measures.settings import Settings


def count_text(n: int | float | None, settings: Settings | None = None) -> str:
    """'1,234'; 'fewer than 5' for a count the disclosure policy hides; 'no' for 0."""
    settings = settings or Settings()
    if n is None:
        return "an unknown number of"
    n = int(n)
    if n == 0:
        return "no"
    if n < settings.suppress_below:
        return f"fewer than {settings.suppress_below}"
    return f"{n:,}"


def pct_text(pct: float | None) -> str:
    return "" if pct is None else f"{abs(pct):.0f}%"


def change_sentence(subject: str, row: Mapping[str, Any], settings: Settings | None = None
                    ) -> str:
    """One sentence on a change between two periods, from a row of `measures.period_change`
    (count, baseline_count, pct_change, p_value, verdict, period, baseline_period,
    comparison_note)."""
    settings = settings or Settings()
    now, before = int(row["count"]), int(row["baseline_count"])
    period, baseline = row.get("period", "this period"), row.get("baseline_period", "before")
    figures = (f"{count_text(now, settings)} in {period} against "
               f"{count_text(before, settings)} in {baseline}")
    verdict = row["verdict"]
    note = row.get("comparison_note")
    if verdict == NOT_COMPARED:
        reason = str(note or "").removeprefix("no change can be stated: ")
        return (f"{subject}: {count_text(now, settings)} recorded in {period}. No change "
                f"against {baseline} is stated: {reason}.")
    p = (format_p(float(row["p_value"])) if row.get("p_value") is not None
         and row["p_value"] == row["p_value"] else "")
    if row.get("q_value") is not None and row["q_value"] == row["q_value"] and p:
        p += f", {_test_words(row)}"
    if verdict == TOO_FEW:
        text = (f"{subject}: {figures}. These numbers are too small to tell whether any "
                "difference is more than chance.")
    elif verdict == INCREASE:
        text = (f"{subject} rose significantly: {figures}, {pct_text(row.get('pct_change'))} "
                f"higher ({p}).")
    elif verdict == DECREASE:
        text = (f"{subject} fell significantly: {figures}, {pct_text(row.get('pct_change'))} "
                f"lower ({p}).")
    elif verdict == NO_CHANGE:
        text = (f"{subject} showed no significant change: {figures} ({p}); a difference of "
                "this size is within what chance alone produces.")
    else:
        raise ValueError(f"unknown verdict {verdict!r}")
    if note:
        text += f" Compared {note}."
    return text


def _test_words(row: Mapping[str, Any]) -> str:
    """'quasi-Poisson test, significant after control across the table' and the like: how
    the verdict was reached, for the sentence's parenthesis."""
    test = str(row.get("test") or "").split(",")[0] or "test"
    unadjusted = row.get("verdict_unadjusted")
    if row["verdict"] in (INCREASE, DECREASE):
        return f"{test}; significant after control for the number of issues tested"
    if unadjusted in (INCREASE, DECREASE):
        return (f"{test}; p below 5% on its own but not after control for the number of "
                "issues tested")
    return test


def rate_sentence(subject: str, area_row: Mapping[str, Any], parent_name: str,
                  settings: Settings | None = None) -> str:
    """The area's rate beside its parent's, from a row of `measures.comparisons.siblings`."""
    rate, parent_rate = area_row.get("rate_per_1000"), area_row.get("parent_rate_per_1000")
    if rate is None or parent_rate is None:
        return f"No population figure is held to give {_lower_first(subject)} a rate."
    verdict = area_row.get("verdict") or ""
    base = (f"The rate of {_lower_first(subject)} in {area_row['name']} was {rate:.1f} per 1,000 "
            f"residents, against {parent_rate:.1f} across {parent_name}")
    if verdict == "significantly higher":
        return base + ": significantly higher."
    if verdict == "significantly lower":
        return base + ": significantly lower."
    if verdict == "no significant difference":
        return base + ": not significantly different."
    return base + ": too few incidents to compare reliably."


def partial_caveat(row: Mapping[str, Any]) -> str | None:
    """A caveat for a result flagged partial, naming the months the data lacks."""
    if not row.get("partial"):
        return None
    missing = row.get("months_missing") or ""
    return (f"The data covers only {row.get('months_in_data')} of the months of "
            f"{row.get('period')} (missing: {missing}); totals for it are not full-year "
            "figures.")


def _lower_first(text: str) -> str:
    """'Police recorded crime (excluding ASB)' -> 'police recorded crime (excluding ASB)':
    only the first letter, so acronyms keep their capitals."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text
