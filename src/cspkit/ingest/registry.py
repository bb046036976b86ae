"""The kinds of source the ingest pipeline knows: how to find, recognise and parse their files,
and what the warehouse derives once they are loaded. Adding a kind of source is one parser in
`sources/` and one entry here."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb

from cspkit.errors import InputError
from cspkit.sources import police, reference
from cspkit.sources.inputs import InputFile
from cspkit.sources.parsed import HeldGeography, Parsed
from cspkit.sources.partner import load_schema
from cspkit.sources.partner.load import SUFFIXES as PARTNER_SUFFIXES
from cspkit.sources.partner.load import Geography
from cspkit.sources.partner.load import parse as parse_partner
from cspkit.sources.partner.reader import read_table
from cspkit.sources.partner.schema import Schema
from cspkit.sources.reference.recognise import KIND_CHOICES, MODULES
from cspkit.store.derive import refresh_derived
from cspkit.store.forces import derive_force_links
from cspkit.store.geography import rebuild_lsoa_geography
from cspkit.store.vintages import align_partner_vintages, resolve_event_vintages


@dataclass
class Item:
    """A file recognised and ready to parse."""

    file: InputFile
    log_kind: str              # the ingest log's kind: police-street, reference-lookup ...
    sha: str
    detail: Any = None         # what the source's recognition found (a PoliceFile ...)


class Source(Protocol):
    name: str
    # One file per force and month of a kind: a second is duplicate coverage.
    coverage: bool
    # Files independent of each other, written many at a time.
    batched: bool
    # Parsing never touches the warehouse (not even `held`): it may run on a thread of its
    # own, ahead of the writes.
    parses_apart: bool

    def paths(self, paths: Sequence[str]) -> list[str]: ...
    def suffixes(self) -> tuple[str, ...] | None: ...
    def log_kinds(self) -> list[str]: ...
    def recognise(self, file: InputFile, sha: str, workdir: Path) -> Item: ...
    def order(self, item: Item) -> int: ...
    def parse(self, items: Sequence[Item], held: Callable[[], HeldGeography],
              workdir: Path) -> Iterator[Parsed]: ...
    # `commit`: the pipeline's commit point (a no-op unless it commits in chunks), for steps
    # that change rows in proportion to everything held.
    def after(self, con: duckdb.DuckDBPyConnection, loaded: bool,
              commit: Callable[[], None]) -> None: ...
    def nothing_found(self) -> str: ...


class PoliceSource:
    name = "police"
    coverage = True
    batched = True
    parses_apart = True

    def paths(self, paths: Sequence[str]) -> list[str]:
        return list(paths)

    def suffixes(self) -> tuple[str, ...]:
        return (".csv", ".csv.gz", ".zip")

    def log_kinds(self) -> list[str]:
        return [f"police-{k}" for k in police.LAYOUTS]

    def recognise(self, file: InputFile, sha: str, workdir: Path) -> Item:
        pf = police.recognise(file, workdir)
        return Item(file, f"police-{pf.kind}", sha, pf)

    def order(self, item: Item) -> int:
        return list(police.LAYOUTS).index(item.detail.kind)

    def parse(self, items: Sequence[Item], held: Callable[[], HeldGeography],
              workdir: Path) -> Iterator[Parsed]:
        parser = police.PoliceParser(workdir)
        try:
            for item, parsed in zip(items, parser.parse([i.detail for i in items]),
                                    strict=True):
                parsed.raw = functools.partial(police.raw_lines, item.detail)
                yield parsed
        finally:
            parser.close()

    def after(self, con: duckdb.DuckDBPyConnection, loaded: bool,
              commit: Callable[[], None]) -> None:
        resolve_event_vintages(con, commit)
        align_partner_vintages(con)
        commit()
        derive_force_links(con)
        rebuild_lsoa_geography(con)

    def nothing_found(self) -> str:
        return "data.police.uk CSV files, month folders or zip archives"


class ReferenceSource:
    name = "reference"
    coverage = False
    batched = False
    parses_apart = False

    def __init__(self, kind: str | None = None, edition: str | None = None) -> None:
        if kind is not None and kind not in KIND_CHOICES:
            raise InputError(kind, f"unknown kind '{kind}'",
                             expected="one of " + ", ".join(KIND_CHOICES))
        self.kind = kind
        self.edition = edition

    def paths(self, paths: Sequence[str]) -> list[str]:
        return reference.files_under(list(paths))

    def suffixes(self) -> None:
        return None

    def log_kinds(self) -> list[str]:
        kinds = [m.KIND for m in KIND_CHOICES[self.kind]] if self.kind else list(MODULES)
        return [f"reference-{k}" for k in kinds]

    def recognise(self, file: InputFile, sha: str, workdir: Path) -> Item:
        found = reference.recognise(file, self.kind)
        return Item(file, f"reference-{found.kind}", sha, found)

    def order(self, item: Item) -> int:
        return reference.LOAD_ORDER.index(item.detail.kind)

    def parse(self, items: Sequence[Item], held: Callable[[], HeldGeography],
              workdir: Path) -> Iterator[Parsed]:
        for item in items:
            # Population tables take their LSOA edition from the lookups held, which may have
            # been loaded a moment ago in this same ingest.
            needs = item.detail.kind == "population"
            ctx = reference.LoadContext(source=item.file.name, edition=self.edition,
                                        held=held() if needs else HeldGeography())
            yield reference.parse(item.detail, ctx)

    def after(self, con: duckdb.DuckDBPyConnection, loaded: bool,
              commit: Callable[[], None]) -> None:
        if loaded:
            refresh_derived(con)   # derived rows depend only on what was just loaded

    def nothing_found(self) -> str:
        return "reference files: CSV, XLSX, XLS, GeoJSON, shapefile or zip files"


class PartnerSource:
    name = "partner"
    coverage = False
    batched = False
    parses_apart = False

    def __init__(self, schema: str | Schema) -> None:
        self.schema = schema if isinstance(schema, Schema) else load_schema(schema)

    def paths(self, paths: Sequence[str]) -> list[str]:
        return list(paths)

    def suffixes(self) -> tuple[str, ...]:
        return PARTNER_SUFFIXES

    def log_kinds(self) -> list[str]:
        return [self.schema.ingest_kind]

    def recognise(self, file: InputFile, sha: str, workdir: Path) -> Item:
        return Item(file, self.schema.ingest_kind, sha, read_table(file, self.schema))

    def order(self, item: Item) -> int:
        return 0

    def parse(self, items: Sequence[Item], held: Callable[[], HeldGeography],
              workdir: Path) -> Iterator[Parsed]:
        geography = Geography.of(held())
        for item in items:
            yield parse_partner(item.detail, self.schema, geography)

    def after(self, con: duckdb.DuckDBPyConnection, loaded: bool,
              commit: Callable[[], None]) -> None:
        if loaded and self.schema.kind == "events":
            align_partner_vintages(con)

    def nothing_found(self) -> str:
        return f"CSV or Excel files for schema '{self.schema.name}'"


SOURCES: dict[str, Callable[..., Source]] = {
    "police": PoliceSource,
    "reference": ReferenceSource,
    "partner": PartnerSource,
}


def source(name: str, **options: Any) -> Source:
    if name not in SOURCES:
        raise InputError(name, "no such kind of source", expected=", ".join(SOURCES))
    return SOURCES[name](**options)
