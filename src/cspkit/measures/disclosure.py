"""Statistical disclosure control for published tables: small counts hidden, and kept hidden.

Measures are computed on exact counts; this module only prepares a table for publication.

Primary suppression: a count from 1 to threshold - 1 is shown as the policy's label ('<5').
0 is shown: it discloses nobody.

Secondary suppression: where a table shows totals (a total column, so each row adds up to it,
and/or total rows, so each column adds up to them), a lone hidden cell in a row or column
could be recovered as the total minus the visible cells. So whenever exactly one cell of a
row or column (its total included) is hidden, the smallest visible non-zero cell of that line
is hidden too, shown as '*', and this repeats until no line has exactly one hidden cell. Only
cells of at least the threshold are ever chosen (visible cells are 0 or >= threshold and
zeros are never chosen), so a reader knows a '*' is at least the threshold.

That last fact, and the '<5' range, can still pin a value: a row whose hidden '<5' and '*'
must add up to 6 has only 1 + 5. So after the per-line rule each primary cell is audited:
a linear programme (`scipy.optimize.linprog`) finds the smallest and largest value it can
take given every published total, the visible cells, 1..threshold-1 for '<5' cells and
>= threshold for '*' cells (for a table with only row totals each row is one equation and
the interval follows directly). If those coincide, the smallest visible cell of its row
(else its column, else the nearest linked line) is hidden and the whole procedure repeats
until nothing changes. The audit protects each small count from exact
recovery; like any cell-suppression heuristic it does not promise a wide protection
interval, and totals published elsewhere must be put in the table to be accounted for.

Figures derived from counts are hidden as '*' wherever any count they come from is hidden:
`derived={'rate_per_1000': 'count'}` names one source, `{'change': ('2023', '2022')}` several,
and a relation from `disclosure_audit` (`Difference('2023', '2022')`, `PercentChange`, `Rate`,
`Share`, `Computed`) says how the figure is computed too, so that the published table can be
audited (`disclosure_audit.audit_table`) against it. A share publishes its column's total in
effect, so that total is protected as if it were shown; `known_sums` declares sums of a
column published elsewhere (a sentence, another table) so they are protected too.

A table sorted by a figure places each hidden figure between the shown ones above and below
it, which bounds it (a hidden change between two changes of -4 is -4): `hidden_last` moves the
rows whose sort figure is hidden after the others, in an order of their own.

`publish` records the arithmetic it applied (`disclosure_audit.Arithmetic`) in the published
frame's `attrs`; a report `Table` built from the frame carries it to the renderer's audit.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from cspkit.measures.disclosure_audit import (
    ARITHMETIC_KEY,
    Arithmetic,
    Computed,
    Difference,
    KnownSum,
    PercentChange,
    Rate,
    Relation,
    RowSum,
    Share,
)
from cspkit.measures.settings import Settings

PRIMARY = "primary"
SECONDARY = "secondary"

Cell = tuple[int, int]  # (row position, count-column position)


@dataclass(frozen=True)
class DisclosurePolicy:
    """Counts 1..threshold-1 are shown as `label` (default '<threshold'); cells hidden to
    protect them, and figures derived from hidden counts, as `secondary_label`."""

    threshold: int = 5
    label: str = ""
    secondary_label: str = "*"

    def __post_init__(self) -> None:
        """Check the threshold and derive the default label from it."""
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int) \
                or self.threshold < 1:
            raise ValueError(f"disclosure threshold must be a whole number >= 1, "
                             f"got {self.threshold!r}")
        if not self.label:
            object.__setattr__(self, "label", f"<{self.threshold}")
        if self.label == self.secondary_label:
            raise ValueError("the primary and secondary suppression labels must differ, "
                             "or readers cannot tell a small count from a protecting cell")

    @classmethod
    def from_settings(cls, settings: Settings) -> DisclosurePolicy:
        """The policy the analytic settings describe (suppress_below, suppression_label)."""
        return cls(threshold=settings.suppress_below, label=settings.suppression_label)

    def is_small(self, count: int) -> bool:
        """Whether a count is primary-suppressed."""
        return 1 <= count < self.threshold


Line = list[tuple[Cell, int]]  # cells with +1 (parts) or -1 (their total)


@dataclass
class _Table:
    """The counts as a matrix plus the additive relations (lines) the totals publish: each
    line's signed cells sum to its constant (0 for a total in the table, the value of a sum
    published elsewhere)."""

    values: np.ndarray                          # int matrix, rows x count columns
    lines: list[Line]
    constants: list[int] = field(default_factory=list)
    by_cell: dict[Cell, list[int]] = field(default_factory=dict)  # cell -> its lines

    def __post_init__(self) -> None:
        """Index which lines each cell is in."""
        self.constants = self.constants or [0] * len(self.lines)
        for k, line in enumerate(self.lines):
            for cell, _ in line:
                self.by_cell.setdefault(cell, []).append(k)


def _count_matrix(df: pd.DataFrame, count_columns: Sequence[str]) -> np.ndarray:
    """The count columns as non-negative ints; ValueError naming any cell that is not one."""
    for col in count_columns:
        if col not in df.columns:
            raise KeyError(f"count column {col!r} is not in the table "
                           f"(columns: {list(df.columns)})")
    out = np.zeros((len(df), len(count_columns)), dtype=np.int64)
    for j, col in enumerate(count_columns):
        for i, (label, value) in enumerate(df[col].items()):
            ok = isinstance(value, (int, float, np.integer, np.floating)) \
                and not isinstance(value, bool) and np.isfinite(value) \
                and value >= 0 and float(value).is_integer()
            if not ok:
                if isinstance(value, np.generic):
                    value = value.item()  # show -1, not np.int64(-1)
                raise ValueError(f"row {label!r}, column {col!r}: {value!r} is not a count "
                                 f"(a whole number, 0 or more)")
            out[i, j] = int(value)
    return out


def _build(df: pd.DataFrame, count_columns: Sequence[str], total_column: str | None,
           total_rows: Sequence[Hashable], known_sums: Sequence[KnownSum] = ()) -> _Table:
    """The table's counts and the lines its totals publish, checked to add up."""
    if not df.index.is_unique:
        raise ValueError("the table's index must be unique to name rows and total rows")
    if total_column is not None and total_column not in count_columns:
        raise ValueError(f"total column {total_column!r} must be one of the count columns "
                         f"{list(count_columns)}")
    missing = [r for r in total_rows if r not in df.index]
    if missing:
        raise KeyError(f"total row(s) {missing} are not in the table's index")
    values = _count_matrix(df, count_columns)
    n_rows, n_cols = values.shape
    total_pos = [df.index.get_loc(r) for r in total_rows]
    inner_rows = [i for i in range(n_rows) if i not in total_pos]
    tc = list(count_columns).index(total_column) if total_column is not None else None
    inner_cols = [j for j in range(n_cols) if j != tc]
    lines: list[Line] = []
    if tc is not None:
        for i in range(n_rows):
            lines.append([((i, j), 1) for j in inner_cols] + [((i, tc), -1)])
    for t in total_pos:
        for j in range(n_cols):
            lines.append([((i, j), 1) for i in inner_rows] + [((t, j), -1)])
    for line in lines:
        if sum(sign * values[cell] for cell, sign in line) != 0:
            (ti, tj), _ = line[-1]
            raise ValueError(
                f"the total in row {df.index[ti]!r}, column {count_columns[tj]!r} "
                f"({values[ti, tj]}) is not the sum of the cells it totals; totals must add "
                f"up for suppression to protect them")
    constants = [0] * len(lines)
    for known in known_sums:
        if known.column not in count_columns:
            raise KeyError(f"known sum of {known.column!r}: not one of the count columns "
                           f"{list(count_columns)}")
        j = list(count_columns).index(known.column)
        rows = inner_rows if known.rows is None else [df.index.get_loc(r) for r in known.rows]
        line = [((i, j), 1) for i in rows]
        if sum(values[cell] for cell, _ in line) != known.value:
            raise ValueError(f"the sum of {known.column!r} published elsewhere "
                             f"({known.value}) is not the sum of its cells in the table")
        lines.append(line)
        constants.append(known.value)
    return _Table(values, lines, constants)


