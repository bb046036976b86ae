"""The layers keep to their parts: measures are Ibis expressions, products, the CLI and the
demo compose measures and the store's named functions, and none of them writes SQL (SQL lives
only in store/), so every measure and product runs on whichever engine the measures run on."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import cspkit

PACKAGE = Path(cspkit.__file__).parent
# Modules that must not query the warehouse themselves.
NO_SQL = sorted([*(PACKAGE / "measures").rglob("*.py"), *(PACKAGE / "products").rglob("*.py"),
                 PACKAGE / "cli.py", PACKAGE / "demo.py"])
# Calls that run SQL text (DuckDB connections and relations, Ibis backends).
SQL_CALLS = {"execute", "executemany", "sql", "raw_sql", "fetchone", "fetchall", "fetchdf"}
# SQL statements written in capitals, as this project writes them.
SQL_TEXT = re.compile(r"\bSELECT\b|\bINSERT\s+INTO\b|\bDELETE\s+FROM\b|\bUPDATE\s+\w+\s+SET\b"
                      r"|\bCREATE\s+(OR\s+REPLACE\s+)?(TEMP\s+)?(TABLE|VIEW)\b"
                      r"|\bFROM\s+\w+\s+(WHERE|JOIN|GROUP|ORDER|[a-z]\b)")


def _offences(tree: ast.AST) -> list[str]:
    """Where `tree` runs or writes SQL: 'line: what'."""
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in SQL_CALLS):
            found.append(f"{node.lineno}: .{node.func.attr}(...)")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and SQL_TEXT.search(node.value)):
            found.append(f"{node.lineno}: SQL text {node.value.strip()[:60]!r}")
    return found


def _sql_in(path: Path) -> list[str]:
    return _offences(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))


def test_the_scan_finds_sql():
    # The scan itself, on the forms it must catch (so a passing scan means something).
    for text in ['con.execute("SELECT 1")',
                 'rows = f"""SELECT code FROM {table} WHERE x = ?"""',
                 'con.sql(query).df()',
                 'q = "SELECT count(*) FROM events WHERE source = ?"',
                 'q = "WITH m AS (SELECT 1) SELECT * FROM events e JOIN m ON true"']:
        assert _offences(ast.parse(text)), text
    assert not _offences(ast.parse(
        '"""Every count comes from one GROUP BY over the places\' pairs: select an area."""'))


def test_measures_products_the_cli_and_the_demo_write_no_sql():
    assert len(NO_SQL) > 50   # the scan sees them all (a moved package would empty it)
    offences = {str(p.relative_to(PACKAGE)): found for p in NO_SQL if (found := _sql_in(p))}
    assert not offences, ("SQL outside store/ (call a measure or a named store function "
                          f"instead): {offences}")
