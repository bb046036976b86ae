"""The warehouse's tables as Ibis tables, on DuckDB or on Spark: the one query layer measures
are written in.

A `Warehouse` is built from the embedded DuckDB warehouse (`Warehouse.duckdb(con)`) or from the
tidy tables `cspkit export parquet` writes (`Warehouse.spark(folder)` on PySpark, local or on a
cluster; `Warehouse.parquet(folder)` on an in-memory DuckDB). Measures build Ibis expressions
over `table(...)` and the few named queries below (the area hierarchy, located events,
population, coverage) and run them with `frame`/`rows`: the same expression compiles to DuckDB
SQL or to Spark SQL.

The exported folder holds the tables measures need (events with geography, the LSOA hierarchy,
population, deprivation, ingests, areas and indicators); boundaries stay DuckDB-side (Spark has
no spatial types: maps, hotspots and drawn areas need the DuckDB warehouse), and record-level
rows of restricted partner sources are in an export only when it was asked for.
"""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any, Literal

import duckdb
import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.types as pat
import sqlglot.expressions as sge
from ibis.backends.duckdb import Backend as _DuckDBBackend
from ibis.backends.duckdb.converter import DuckDBPandasData, DuckDBPyArrowData
from ibis.backends.sql.compilers.duckdb import DuckDBCompiler
from ibis.common.graph import Graph

from cspkit.errors import CspkitError

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[str, ...] = ("duckdb", "spark")
ENGINE_ENV = "CSPKIT_ENGINE"

# The columns of `events` measures may use: those the warehouse and its Parquet export share.
EVENT_COLUMNS = ("source", "force", "month", "event_date", "category", "subcategory",
                 "record_id", "lsoa_code", "lsoa_vintage", "lon", "lat", "located", "outcome")
# Columns of `events` measures may use where the engine's events have them (a Parquet export
# written before they were exported lacks them): `attributes`, the JSON of a partner source's
# own fields.
OPTIONAL_EVENT_COLUMNS = ("attributes",)
# An ingested file whose name (not its folders) contains SYNTHETIC holds synthetic sample data.
SYNTHETIC_FILE = r"(?i)SYNTHETIC[^/\\]*$"
# Export file name -> warehouse table name, where they differ.
EXPORTED_AS = {"imd": "deprivation"}
# The temporary table `Warehouse.focus` holds a force's events in (this connection only), and
# its columns: every column of `events()` but the source's record identifier, which no measure reads
# and which costs more to gather than all the others together (an expression that asks for it
# of focused rows fails loudly).
FOCUS_TABLE = "cspkit_focus_events"
FOCUS_LEFT_OUT = ("record_id",)
FOCUS_DISTRICT = "focus_lad_code"   # the held rows' LSOA's district, which orders them
PARQUET_TABLES = ("events", "indicators", "areas", "lsoa_geography", "population", "imd",
                  "ingests", "lsoa_changes")


class EngineError(CspkitError):
    """A warehouse engine that cannot be used as asked (Spark not installed, a table not
    exported, a measure that needs the DuckDB warehouse)."""


