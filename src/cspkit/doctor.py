"""`cspkit doctor`: which system libraries and programs cspkit needs are on this machine, and
the command that installs the missing ones.

pip installs every Python dependency, but two things come from the operating system: Pango,
PangoFT2 and HarfBuzz-Subset, which WeasyPrint loads to write PDFs, and Debian's Chromium, which
the browser tests (and the web app to come) drive. Without them `cspkit assess` fails only at
the PDF, after minutes of work, so this says it up front. Libraries are found as the dynamic
loader finds them (`ctypes.util.find_library`, which reads `ldconfig -p`), programs by path.
"""

from __future__ import annotations

import ctypes.util
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass

MIN_PYTHON = (3, 11)
CHROMIUM = "/usr/bin/chromium"  # Debian's build: Playwright must never download its own


@dataclass(frozen=True)
class Requirement:
    name: str
    purpose: str
    package: str                 # the Debian package that provides it
    library: str | None = None   # as ctypes.util.find_library names it: "pango-1.0"
    path: str | None = None      # a program that must be at this path


REQUIREMENTS = (
    Requirement("Pango (libpango-1.0)", "PDFs (WeasyPrint)", "libpango-1.0-0",
                library="pango-1.0"),
    Requirement("PangoFT2 (libpangoft2-1.0)", "PDFs (WeasyPrint)", "libpangoft2-1.0-0",
                library="pangoft2-1.0"),
    Requirement("HarfBuzz-Subset (libharfbuzz-subset)", "PDF fonts (WeasyPrint)",
                "libharfbuzz-subset0", library="harfbuzz-subset"),
    Requirement(f"Chromium ({CHROMIUM})", "browser tests and the web app", "chromium",
                path=CHROMIUM),
)


def find_library(name: str) -> str | None:
    """The library's file name as the loader resolves it, or None."""
    return ctypes.util.find_library(name)


def find_program(path: str) -> str | None:
    """`path` when it is an executable file, else None."""
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


@dataclass(frozen=True)
class Check:
    requirement: Requirement
    found: str | None    # what was found (library file or program path), None when missing

    @property
    def ok(self) -> bool:
        return self.found is not None


@dataclass(frozen=True)
class Diagnosis:
    python: str
    python_ok: bool
    checks: list[Check]

    @property
    def missing(self) -> list[Requirement]:
        return [c.requirement for c in self.checks if not c.ok]

    @property
    def ok(self) -> bool:
        return self.python_ok and not self.missing


def install_command(packages: list[str]) -> str:
    return "sudo apt-get install -y " + " ".join(dict.fromkeys(packages))


def diagnose(library_finder: Callable[[str], str | None] | None = None,
             program_finder: Callable[[str], str | None] | None = None) -> Diagnosis:
    """Check the Python version and every requirement. The finders default to this module's
    `find_library` and `find_program`, looked up at call time."""
    by_library = library_finder or find_library
    by_path = program_finder or find_program
    checks = []
    for requirement in REQUIREMENTS:
        if requirement.library is not None:
            found = by_library(requirement.library)
        else:
            assert requirement.path is not None
            found = by_path(requirement.path)
        checks.append(Check(requirement, found))
    return Diagnosis(python=f"{platform.python_version()} ({sys.executable})",
                     python_ok=sys.version_info[:2] >= MIN_PYTHON, checks=checks)


def report(diagnosis: Diagnosis) -> list[str]:
    """The lines `cspkit doctor` prints."""
    need = ".".join(map(str, MIN_PYTHON))
    lines = [f"{'ok' if diagnosis.python_ok else 'TOO OLD':8} Python {diagnosis.python}"
             + ("" if diagnosis.python_ok else f": cspkit needs Python {need} or later")]
    for check in diagnosis.checks:
        r = check.requirement
        if check.ok:
            lines.append(f"{'found':8} {r.name}, for {r.purpose}: {check.found}")
        else:
            lines.append(f"{'MISSING':8} {r.name}, for {r.purpose}; install with: "
                         f"{install_command([r.package])}")
    missing = diagnosis.missing
    if missing:
        lines.append(f"{len(missing)} missing. On Debian, install them all with:")
        lines.append("    " + install_command([r.package for r in missing]))
    elif diagnosis.python_ok:
        lines.append("Everything cspkit needs is present.")
    return lines