def _candidate(table: _Table, line: Line, hidden: dict[Cell, str]
               ) -> Cell | None:
    """The smallest visible non-zero cell of a line, preferring parts to the total."""
    options = [(table.values[cell], sign < 0, cell) for cell, sign in line
               if cell not in hidden and table.values[cell] > 0]
    return min(options)[2] if options else None


def _per_line(table: _Table, hidden: dict[Cell, str]) -> None:
    """Hide more cells until no line has exactly one hidden cell."""
    changed = True
    while changed:
        changed = False
        for line in table.lines:
            if sum(cell in hidden for cell, _ in line) == 1:
                cell = _candidate(table, line, hidden)
                if cell is not None:  # cannot be None: see the module notes
                    hidden[cell] = SECONDARY
                    changed = True


def _components(table: _Table, hidden: dict[Cell, str]) -> list[list[Cell]]:
    """Hidden cells grouped by shared lines: each group can be audited on its own."""
    parent = {cell: cell for cell in hidden}

    def root(cell: Cell) -> Cell:
        """Union-find root, halving paths as it goes."""
        while parent[cell] != cell:
            parent[cell] = parent[parent[cell]]
            cell = parent[cell]
        return cell

    for line in table.lines:
        members = [cell for cell, _ in line if cell in hidden]
        for other in members[1:]:
            parent[root(other)] = root(members[0])
    groups: dict[Cell, list[Cell]] = {}
    for cell in sorted(hidden):
        groups.setdefault(root(cell), []).append(cell)
    return list(groups.values())