class _Borrowed(_DuckDBBackend):
    """Ibis's DuckDB backend over a connection it does not own, held weakly (so a cached
    wrapper never keeps a closed reader alive) and left as it was: no settings changed."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        super().__init__()
        self._ref = weakref.ref(con)
        self._can_reconnect = False
        self._record_batch_readers_consumed = {}

    @property  # type: ignore[override]
    def con(self) -> duckdb.DuckDBPyConnection:
        con = self._ref()
        if con is None:
            raise EngineError("the warehouse connection was closed")
        return con

    @con.setter
    def con(self, value: Any) -> None:  # ibis assigns it only when it connects itself
        self._ref = weakref.ref(value)


class Warehouse:
    """The warehouse's tables as Ibis tables on one engine, with the named queries measures
    share. Build one with `Warehouse.duckdb`, `Warehouse.parquet` or `Warehouse.spark`."""

    def __init__(self, backend: ibis.BaseBackend, engine: Engine, location: str, *,
                 views: dict[str, str] | None = None,
                 con: duckdb.DuckDBPyConnection | None = None) -> None:
        self.backend = backend
        self.engine: Engine = engine
        self.location = location                  # identifies the data (memo keys, messages)
        self._views = views                        # table -> engine view name (Parquet/Spark)
        self._con = con                            # a strong reference when we own it
        self._con_ref = weakref.ref(con) if con is not None else None
        self._tables: dict[str, ir.Table] = {}
        self._located: dict[tuple[str | None, bool], ir.Table] = {}   # immutable: reused

    # ----------------------------------------------------------------------- construction

    @classmethod
    def duckdb(cls, con: duckdb.DuckDBPyConnection) -> Warehouse:
        """The embedded DuckDB warehouse behind `con` (a `store.connect`/`open_reader`
        connection or cursor), unchanged."""
        wh = cls._borrow(con)
        wh._con = con
        return wh

    @classmethod
    def _borrow(cls, con: duckdb.DuckDBPyConnection) -> Warehouse:
        wh = cls(_Borrowed(con), "duckdb", "", con=None)
        wh._con_ref = weakref.ref(con)
        return wh

    @classmethod
    def parquet(cls, folder: str | os.PathLike[str]) -> Warehouse:
        """The tables of a `cspkit export parquet` folder, read by an in-memory DuckDB."""
        root = _export_folder(folder)
        backend = ibis.duckdb.connect()
        return cls(backend, "duckdb", f"parquet:{root}", views=_register(backend, root))

    @classmethod
    def spark(cls, folder: str | os.PathLike[str] | None = None, session: Any = None, *,
              database: str | None = None) -> Warehouse:
        """The warehouse on Spark: the tables of a `cspkit export parquet` folder (local
        path, or any URI the session reads: hdfs://, s3a://, abfss://), or, with `database`,
        tables of those names in the session's catalogue. Without `session`, a local one
        (`local_spark`)."""
        try:
            import pyspark  # noqa: F401
        except ImportError as exc:
            raise EngineError("the Spark engine needs PySpark: pip install 'cspkit[spark]' "
                              "(and Java 17 or later)") from exc
        if (folder is None) == (database is None):
            raise EngineError("Warehouse.spark needs a Parquet export folder or a catalogue "
                              "database, one of the two")
        session = session or local_spark()
        backend = ibis.pyspark.connect(session)
        if database is not None:
            views = {name: f"{database}.{EXPORTED_AS.get(name, name)}" for name in PARQUET_TABLES}
            return cls(backend, "spark", f"spark:{database}", views=views)
        text = str(folder)
        root = text if "://" in text else str(_export_folder(text))
        return cls(backend, "spark", f"spark:{root}", views=_register(backend, root))

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB warehouse connection, for the parts of cspkit that still need it
        (geometries, the ingest log); EngineError on another engine."""
        con = self._con_ref() if self._con_ref is not None else None
        if con is None:
            raise EngineError(f"this needs the DuckDB warehouse; the {self.engine} engine over "
                              f"{self.location} has no DuckDB connection")
        return con

    @property
    def has_con(self) -> bool:
        return self._con_ref is not None and self._con_ref() is not None

    # ----------------------------------------------------------------------- tables

    def _ready(self) -> None:
        """A borrowed connection may hold the unread rest of a caller's `execute` (a
        `fetchone()`): DuckDB refuses other work on it until that result is finished, as a new
        `execute` would have finished it."""
        if self._con_ref is not None and (con := self._con_ref()) is not None:
            con.complete()

    def table(self, name: str) -> ir.Table:
        """A warehouse table by its warehouse name (`events`, `lsoa_geography`, ...)."""
        if name not in self._tables:
            self._ready()
            if self._views is None:
                self._tables[name] = self.backend.table(name)
            elif name in self._views:
                self._tables[name] = self.backend.table(self._views[name])
            else:
                raise EngineError(f"the table {name!r} is not in {self.location} (a Parquet "
                                  f"export holds {', '.join(sorted(self._views))})")
        return self._tables[name]

    def frame(self, expr: ir.Table) -> pd.DataFrame:
        """Run `expr`: a pandas frame typed as DuckDB's own results are (timestamps in
        microseconds, text columns with no value as `object`), whichever engine ran it."""
        self._ready()
        if self.engine == "duckdb":
            frame = _duckdb_frame(self.backend.con, expr)
        else:
            frame = expr.to_pandas()
        for column in frame.columns:
            kind = frame[column].dtype
            if pd.api.types.is_datetime64_any_dtype(kind) and str(kind) != "datetime64[us]":
                frame[column] = frame[column].astype("datetime64[us]")
            elif pd.api.types.is_string_dtype(kind) and not frame[column].notna().any():
                frame[column] = frame[column].astype(object)
        return frame

    def rows(self, expr: ir.Table) -> list[tuple[Any, ...]]:
        """Run `expr`: its rows as tuples of Python values (dates as `date`)."""
        self._ready()
        frame = (_duckdb_arrow(self.backend.con, expr) if self.engine == "duckdb"
                 else expr.to_pyarrow())
        return list(zip(*(frame.column(i).to_pylist() for i in range(frame.num_columns)),
                        strict=True)) if frame.num_rows else []

    def values(self, expr: ir.Table) -> list[Any]:
        """Run a one-column `expr`: its values."""
        return [row[0] for row in self.rows(expr)]

    # ----------------------------------------------------------------------- named queries

    def events(self) -> ir.Table:
        """Events with the columns measures use (`EVENT_COLUMNS`, and those of
        `OPTIONAL_EVENT_COLUMNS` the engine's events have)."""
        events = self.table("events")
        return events.select(*EVENT_COLUMNS,
                             *(c for c in OPTIONAL_EVENT_COLUMNS if c in events.columns))

    def hierarchy(self) -> ir.Table:
        """The LSOA hierarchy: each LSOA (code, edition) with its ward, district, county,
        region and force."""
        return self.table("lsoa_geography")

    def located_events(self, source: str | None = None, *,
                       within: frozenset[str] | None = None,
                       districts: frozenset[str] | None = None) -> ir.Table:
        """Events with an LSOA the hierarchy holds, joined to it on (code, edition): every
        event column and every hierarchy column (the LSOA's `lsoa_name` included).

        `within` (the LSOA codes the caller will filter to) and `districts` (their districts'
        codes) let the rows held by `focus` be read instead of every event when they cover
        those LSOAs, and only the districts' part of them (the held rows are sorted by
        district, so the rest is skipped unread)."""
        focused = within is not None and self.covers(within)
        key = (source, focused)
        found = self._located.get(key)
        if found is not None and not (focused and districts):
            return found
        events = self.table(FOCUS_TABLE) if focused else self.events()
        if source is not None:
            events = events.filter(events.source == source)
        if focused:
            if districts:
                events = events.filter(events[FOCUS_DISTRICT].isin(sorted(districts)))
            events = events.drop(FOCUS_DISTRICT)
        joined = events.join(self.hierarchy(), ["lsoa_code", "lsoa_vintage"])
        if not (focused and districts):   # building the join costs a few ms: once per source
            self._located[key] = joined
        return joined

    # ----------------------------------------------------------------------- focus

    def focus(self, lsoas: Iterable[str]) -> None:
        """Hold every event of these LSOAs apart (a temporary table of this connection) and
        read those rows instead of the whole events table for areas inside them.

        A district's document on a national warehouse asks a hundred questions of its own
        district and force: each would scan every event in the country, so the rows of the
        force around it are read once and the questions scan those. Results are the same by
        construction: the held rows are every event of those LSOAs, and only areas wholly
        inside them read the held rows. One focus at a time per connection (a new one
        replaces it); its memory is that of the force, not of the nation. DuckDB warehouse
        only: elsewhere (a Parquet export, Spark) nothing changes."""
        codes = frozenset(lsoas)
        if not self.can_focus:
            return
        con = self.con
        if codes == _FOCUS.get(con):
            return
        self._ready()
        codes_table = pa.table({"lsoa_code": pa.array(sorted(codes), pa.string())})
        con.register("cspkit_focus_codes", codes_table)
        try:
            # Each row carries its LSOA's district, and the rows are sorted by it: a question
            # about one district (or a ward of it) then reads that district's row groups only.
            columns = ", ".join(f"e.{c}" for c in self.events().columns
                                if c not in FOCUS_LEFT_OUT)
            con.execute(f"CREATE OR REPLACE TEMP TABLE {FOCUS_TABLE} AS "
                        f"SELECT {columns}, g.lad_code AS {FOCUS_DISTRICT} FROM events e "
                        "LEFT JOIN lsoa_geography g "
                        "ON g.lsoa_code = e.lsoa_code AND g.lsoa_vintage = e.lsoa_vintage "
                        "WHERE e.lsoa_code IN (SELECT lsoa_code FROM cspkit_focus_codes) "
                        f"ORDER BY {FOCUS_DISTRICT}, e.lsoa_code, e.month")
        finally:
            con.unregister("cspkit_focus_codes")
        _FOCUS[con] = codes
        self._tables.pop(FOCUS_TABLE, None)

    @property
    def can_focus(self) -> bool:
        return self.engine == "duckdb" and self._views is None and self.has_con

    @property
    def has_focus(self) -> bool:
        return self.can_focus and bool(_FOCUS.get(self.con))

    def covers(self, lsoas: frozenset[str]) -> bool:
        """Whether `focus` holds every event of these LSOAs."""
        if not lsoas or not self.can_focus:
            return False
        held = _FOCUS.get(self.con)
        return held is not None and lsoas <= held

    def population_rows(self, codes: Iterable[str] | None = None) -> ir.Table:
        """Published population figures (code, vintage, year, persons, households, method,
        source), of `codes` when given."""
        table = self.table("population")
        if codes is not None:
            table = table.filter(table.code.isin(sorted(set(codes))))
        return table

    def loaded_months(self, forces: Iterable[str] | None = None) -> ir.Table:
        """Coverage: (force, month) of every police street file loaded, of `forces` when
        given."""
        ingests = self.table("ingests")
        chosen = ingests.filter((ingests.kind == "police-street") & (ingests.status == "loaded"))
        if forces is not None:
            chosen = chosen.filter(chosen.force.isin(sorted(set(forces))))
        return chosen.select("force", "month").distinct()

    def find_area(self, query: str, levels: Iterable[str]) -> tuple[str, str, str] | None:
        """(code, name, level) of the area whose code, else whose name (case-insensitively),
        is `query`, among `levels` (a district before a ward of the same name); None if none.
        The DuckDB warehouse's `store.areas.resolve_area` also suggests names and follows
        former districts."""
        order = ["lad", "county", "force", "region", "country", "ward", "lsoa"]
        areas = self.table("areas")
        areas = areas.filter(areas.level.isin(list(levels)))
        text = query.strip()
        for condition in (areas.code.upper() == text.upper(),
                          areas.name.lower() == text.lower()):
            rows = self.rows(areas.filter(condition).select("code", "name", "level"))
            if rows:
                code, name, level = min(rows, key=lambda r: order.index(r[2])
                                        if r[2] in order else 99)
                return str(code), str(name or code), str(level)
        return None

    def synthetic_sources(self) -> frozenset[str]:
        """The sources (of events, and of indicators where the engine has them) holding rows
        loaded from a file whose name contains SYNTHETIC (any case): as
        `store.ingest_log.synthetic_sources` on the DuckDB warehouse."""
        ingests = self.table("ingests")
        ids = self.values(ingests.filter(ingests.status == "loaded",
                                         ingests.file.re_search(SYNTHETIC_FILE))
                          .select("ingest_id"))
        if not ids:
            return frozenset()
        found: set[str] = set()
        for name in ("events", "indicators"):
            if self._views is not None and name not in self._views:
                continue   # an export without the table holds none of its rows
            rows = self.table(name)
            found.update(str(s) for s in self.values(
                rows.filter(rows.ingest_id.isin(ids)).select("source").distinct()))
        return frozenset(found)

    def ingest_state(self) -> tuple[Any, ...]:
        """What changes whenever something is ingested: (last ingest id, ingests)."""
        ingests = self.table("ingests")
        row = self.rows(ingests.aggregate(last=ingests.ingest_id.max(), n=ingests.count()))
        return tuple(row[0]) if row else (None, 0)

    def json_text(self, value: ir.StringValue, key: str) -> ir.StringValue:
        """The member `key` of `value`, a JSON object held as text (partner records'
        `attributes`), as text: a string without its quotes, a number or true/false as
        written, NULL where absent or null. Each engine's own function (Ibis's JSON type
        would unwrap values through Python on Spark)."""
        extract = _spark_json_text if self.engine == "spark" else _duckdb_json_text
        return extract(value, f"$.{key}")  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"Warehouse({self.engine}, {self.location or 'duckdb connection'})"


@ibis.udf.scalar.builtin(name="json_extract_string")
def _duckdb_json_text(value: str, path: str) -> str:  # type: ignore[empty-body]
    """DuckDB: the JSON value at `path` as text."""


@ibis.udf.scalar.builtin(name="get_json_object")
def _spark_json_text(value: str, path: str) -> str:  # type: ignore[empty-body]
    """Spark: the JSON value at `path` as text."""


WarehouseLike = duckdb.DuckDBPyConnection | Warehouse


# ----------------------------------------------------------------------- compiled queries
#
# On DuckDB, turning an Ibis expression into SQL (Ibis's rewrites, then sqlglot) costs 10-20
# ms, often more than DuckDB takes to answer it. But a report asks the same few questions
# again and again with other values: another area code, period, category or source. So
# queries are compiled once per *shape* and run as prepared SQL with bind parameters:
#
#   1. the text and date literals of the expression become numbered slots ($p0, $p1, ...),
#      numbered in the order a topological walk of the expression meets them (the same order
#      for every expression of the same shape), and its tables lose the connection they were
#      read through (so a shape serves every connection and cursor: the dashboard's
#      requests each read through a cursor of their own);
#   2. that shape, written flat as a tuple (`_shape`: far cheaper than rebuilding the Ibis
#      graph), keys a process-wide LRU of SQL text; a miss compiles it once with Ibis's own
#      DuckDB compiler (`_compile`);
#   3. the SQL runs on the connection with the literals as parameters, and the Arrow result
#      is converted exactly as Ibis's `to_pyarrow` / `to_pandas` would have.
#
# A literal used twice is one node, so one slot: shapes differ where equal values would,
# and a shape's slots always mean the same positions. Expressions this does not cover
# (in-memory tables, spatial operations) take Ibis's ordinary path. Spark always does: the
# same expressions, compiled by Ibis for Spark SQL. Building expressions costs too: the
# join every event measure starts from is built once per warehouse (`located_events`).

class Slot(ops.Value):  # type: ignore[type-arg]
    """A literal of a query's shape, bound at run time as the parameter `$p{index}`."""

    index: int
    dtype: dt.DataType
    shape = ops.Literal.shape

    @property
    def name(self) -> str:
        return f"p{self.index}"


class _SlotCompiler(DuckDBCompiler):
    """Ibis's DuckDB compiler, writing a `Slot` as a typed parameter."""

    def visit_Slot(self, op: Slot, *, index: int, dtype: dt.DataType) -> sge.Expression:
        return sge.Cast(this=sge.Var(this=f"$p{index}"), to=self.type_mapper.from_ibis(dtype))


_COMPILER = _SlotCompiler()
_SQL: OrderedDict[tuple[Any, ...], str] = OrderedDict()   # shape -> SQL, $p0, $p1, ...
_SQL_SIZE = 1024
_SQL_LOCK = threading.Lock()
_PLAIN = (ops.InMemoryTable, ops.GeoSpatialUnOp, ops.GeoSpatialBinOp)


def _bindable(node: ops.Node) -> bool:
    return (isinstance(node, ops.Literal) and node.value is not None
            and (node.dtype.is_string() or node.dtype.is_date()))


def _shape(op: ops.Node) -> tuple[tuple[Any, ...], list[ops.Literal]] | None:
    """The key of `op`'s shape and its bindable literals in slot order (None where Ibis's
    ordinary path is needed).

    The key is the expression's graph written flat, node by node in topological order (a
    node's children as their positions): equal keys are equal shapes. Writing it costs a
    fraction of rebuilding the graph with `Slot`s (which Ibis validates node by node), so the
    rebuilt shape is made only to compile it."""
    nodes, _ = Graph.from_bfs(op).toposort()
    position: dict[ops.Node, int] = {}
    literals: list[ops.Literal] = []
    key: list[Any] = []

    def arg(value: Any) -> Any:
        if isinstance(value, ops.Node):
            return position[value]
        if isinstance(value, tuple):
            return tuple(arg(v) for v in value)
        if isinstance(value, dict):   # FrozenOrderedDict of named values
            return tuple((k, arg(v)) for k, v in value.items())
        return value

    for node in nodes:
        if isinstance(node, _PLAIN):
            return None
        if _bindable(node):
            literals.append(node)   # type: ignore[arg-type]
            part: Any = (Slot, node.dtype)   # type: ignore[attr-defined]
        elif isinstance(node, ops.DatabaseTable):
            part = (ops.DatabaseTable, node.name, node.schema, node.namespace)
        else:
            part = (type(node), tuple(arg(v) for v in node.__args__))
        position[node] = len(key)
        key.append(part)
    return tuple(key), literals


def _compile(op: ops.Node, literals: list[ops.Literal]) -> str:
    """The SQL of `op` with its `literals` as slots $p0, $p1, ... (in that order) and its
    tables without their connection."""
    lifted: dict[ops.Node, ops.Node] = {n: Slot(i, n.dtype) for i, n in enumerate(literals)}
    for table in op.find(ops.DatabaseTable):
        lifted[table] = table.copy(source=None)
    shape = op.replace(lifted)
    return str(_COMPILER.to_sqlglot(shape.to_expr()).sql(dialect="duckdb", copy=False))


def prepared(expr: ir.Expr) -> tuple[str, dict[str, Any]] | None:
    """`expr` as DuckDB SQL with bind parameters and their values (None where the expression
    needs Ibis's ordinary path)."""
    op = expr.as_table().op()
    found = _shape(op)
    if found is None:
        return None
    key, literals = found
    with _SQL_LOCK:
        sql = _SQL.get(key)
        if sql is not None:
            _SQL.move_to_end(key)
    if sql is None:
        sql = _compile(op, literals)
        with _SQL_LOCK:
            _SQL[key] = sql
            if len(_SQL) > _SQL_SIZE:
                _SQL.popitem(last=False)
    return sql, {f"p{i}": n.value for i, n in enumerate(literals)}


def _duckdb_result(con: duckdb.DuckDBPyConnection, expr: ir.Expr) -> pa.Table | None:
    """The Arrow result of `expr` run as prepared SQL, columns named as the expression's."""
    query = prepared(expr)
    if query is None:
        return None
    sql, params = query
    table = con.sql(sql, params=params or None).to_arrow_table()
    return table.rename_columns(expr.as_table().schema().names)


def _duckdb_arrow(con: duckdb.DuckDBPyConnection, expr: ir.Table) -> pa.Table:
    """`expr.to_pyarrow()`, through the compiled-query cache."""
    table = _duckdb_result(con, expr)
    if table is None:
        return expr.to_pyarrow()
    return expr.__pyarrow_result__(table, data_mapper=DuckDBPyArrowData)


def _duckdb_frame(con: duckdb.DuckDBPyConnection, expr: ir.Table) -> pd.DataFrame:
    """`expr.to_pandas()`, through the compiled-query cache (converted as Ibis's DuckDB
    backend converts: nested, dictionary and partly null columns through Python values)."""
    table = _duckdb_result(con, expr)
    if table is None:
        return expr.to_pandas()
    frame = pd.DataFrame({
        name: (column.to_pylist()
               if pat.is_nested(column.type) or pat.is_dictionary(column.type)
               or column.null_count else column.to_pandas())
        for name, column in zip(table.column_names, table.columns, strict=True)})
    frame = DuckDBPandasData.convert_table(frame, expr.as_table().schema())
    return expr.__pandas_result__(frame)  # type: ignore[no-any-return]


_WRAPPED: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, Warehouse] = (
    weakref.WeakKeyDictionary())
