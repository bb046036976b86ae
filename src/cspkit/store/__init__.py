"""The embedded DuckDB warehouse: schema, connections, the ingest log and quarantine."""

from cspkit.store.warehouse import (
    connect,
    open_reader,
    reader_cursor,
    resolve_db_path,
    snapshot_token,
    transaction,
    writer,
)

__all__ = ["connect", "open_reader", "reader_cursor", "resolve_db_path", "snapshot_token",
           "transaction", "writer"]
