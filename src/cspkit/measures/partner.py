"""Measures over partner data: aggregate indicators by area and period, record-level partner
events by attribute and flag, and the comparison of two proportions.

Partner events share the `events` table with police.uk (their `source` tells them apart), so the
counting measures (`counts`, `series`, `period_change`) work on them with `source=`; what is
here is what police.uk data has no equivalent for.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd
from statsmodels.stats.proportion import proportions_ztest

from cspkit.measures.areas import AreaSelection
from cspkit.measures.periods import Period
from cspkit.measures.settings import Settings


def indicator_table(con: duckdb.DuckDBPyConnection, source: str, indicators: list[str],
                    area_codes: list[str]) -> pd.DataFrame:
    """Values of `indicators` for the given areas, one row per area x period x indicator
    (summed over any attribute breakdown such as substance group).

    Columns: area_code, area_name, period_label, period_start, indicator, value."""
    if not area_codes or not indicators:
        return pd.DataFrame(columns=["area_code", "area_name", "period_label", "period_start",
                                     "indicator", "value"])
    marks_a = ", ".join("?" for _ in area_codes)
    marks_i = ", ".join("?" for _ in indicators)
    return con.execute(
        f"""SELECT i.area_code, coalesce(a.name, i.area_code) AS area_name, i.period_label,
                   i.period_start, i.indicator, sum(i.value) AS value
            FROM indicators i LEFT JOIN areas a ON a.code = i.area_code
            WHERE i.source = ? AND i.indicator IN ({marks_i}) AND i.area_code IN ({marks_a})
            GROUP BY ALL ORDER BY i.period_start, i.area_code, i.indicator""",
        [source, *indicators, *area_codes]).df()


def indicator_breakdown(con: duckdb.DuckDBPyConnection, source: str, area_code: str,
                        attribute: str) -> pd.DataFrame:
    """Indicator values for one area split by a JSON attribute (e.g. substance_group)."""
    return con.execute(
        """SELECT i.period_label, i.period_start,
                  json_extract_string(i.attributes, '$.' || ?) AS breakdown,
                  i.indicator, sum(i.value) AS value
           FROM indicators i WHERE i.source = ? AND i.area_code = ?
           GROUP BY ALL ORDER BY 2, 3, 4""", [attribute, source, area_code]).df()


def _area_events(area: AreaSelection, source: str) -> tuple[str, list[object]]:
    """Events of `source` in the area: placed by LSOA, or by district where only that is known
    (e.g. ED attendances giving the patient's district)."""
    condition, params = area.where("g")
    district = ""
    district_params: list[object] = []
    if area.level == "lad":
        district = (" OR (e.lsoa_code IS NULL AND "
                    "json_extract_string(e.attributes, '$.district') = ?)")
        district_params = [area.code]
    sql = (f"""FROM events e LEFT JOIN lsoa_geography g
                 ON g.lsoa_code = e.lsoa_code AND g.lsoa_vintage = e.lsoa_vintage
               WHERE e.source = ? AND (({condition}){district})""")
    return sql, [source, *params, *district_params]


def attribute_counts(con: duckdb.DuckDBPyConnection, area: AreaSelection, period: Period,
                     source: str, rows: str, columns: str | None = None) -> pd.DataFrame:
    """Events of `source` by one or two attributes (JSON keys, or 'subcategory'), e.g. ED
    assault attendances by age band x gender. Long format: rows, columns, count."""
    scope, params = _area_events(area, source)

    def field(name: str) -> str:
        if name in ("subcategory", "category"):
            return f"e.{name}"
        return f"json_extract_string(e.attributes, '$.{name}')"

    col_sql = f", {field(columns)} AS {columns}" if columns else ""
    return con.execute(
        f"""SELECT {field(rows)} AS {rows}{col_sql}, count(*) AS count {scope}
            AND e.month BETWEEN ? AND ? GROUP BY ALL ORDER BY ALL""",
        [*params, period.start, period.end]).df()


def flagged_by_year(con: duckdb.DuckDBPyConnection, area: AreaSelection, source: str,
                    flag: str) -> pd.DataFrame:
    """Events of `source` whose JSON attribute `flag` is true, by financial year.
    Columns: financial_year, count, months (months of data in that year)."""
    scope, params = _area_events(area, source)
    return con.execute(
        f"""WITH e AS (SELECT e.month, json_extract(e.attributes, '$.{flag}')::BOOLEAN AS f
                       {scope})
            SELECT CASE WHEN month(month) >= 4
                        THEN year(month) || '/' || lpad(((year(month) + 1) % 100)::VARCHAR, 2, '0')
                        ELSE (year(month) - 1) || '/' || lpad((year(month) % 100)::VARCHAR, 2, '0')
                   END AS financial_year,
                   count(*) FILTER (WHERE f) AS count, count(DISTINCT month) AS months
            FROM e GROUP BY 1 ORDER BY 1""", params).df()


FINANCIAL_YEAR_SQL = """CASE WHEN month(e.month) >= 4
    THEN year(e.month) || '/' || lpad(((year(e.month) + 1) % 100)::VARCHAR, 2, '0')
    ELSE (year(e.month) - 1) || '/' || lpad((year(e.month) % 100)::VARCHAR, 2, '0') END"""


def attribute_by_year(con: duckdb.DuckDBPyConnection, area: AreaSelection, source: str,
                      attribute: str) -> pd.DataFrame:
    """Events of `source` by financial year and one attribute (a JSON key or 'subcategory'),
    e.g. ED assault attendances by weapon over time. Long: financial_year, value, count."""
    scope, params = _area_events(area, source)
    field = ("e.subcategory" if attribute == "subcategory"
             else f"json_extract_string(e.attributes, '$.{attribute}')")
    return con.execute(
        f"""SELECT {FINANCIAL_YEAR_SQL} AS financial_year, {field} AS value, count(*) AS count
            {scope} GROUP BY ALL ORDER BY 1, 2""", params).df()


@dataclass(frozen=True)
class ProportionComparison:
    successes: int
    total: int
    other_successes: int
    other_total: int
    rate: float | None
    other_rate: float | None
    p_value: float | None
    verdict: str       # 'significantly higher' | 'significantly lower' | 'no significant
    #                    difference' | 'too few to tell'


def compare_proportions(successes: int, total: int, other_successes: int, other_total: int,
                        settings: Settings | None = None) -> ProportionComparison:
    """Two-sample z-test of proportions (statsmodels `proportions_ztest`), e.g. a district's
    treatment completion rate against the county's. 'Too few to tell' when either group has
    fewer than 10 successes or failures (the test's normal approximation needs them)."""
    settings = settings or Settings()
    rate = successes / total if total else None
    other = other_successes / other_total if other_total else None
    small = min(successes, total - successes, other_successes, other_total - other_successes)
    if rate is None or other is None or small < 10:
        return ProportionComparison(successes, total, other_successes, other_total, rate,
                                    other, None, "too few to tell")
    _, p_value = proportions_ztest([successes, other_successes], [total, other_total])
    p = float(p_value)
    if p < settings.alpha:
        verdict = "significantly higher" if rate > other else "significantly lower"
    else:
        verdict = "no significant difference"
    return ProportionComparison(successes, total, other_successes, other_total, rate, other, p,
                                verdict)