# The LSOAs each connection's focus table holds: kept by connection, not by wrapper, since the
# temporary table belongs to the connection.
_FOCUS: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, frozenset[str]] = (
    weakref.WeakKeyDictionary())


def warehouse(data: WarehouseLike) -> Warehouse:
    """`data` as a Warehouse: a DuckDB connection is wrapped (once per connection)."""
    if isinstance(data, Warehouse):
        return data
    found = _WRAPPED.get(data)
    if found is None:
        found = _WRAPPED[data] = Warehouse._borrow(data)
    return found


def duckdb_con(data: WarehouseLike) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection behind `data` (EngineError on Spark)."""
    return data.con if isinstance(data, Warehouse) else data


def selected_engine(engine: str | None = None) -> str:
    """The engine asked for: `engine`, else the CSPKIT_ENGINE setting, else duckdb."""
    chosen = (engine or os.environ.get(ENGINE_ENV) or "duckdb").strip().lower()
    if chosen not in ENGINES:
        raise EngineError(f"unknown engine {chosen!r}: expected one of {', '.join(ENGINES)} "
                          f"(from {'--engine' if engine else ENGINE_ENV})")
    return chosen


def local_spark(app: str = "cspkit", cores: int | str = "*", memory: str = "1g") -> Any:
    """A local SparkSession (reused if one is running) with settings for small machines: no
    UI, few shuffle partitions, UTC."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineError("the Spark engine needs PySpark: pip install 'cspkit[spark]'") from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = (SparkSession.builder.master(f"local[{cores}]").appName(app)
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", str(cores) if cores != "*" else "4")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.driver.memory", memory)
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC"))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _export_folder(folder: str | os.PathLike[str]) -> Path:
    root = Path(folder)
    if not (root / "events.parquet").is_file():
        raise EngineError(f"{root} is not a Parquet export (no events.parquet): write one "
                          "with `cspkit export parquet --out FOLDER`")
    return root.resolve()


def _register(backend: ibis.BaseBackend, root: str | Path) -> dict[str, str]:
    """Each exported table as a view named uniquely for this folder."""
    tag = hashlib.sha256(str(root).encode()).hexdigest()[:8]
    views: dict[str, str] = {}
    for name in PARQUET_TABLES:
        file = f"{str(root).rstrip('/')}/{EXPORTED_AS.get(name, name)}.parquet"
        if "://" not in file and not Path(file).is_file():
            continue
        view = f"cspkit_{tag}_{name}"
        backend.read_parquet(file, table_name=view)
        views[name] = view
    return views


def months_in(values: Iterable[Any]) -> set[date]:
    """Months from a query result as dates (engines return dates or timestamps)."""
    return {v.date() if hasattr(v, "date") and callable(v.date) else v
            for v in values if v is not None}
