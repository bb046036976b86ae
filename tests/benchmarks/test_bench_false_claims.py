"""What the false-claims benchmark counts in a document (benchmarks/bench_false_claims.py)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from cspkit.measures.periods import calendar_year
from cspkit.products.report import charts
from cspkit.products.report.document import Document, Paragraph, Section, Table

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_false_claims as bench  # noqa: E402


def _trend_series() -> pd.DataFrame:
    months = pd.date_range("2022-01-01", "2023-12-01", freq="MS")
    flags = {"2022-03-01": "above", "2023-06-01": "above", "2023-11-01": "below"}
    return pd.DataFrame({"month": months, "count": 100, "rolling_mean": 100.0,
                         "lower": 80.0, "upper": 120.0,
                         "exceptional": [flags.get(f"{m:%Y-%m-%d}", "") for m in months]})


def _document() -> Document:
    with bench.trend_series_attached():
        figure = charts.trend_chart("burglary-trend", "Burglary by month", _trend_series())
    untouched = charts.trend_chart("other-trend", "Other by month", _trend_series())
    verdicts = pd.DataFrame({"category": ["Burglary", "Robbery", "Drugs"],
                             "2023": [900, 150, 400], "2022": [700, 140, 520],
                             "verdict": ["significant increase", "no significant change",
                                         "significant decrease"]})
    return Document(
        title="t", area_name="Bedford", area_code="E06000055", period_label="2023",
        produced=date(2024, 1, 1), sections=[
            Section("key-findings", "Key findings", [
                Paragraph("Burglary in Bedford rose significantly: 900 in 2023 against 700 in "
                          "2022, 29% higher (p < 0.001).", kind="finding"),
                Paragraph("Stable since 2022 (no significant change): Robbery.")]),
            Section("issues", "Issues", [
                Paragraph("Burglary in Bedford rose significantly: 900 in 2023 against 700."),
                Paragraph("Robbery in Bedford showed no significant change: 150 against 140."),
                Paragraph("There was not a significant increase in shoplifting."),
                Paragraph("No ward had a significant rise on two or more issues."),
                Paragraph("The rate in Bedford was 80 per 1,000, against 70 across "
                          "Bedfordshire: significantly higher."),
                Table("types", "Crime by type", verdicts),
                Table("drugs-wards", "Drugs by ward", pd.DataFrame({
                    "ward": ["Harpur", "Putnoe"], "verdict": ["significant increase",
                                                              "no significant change"]})),
                figure,
                Paragraph("Months above the expected range (control limits): Jun 2023, "
                          "Jul 2023, Aug 2022."),
            ]),
            Section("other", "Other", [untouched]),
        ])


def test_claims_counts_change_claims_and_exceptional_months_of_the_period() -> None:
    result = bench.claims(_document())
    assert (result["in_key_findings"], result["in_text"], result["in_tables"]) == (1, 1, 3)
    assert result["change_claims"] == 5
    assert bench.found(result, "Burglary", "increase")
    assert bench.found(result, "Drugs", "decrease")
    assert not bench.found(result, "Drugs", "increase")     # a ward's rise is not the district's
    assert bench.found(result, "Harpur", "increase")
    assert not bench.found(result, "Burglary", "decrease")
    assert not bench.found(result, "Robbery", "increase")
    assert not bench.found(result, "Shoplifting", "increase")
    # The captured frame flags Jun and Nov 2023 (Mar 2022 is outside the period), the sentence
    # adds Jul 2023; the figure without a captured frame is read from its description.
    assert result["exceptional"] == ["issues 2023-06", "issues 2023-07", "issues 2023-11",
                                     "other 2023-06", "other 2023-11"]
    assert (result["exceptional_high"], result["exceptional_low"]) == (3, 2)
    assert (result["trend_figures"], result["trend_figures_without_series"]) == (2, 1)
    # A different period counts the months of that period only.
    assert bench.claims(_document(), calendar_year(2022))["exceptional"] == [
        "issues 2022-03", "issues 2022-08", "other 2022-03"]


def test_charts_are_restored_after_capture() -> None:
    original = charts.trend_chart
    with bench.trend_series_attached():
        assert charts.trend_chart is not original
    assert charts.trend_chart is original


@pytest.mark.parametrize(("k", "n"), [(0, 40), (2, 40), (33, 40), (5, 5)])
def test_wilson_interval_matches_statsmodels(k: int, n: int) -> None:
    assert bench.wilson(k, n) == pytest.approx(proportion_confint(k, n, method="wilson"),
                                               abs=1e-9)


def test_mean_interval_covers_the_mean_and_is_never_below_zero() -> None:
    mean, low, high = bench.mean_interval([0] * 40)
    assert (mean, low) == (0.0, 0.0) and high == pytest.approx(3.689 / 40, abs=1e-3)
    mean, low, high = bench.mean_interval([0, 0, 12, 0])     # clustered: wider than Poisson
    assert mean == 3 and low == 0.0 and high > 3 + 1.96 * (12 / 4) ** 0.5
