"""Declared layouts for partner data: a YAML file says how to read one partner's export.

A schema names the target (``kind: events`` for record-level incidents, ``kind: indicators``
for aggregate figures), the ``source`` written to the warehouse, and for each canonical field
the column it comes from (or a constant ``value``), an optional ``format`` and value ``map``.
Schemas are validated when loaded: every problem names the schema file and the key, because a
typo in a schema would otherwise silently drop a field from every row of every file.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cspkit.errors import InputError
from cspkit.sources.yaml_input import load_yaml, shorten

KINDS = ("events", "indicators")
# Canonical event fields; date and category are what every event needs.
EVENT_FIELDS = ("record_id", "date", "time", "category", "subcategory", "lsoa", "lsoa_name",
                "district", "easting", "northing", "lon", "lat", "location", "outcome",
                "context", "force")
EVENT_REQUIRED = ("date", "category")
INDICATOR_FIELDS = ("area", "period")
PERIOD_FORMATS = ("financial_year", "calendar_year", "month")
PERIOD_LENGTHS = ("day", "month", "year")
FIELD_KEYS = {"column", "value", "format", "map", "default", "required", "unit",
              "period_length"}
TOP_KEYS = {"name", "title", "kind", "source", "restricted", "file", "columns", "date_range",
            "description"}
DEFAULT_DATE_RANGE = (dt.date(2000, 1, 1), None)   # None: today, decided when loading
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class SchemaError(InputError):
    """A schema file that cannot be used: names the file and the offending key."""

    def __init__(self, file: str, key: str, problem: str, *, expected: str | None = None):
        # `problem` often quotes the file, whose values may be huge.
        problem = shorten(problem)
        super().__init__(file, f"{key}: {problem}" if key else problem, expected=expected)
        self.key = key


@dataclass(frozen=True)
class FieldSpec:
    """How to read one canonical field: from `column` or the constant `value`."""

    key: str                                  # e.g. 'columns.subcategory', for messages
    column: str | None = None
    value: Any = None
    format: str | None = None
    mapping: dict[str, Any] | None = None     # keys compared as text, stripped
    default: Any = None                       # for unmapped values; None: quarantine them
    has_default: bool = False
    required: bool = True                     # must the column be in the header?
    unit: str = "count"                       # indicator values only
    period_length: str = "day"                # strptime periods only

    @property
    def label(self) -> str:
        """What a quarantine reason calls this field: the column, else the schema key."""
        return self.column or self.key


@dataclass(frozen=True)
class Schema:
    name: str
    title: str
    kind: str
    source: str
    restricted: bool
    path: Path
    sheet: str | int | None = None
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    values: dict[str, FieldSpec] = field(default_factory=dict)      # indicators only
    attributes: dict[str, FieldSpec] = field(default_factory=dict)
    date_range: tuple[dt.date, dt.date | None] = DEFAULT_DATE_RANGE

    @property
    def ingest_kind(self) -> str:
        return f"partner-{self.name}"

    def all_specs(self) -> list[FieldSpec]:
        return [*self.fields.values(), *self.values.values(), *self.attributes.values()]

    def required_columns(self) -> list[str]:
        return _unique(s.column for s in self.all_specs() if s.column and s.required)

    def optional_columns(self) -> list[str]:
        return _unique(s.column for s in self.all_specs() if s.column and not s.required)


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


def load_schema_file(path: Path) -> Schema:
    """Raises InputError if the file cannot be read as YAML, SchemaError if it is no schema."""
    return parse_schema(load_yaml(path, what="partner schema"), path)


def parse_schema(data: Any, path: Path) -> Schema:
    where = str(path)
    if not isinstance(data, dict):
        raise SchemaError(where, "", "the schema is not a mapping of keys to settings",
                          expected="keys such as name, kind, source, columns")
    unknown = sorted(set(map(str, data)) - TOP_KEYS)
    if unknown:
        raise SchemaError(where, unknown[0], "unknown key",
                          expected="one of " + ", ".join(sorted(TOP_KEYS)))
    name = _text(data, "name", where, default=path.stem.removesuffix(".schema"))
    if not NAME.match(name):
        raise SchemaError(where, "name", f'"{name}" is not a usable name',
                          expected="lower-case letters, digits, '-' or '_'")
    kind = _text(data, "kind", where)
    if kind not in KINDS:
        raise SchemaError(where, "kind", f'unknown kind "{kind}"', expected="events or indicators")
    source = _text(data, "source", where)
    restricted = data.get("restricted", False)
    if not isinstance(restricted, bool):
        raise SchemaError(where, "restricted", f"{restricted!r} is not true or false")
    sheet = _sheet(data.get("file"), where)
    columns = data.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise SchemaError(where, "columns", "missing or empty",
                          expected="a mapping of canonical fields to columns")
    allowed = EVENT_FIELDS if kind == "events" else INDICATOR_FIELDS
    fields: dict[str, FieldSpec] = {}
    values: dict[str, FieldSpec] = {}
    attributes: dict[str, FieldSpec] = {}
    for raw_key, spec in columns.items():
        key = str(raw_key)
        if key == "attributes":
            attributes = _group(spec, "columns.attributes", where)
        elif key == "values" and kind == "indicators":
            values = _group(spec, "columns.values", where)
        elif key in allowed:
            fields[key] = _field(spec, f"columns.{key}", where)
        else:
            extra = ["attributes"] + (["values"] if kind == "indicators" else [])
            raise SchemaError(where, f"columns.{key}", f"not a field of kind {kind}",
                              expected="one of " + ", ".join([*allowed, *extra]))
    needed = EVENT_REQUIRED if kind == "events" else INDICATOR_FIELDS
    for key in needed:
        if key not in fields:
            raise SchemaError(where, f"columns.{key}", "missing: every row needs it")
    if kind == "indicators" and not values:
        raise SchemaError(where, "columns.values", "missing: name at least one value column",
                          expected="e.g. values: {assault_callouts: {column: Callouts}}")
    _check_formats(fields, kind, where)
    if ("easting" in fields) != ("northing" in fields):
        raise SchemaError(where, "columns.easting", "easting and northing go together")
    if ("lon" in fields) != ("lat" in fields):
        raise SchemaError(where, "columns.lon", "lon and lat go together")
    return Schema(name=name, title=str(data.get("title") or name), kind=kind, source=source,
                  restricted=restricted, path=path, sheet=sheet, fields=fields, values=values,
                  attributes=attributes, date_range=_date_range(data.get("date_range"), where))


def _text(data: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise SchemaError(where, key, "missing", expected="a text value")
    if not isinstance(value, str | int):
        raise SchemaError(where, key, f"{value!r} is not text")
    return str(value).strip()


def _sheet(spec: Any, where: str) -> str | int | None:
    if spec is None:
        return None
    if not isinstance(spec, dict) or set(map(str, spec)) - {"sheet"}:
        raise SchemaError(where, "file", f"{spec!r} is not understood",
                          expected="{sheet: <name or 0-based index>} or nothing")
    sheet = spec.get("sheet")
    if sheet is None or isinstance(sheet, str):
        return sheet
    if isinstance(sheet, int) and not isinstance(sheet, bool) and sheet >= 0:
        return sheet
    raise SchemaError(where, "file.sheet", f"{sheet!r} is not a sheet name or index",
                      expected="a sheet name or a 0-based index")


def _group(spec: Any, key: str, where: str) -> dict[str, FieldSpec]:
    if not isinstance(spec, dict):
        raise SchemaError(where, key, f"{spec!r} is not a mapping",
                          expected="names mapped to {column: ...}")
    group = {}
    for raw_name, item in spec.items():
        name = str(raw_name)
        if not NAME.match(name.lower()):
            raise SchemaError(where, f"{key}.{name}", "not a usable name",
                              expected="letters, digits, '-' or '_'")
        group[name] = _field(item, f"{key}.{name}", where)
    return group


def _field(spec: Any, key: str, where: str) -> FieldSpec:
    if isinstance(spec, str):   # shorthand: `category: IncidentGroup`
        spec = {"column": spec}
    if not isinstance(spec, dict):
        raise SchemaError(where, key, f"{spec!r} is not understood",
                          expected="{column: <header>} or {value: <constant>}")
    unknown = sorted(set(map(str, spec)) - FIELD_KEYS)
    if unknown:
        raise SchemaError(where, f"{key}.{unknown[0]}", "unknown key",
                          expected="one of " + ", ".join(sorted(FIELD_KEYS)))
    column = spec.get("column")
    has_value = "value" in spec
    if (column is None) == (not has_value):
        raise SchemaError(where, key, "give exactly one of 'column' or 'value'")
    if column is not None and (not isinstance(column, str | int) or not str(column).strip()):
        raise SchemaError(where, f"{key}.column", f"{column!r} is not a column name")
    fmt = spec.get("format")
    if fmt is not None and not isinstance(fmt, str):
        raise SchemaError(where, f"{key}.format", f"{fmt!r} is not text")
    mapping, default, has_default = _map(spec, key, where)
    required = spec.get("required", True)
    if not isinstance(required, bool):
        raise SchemaError(where, f"{key}.required", f"{required!r} is not true or false")
    length = spec.get("period_length", "day")
    if length not in PERIOD_LENGTHS:
        raise SchemaError(where, f"{key}.period_length", f'"{length}" is not a period length',
                          expected="one of " + ", ".join(PERIOD_LENGTHS))
    return FieldSpec(key=key, column=None if column is None else str(column).strip(),
                     value=spec.get("value"), format=fmt, mapping=mapping, default=default,
                     has_default=has_default, required=required,
                     unit=str(spec.get("unit", "count")), period_length=length)


def _map(spec: dict[str, Any], key: str, where: str) -> tuple[dict[str, Any] | None, Any, bool]:
    """The value map, its keys as text (YAML reads `1:` as a number); `default` may sit in the
    map or beside it."""
    has_default = "default" in spec
    default = spec.get("default")
    if "map" not in spec:
        if has_default:
            raise SchemaError(where, f"{key}.default", "a default needs a map")
        return None, None, False
    raw = spec["map"]
    if not isinstance(raw, dict) or not raw:
        raise SchemaError(where, f"{key}.map", f"{raw!r} is not a mapping of codes to values",
                          expected="e.g. {D: Deliberate, A: Accidental}")
    mapping: dict[str, Any] = {}
    for code, target in raw.items():
        if isinstance(target, dict | list):
            raise SchemaError(where, f"{key}.map.{code}", f"{target!r} is not a single value")
        if str(code) == "default":
            has_default, default = True, target
            continue
        mapping[_code_text(code)] = target
    if not mapping:
        raise SchemaError(where, f"{key}.map", "maps no codes")
    return mapping, default, has_default


def _code_text(code: Any) -> str:
    if isinstance(code, bool):   # `Y: true` is fine but `yes:` would arrive as True
        return "Y" if code else "N"
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    return str(code).strip()


def _check_formats(fields: dict[str, FieldSpec], kind: str, where: str) -> None:
    for name in ("date", "time"):
        spec = fields.get(name)
        if spec and spec.format and "%" not in spec.format:
            raise SchemaError(where, f"{spec.key}.format", f'"{spec.format}" is not a strptime '
                              "format", expected='e.g. "%d/%m/%Y"')
    if kind == "indicators":
        spec = fields["period"]
        fmt = spec.format
        if not fmt or (fmt not in PERIOD_FORMATS and "%" not in fmt):
            raise SchemaError(where, f"{spec.key}.format", f"{fmt!r} is not a period format",
                              expected="financial_year, calendar_year, month or a strptime "
                              'date such as "%d/%m/%Y"')


def _date_range(spec: Any, where: str) -> tuple[dt.date, dt.date | None]:
    if spec is None:
        return DEFAULT_DATE_RANGE
    if not isinstance(spec, list) or len(spec) != 2:
        raise SchemaError(where, "date_range", f"{spec!r} is not [first, last]",
                          expected="[2010-01-01, 2030-12-31]")
    bounds = []
    for item in spec:
        if isinstance(item, dt.datetime):
            item = item.date()
        if isinstance(item, str):
            try:
                item = dt.date.fromisoformat(item)
            except ValueError:
                pass
        if not isinstance(item, dt.date):
            raise SchemaError(where, "date_range", f"{item!r} is not a date",
                              expected="YYYY-MM-DD")
        bounds.append(item)
    if bounds[0] > bounds[1]:
        raise SchemaError(where, "date_range", "the first date is after the last")
    return bounds[0], bounds[1]