def _pinned(table: _Table, cells: list[Cell], hidden: dict[Cell, str],
            policy: DisclosurePolicy, movable: set[Cell]) -> Cell | None:
    """The first primary cell of a component whose value the published table fixes exactly.

    A linear programme per bound: the cell's least and greatest value given every line
    through the component, the visible cells, 1..threshold-1 for primary cells and
    >= threshold for secondary ones (which are never 0 or small: see the module notes).
    `movable` collects cells shown to have another feasible value; hiding more cells only
    widens the feasible set, so they stay movable.
    """
    index = {cell: k for k, cell in enumerate(cells)}
    line_ids = sorted({k for cell in cells for k in table.by_cell.get(cell, [])})
    if not line_ids:
        return None  # no totals: nothing to subtract from
    a_eq = np.zeros((len(line_ids), len(cells)))
    b_eq = np.zeros(len(line_ids))
    for r, k in enumerate(line_ids):
        b_eq[r] = table.constants[k]
        for cell, sign in table.lines[k]:
            if cell in index:
                a_eq[r, index[cell]] += sign
            else:
                b_eq[r] -= sign * table.values[cell]
    bounds = [(1, policy.threshold - 1) if hidden[c] == PRIMARY else (policy.threshold, None)
              for c in cells]
    if len(line_ids) == 1:
        return _pinned_in_line(cells, a_eq[0], b_eq[0], bounds, hidden)
    truth = np.array([table.values[c] for c in cells], dtype=float)
    for cell in cells:
        if hidden[cell] != PRIMARY or cell in movable:
            continue
        objective = np.zeros(len(cells))
        objective[index[cell]] = 1.0
        for direction in (-1.0, 1.0):
            result = linprog(direction * objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds,
                             method="highs")
            if not result.success:
                raise RuntimeError(f"disclosure audit failed to solve: {result.message}")
            # Any cell the solution moves from its true value is not pinned: harvesting them
            # settles most cells without a programme of their own. Totals make this a
            # network matrix, so solutions are whole numbers; 0.5 absorbs rounding.
            moved = np.abs(result.x - truth) >= 0.5
            movable.update(c for c, m in zip(cells, moved, strict=True) if m)
            if cell in movable:
                break
        if cell not in movable:
            return cell
    return None


