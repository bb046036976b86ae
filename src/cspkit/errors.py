"""Errors a user can act on: each names the file (and line and column where there is one) and
says what was expected."""

from __future__ import annotations


class CspkitError(Exception):
    """Base class for errors shown to the user without a traceback."""


class InputError(CspkitError):
    """A file cannot be loaded as it stands."""

    def __init__(self, file: str, problem: str, *, line: int | None = None,
                 column: str | int | None = None, expected: str | None = None) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.problem = problem
        self.expected = expected
        where = file
        if line is not None:
            where += f", line {line}"
        if isinstance(column, int):  # a position in a text file, not a named CSV column
            where += f", column {column}"
        elif column is not None:
            where += f", column '{column}'"
        message = f"{where}: {problem}"
        if expected:
            message += f" (expected {expected})"
        super().__init__(message)


class UnrecognisedFile(InputError):
    """A readable file that is none of the kinds a loader knows (as opposed to a broken one):
    an ingest lists every such file together, and may skip them when asked."""


class NotLoaded(InputError):
    """A file recognised for what it is, whose content the warehouse does not hold (the Indices
    of Deprivation's sub-domains, underlying indicators ...): reported as skipped with the
    reason, never failing the other files of an ingest."""


class AreaNotFound(CspkitError):
    """An area name or code matched nothing in the warehouse."""
