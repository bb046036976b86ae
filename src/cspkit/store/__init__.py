"""The embedded DuckDB warehouse: schema, connections, the ingest log and quarantine."""

from cspkit.store.warehouse import connect, resolve_db_path, transaction

__all__ = ["connect", "resolve_db_path", "transaction"]
