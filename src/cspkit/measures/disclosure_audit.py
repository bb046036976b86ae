"""Proof that nothing published reveals a suppressed count: an audit of published tables
against their declared arithmetic, and of published sentences for small counts in words.

What the policy covers (for the method section). Counts of 1 to 4 events, people or records
are never published and nothing published may reveal one. Before any artefact is written the
renderer audits every table (the HTML table, its CSV file and its XLSX sheet are all written
from the same published frame, which is what is audited), every paragraph, table title and
note, every figure's text alternative and the SVG's own `<title>`, `<desc>` and `aria-label`
text, and refuses to write a document that leaks, naming the table or figure and the cell or
sentence. The place profile's JSON (printed by `cspkit profile --format json` and written
beside the briefing) and the ranking `cspkit places --format json/csv/table` prints are
published values and are audited the same way. Sums published elsewhere in the same document
(a district's count beside its wards', the total in a sentence) are declared as known sums of
the table, and tables sorted by a figure list the rows whose figure is hidden last.

Not covered: the analyst outputs that say they are not for publication (the
`*-analyst.csv` ranking, `--analyst` output, `cspkit measure`, which prints exact counts by
design); data-quality counts about the data rather than about events in a place (records per
force and month, unlocated records, duplicates skipped, months held) and counts of tests; ranks,
scores, deciles and flags of a ranking, and ratios such as the seasonal index, which bound a
count but do not give it; tables that publish no counts (`Table.arithmetic` None: the renderer
lists them); the positions of points and bars in charts (the products never draw a count of 1
to 4: bar charts and maps show it as not shown, trend charts leave the month unplotted and say
so); and figures published outside the document that a reader could combine with it.

How a table is audited. A table carries an `Arithmetic`: its count columns, the totals it
publishes (a total column, total rows, sums published elsewhere) and how each other figure is
computed from the counts (`Difference`, `PercentChange`, `Rate`, `Share`, or `Computed` for a
figure such as a p-value that is a known function of the counts). From the published cells
alone, as a reader sees them, every hidden count is an unknown whole number: one shown as the
primary label ('<5') lies in 1..threshold-1, one shown as the secondary label ('*') is at least
the threshold. Every visible figure gives an equation or, when rounded, an interval (a value
shown with d decimals lies within half a unit of its last place; floats in a CSV are as
precise as their shortest repr), and each relation is linear in the unknowns: a - b = d;
100 (a - b) / b within [lo, hi] is a - b (1 + lo/100) >= 0 and a - b (1 + hi/100) <= 0; a
rate within [lo, hi] bounds its count by lo x population / per and hi x population / per; a
share bounds its count by the column total, itself a sum of unknowns. An integer programme
(`scipy.optimize.milp`) then finds the least and greatest whole value each small count can take
given all of them; where they are equal the count is recovered, and the audit reports the row,
the column, the value and the relations that pin it. Integer solutions found on the way show
most counts to have two or more values without a programme of their own. A figure `Computed`
from a hidden count and shown is reported at once: it can be inverted. Relations a table does
not declare are looked for as well: a column that equals the difference, or the percentage
change, of two count columns on every row where both are shown is audited as one, and a
column whose shown values are in order down the table bounds each hidden value between the
shown ones around it (dropped if that contradicts the rest). A declared figure that a row
with all its counts shown contradicts is not computed as declared, and is audited as
`Computed` instead; totals that cannot add up, or columns the arithmetic names but the table
lacks, raise `ArithmeticMismatch`.

How a sentence is audited (`audit_text`): a number below the threshold (in figures or words)
presented as a count of events ("3 incidents", "lowest 2 in January 2022", "peaked at 4"), and
a suppressed count ("fewer than 5", "<5") in the same sentence as a percentage, a change or a
p-value computed from it. Dates, ranks, deciles, table and figure numbers, p-values, ranges
("1 to 4") and counts of months ("8 of 12 months") are not counts of events. Figures whose
values are counts (`Figure.shows_counts`) are held to more: any value below the threshold in
their description, such as "Ward A (3)", is a leak.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

# -- the declared arithmetic ------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """The column is `minuend - subtrahend`, exactly (a change in counts)."""

    minuend: str
    subtrahend: str

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.minuend, self.subtrahend)

    def describe(self, column: str) -> str:
        return f"{column} = {self.minuend} - {self.subtrahend}"


@dataclass(frozen=True)
class PercentChange:
    """The column is `100 * (current - baseline) / baseline`, rounded to `decimals` places
    (None: as precise as each published value is)."""

    current: str
    baseline: str
    decimals: int | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.current, self.baseline)

    def describe(self, column: str) -> str:
        return f"{column} = 100 x ({self.current} - {self.baseline}) / {self.baseline}"


@dataclass(frozen=True)
class Rate:
    """The column is `count * per / population`, the population a published column or a
    known constant (a count column too, e.g. completions per 100 in treatment)."""

    count: str
    population: str | float
    per: float = 1000
    decimals: int | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.count,) + ((self.population,) if isinstance(self.population, str) else ())

    def describe(self, column: str) -> str:
        return f"{column} = {self.count} x {self.per:g} / {self.population}"


@dataclass(frozen=True)
class Share:
    """The column is `scale * count / (the column's total over its non-total rows)`: a
    proportion (scale 1) or a percentage (scale 100). Shares publish the column's total in
    effect, so the total is protected as if it were shown."""

    count: str
    scale: float = 1.0
    decimals: int | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.count,)

    def describe(self, column: str) -> str:
        return f"{column} = {self.scale:g} x {self.count} / total of {self.count}"


@dataclass(frozen=True)
class Computed:
    """Any other figure computed from these counts (a p-value, a test statistic, a verdict's
    numbers): a reader who knows the method can invert it, so it is shown only where every
    source is shown."""

    sources: tuple[str, ...]
    what: str = "computed from"

    def describe(self, column: str) -> str:
        return f"{column} {self.what} {', '.join(self.sources)}"


Relation = Difference | PercentChange | Rate | Share | Computed


@dataclass(frozen=True)
class RowSum:
    """Row `total` holds, in every count column, the sum of rows `parts` (index labels)."""

    total: Hashable
    parts: tuple[Hashable, ...]


@dataclass(frozen=True)
class KnownSum:
    """The sum of `column` over `rows` (None: every row that is not a total row) is `value`,
    published elsewhere (a sentence, another table)."""

    column: str
    value: int
    rows: tuple[Hashable, ...] | None = None


@dataclass(frozen=True)
class Arithmetic:
    """What a published table's figures are and how they are computed from its counts: what
    the audit needs to prove no hidden count can be recovered. `publish` makes one for each
    table it publishes and `Table` carries it."""

    counts: tuple[str, ...]
    total_column: str | None = None
    row_sums: tuple[RowSum, ...] = ()
    known_sums: tuple[KnownSum, ...] = ()
    derived: tuple[tuple[str, Relation], ...] = ()
    threshold: int = 5
    label: str = "<5"
    secondary_label: str = "*"

    def renamed(self, columns: Mapping[str, str]) -> Arithmetic:
        """The same arithmetic after the table's columns are renamed (e.g. for readers)."""
        def new(name: str) -> str:
            return columns.get(name, name)

        def relation(rel: Relation) -> Relation:
            if isinstance(rel, Difference):
                return Difference(new(rel.minuend), new(rel.subtrahend))
            if isinstance(rel, PercentChange):
                return replace(rel, current=new(rel.current), baseline=new(rel.baseline))
            if isinstance(rel, Rate):
                population = new(rel.population) if isinstance(rel.population, str) \
                    else rel.population
                return replace(rel, count=new(rel.count), population=population)
            if isinstance(rel, Share):
                return replace(rel, count=new(rel.count))
            return replace(rel, sources=tuple(new(s) for s in rel.sources))

        return replace(
            self, counts=tuple(new(c) for c in self.counts),
            total_column=new(self.total_column) if self.total_column else None,
            known_sums=tuple(replace(k, column=new(k.column)) for k in self.known_sums),
            derived=tuple((new(c), relation(r)) for c, r in self.derived))

    def relabelled(self, rows: Mapping[Hashable, Hashable]) -> Arithmetic:
        """The same arithmetic after the table's rows are given new index labels (a concat);
        known sums over 'every non-total row' become explicit first."""
        totals = {s.total for s in self.row_sums}
        every = tuple(r for r in rows if r not in totals)
        return replace(
            self,
            row_sums=tuple(RowSum(rows[s.total], tuple(rows[p] for p in s.parts))
                           for s in self.row_sums),
            known_sums=tuple(replace(k, rows=tuple(rows[r] for r in (k.rows or every)))
                             for k in self.known_sums))