def _pinned_in_line(cells: list[Cell], signs: np.ndarray, rhs: float,
                    bounds: list[tuple[int, int | None]], hidden: dict[Cell, str]
                    ) -> Cell | None:
    """The same audit for a component that is one line (a table with only row totals):
    sum(sign * x) = rhs with each x in its bounds gives each x an interval directly."""
    def span(k: int) -> tuple[float, float]:
        """The range of sign * x for cell k."""
        low, high = bounds[k]
        high_f = np.inf if high is None else float(high)
        return (signs[k] * low, signs[k] * high_f) if signs[k] > 0 else \
            (signs[k] * high_f, signs[k] * low)

    spans = [span(k) for k in range(len(cells))]
    total_low = sum(lo for lo, _ in spans)
    total_high = sum(hi for _, hi in spans)
    for k, cell in enumerate(cells):
        if hidden[cell] != PRIMARY:
            continue
        # sign * x = rhs - (the others' sum), so its range is rhs minus theirs.
        others_low, others_high = total_low - spans[k][0], total_high - spans[k][1]
        lo, hi = sorted(((rhs - others_high) / signs[k], (rhs - others_low) / signs[k]))
        lo, hi = max(lo, bounds[k][0]), min(hi, bounds[k][1] or np.inf)
        if hi - lo < 0.5:
            return cell
    return None


def _nearest_candidate(table: _Table, hidden: dict[Cell, str], cell: Cell) -> Cell | None:
    """A visible cell to hide so that `cell` is no longer pinned: the candidate of its own
    lines (row first), else of the lines of the hidden cells linked to it, nearest first."""
    queue = list(table.by_cell.get(cell, []))
    seen = set(queue)
    while queue:
        k = queue.pop(0)
        found = _candidate(table, table.lines[k], hidden)
        if found is not None:
            return found
        for other, _ in table.lines[k]:
            if other in hidden:
                for nxt in table.by_cell.get(other, []):
                    if nxt not in seen:
                        seen.add(nxt)
                        queue.append(nxt)
    return None


def _protect(df: pd.DataFrame, count_columns: Sequence[str], table: _Table,
             hidden: dict[Cell, str], policy: DisclosurePolicy) -> None:
    """Secondary suppression until no line has a lone hidden cell and no small count is
    pinned. Audit results are cached per component: an unchanged component stays safe."""
    safe: set[frozenset[Cell]] = set()
    movable: set[Cell] = set()
    while True:
        _per_line(table, hidden)
        changed = False
        for cells in _components(table, hidden):
            key = frozenset(cells)
            if key in safe:
                continue
            cell = _pinned(table, cells, hidden, policy, movable)
            if cell is None:
                safe.add(key)
                continue
            extra = _nearest_candidate(table, hidden, cell)
            if extra is None:
                raise RuntimeError(
                    f"cannot protect the count in row {df.index[cell[0]]!r}, column "
                    f"{count_columns[cell[1]]!r}: no visible cell is left to hide")
            hidden[extra] = SECONDARY
            changed = True
        if not changed:
            return


def suppression_pattern(df: pd.DataFrame, count_columns: Sequence[str], *,
                        total_column: str | None = None, total_rows: Sequence[Hashable] = (),
                        known_sums: Sequence[KnownSum] = (),
                        policy: DisclosurePolicy | None = None) -> pd.DataFrame:
    """Which cells `publish` hides: a frame like df[count_columns] holding '' (shown),
    'primary' (a small count) or 'secondary' (hidden to protect one)."""
    policy = policy or DisclosurePolicy()
    table = _build(df, count_columns, total_column, total_rows, known_sums)
    hidden: dict[Cell, str] = {
        (int(i), int(j)): PRIMARY
        for i, j in zip(*np.nonzero((table.values >= 1) & (table.values < policy.threshold)),
                        strict=True)}
    _protect(df, count_columns, table, hidden, policy)
    pattern = pd.DataFrame("", index=df.index, columns=list(count_columns), dtype=object)
    for (i, j), kind in hidden.items():
        pattern.iat[i, j] = kind
    return pattern


Derived = str | Sequence[str] | Relation


