"""Period formats of indicator files, dates from workbook cells, and the LSOA edition rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from cspkit.ingest import ingest_partner
from cspkit.sources.partner.convert import Reject, period
from cspkit.sources.partner.load import Geography
from cspkit.sources.partner.schema import FieldSpec
from tests.sources.partner.conftest import LUTON, write_csv, write_xlsx


@pytest.mark.parametrize(("fmt", "cell", "start", "end"), [
    ("financial_year", "2022/23", dt.date(2022, 4, 1), dt.date(2023, 3, 31)),
    ("financial_year", "2019-2020", dt.date(2019, 4, 1), dt.date(2020, 3, 31)),
    ("financial_year", "1999/00", dt.date(1999, 4, 1), dt.date(2000, 3, 31)),
    ("calendar_year", "2022", dt.date(2022, 1, 1), dt.date(2022, 12, 31)),
    ("calendar_year", 2021, dt.date(2021, 1, 1), dt.date(2021, 12, 31)),
    ("month", "2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
    ("month", dt.datetime(2023, 11, 1), dt.date(2023, 11, 1), dt.date(2023, 11, 30)),
    ("%d/%m/%Y", "05/06/2022", dt.date(2022, 6, 5), dt.date(2022, 6, 5)),
])
def test_period_formats(fmt: str, cell: object, start: dt.date, end: dt.date) -> None:
    got = period(FieldSpec(key="columns.period", column="P", format=fmt), cell)
    assert got[:2] == (start, end)


@pytest.mark.parametrize(("fmt", "cell"), [("financial_year", "2022/24"),
                                           ("financial_year", "2022"),
                                           ("calendar_year", "2022/23"), ("month", "2022-13"),
                                           ("%d/%m/%Y", "2022-06-05")])
def test_bad_periods(fmt: str, cell: str) -> None:
    with pytest.raises(Reject, match=r"^P: "):
        period(FieldSpec(key="columns.period", column="P", format=fmt), cell)


def test_monthly_dates_in_a_workbook(warehouse: duckdb.DuckDBPyConnection,
                                     tmp_path: Path) -> None:
    schema = tmp_path / "monthly.yaml"
    schema.write_text("name: monthly\nkind: indicators\nsource: asb-team\n"
                      "columns:\n  area: {column: Area}\n"
                      "  period: {column: Month, format: '%Y-%m-%d', period_length: month}\n"
                      "  values: {asb_reports: {column: Reports}}\n")
    path = write_xlsx(tmp_path / "m.xlsx", {"S": (["Area", "Month", "Reports"], [
        [LUTON, dt.datetime(2023, 2, 1), 40], [LUTON, "2023-03-01", 41.5]])})
    assert ingest_partner(warehouse, [str(path)], schema=str(schema),
                          run_id="t")[0].rows_loaded == 2
    assert warehouse.execute("SELECT period_start, period_end, value FROM indicators "
                             "ORDER BY 1").fetchall() == [
        (dt.date(2023, 2, 1), dt.date(2023, 2, 28), 40.0),
        (dt.date(2023, 3, 1), dt.date(2023, 3, 31), 41.5)]


def test_lsoa_edition_rule() -> None:
    geography = Geography({"E01000001": {"2011", "2021"}, "E01000002": {"2011"},
                           "E01033333": {"2021"}}, {}, set(), {"lsoa"})
    assert geography.lsoa_vintage("E01000001") == "2021"
    assert geography.lsoa_vintage("E01000002") == "2011"
    assert geography.lsoa_vintage("E01033333") == "2021"
    assert geography.lsoa_vintage("E01999999") is None


def test_header_only_file_loads_nothing(warehouse: duckdb.DuckDBPyConnection,
                                        tmp_path: Path) -> None:
    path = write_csv(tmp_path / "saw.csv", ["District code", "District", "Financial year",
                                            "Visits"], [])
    record = ingest_partner(warehouse, [str(path)], schema="safe-and-well", run_id="t")[0]
    # Recorded as empty, never as loaded coverage.
    assert (record.status, record.rows_in, record.rows_loaded) == ("empty", 0, 0)
