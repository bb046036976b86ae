"""Reports how many generated examples the property-based ingest tests ran."""

from __future__ import annotations

import sys

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    module = sys.modules.get("tests.ingest.test_properties")
    examples = getattr(module, "EXAMPLES", None)
    if examples:
        detail = ", ".join(f"{name} {n}" for name, n in sorted(examples.items()))
        terminalreporter.write_line(f"ingest properties: {sum(examples.values())} ingests of "
                                    f"generated files ({detail})")
