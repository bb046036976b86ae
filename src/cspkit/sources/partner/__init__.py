"""Partner data (fire, ambulance, ED/ISTV, treatment, Safe and Well, police markers, domestic
abuse) loaded through declared YAML schemas into ``events`` or ``indicators``.

A shipped schema is named (``fire``); a user's own is any YAML path. Each file gets one
``ingests`` row of kind ``partner-<schema name>``; every row is loaded or quarantined with its
line and reason; the same bytes loaded again change nothing.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from cspkit.errors import InputError
from cspkit.sources.partner.schema import Schema, SchemaError, load_schema_file

__all__ = ["Schema", "SchemaError", "load_schema", "shipped_schemas"]


def shipped_schemas() -> dict[str, Path]:
    """The schemas that come with cspkit, by name."""
    root = Path(str(resources.files("cspkit.sources.partner") / "schemas"))
    return {p.stem: p for p in sorted(root.glob("*.yaml"))}


def load_schema(name_or_path: str) -> Schema:
    """A shipped schema by name, else a YAML file by path."""
    shipped = shipped_schemas()
    if name_or_path in shipped:
        return load_schema_file(shipped[name_or_path])
    path = Path(name_or_path)
    if path.is_file():
        return load_schema_file(path)
    raise InputError(name_or_path, "no such schema",
                     expected="a shipped schema (" + ", ".join(shipped) + ") or the path of "
                     "a YAML schema file")
