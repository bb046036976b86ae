"""The one ingest pipeline: plan the files, parse them, validate, write through the store and
log, for every kind of source.

    plan     expand folders and zips; hash each file; bytes loaded before are 'unchanged' and
             not read again; every other file is recognised (a file nothing recognises fails
             the batch before anything is written)
    parse    the source's parser turns each file into canonical rows and rejected rows
    validate file-level rules the parser cannot know: no data rows ('empty', never coverage),
             a force-month already covered ('duplicate-coverage', or --replace)
    write    rows, areas and links through the store; rejected rows to the quarantine; the
             ingest log row with rows in = loaded + quarantined
    derive   what the warehouse derives from what was loaded (LSOA editions, force links ...)

The caller holds one transaction around it all, so a failure anywhere leaves the warehouse as
it was. In a writer's private copy of the warehouse (`store.writer`, which every command and the
web upload use) the pipeline instead commits after each batch of rows written (`commit_chunks`):
DuckDB keeps an open transaction's appended rows in memory whatever its memory limit, so one
transaction around a national load grew with the national total. That is safe there because
the copy is swapped in only when the writer ends well and is deleted on any failure, so a
failed load still leaves the warehouse as it was; the ingest log and quarantine rows of a batch
are committed with its rows, never apart. On a connection opened in place (`connect`, with the
caller's `transaction`) there is no copy, and the load stays one transaction.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from queue import Full, Queue

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cspkit.errors import InputError, NotLoaded, UnrecognisedFile
from cspkit.ingest.registry import Item, Source
from cspkit.ingest.report import (
    DUPLICATE,
    EMPTY,
    LOADED,
    REPLACED,
    SKIPPED,
    UNCHANGED,
    IngestReport,
)
from cspkit.sources.inputs import InputFile, expand_inputs, work_dir
from cspkit.sources.limits import current_limits
from cspkit.sources.parsed import HeldGeography, Parsed
from cspkit.store import ingest_log, vintages, writes
from cspkit.store.ingest_log import IngestRecord
from cspkit.store.warehouse import commit_point, in_private_copy

OnFile = Callable[[str, int, int], None]
# The kind of a skipped file recognised for what it is but not held (errors.NotLoaded).
NOT_LOADED_KIND = "not-loaded"
HASH_THREADS = min(4, os.cpu_count() or 1)
# Files a source that parses apart may parse ahead of the writer (each holds its rows).
PARSE_AHEAD = 64
# Files hashed, then recognised, together (one ingest-log query each group).
PLAN_GROUP = 64


def run_ingest(con: duckdb.DuckDBPyConnection, source: Source,
               paths: Sequence[str | os.PathLike[str]], *, run_id: str, replace: bool = False,
               skip_unknown: bool = False, on_file: OnFile | None = None,
               source_urls: Mapping[str, str] | None = None,
               commit_chunks: bool | None = None) -> IngestReport:
    """Load every file of `source` under `paths` (files, folders, zips, in any mix) inside the
    caller's transaction. A file that is none of the source's kinds fails the whole batch
    (every such file listed) unless `skip_unknown`, when it is reported as skipped.
    `source_urls` maps a path given (a file, or the zip a member came from) to the URL it was
    downloaded from, logged beside the file's sha256.

    `commit_chunks`: commit after each batch written (bounded memory, see above). The default
    (None) is yes exactly when `con` is a writer's private copy and no otherwise; False keeps
    one transaction anywhere; True on a connection opened in place is refused (ValueError), as
    a later failure would leave the batches before it behind. With chunks, a failure must end
    the writer (every caller lets it propagate): the writer then deletes its copy."""
    private = in_private_copy(con)
    if commit_chunks and not private:
        raise ValueError("commit_chunks needs a writer's private copy of the warehouse "
                         "(store.writer); a connection opened in place keeps one transaction")
    chunks = private if commit_chunks is None else commit_chunks
    report = IngestReport()
    names = source.paths([str(p) for p in paths])
    memory = current_limits().max_ingest_memory
    with work_dir() as workdir, expand_inputs(names, member_filter=source.suffixes()) as files, \
            writes.memory_capped(con, memory), \
            writes.threads_capped(con, 1 if getattr(source, "parses_apart", False) else None):
        if not files:
            raise InputError(", ".join(str(p) for p in paths), f"no {source.name} files found",
                             expected=source.nothing_found())
        items, twice = _plan(con, source, files, report, workdir, on_file, skip_unknown)
        items.sort(key=source.order)
        writer = _Writer(con, source, run_id, replace, report, source_urls, chunks)
        with _parsed_ahead(source.parse(items, writer.held, workdir),
                           getattr(source, "parses_apart", False)) as parsed_files:
            for item, parsed in zip(items, parsed_files, strict=True):
                writer.add(item, parsed)
        writer.flush()
        for sha, records in twice.items():
            for record in records:
                record.ingest_id = writer.ids.get(sha, 0)
                record.note = f"the same bytes were loaded by ingest {record.ingest_id}"
        order = {file.display: index for index, file in enumerate(files)}
        report.files.sort(key=lambda r: order.get(r.file, 0))   # as the user gave them
    # Derived tables are rebuilt outside the cap: their size follows the geography held, not
    # the files read, and some of their operators cannot spill (an out-of-memory error at
    # 256 MiB was seen rebuilding the LSOA hierarchy).
    source.after(con, any(r.status == LOADED for r in report.files),
                 (lambda: commit_point(con)) if chunks else _no_commit)
    editions_of = ingest_log.ingest_vintages(con, run_id)
    for record in report.records:
        record.lsoa_vintage = editions_of.get(record.ingest_id, record.lsoa_vintage)
    return report


def _no_commit() -> None:
    pass


@contextmanager
def _parsed_ahead(parsed: Iterator[Parsed], apart: bool) -> Iterator[Iterator[Parsed]]:
    """The parsed files, in order. A source that parses apart from the warehouse (in a
    DuckDB of its own) parses on a thread of its own, up to PARSE_AHEAD files ahead: its reads
    and the warehouse's writes then run on both cores at once. Its errors are raised here, in
    the order they came; if the writer fails, parsing stops."""
    if not apart:
        yield parsed
        return
    ready: Queue[tuple[str, Parsed | BaseException | None]] = Queue(maxsize=PARSE_AHEAD)
    stop = threading.Event()

    def put(kind: str, value: Parsed | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                ready.put((kind, value), timeout=0.1)
                return True
            except Full:
                continue
        return False

    def work() -> None:
        try:
            for one in parsed:
                if not put("file", one):
                    break
            else:
                put("end", None)
        except BaseException as exc:   # handed to the writer's thread, which raises it
            put("error", exc)
        finally:
            close = getattr(parsed, "close", None)
            if close is not None:
                close()

    def taken() -> Iterator[Parsed]:
        while True:
            kind, value = ready.get()
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            if kind == "end":
                return
            assert isinstance(value, Parsed)
            yield value

    thread = threading.Thread(target=work, name="cspkit-parse", daemon=True)
    thread.start()
    try:
        yield taken()
    finally:
        stop.set()
        thread.join()


def _sha256(file: InputFile) -> str:
    return file.sha256()


def _plan(con: duckdb.DuckDBPyConnection, source: Source, files: list[InputFile],
          report: IngestReport, workdir: Path, on_file: OnFile | None,
          skip_unknown: bool = False) -> tuple[list[Item], dict[str, list[IngestRecord]]]:
    """Hash every file; skip bytes loaded before; recognise the rest before writing anything.
    Also returns, by hash, the files whose bytes came earlier in this same ingest."""
    kinds = source.log_kinds()
    seen: set[str] = set()
    twice: dict[str, list[IngestRecord]] = {}
    items: list[Item] = []
    unknown: list[UnrecognisedFile] = []
    # Files are hashed ahead on worker threads (hashing releases the GIL) while this thread
    # recognises those already hashed, a group at a time (one ingest-log query a group): the
    # two passes over every byte overlap on the cores instead of following each other.
    pool = ThreadPoolExecutor(max_workers=HASH_THREADS)
    try:
        hashed = zip(files, pool.map(_sha256, files), strict=True)
        index = 0
        while group := list(itertools.islice(hashed, PLAN_GROUP)):
            for file, _ in group:
                index += 1
                if on_file:
                    on_file(file.display, index, len(files))
            loaded = ingest_log.loaded_as(con, {sha for _, sha in group}, kinds)
            for file, sha in group:
                earlier = loaded.get(sha)
                if earlier is not None or sha in seen:
                    kind, ingest_id = earlier if earlier else (kinds[0], 0)
                    note = (f"the same bytes were loaded by ingest {ingest_id}" if ingest_id
                            else "the same bytes came twice in this ingest")
                    record = IngestRecord(ingest_id, kind, file.display, UNCHANGED, note=note)
                    report.files.append(record)
                    if earlier is None:
                        twice.setdefault(sha, []).append(record)
                    continue
                seen.add(sha)
                try:
                    items.append(source.recognise(file, sha, workdir))
                except NotLoaded as exc:
                    # Known for what it is, not held by the warehouse: said, never failing
                    # the rest.
                    report.files.append(IngestRecord(0, NOT_LOADED_KIND, file.display,
                                                     SKIPPED, note=exc.problem))
                except UnrecognisedFile as exc:
                    unknown.append(exc)
                    report.files.append(IngestRecord(0, source.name, file.display, SKIPPED,
                                                     note=exc.problem))
    finally:
        pool.shutdown(cancel_futures=True)   # on a failure, hash nothing more
    if unknown and not skip_unknown:
        if len(unknown) == 1:
            raise unknown[0]
        names = "; ".join(f"{e.file} ({e.problem[:120]})" for e in unknown)
        raise InputError(f"{len(unknown)} files", f"not recognised, so nothing was loaded: "
                         f"{names}; pass --skip-unknown to load the others",
                         expected=unknown[0].expected)
    return items, twice


# Below this many rows per chunk on average, many files' rows are copied into one contiguous
# table before a write (DuckDB scans a great many tiny chunks slowly); above it the files'
# tables are written as they are, without copying every row in Python.
SMALL_CHUNK_ROWS = 8192


def _with_ingest_ids(parts: Sequence[tuple[pa.Table, int]]) -> pa.Table:
    """Many files' rows as one table (their chunks side by side, not copied), each row with
    its file's ingest id."""
    rows = pa.concat_tables([t for t, _ in parts], promote_options="default")
    ids = np.repeat(np.array([i for _, i in parts], np.int32), [t.num_rows for t, _ in parts])
    rows = rows.append_column("ingest_id", pa.array(ids, pa.int32()))
    chunks = max((rows.column(0).num_chunks if rows.num_columns else 0), 1)
    if rows.num_rows / chunks < SMALL_CHUNK_ROWS:
        rows = rows.combine_chunks()
    return rows