ARITHMETIC_KEY = "cspkit.arithmetic"   # where `publish` records it in DataFrame.attrs


def arithmetic_of(frame: pd.DataFrame) -> Arithmetic | None:
    """The arithmetic `publish` recorded on a published frame, if any."""
    spec = frame.attrs.get(ARITHMETIC_KEY)
    return spec if isinstance(spec, Arithmetic) else None


def stack(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Published frames one under another (new index 0..n-1) with their arithmetic combined:
    the same counts, totals and sums each within its own rows."""
    specs = [arithmetic_of(f) for f in frames]
    out = pd.concat(list(frames), ignore_index=True)
    out.attrs = {}
    if any(s is None for s in specs) or not specs:
        return out
    first = specs[0]
    assert first is not None
    row_sums: list[RowSum] = []
    known: list[KnownSum] = []
    offset = 0
    for frame, spec in zip(frames, specs, strict=True):
        assert spec is not None
        if (spec.counts, spec.total_column, spec.derived, spec.threshold) != (
                first.counts, first.total_column, first.derived, first.threshold):
            raise ValueError("only tables published with the same arithmetic can be stacked")
        moved = spec.relabelled({label: offset + i for i, label in enumerate(frame.index)})
        row_sums += moved.row_sums
        known += moved.known_sums
        offset += len(frame)
    out.attrs[ARITHMETIC_KEY] = replace(first, row_sums=tuple(row_sums),
                                        known_sums=tuple(known))
    return out


# -- findings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leak:
    """A suppressed count that can be recovered, or a small count shown, and why."""

    where: str                       # 'table drugs-wards', 'figure weapons-trend', ...
    row: Hashable | None             # the row's index label (tables)
    row_name: str                    # a readable name for the row (its first text cell)
    column: str | None
    value: int | None                # the recovered value, where one follows
    relation: str                    # what reveals it

    def __str__(self) -> str:
        if self.column is None:
            return f"{self.where}: {self.relation}"
        row = f"row {self.row!r}" + (f" ({self.row_name})" if self.row_name else "")
        value = f" = {self.value}" if self.value is not None else ""
        return f"{self.where}, {row}, column {self.column!r}{value}: {self.relation}"


class DisclosureLeak(ValueError):
    """A published artefact would reveal a count the disclosure policy hides."""

    def __init__(self, leaks: Sequence[Leak]) -> None:
        self.leaks = list(leaks)
        shown = "\n  ".join(str(leak) for leak in self.leaks[:12])
        more = f"\n  ... and {len(self.leaks) - 12} more" if len(self.leaks) > 12 else ""
        super().__init__(f"disclosure audit: {len(self.leaks)} place(s) where a small count "
                         f"is shown or can be worked out; nothing written:\n  {shown}{more}")


class ArithmeticMismatch(ValueError):
    """The published table does not obey the arithmetic declared for it."""


# -- reading published cells ------------------------------------------------------------------

PRIMARY, SECONDARY, SHOWN, MISSING = "primary", "secondary", "shown", "missing"
_NUMBER = re.compile(r"^[+\-−]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?$")


def _count_cell(value: Any, spec: Arithmetic) -> tuple[str, int | None]:
    """(state, value) of a published count cell."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return MISSING, None
    if isinstance(value, str):
        text = value.strip()
        if text == spec.label:
            return PRIMARY, None
        if text == spec.secondary_label:
            return SECONDARY, None
        if not text:
            return MISSING, None
        plain = text.replace(",", "")
        if plain.isdigit():
            return SHOWN, int(plain)
        raise ArithmeticMismatch(f"{value!r} is not a published count")
    if isinstance(value, bool):
        raise ArithmeticMismatch(f"{value!r} is not a published count")
    if isinstance(value, (int, np.integer)) or (isinstance(value, (float, np.floating))
                                                 and float(value).is_integer()):
        return SHOWN, int(value)
    raise ArithmeticMismatch(f"{value!r} is not a published count")


def _figure_cell(value: Any, spec: Arithmetic, decimals: int | None
                 ) -> tuple[str, float, float] | None:
    """A published derived figure as (state, low, high): the interval its true value lies in
    given how it is rounded; None when missing."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, str):
        text = value.strip().rstrip("%").strip().replace("−", "-")
        if value.strip() in (spec.secondary_label, spec.label):
            return (SECONDARY, math.nan, math.nan)
        if not text or not _NUMBER.match(text):
            return None
        number = float(text.replace(",", ""))
        places = len(text.split(".")[1]) if "." in text else 0
    elif isinstance(value, (bool, np.bool_)):
        return None
    elif isinstance(value, (int, np.integer)):
        number, places = float(value), 0
    elif isinstance(value, (float, np.floating)):
        number = float(value)
        if not math.isfinite(number):
            return None
        shown = repr(number)
        places = (len(shown.split(".")[1]) if "." in shown and "e" not in shown else 17)
    else:
        return None
    if decimals is not None:
        places = min(places, decimals)
    # Half a unit of the last place shown, and never less than float noise.
    half = max(0.5 * 10.0 ** -places, 1e-9 * max(1.0, abs(number)))
    return (SHOWN, number - half, number + half)


# -- the programme ----------------------------------------------------------------------------


@dataclass
class _Constraint:
    coefs: dict[int, float]
    low: float
    high: float
    why: str
    soft: bool = False          # inferred from the row order: dropped if it contradicts


@dataclass
class _Model:
    bounds: list[tuple[float, float]] = field(default_factory=list)
    cells: list[tuple[int, str]] = field(default_factory=list)     # (row position, column)
    kinds: list[str] = field(default_factory=list)
    constraints: list[_Constraint] = field(default_factory=list)


class _Linear:
    """A linear expression in the unknowns plus a constant."""

    def __init__(self, coefs: dict[int, float] | None = None, const: float = 0.0) -> None:
        self.coefs = dict(coefs or {})
        self.const = const

    def __add__(self, other: _Linear) -> _Linear:
        out = _Linear(self.coefs, self.const + other.const)
        for k, v in other.coefs.items():
            out.coefs[k] = out.coefs.get(k, 0.0) + v
        return out

    def scale(self, factor: float) -> _Linear:
        return _Linear({k: v * factor for k, v in self.coefs.items()}, self.const * factor)

    def __sub__(self, other: _Linear) -> _Linear:
        return self + other.scale(-1.0)


def _add(model: _Model, expr: _Linear, low: float, high: float, why: str,
         check: bool = True, soft: bool = False) -> None:
    """low <= expr <= high; with no unknowns, a check of the published table itself."""
    coefs = {k: v for k, v in expr.coefs.items() if v != 0.0}
    if not coefs:
        tol = 1e-6 * max(1.0, abs(expr.const))
        if check and not (low - tol <= expr.const <= high + tol):
            raise ArithmeticMismatch(f"the published table does not obey {why}")
        return
    model.constraints.append(_Constraint(coefs, low - expr.const, high - expr.const, why,
                                         soft))


def audit_table(frame: pd.DataFrame, spec: Arithmetic, *, name: str = "table",
                infer: bool = True) -> list[Leak]:
    """Every hidden count of a published table that its published figures pin to one value,
    and every count below the threshold shown; [] when none can be recovered.

    `frame` holds the values as published ('<5', '*', numbers); `spec` its arithmetic (see the
    module notes). `infer` also audits differences and percentage changes of two count columns
    that the spec does not declare. Raises ArithmeticMismatch (a ValueError) when the table
    contradicts its arithmetic or names columns or rows it does not have."""
    where = f"table {name}"
    # The same data without its attrs: pandas deep-copies attrs on every column read.
    frame = pd.DataFrame(frame)
    _check_spec(frame, spec, where)
    labels = list(frame.index)
    position = {label: i for i, label in enumerate(labels)}
    names = _row_names(frame, spec)
    model = _Model()
    cell_expr: dict[tuple[int, str], _Linear | None] = {}
    leaks: list[Leak] = []
    for column in spec.counts:
        for i, value in enumerate(frame[column]):
            try:
                state, number = _count_cell(value, spec)
            except ArithmeticMismatch as error:
                raise ArithmeticMismatch(f"{where}, row {labels[i]!r}, column {column!r}: "
                                       f"{error}") from None
            if state == SHOWN:
                assert number is not None
                cell_expr[i, column] = _Linear(const=float(number))
                if 1 <= number < spec.threshold:
                    leaks.append(Leak(where, labels[i], names[i], column, number,
                                      f"a count below {spec.threshold} is shown"))
            elif state == MISSING:
                cell_expr[i, column] = None
            else:
                k = len(model.bounds)
                model.bounds.append((1.0, spec.threshold - 1.0) if state == PRIMARY
                                    else (float(spec.threshold), math.inf))
                model.cells.append((i, column))
                model.kinds.append(state)
                cell_expr[i, column] = _Linear({k: 1.0})

    def cell(i: int, column: str) -> _Linear | None:
        return cell_expr.get((i, column))

    def total(terms: Iterable[_Linear | None]) -> _Linear | None:
        out = _Linear()
        for term in terms:
            if term is None:
                return None
            out = out + term
        return out

    total_positions = {position[s.total] for s in spec.row_sums}
    part_rows = [i for i in range(len(labels)) if i not in total_positions]
    if spec.total_column:
        parts = [c for c in spec.counts if c != spec.total_column]
        for i in range(len(labels)):
            expr, whole = total(cell(i, c) for c in parts), cell(i, spec.total_column)
            if expr is not None and whole is not None:
                _add(model, expr - whole, 0.0, 0.0,
                     f"{spec.total_column} = sum of {', '.join(parts)} (row {labels[i]!r})")
    for row_sum in spec.row_sums:
        for column in spec.counts:
            expr = total(cell(position[p], column) for p in row_sum.parts)
            whole = cell(position[row_sum.total], column)
            if expr is not None and whole is not None:
                _add(model, expr - whole, 0.0, 0.0,
                     f"row {row_sum.total!r} = total of {column}")
    for known in spec.known_sums:
        rows = [position[r] for r in known.rows] if known.rows is not None else part_rows
        expr = total(cell(i, known.column) for i in rows)
        if expr is not None:
            _add(model, expr, known.value, known.value,
                 f"{known.column} sums to {known.value}, published elsewhere")

    relations = list(spec.derived)
    if infer:
        relations += _inferred(frame, spec, cell_expr)
    for column, relation in relations:
        leaks += _relation(frame, spec, model, cell, column, relation, labels, names,
                           part_rows, where)
    if infer:
        _row_order(frame, spec, model, cell, relations, part_rows, labels)
    leaks += _pinned(model, spec, labels, names, where)
    return leaks


def _row_order(frame: pd.DataFrame, spec: Arithmetic, model: _Model, cell: Any,
               relations: list[tuple[str, Relation]], part_rows: list[int],
               labels: list[Hashable]) -> None:
    """A table sorted by a count or by a difference of counts tells where each hidden value
    lies: between the values of the shown rows above and below it. Where a column's shown
    values (five or more, not all equal) are in order, every hidden value sandwiched between
    shown ones is bounded by them, and hidden values next to each other are in order too
    (soft constraints: dropped if the table turns out not to be sorted after all)."""
    columns: list[tuple[str, Any]] = [(c, lambda i, c=c: cell(i, c)) for c in spec.counts]
    for column, relation in relations:
        if isinstance(relation, Difference):
            def expr(i: int, r: Difference = relation) -> _Linear | None:
                a, b = cell(i, r.minuend), cell(i, r.subtrahend)
                return None if a is None or b is None else a - b
            columns.append((column, expr))
    rows = part_rows
    for column, expr_of in columns:
        exprs = [expr_of(i) for i in rows]
        if column not in spec.counts:   # a derived column shows its own value where shown
            for k, i in enumerate(rows):
                shown = _figure_cell(frame[column].iloc[i], spec, None)
                if shown is not None and shown[0] == SHOWN:
                    exprs[k] = _Linear(const=(shown[1] + shown[2]) / 2)
        known = [(k, e.const) for k, e in enumerate(exprs) if e is not None and not e.coefs]
        values = [v for _, v in known]
        if len(values) < 5 or len(set(values)) < 2:
            continue
        if all(x >= y for x, y in zip(values, values[1:], strict=False)):
            sign = 1.0      # descending: each row at least the next
        elif all(x <= y for x, y in zip(values, values[1:], strict=False)):
            sign = -1.0
        else:
            continue
        first, last = known[0][0], known[-1][0]
        for k in range(first, last):
            upper, lower = exprs[k], exprs[k + 1]
            if upper is None or lower is None or not (upper.coefs or lower.coefs):
                continue
            _add(model, (upper - lower).scale(sign), 0.0, math.inf,
                 f"rows in order of {column} (rows {labels[rows[k]]!r}, "
                 f"{labels[rows[k + 1]]!r})", check=False, soft=True)


def check_table(frame: pd.DataFrame, spec: Arithmetic, *, name: str = "table") -> None:
    """`audit_table`, raising DisclosureLeak naming every leak."""
    leaks = audit_table(frame, spec, name=name)
    if leaks:
        raise DisclosureLeak(leaks)


def _check_spec(frame: pd.DataFrame, spec: Arithmetic, where: str) -> None:
    columns = set(frame.columns)
    named = set(spec.counts) | {c for c, _ in spec.derived} | {k.column for k in spec.known_sums}
    for _, relation in spec.derived:
        named |= set(relation.sources)
    if spec.total_column:
        named.add(spec.total_column)
    missing = sorted(str(c) for c in named - columns)
    if missing:
        raise ArithmeticMismatch(f"{where}: its arithmetic names column(s) {missing} that it "
                               f"does not have (columns: {list(map(str, frame.columns))}); "
                               "renamed columns need Arithmetic.renamed")
    for _, relation in spec.derived:
        count_sources = [s for s in relation.sources if s in spec.counts]
        if not isinstance(relation, Rate) and len(count_sources) != len(relation.sources):
            raise ArithmeticMismatch(f"{where}: {relation} must be computed from count columns")
    rows = set(frame.index)
    for row_sum in spec.row_sums:
        unknown = [r for r in (row_sum.total, *row_sum.parts) if r not in rows]
        if unknown:
            raise ArithmeticMismatch(f"{where}: total rows name rows {unknown} it does not have")
    if not frame.index.is_unique:
        raise ArithmeticMismatch(f"{where}: the index must be unique to name rows")


def _row_names(frame: pd.DataFrame, spec: Arithmetic) -> list[str]:
    """A readable name for each row: its first text cell outside the figures."""
    figures = set(spec.counts) | {c for c, _ in spec.derived}
    for column in frame.columns:
        if column not in figures and frame[column].map(lambda v: isinstance(v, str)).all():
            return [str(v) for v in frame[column]]
    return [""] * len(frame)


def _relation(frame: pd.DataFrame, spec: Arithmetic, model: _Model,
              cell: Any, column: str, relation: Relation, labels: list[Hashable],
              names: list[str], part_rows: list[int], where: str) -> list[Leak]:
    """The constraints one derived column adds, row by row; leaks it shows outright. A
    column that a row with every source shown contradicts is not computed as declared: it is
    audited as `Computed` from the same counts (shown only where they are)."""
    scratch = _Model()
    try:
        leaks = _relation_rows(frame, spec, scratch, cell, column, relation, labels, names,
                               part_rows, where)
    except ArithmeticMismatch:
        relation = Computed(relation.sources, "is computed, not as declared, from")
        return _relation_rows(frame, spec, scratch, cell, column, relation, labels, names,
                              part_rows, where)
    model.constraints += scratch.constraints
    return leaks


def _relation_rows(frame: pd.DataFrame, spec: Arithmetic, model: _Model,
                   cell: Any, column: str, relation: Relation, labels: list[Hashable],
                   names: list[str], part_rows: list[int], where: str) -> list[Leak]:
    leaks: list[Leak] = []
    why = relation.describe(column)
    decimals = getattr(relation, "decimals", None)
    inferred = "" if dict(spec.derived).get(column) == relation else " (found by inspection)"
    for i, value in enumerate(frame[column]):
        shown = _figure_cell(value, spec, decimals)
        if shown is None or shown[0] != SHOWN:
            continue
        _, low, high = shown
        at = f" (row {labels[i]!r})"
        if isinstance(relation, Computed):
            hidden = [s for s in relation.sources
                      if (e := cell(i, s)) is not None and e.coefs]
            if hidden:
                leaks.append(Leak(where, labels[i], names[i], column, None,
                                  f"{why} is shown while {', '.join(hidden)} is hidden; it "
                                  "can be inverted to recover the count"))
            continue
        if isinstance(relation, Difference):
            a, b = cell(i, relation.minuend), cell(i, relation.subtrahend)
            if a is not None and b is not None:
                _add(model, a - b, low, high, why + at + inferred, check=not inferred)
        elif isinstance(relation, PercentChange):
            a, b = cell(i, relation.current), cell(i, relation.baseline)
            if a is None or b is None or (not b.coefs and b.const <= 0):
                continue
            # lo <= 100 (a - b) / b <= hi with b > 0, as two linear inequalities.
            _add(model, a - b.scale(1 + low / 100), 0.0, math.inf, why + at + inferred,
                 check=not inferred)
            _add(model, a - b.scale(1 + high / 100), -math.inf, 0.0, why + at + inferred,
                 check=not inferred)
        elif isinstance(relation, Rate):
            count = cell(i, relation.count)
            population: float | _Linear | None
            if isinstance(relation.population, str):
                if relation.population in spec.counts:
                    population = cell(i, relation.population)
                else:
                    figure = _figure_cell(frame[relation.population].iloc[i], spec, None)
                    population = (None if figure is None or figure[0] != SHOWN
                                  else (figure[1] + figure[2]) / 2)
            else:
                population = float(relation.population)
            if count is None or population is None:
                continue
            if isinstance(population, _Linear):
                # lo <= per x count / pop <= hi, pop > 0
                _add(model, count.scale(relation.per) - population.scale(low), 0.0, math.inf,
                     why + at)
                _add(model, count.scale(relation.per) - population.scale(high), -math.inf,
                     0.0, why + at)
            elif population > 0:
                _add(model, count, low * population / relation.per,
                     high * population / relation.per, why + at)
        elif isinstance(relation, Share):
            if i not in part_rows:
                continue
            count = cell(i, relation.count)
            whole = _Linear()
            for r in part_rows:
                part = cell(r, relation.count)
                if part is None:
                    whole = None
                    break
                whole = whole + part
            if count is None or whole is None:
                continue
            _add(model, count.scale(relation.scale) - whole.scale(low), 0.0, math.inf,
                 why + at)
            _add(model, count.scale(relation.scale) - whole.scale(high), -math.inf, 0.0,
                 why + at)
    return leaks


def _inferred(frame: pd.DataFrame, spec: Arithmetic,
              cell_expr: dict[tuple[int, str], _Linear | None]) -> list[tuple[str, Relation]]:
    """Differences and percentage changes of two count columns that the spec leaves out, found
    by checking every row where both counts are shown (at least three, none disagreeing)."""
    # A column declared only as `Computed` may still be an exact difference: look.
    declared = {c for c, r in spec.derived if not isinstance(r, Computed)} | set(spec.counts)
    found: list[tuple[str, Relation]] = []
    for column in frame.columns:
        if column in declared:
            continue
        values = [_figure_cell(v, spec, None) for v in frame[column]]
        if sum(1 for v in values if v is not None and v[0] == SHOWN) < 3:
            continue
        for a in spec.counts:
            for b in spec.counts:
                if a == b:
                    continue
                for relation in (Difference(a, b), PercentChange(a, b)):
                    if _holds(relation, values, cell_expr, a, b, len(frame)):
                        found.append((column, relation))
    return found


def _holds(relation: Relation, values: list[tuple[str, float, float] | None],
           cell_expr: dict[tuple[int, str], _Linear | None], a: str, b: str, n: int) -> bool:
    agree = 0
    for i in range(n):
        shown, x, y = values[i], cell_expr.get((i, a)), cell_expr.get((i, b))
        if shown is None or shown[0] != SHOWN or x is None or y is None or x.coefs or y.coefs:
            continue
        if isinstance(relation, Difference):
            result = x.const - y.const
        elif y.const > 0:
            result = 100 * (x.const - y.const) / y.const
        else:
            continue
        # A rounded figure: its interval, widened for figures rounded to whole percent.
        low, high = shown[1], shown[2]
        if not low - 1e-9 <= result <= high + 1e-9:
            return False
        agree += 1
    return agree >= 3


def _pinned(model: _Model, spec: Arithmetic, labels: list[Hashable], names: list[str],
            where: str) -> list[Leak]:
    """Primary cells whose whole-number value the constraints fix, by integer programming on
    each group of unknowns linked by constraints."""
    n = len(model.bounds)
    if not n or not model.constraints:
        return []
    parent = list(range(n))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for constraint in model.constraints:
        keys = list(constraint.coefs)
        for other in keys[1:]:
            parent[root(other)] = root(keys[0])
    groups: dict[int, list[int]] = {}
    for k in range(n):
        groups.setdefault(root(k), []).append(k)
    by_group: dict[int, list[_Constraint]] = {}
    for constraint in model.constraints:
        by_group.setdefault(root(next(iter(constraint.coefs))), []).append(constraint)
    leaks: list[Leak] = []
    for key, members in groups.items():
        constraints = by_group.get(key, [])
        if not constraints or not any(model.kinds[k] == PRIMARY for k in members):
            continue
        try:
            leaks += _solve_group(model, members, constraints, labels, names, where)
        except _SoftContradiction:   # not sorted after all: audit without the row order
            hard = [c for c in constraints if not c.soft]
            if hard:
                leaks += _solve_group(model, members, hard, labels, names, where)
    return leaks


class _SoftContradiction(Exception):
    """The constraints inferred from the row order contradict the rest."""


def _solve_group(model: _Model, members: list[int], constraints: list[_Constraint],
                 labels: list[Hashable], names: list[str], where: str) -> list[Leak]:
    index = {k: j for j, k in enumerate(members)}
    matrix = np.zeros((len(constraints), len(members)))
    for r, constraint in enumerate(constraints):
        for k, v in constraint.coefs.items():
            matrix[r, index[k]] = v
    low = np.array([c.low for c in constraints])
    high = np.array([c.high for c in constraints])
    bounds = Bounds([model.bounds[k][0] for k in members], [model.bounds[k][1] for k in members])
    linear = LinearConstraint(matrix, low, high)
    integral = np.ones(len(members))
    seen: dict[int, set[int]] = {k: set() for k in members}

    def solve(objective: np.ndarray) -> np.ndarray:
        result = milp(objective, constraints=linear, bounds=bounds, integrality=integral)
        if result.status == 2 and any(c.soft for c in constraints):
            raise _SoftContradiction
        if result.status == 2:   # infeasible: no table of counts could be published like this
            whys = "; ".join(dict.fromkeys(c.why for c in constraints[:6]))
            raise ArithmeticMismatch(f"{where}: no whole-number counts fit the published table "
                                   f"and its arithmetic ({whys})")
        if result.x is None:
            raise RuntimeError(f"{where}: the disclosure audit could not solve: "
                               f"{result.message}")
        for k, x in zip(members, result.x, strict=True):
            seen[k].add(int(round(x)))
        return result.x

    solve(np.zeros(len(members)))
    leaks = []
    for k in members:
        if model.kinds[k] != PRIMARY or len(seen[k]) > 1:
            continue
        objective = np.zeros(len(members))
        objective[index[k]] = 1.0
        least = int(round(solve(objective)[index[k]]))
        if len(seen[k]) > 1:
            continue
        most = int(round(solve(-objective)[index[k]]))
        if least == most:
            i, column = model.cells[k]
            whys = [c.why for c in constraints if k in c.coefs] or [c.why for c in constraints]
            leaks.append(Leak(where, labels[i], names[i], column, least,
                              "recovered from " + "; ".join(dict.fromkeys(whys))))
    return leaks


# -- sentences --------------------------------------------------------------------------------

_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9}
_NUM = r"(?P<n>\d+|one|two|three|four|five|six|seven|eight|nine)"
_EVENTS = (r"(?:crimes?|incidents?|offen[cs]es?|events?|fires?|records?|attendances?|"
           r"call-?outs?|calls?|visits?|victims?|cases?|reports?|arrests?|assaults?|"
           r"burglar(?:y|ies)|robber(?:y|ies)|thefts?|referrals?|completions?|admissions?|"
           r"injur(?:y|ies)|deaths?|casualt(?:y|ies)|people|persons?|residents?|patients?|"
           r"clients?|offenders?|suspects?|stops?|searches|households?|homes?|dwellings?)")
# Words that can sit between a number and its noun ('3 serious violent crimes'), and words
# that show the number is something else ('Table 3 lists crimes', '2 of the crimes').
_NOT_BETWEEN = {"shows", "show", "gives", "give", "lists", "list", "maps", "map", "compares",
                "sets", "is", "are", "was", "were", "has", "have", "had", "and", "or", "of",
                "in", "on", "at", "for", "per", "to", "from", "than", "with", "by", "months",
                "month", "years", "year", "weeks", "days", "the", "these", "those", "that"}
_NOT_BEFORE = {"table", "figure", "fig", "section", "note", "chart", "map", "rank", "ranked",
               "ranks", "ranking", "decile", "deciles", "quintile", "quartile", "tier",
               "priority", "step", "phase", "level", "wave", "page", "than", "top", "p",
               "no", "number", "item", "domain", "edition", "version", "week", "day",
               "under", "below", "band", "group", "quarter", "q", "year", "month"}
_COUNT_NOUN = re.compile(
    r"(?<![\w.,<>≤≥£$+\-−/])" + _NUM + r"(?P<between>(?:\s+[a-z][a-z-]*){0,2}?)\s+"
    + _EVENTS + r"\b", re.IGNORECASE)
_EXTREME = re.compile(
    r"\b(?P<word>lowest|highest|minimum|maximum|min|max|fewest|least|low of|high of|"
    r"peak(?:ed|ing|s)?(?: at)?|only|just|as few as|fell to|dropped to|rose to)\s+(?:of\s+)?"
    + _NUM + r"(?![\d.,]*\d)(?!\s*(?:%|per\b|st\b|nd\b|rd\b|th\b|="
    r"|(?:to|-|–|and)\s*\d))"
    r"(?!\s+(?:months?|years?|weeks?|days?|quarters?|LSOAs?|wards?|districts?|areas?|places?|"
    r"categories|category|issues?|bars?|of\b|out\b|times?|standard|sd\b|sigma|deciles?|"
    r"ranks?|places?|positions?|percent))", re.IGNORECASE)
_IN_COUNT_FIGURE = [
    re.compile(r"\(\s*" + _NUM + r"\s*\)", re.IGNORECASE),                 # 'Ward A (3)'
    re.compile(r"\b(?:was|from|to|is|of)\s+" + _NUM + r"(?![\d.,]*\d)(?!\s*%)", re.IGNORECASE),
    re.compile(r"(?<=[A-Za-z)])\s" + _NUM + r"(?=\s*(?:[;)]|\.(?!\d)|$|\s*\())",
               re.IGNORECASE),                                              # 'Ward A 3;'
]
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z{(\"'])|;\s*")
_PERCENT = re.compile(r"\d(?:[\d,]*)(?:\.\d+)?\s*(?:%|per ?cent\b)", re.IGNORECASE)
_CHANGE = re.compile(
    r"\b(?:up|down|rose|fell|increased|decreased|increase|decrease|rise|fall|change|changed|"
    r"difference|higher|lower|more|fewer)\s+(?:by\s+|of\s+)?[+\-−]?\d|"
    r"\d[\d,]*\s+(?:more|fewer|higher|lower)\b(?!\s+than)|"
    r"\bp\s*(?:=|<|>|≤|≥)\s*0?\.\d", re.IGNORECASE)


def _value(match: re.Match[str]) -> int:
    text = match.group("n").lower()
    return _WORDS[text] if text in _WORDS else int(text)


def _suppressed(threshold: int, label: str) -> re.Pattern[str]:
    return re.compile(r"(?:fewer|less|under)\s+than\s+" + str(threshold) + r"\b|"
                      + re.escape(label) + r"(?!\d)", re.IGNORECASE)


def audit_text(text: str, *, where: str = "text", threshold: int = 5, label: str = "",
               counts: bool = False) -> list[Leak]:
    """Sentences of `text` that state a count below `threshold`, or a suppressed count beside
    a change, percentage or p-value computed from it. `counts`: the text describes a figure
    whose values are counts, so any value below the threshold in it is one."""
    label = label or f"<{threshold}"
    leaks: list[Leak] = []
    suppressed = _suppressed(threshold, label)

    def small(match: re.Match[str]) -> bool:
        return 1 <= _value(match) < threshold

    for sentence in _SENTENCE.split(text):
        found: list[tuple[str, str]] = []
        for match in _COUNT_NOUN.finditer(sentence):
            before = re.findall(r"[\w-]+", sentence[:match.start()].lower())[-1:]
            between = set(match.group("between").lower().split())
            tail = sentence[:match.start()].rstrip()
            if (small(match) and not (before and before[0] in _NOT_BEFORE)
                    and not between & _NOT_BETWEEN
                    and not re.search(r"\d\s*(?:to|-|–|and)$", tail)):
                found.append((match.group(0), "a count below the threshold"))
        for match in _EXTREME.finditer(sentence):
            if small(match):
                found.append((match.group(0), "a count below the threshold"))
        if counts:
            for pattern in _IN_COUNT_FIGURE:
                for match in pattern.finditer(sentence):
                    if small(match):
                        found.append((match.group(0).strip(),
                                      "a value below the threshold in a figure of counts"))
        hidden = suppressed.search(sentence)
        if hidden:
            rest = suppressed.sub(" ", sentence)
            evidence = _PERCENT.search(rest) or _CHANGE.search(rest)
            if evidence:
                found.append((f"{hidden.group(0)} ... {evidence.group(0)}",
                              "a suppressed count beside a figure computed from it"))
        for fragment, why in dict.fromkeys(found):
            leaks.append(Leak(where, None, "", None, None,
                              f"{why}: {fragment!r} in {sentence.strip()[:160]!r}"))
    return leaks


_SVG_TEXT = re.compile(r"<(title|desc)\b[^>]*>(.*?)</\1>", re.IGNORECASE | re.DOTALL)
_ARIA = re.compile(r"\saria-(?:label|description)\s*=\s*\"([^\"]*)\"", re.IGNORECASE)


def svg_texts(svg: str) -> list[str]:
    """The words an SVG carries for people and assistive technology: every `<title>` and
    `<desc>`, and every `aria-label`/`aria-description`, unescaped."""
    texts = [html.unescape(re.sub(r"<[^>]+>", " ", m.group(2))) for m in _SVG_TEXT.finditer(svg)]
    texts += [html.unescape(m.group(1)) for m in _ARIA.finditer(svg)]
    return [t.strip() for t in texts if t.strip()]
