"""Formula-like text neutralised for spreadsheets (OWASP CSV injection), numbers left alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cspkit.products.cell_safety import (
    as_text,
    is_formula_like,
    safe_cell,
    safe_frame,
    write_csv,
)

# Each OWASP trigger, as a category or name could begin with it.
FORMULA_LIKE = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1:A2)", "\tTab",
                "\rReturn", "=", "-", "+", "@", "-cmd|' /C calc'!A0", "-1+1", "-12 apples",
                "＝1+1", "-1e5", "+0x10"]
PLAIN = ["Burglary", "Anti-social behaviour", "", " =1", "a=b", "<5", "12", "1,234", "3.5%",
         "'=already", "E05000001"]
SIGNED_NUMBERS = ["-12", "+3.5", "-12%", "-1,234", "+1,234,567.89", "-0.5", "-.5"]


@pytest.mark.parametrize("text", FORMULA_LIKE)
def test_formula_like_text_gets_a_leading_quote(text: str) -> None:
    assert is_formula_like(text)
    assert safe_cell(text) == "'" + text
    assert safe_cell(safe_cell(text)) == safe_cell(text)   # twice changes nothing


@pytest.mark.parametrize("text", PLAIN + SIGNED_NUMBERS)
def test_other_text_and_plain_signed_numbers_are_unchanged(text: str) -> None:
    assert safe_cell(text) == text


@pytest.mark.parametrize("value", [-12, -3.25, np.int64(-5), np.float64(-0.5), None, True,
                                   pd.NaT, pd.Timestamp("2024-01-01")])
def test_non_text_values_are_unchanged(value: object) -> None:
    assert safe_cell(value) is value


def test_safe_frame_touches_only_formula_like_text_and_headers() -> None:
    frame = pd.DataFrame({"category": ["=1+1", "Burglary", "-12", "@x"],
                          "count": [-1, 2, 3, 4],
                          "change": [-0.5, 1.0, float("nan"), 2.0],
                          "mixed": ["-3", 5, None, "+cmd"],
                          "=header": ["a", "b", "c", "d"]})
    frame["kind"] = pd.Categorical(["-x", "a", "a", "b"])
    safe = safe_frame(frame)
    assert safe["category"].tolist() == ["'=1+1", "Burglary", "-12", "'@x"]
    assert safe["count"].tolist() == [-1, 2, 3, 4] and safe["count"].dtype == frame["count"].dtype
    assert safe["change"].dtype == np.float64 and safe["change"].iloc[0] == -0.5
    assert safe["mixed"].tolist()[:2] == ["-3", 5] and safe["mixed"].iloc[3] == "'+cmd"
    assert safe["kind"].tolist() == ["'-x", "a", "a", "b"]
    assert list(safe.columns) == ["category", "count", "change", "mixed", "'=header", "kind"]
    assert frame["category"].iloc[0] == "=1+1"     # the original is not changed
    assert safe_frame(safe).equals(safe)


def test_safe_frame_keeps_a_frame_with_nothing_to_change() -> None:
    frame = pd.DataFrame({2023: ["a", "b"], "n": [1, 2]})
    safe = safe_frame(frame)
    assert safe.equals(frame) and list(safe.columns) == [2023, "n"]


def test_openpyxl_cells_hold_text_not_formulas() -> None:
    from openpyxl import Workbook

    sheet = Workbook().active
    sheet.append(["=1+1", "Burglary", 5, "-12"])
    assert sheet["A1"].data_type == "f"      # what openpyxl does unaided
    for cell in sheet[1]:
        as_text(cell)
    assert (sheet["A1"].value, sheet["A1"].data_type) == ("'=1+1", "s")
    assert (sheet["B1"].value, sheet["B1"].data_type) == ("Burglary", "s")
    assert (sheet["C1"].value, sheet["C1"].data_type) == (5, "n")
    assert (sheet["D1"].value, sheet["D1"].data_type) == ("-12", "s")


def test_write_csv_keeps_a_carriage_return_inside_its_field(tmp_path) -> None:
    import io

    plain = pd.DataFrame({"category": ["=1+1", "Burglary"], "count": [1, 2]})
    assert write_csv(plain) == "category,count\n'=1+1,1\nBurglary,2\n"
    broken = pd.DataFrame({"category": ["\rReturn", "Line\r\nbreak"], "count": [1, 2]})
    text = write_csv(broken)
    assert text == "category,count\r\n\"'\rReturn\",1\r\n\"Line\r\nbreak\",2\r\n"
    assert pd.read_csv(io.StringIO(text, newline=""))["count"].tolist() == [1, 2]
    write_csv(broken, tmp_path / "x.csv")
    assert (tmp_path / "x.csv").read_bytes() == text.encode("utf-8")