class _Writer:
    """Writes parsed files, many at a time where the source allows (one statement per table
    for a whole batch of small files), and keeps what the next file needs to know: coverage
    held, and the geography held (which a file of this same ingest may have added to)."""

    # Files held back before a write; a spilled file (a very large one) is written at once.
    BATCH_FILES = 500
    BATCH_ROWS = 1_000_000

    def __init__(self, con: duckdb.DuckDBPyConnection, source: Source, run_id: str,
                 replace: bool, report: IngestReport,
                 source_urls: Mapping[str, str] | None = None,
                 commit_chunks: bool = False) -> None:
        self.con = con
        self.commit_chunks = commit_chunks
        self.urls = {os.path.abspath(k): v for k, v in (source_urls or {}).items()}
        self.source = source
        self.run_id = run_id
        self.replace = replace
        self.report = report
        self.covered: dict[str, dict[tuple[str, str], tuple[int, str]]] = {}
        self._held: HeldGeography | None = None
        self.pending: list[tuple[Item, Parsed]] = []
        self.pending_rows = 0
        self.ids: dict[str, int] = {}           # sha -> ingest id, for files seen twice
        # The LSOA editions held (False: not read yet), and the files given theirs as written.
        self._editions: vintages.LsoaEditions | None | bool = False
        self.vintage_given: set[int] = set()

    def url_of(self, display: str) -> str | None:
        """The URL a file was downloaded from: its own, or its archive's for a zip member
        (displayed as ``archive.zip!member``)."""
        if not self.urls:
            return None
        return (self.urls.get(os.path.abspath(display))
                or self.urls.get(os.path.abspath(display.split("!", 1)[0])))

    def held(self) -> HeldGeography:
        if self._held is None:
            self._held = HeldGeography(*ingest_log.held_geography(self.con))
        return self._held

    def add(self, item: Item, parsed: Parsed) -> None:
        self.pending.append((item, parsed))
        self.pending_rows += parsed.rows_in
        spilled = any(isinstance(t, Path) for t in parsed.tables.values())
        # Sources whose next file depends on this one (areas, geography) write file by file.
        if (not self.source.batched or spilled or len(self.pending) >= self.BATCH_FILES
                or self.pending_rows >= self.BATCH_ROWS):
            self.flush()

    def flush(self) -> None:
        batch, self.pending, self.pending_rows = self.pending, [], 0
        if not batch:
            return
        con = self.con
        ids = ingest_log.start_ingests(con, self.run_id, [
            (item.log_kind, item.file.display, item.sha, item.file.size(), parsed.force,
             parsed.month) for item, parsed in batch],
            [self.url_of(item.file.display) for item, _ in batch])
        records: list[IngestRecord] = []
        for (item, parsed), ingest_id in zip(batch, ids, strict=True):
            self.ids[item.sha] = ingest_id
            records.append(self._settle(item, parsed, ingest_id, records))
        by_target: dict[str, list[tuple[pa.Table, int, str]]] = {}
        for (item, parsed), record in zip(batch, records, strict=True):
            if record.status not in (LOADED,):
                continue
            for target, rows in parsed.tables.items():
                if len(batch) > 1 and isinstance(rows, pa.Table):
                    # Many files' rows in one write, each row carrying its file's ingest id
                    # (only sources whose rows belong to an ingest are batched).
                    by_target.setdefault(target, []).append((rows, record.ingest_id,
                                                             item.log_kind))
                else:
                    self._write(item, target, rows, record)
            if parsed.areas:
                writes.upsert_areas(con, parsed.areas, item.file.name,
                                    rename=parsed.rename_areas)
            if parsed.links:
                writes.upsert_links(con, parsed.links, item.file.name)
            if parsed.areas or parsed.links:
                self._held = None   # the next file sees these areas
                self._editions = False
        for target, parts in by_target.items():
            rows = self._with_vintages(target, parts, records)
            # One file's name as the source of rows that lack one (reference tables come one
            # file at a time, so this is that file's name).
            writes.write(con, target, rows, ingest_id=0, source=batch[0][0].file.name)
        quarantined = [(record.ingest_id, record.file, *bad)
                       for (_, parsed), record in zip(batch, records, strict=True)
                       for bad in parsed.rejected]
        ingest_log.quarantine_many(con, quarantined)
        ingest_log.finish_ingests(con, [
            (r.ingest_id, r.status, r.rows_in, r.rows_loaded, r.rows_quarantined, r.note,
             r.lsoa_vintage) for r in records])
        self.report.files.extend(records)
        if self.commit_chunks:
            # The batch's rows, log and quarantine together; DuckDB can now let them go.
            commit_point(con)

    def _with_vintages(self, target: str, parts: Sequence[tuple[pa.Table, int, str]],
                       records: list[IngestRecord]) -> pa.Table:
        """Many files' rows as one table; police files' LSOA editions decided from their rows
        as they are written (what the source's `after` would otherwise do by updating every
        row again; the files it cannot decide alone it still does)."""
        rows = _with_ingest_ids([(t, i) for t, i, _ in parts])
        if (target not in ("events", "police_outcomes") or "lsoa_vintage" in rows.column_names
                or any(kind not in vintages.POLICE_KINDS for _, _, kind in parts)):
            return rows
        if self._editions is False:
            self._editions = vintages.lsoa_editions(self.con)
        if not isinstance(self._editions, vintages.LsoaEditions):
            return rows
        rows, decided = vintages.with_file_vintages(rows, self._editions)
        for record in records:
            if record.ingest_id in decided:
                record.lsoa_vintage = decided[record.ingest_id]
                self.vintage_given.add(record.ingest_id)
        return rows

    def _write(self, item: Item, target: str, rows: pa.Table | Path,
               record: IngestRecord) -> None:
        written = writes.write(self.con, target, rows, ingest_id=record.ingest_id,
                               source=item.file.name)
        if target == "events" and written != record.rows_loaded:
            raise AssertionError(f"{item.file.display}: {written} rows written, "
                                 f"{record.rows_loaded} loaded")

    def _settle(self, item: Item, parsed: Parsed, ingest_id: int,
                batch: list[IngestRecord]) -> IngestRecord:
        """The file's status and counts, decided before anything of it is written."""
        record = IngestRecord(ingest_id, item.log_kind, item.file.display, LOADED,
                              force=parsed.force, month=parsed.month,
                              lsoa_vintage=parsed.lsoa_vintage,
                              control_characters=parsed.control_characters)
        if parsed.rows_in == 0:
            # A header and nothing else: logged, so the user sees it, but never coverage.
            record.status = EMPTY
            record.note = "; ".join(["no data rows", *parsed.notes])
            return record
        conflict = (self._coverage(item, parsed, ingest_id, batch) if self.source.coverage
                    else None)
        if conflict:
            record.status, record.note = DUPLICATE, conflict
            self._reject_whole(parsed, conflict)
        else:
            record.note = parsed.note
        record.rows_in = parsed.rows_in
        record.rows_loaded = parsed.rows_loaded
        record.rows_quarantined = len(parsed.rejected)
        return record

    def _coverage(self, item: Item, parsed: Parsed, ingest_id: int,
                  batch: list[IngestRecord]) -> str | None:
        """A second file for a force and month already covered is reported and its rows
        quarantined; with `replace` it supersedes the earlier one."""
        if not (parsed.force and parsed.month):
            return None
        covered = self.covered.get(item.log_kind)
        if covered is None:
            covered = self.covered[item.log_kind] = ingest_log.coverage_held(self.con,
                                                                              item.log_kind)
        key = (parsed.force, parsed.month)
        display = item.file.display
        if key in covered:
            old_id, old_file = covered[key]
            kind = item.log_kind.removeprefix("police-")
            message = (f"{parsed.force} {parsed.month} {kind} is already loaded from "
                       f"{old_file} (ingest {old_id})")
            if not self.replace:
                self.report.conflicts.append(f"{message}; {display} not loaded (use --replace "
                                             "to load it instead)")
                return (f"duplicate coverage: {message}; pass --replace to load this file "
                        "instead")
            ingest_log.retire_ingest(self.con, old_id, next(iter(parsed.tables)))
            if old_id in self.vintage_given:
                # Decided as it was written; a file replaced in the same ingest never was.
                ingest_log.forget_vintage(self.con, old_id)
            for record in [*self.report.files, *batch]:   # a file earlier in this ingest
                if record.ingest_id == old_id:
                    record.status = REPLACED
                    record.note = "replaced by a later file in the same ingest (--replace)"
            self.report.conflicts.append(f"{message}; replaced by {display}")
        covered[key] = (ingest_id, display)
        return None

    def _reject_whole(self, parsed: Parsed, reason: str) -> None:
        """Every row of a file not loaded is quarantined with the reason, good rows too."""
        lines: list[int] = []
        for rows in parsed.tables.values():
            table = pq.read_table(rows, columns=["line_no"]) if isinstance(rows, Path) else rows
            if "line_no" in table.column_names:
                lines += table.column("line_no").to_pylist()
        text = parsed.raw(lines) if parsed.raw else {}
        bad = [(line, None, reason, text.get(line)) for line in lines]
        parsed.rejected = sorted(parsed.rejected + bad, key=lambda r: r[0] or 0)
        parsed.rows_loaded = 0
