"""Reading a YAML file a user gives (a partner schema, report settings, place weights), safely.

One function, `load_yaml`, for every such file, so each gets the same guards:

- only a regular file, no larger than ``max_yaml_bytes`` (1 MiB; ``CSPKIT_MAX_YAML_BYTES``);
  a folder, a missing file or a device is refused by name;
- UTF-8 text (a byte-order mark is allowed); a byte that is not UTF-8 is reported with its
  line and column, since a file saved as Latin-1 from Excel or Notepad is a common mistake;
- PyYAML's safe loader (plain data, never Python objects; libyaml's when installed), after one
  pass over the parser's events that bounds aliases: at most `MAX_ALIASES` uses of ``*name``,
  standing together for at most `MAX_ALIAS_NODES` values, and none inside the value it names,
  so a "billion laughs" document of a few hundred bytes fails at once instead of expanding to
  gigabytes; and nesting at most `MAX_DEPTH` levels (deeper would exhaust the stack);
- errors as one line (InputError: file, line, column), quoting at most `QUOTE_CHARS`
  characters of the document (see `shorten`).
"""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from cspkit.errors import InputError
from cspkit.sources.limits import IngestLimits, current_limits, format_bytes, raise_hint

MAX_ALIASES = 100
MAX_ALIAS_NODES = 10_000
MAX_DEPTH = 100
QUOTE_CHARS = 200


def shorten(text: object, limit: int = QUOTE_CHARS) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis: for messages that quote
    what a user's file holds, which may be huge."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit - 1].rstrip() + "…"


def load_yaml(path: str | os.PathLike[str], *, what: str,
              limits: IngestLimits | None = None) -> Any:
    """The data in the YAML file at `path` (None for an empty file). `what` names the file in
    messages ("partner schema"). Raises InputError for anything wrong with it."""
    path = Path(path)
    limits = limits or current_limits()
    display = str(path)
    data = _read(path, display, what, limits)
    text = _decode(data, display, what)
    try:
        _check_shape(text)
        return yaml.load(text, Loader=_LOADER)  # a safe loader: plain data, never objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = shorten(exc.problem or exc.context or "cannot be read")
        if exc.context and exc.problem:
            problem += f" ({shorten(exc.context, 80)})"
        if not isinstance(exc, _Refused):
            problem = f"not valid YAML: {problem}"
        raise InputError(display, problem,
                         line=mark.line + 1 if mark else None,
                         column=mark.column + 1 if mark else None) from exc
    except yaml.reader.ReaderError as exc:
        # libyaml counts the position in UTF-8 bytes, the pure-Python reader in characters.
        line, column = _line_column(text.encode() if _LOADER is not yaml.SafeLoader
                                    else text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise InputError(display, f"not valid YAML: character U+{code:04X} is not allowed in "
                         f"a YAML file", line=line, column=column) from exc
    except yaml.YAMLError as exc:
        raise InputError(display, f"not valid YAML: {shorten(exc)}") from exc
    except RecursionError as exc:  # deeper than Python can follow, whatever the guard says
        raise InputError(display, f"not valid YAML: nested more than {MAX_DEPTH} levels deep"
                         ) from exc


def _read(path: Path, display: str, what: str, limits: IngestLimits) -> bytes:
    expected = f"a YAML {what}"
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        raise InputError(display, "no such file", expected=expected) from exc
    except OSError as exc:
        raise InputError(display, f"cannot be read ({exc.strerror or exc})") from exc
    if stat.S_ISDIR(info.st_mode):
        raise InputError(display, "is a folder, not a file", expected=expected)
    if not stat.S_ISREG(info.st_mode):
        raise InputError(display, "is not a regular file (a device, pipe or socket)",
                         expected=expected)
    limit = limits.max_yaml_bytes
    too_big = InputError(display, f"is over the limit of {format_bytes(limit)} for a {what} "
                         f"(max_yaml_bytes); {raise_hint('max_yaml_bytes')}")
    if info.st_size > limit:
        raise too_big
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)  # the file may have grown since it was looked at
    except OSError as exc:
        raise InputError(display, f"cannot be read ({exc.strerror or exc})") from exc
    if len(data) > limit:
        raise too_big
    return data


def _decode(data: bytes, display: str, what: str) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[start:exc.start].decode("utf-8", "replace")) + 1
        utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        problem = ("the file is saved as UTF-16, not UTF-8" if utf16 else
                   f"byte 0x{data[exc.start]:02X} is not UTF-8 text (the file may be saved as "
                   f"Latin-1 or Windows-1252)")
        raise InputError(display, problem, line=line, column=column,
                         expected=f"a {what} saved as UTF-8") from exc


def _line_column(text: str | bytes, position: int) -> tuple[int, int]:
    data = text.encode() if isinstance(text, str) else text
    if isinstance(text, str):
        position = len(text[:position].encode())
    start = data.rfind(b"\n", 0, position) + 1
    column = len(data[start:position].decode("utf-8", "replace")) + 1
    return data.count(b"\n", 0, position) + 1, column


class _Refused(yaml.MarkedYAMLError):
    """A document refused for its shape, not its syntax."""


# libyaml's parser when PyYAML has it (tens of times faster than the pure-Python one).
_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_shape(text: str) -> None:
    """One pass over the parser's events, before anything is built: refuse nesting deeper than
    `MAX_DEPTH`, more than `MAX_ALIASES` aliases, aliases standing for more than
    `MAX_ALIAS_NODES` values in all (each counted as what it would expand to), and an alias
    inside the value it names. The parser keeps its own stack, so this pass cannot recurse."""
    open_: list[list[Any]] = []     # [anchor, values so far] of each collection still open
    sizes: dict[str, int] = {}      # anchor -> values its node stands for, expanded
    aliases = alias_values = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(open_) >= MAX_DEPTH:
                raise _Refused(problem=f"values nested more than {MAX_DEPTH} levels deep",
                               problem_mark=event.start_mark)
            open_.append([event.anchor, 1])
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = open_.pop()
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _Refused(problem=f"more than {MAX_ALIASES} aliases (*name) in one file",
                               problem_mark=event.start_mark)
            if any(event.anchor == name for name, _ in open_):
                raise _Refused(problem=f"alias *{shorten(event.anchor, 40)} refers to a value "
                               "that contains it, which would never end",
                               problem_mark=event.start_mark)
            anchor, size = None, sizes.get(event.anchor, 1)  # undefined: the loader says so
            alias_values += size
            if alias_values > MAX_ALIAS_NODES:
                raise _Refused(problem=f"aliases (*name) that stand for more than "
                               f"{MAX_ALIAS_NODES:,} values in all (a 'billion laughs')",
                               problem_mark=event.start_mark)
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        if open_:
            open_[-1][1] += size
