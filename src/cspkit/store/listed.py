"""Values a caller lists (a place's LSOAs, say) as a table of the warehouse's engine, for
queries to join to.

A national force's places list thousands of LSOAs: too many to write into a query as
literals. An Ibis memtable would carry them, but an expression holding one is compiled afresh
on every run (about 0.1 s), where one over the warehouse's own tables is compiled once per
shape (`tables.prepared`). So the values are registered under a fixed name on the engine
(a DuckDB view of an Arrow table on that connection or cursor, which other cursors do not see;
a Spark temporary view) and read as an ordinary table: each call replaces the values, and the
shape, and so the compiled query, stays the same.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from cspkit.store.tables import Warehouse, WarehouseLike, warehouse

PREFIX = "cspkit_listed_"
# warehouse -> {(view, schema): its Ibis table}: reading a table's schema is a query of its
# own. (Keyed by the Warehouse, one per connection or cursor: Ibis backends over one database
# file compare equal, and a table read through one cursor must not serve another.)
_TABLES: weakref.WeakKeyDictionary[Warehouse, dict[tuple[str, str], ir.Table]] = (
    weakref.WeakKeyDictionary())


def listed(data: WarehouseLike, name: str, columns: dict[str, Sequence[Any]],
           types: dict[str, pa.DataType]) -> ir.Table:
    """`columns` (equal-length lists, typed as `types`) as the table `cspkit_listed_{name}`
    on `data`'s engine, replacing what an earlier call listed under that name. Use it before
    the next call with the same name on the same connection."""
    wh = warehouse(data)
    view = f"{PREFIX}{name}"
    table = pa.table({c: pa.array(list(v), type=types[c]) for c, v in columns.items()})
    if wh.engine == "duckdb":
        wh.backend.con.register(view, table)
    else:
        session = wh.backend._session   # the SparkSession the backend wraps
        session.createDataFrame(table.to_pandas()).createOrReplaceTempView(view)
    known = _TABLES.setdefault(wh, {})
    key = (view, str(table.schema))
    if key not in known:
        known[key] = wh.backend.table(view)
    return known[key]
