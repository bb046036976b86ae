"""The coverage audit, checked against what was loaded."""

from __future__ import annotations

import zipfile

from cspkit.ingest import ingest_police
from cspkit.store import transaction
from cspkit.store.coverage import coverage


def test_coverage_of_the_cambridgeshire_months(warehouse, cambridgeshire_zip):
    with transaction(warehouse):
        ingest_police(warehouse, [str(cambridgeshire_zip)], run_id="t")
    cov = coverage(warehouse)
    months = [fm.month for fm in cov.force_months]
    assert months == ["2018-03", "2018-10", "2018-11", "2018-12", "2019-01", "2019-02",
                      "2019-08", "2019-09"]
    missing = [m["month"] for m in cov.missing_months]
    assert missing == ["2018-04", "2018-05", "2018-06", "2018-07", "2018-08", "2018-09",
                       "2019-03", "2019-04", "2019-05", "2019-06", "2019-07"]
    # Unlocated = rows without an LSOA code, counted from the raw file.
    with zipfile.ZipFile(cambridgeshire_zip) as zf:
        text = zf.read("2019-09/2019-09-cambridgeshire-street.csv").decode("utf-8")
    lines = text.splitlines()[1:]
    no_lsoa = sum(1 for line in lines if line.split(",")[7] == "")
    fm = next(f for f in cov.force_months if f.month == "2019-09")
    assert (fm.rows, fm.unlocated) == (len(lines), no_lsoa) == (7_238, 334)
    assert cov.force_months[0].unlocated == 0  # 2018-03 was published with every row located
    totals = cov.totals()
    assert totals["rows"] == 53_596 and totals["months_missing"] == 11
    assert all(i["rows_in"] == i["rows_loaded"] + i["rows_quarantined"] for i in cov.ingests)


def test_duplicates_skipped_are_counted_per_month(warehouse, bedfordshire_zip, tmp_path):
    from tests.conftest import extract

    path = extract(bedfordshire_zip, "2022-01/2022-01-bedfordshire-street.csv", tmp_path)
    with transaction(warehouse):
        ingest_police(warehouse, [str(path)], run_id="t")
    (fm,) = coverage(warehouse).force_months
    assert fm.duplicates_skipped == 178 and fm.month == "2022-01" and fm.force == "bedfordshire"
