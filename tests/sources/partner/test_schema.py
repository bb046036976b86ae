"""Schema files: the shipped ones load, a user's own is any path, and mistakes are named."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from cspkit.errors import InputError
from cspkit.ingest import ingest_partner
from cspkit.sources.partner import SchemaError, load_schema, shipped_schemas
from tests.sources.partner.conftest import write_csv

LAYOUTS = {"fire": "events", "ambulance": "indicators", "istv": "events",
           "treatment": "indicators", "safe-and-well": "indicators",
           "police-markers": "events", "domestic-abuse": "indicators"}

MINIMAL = """\
name: mine
kind: events
source: youth-service
columns:
  date: {column: Date, format: "%Y-%m-%d"}
  category: {column: Type, map: {A: Assault, B: Burglary, default: Other}}
"""


def write(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_schemas() -> None:
    shipped = shipped_schemas()
    assert set(shipped) == set(LAYOUTS)
    for name, kind in LAYOUTS.items():
        schema = load_schema(name)
        assert (schema.name, schema.kind, schema.source) == (name, kind, name)
        assert schema.restricted == (name in ("istv", "police-markers"))
    assert load_schema("ambulance").sheet == "Assault callouts"
    assert load_schema("domestic-abuse").sheet == "By year"


def test_user_schema_from_path_with_map_default(warehouse: duckdb.DuckDBPyConnection,
                                                tmp_path: Path) -> None:
    schema = write(tmp_path, MINIMAL)
    assert load_schema(str(schema)).ingest_kind == "partner-mine"
    data = write_csv(tmp_path / "youth.csv", ["Date", "Type"],
                     [["2023-01-05", "A"], ["2023-02-05", "b"], ["2023-03-05", "Z"]])
    records = ingest_partner(warehouse, [str(data)], schema=str(schema), run_id="t")
    assert records[0].rows_loaded == 3
    assert warehouse.execute("SELECT source, category FROM events ORDER BY line_no").fetchall() \
        == [("youth-service", "Assault"), ("youth-service", "Burglary"),
            ("youth-service", "Other")]


def test_unknown_schema_name() -> None:
    with pytest.raises(InputError, match="no such schema.*fire"):
        load_schema("fir")


@pytest.mark.parametrize(("text", "key", "problem"), [
    (MINIMAL.replace("kind: events", "kind: incidents"), "kind", 'unknown kind "incidents"'),
    (MINIMAL.replace("source: youth-service\n", ""), "source", "missing"),
    (MINIMAL.replace("{A: Assault, B: Burglary, default: Other}", "[A, B]"),
     "columns.category.map", "is not a mapping of codes to values"),
    (MINIMAL.replace("{A: Assault, B: Burglary, default: Other}", "{A: {x: 1}}"),
     "columns.category.map.A", "is not a single value"),
    (MINIMAL.replace("category: ", "categry: "), "columns.categry", "not a field of kind"),
    (MINIMAL.replace("format: ", "fromat: "), "columns.date.fromat", "unknown key"),
    (MINIMAL.replace("  date: {column: Date, format: \"%Y-%m-%d\"}\n", ""), "columns.date",
     "missing"),
    (MINIMAL.replace("{column: Type,", "{column: Type, value: x,"), "columns.category",
     "exactly one of"),
    ("name: x\nkind: indicators\nsource: s\ncolumns:\n  area: {column: A}\n"
     "  period: {column: P, format: fortnight}\n  values: {v: {column: V}}\n",
     "columns.period.format", "is not a period format"),
    ("name: x\nkind: indicators\nsource: s\ncolumns:\n  area: {column: A}\n"
     "  period: {column: P, format: month}\n", "columns.values", "missing"),
    (MINIMAL + "date_range: [2030-01-01, 2020-01-01]\n", "date_range", "first date is after"),
    (MINIMAL + "file: {sheet: -1}\n", "file.sheet", "not a sheet name or index"),
    (MINIMAL + "colour: blue\n", "colour", "unknown key"),
])
def test_schema_errors_name_file_and_key(tmp_path: Path, text: str, key: str,
                                         problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SchemaError) as caught:
        load_schema(str(path))
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{path}: {key}: ")
    assert problem in str(caught.value)


def test_not_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "name: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_schema(str(path))