def _relation(column: str, source: Derived, df: pd.DataFrame,
              count_columns: Sequence[str]) -> Relation:
    """The relation a `derived` entry declares: a name or names are `Computed` from them."""
    if isinstance(source, (Difference, PercentChange, Rate, Share, Computed)):
        relation: Relation = source
    elif isinstance(source, str):
        relation = Computed((source,))
    else:
        relation = Computed(tuple(source))
    population = relation.population if isinstance(relation, Rate) else None
    counted = [s for s in relation.sources if s != population]
    if column not in df.columns or not counted or any(s not in count_columns for s in counted) \
            or (isinstance(population, str) and population not in df.columns):
        raise KeyError(f"derived column {column!r} must be in the table and its source(s) "
                       f"{list(relation.sources)} count columns {list(count_columns)} (a "
                       "rate's population may be any column)")
    return relation


def publish(df: pd.DataFrame, count_columns: Sequence[str], *,
            total_column: str | None = None, total_rows: Sequence[Hashable] = (),
            derived: Mapping[str, Derived] | None = None,
            known_sums: Sequence[KnownSum] = (),
            policy: DisclosurePolicy | None = None) -> pd.DataFrame:
    """A copy of `df` fit to publish: count columns as text with small counts and the cells
    protecting them hidden (see the module notes), its arithmetic in `attrs`.

    total_column: the count column holding each row's total of the other count columns.
    total_rows: index labels of rows holding each column's total of the other rows.
    derived: {column: the count column(s) it is computed from, or a relation saying how}; a
      derived figure is hidden wherever any count it comes from is hidden.
    known_sums: sums of a count column published elsewhere (`KnownSum`), protected like
      totals in the table. A sum below the threshold is itself published as '<5' elsewhere
      and is not taken as known.
    policy: the threshold and labels; DisclosurePolicy() is '<5' and '*'.
    """
    policy = policy or DisclosurePolicy()
    relations = {col: _relation(col, source, df, count_columns)
                 for col, source in (derived or {}).items()}
    known = [k for k in known_sums if not policy.is_small(k.value)]
    # A share of the column total publishes that total in effect: protect it as if shown.
    protect = list(known)
    inner = [r for r in df.index if r not in set(total_rows)]
    for relation in relations.values():
        if isinstance(relation, Share) and relation.count in count_columns:
            value = int(pd.to_numeric(df.loc[inner, relation.count]).sum())
            if not policy.is_small(value):
                protect.append(KnownSum(relation.count, value))
    pattern = suppression_pattern(df, count_columns, total_column=total_column,
                                  total_rows=total_rows, known_sums=protect, policy=policy)
    labels = {PRIMARY: policy.label, SECONDARY: policy.secondary_label}
    out = df.copy()
    for col in count_columns:
        out[col] = [labels[kind] if kind else str(int(value))
                    for value, kind in zip(df[col], pattern[col], strict=True)]
    for col, relation in relations.items():
        sources = [s for s in relation.sources if s in count_columns]
        hidden = pattern[sources].ne("").any(axis=1)
        out[col] = pd.Series([policy.secondary_label if hide else value
                              for value, hide in zip(df[col], hidden, strict=True)],
                             index=df.index, dtype=object)
    out.attrs[ARITHMETIC_KEY] = Arithmetic(
        counts=tuple(count_columns), total_column=total_column,
        row_sums=tuple(RowSum(t, tuple(inner)) for t in total_rows),
        known_sums=tuple(known), derived=tuple(relations.items()),
        threshold=policy.threshold, label=policy.label,
        secondary_label=policy.secondary_label)
    return out


def hidden_last(published: pd.DataFrame, column: str, by: str,
                policy: DisclosurePolicy | None = None) -> pd.DataFrame:
    """The published table with the rows whose `column` is hidden moved after the others,
    ordered by `by` (e.g. a name), keeping their index labels and the arithmetic: in a table
    sorted by `column` their place would bound the hidden value."""
    policy = policy or DisclosurePolicy()
    hidden = published[column].isin([policy.label, policy.secondary_label])
    shown = published[~hidden]
    rest = published[hidden].sort_values(by, kind="stable")
    out = pd.concat([shown, rest])
    out.attrs = dict(published.attrs)
    return out
