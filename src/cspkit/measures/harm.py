"""Harm-weighted ranking of crime categories: what does most harm, not just what is commonest.

Each data.police.uk category gets a weight in days, derived from the ONS Crime Severity Score
(CSS), whose offence weights are the mean sentence-equivalent days handed down for an offence
(custody in days; community orders and fines converted to days). police.uk categories bundle
many Home Office offences, so a category's weight is the volume-weighted mean of the CSS
weights of the offences it is assumed to contain; the offences, their assumed shares and
weights are listed in the CSV's `source_offences` column, and `derived_weight` recomputes the
weight from it. The offence weights are approximations, not a transcription of the ONS table
(see harm_weights.md): replace the CSV with your own, with columns category and weight, for
a published assessment.

Anti-social behaviour is not a crime and has no CSS weight; it gets a nominal 1 day, below
every crime category, so it appears in the ranking without outweighing any crime.

harm = count x weight; harm_rank puts categories' count rank and harm rank side by side.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pandas as pd

from cspkit.errors import InputError

CATEGORIES: tuple[str, ...] = (
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs",
    "Other crime", "Other theft", "Possession of weapons", "Public order", "Robbery",
    "Shoplifting", "Theft from the person", "Vehicle crime", "Violence and sexual offences",
)

_OFFENCE = re.compile(r"(?P<name>.+?) (?P<share>\d+(?:\.\d+)?)% x (?P<weight>\d+(?:\.\d+)?)")


def shipped_weights_path() -> Path:
    """The CSV of weights shipped with cspkit."""
    return Path(str(files("cspkit.measures").joinpath("harm_weights.csv")))


def derived_weight(source_offences: str) -> float:
    """Recompute a category weight from its `source_offences` text.

    The text is '; '-separated items 'offence SHARE% x WEIGHT'; the result is
    sum(share x weight) / 100. Shares must add up to 100.
    """
    items = [s.strip() for s in source_offences.split(";") if s.strip()]
    parsed = []
    for item in items:
        m = _OFFENCE.fullmatch(item)
        if not m:
            raise ValueError(f"cannot read offence {item!r}: expected 'name SHARE% x WEIGHT'")
        parsed.append((float(m["share"]), float(m["weight"])))
    total = sum(share for share, _ in parsed)
    if abs(total - 100) > 1e-6:
        raise ValueError(f"offence shares add up to {total:g}%, not 100%: {source_offences!r}")
    return sum(share * weight for share, weight in parsed) / 100


def load_weights(path: str | Path | None = None) -> pd.Series:
    """Harm weights per category, as a float Series indexed by category, named 'weight'.

    `path` is a CSV with at least the columns category and weight (others are ignored);
    default the shipped file. Every data.police.uk category must be present (extra ones, e.g.
    local categories, are kept); weights must be numbers, 0 or more.
    """
    source = Path(path) if path is not None else shipped_weights_path()
    try:
        table = pd.read_csv(source, dtype={"category": str})
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(str(source), f"cannot be read as a CSV ({exc})",
                         expected="a CSV with columns category, weight") from None
    missing_cols = [c for c in ("category", "weight") if c not in table.columns]
    if missing_cols:
        raise InputError(str(source), f"has no column(s) {', '.join(missing_cols)}",
                         expected="a CSV with columns category, weight")
    table["category"] = table["category"].str.strip()
    dup = table.loc[table["category"].duplicated(), "category"].tolist()
    if dup:
        raise InputError(str(source), f"lists category(ies) more than once: {', '.join(dup)}")
    weights = pd.to_numeric(table["weight"], errors="coerce")
    bad = table.index[weights.isna() | (weights < 0)]
    if len(bad):
        i = bad[0]
        raise InputError(str(source), f"weight {str(table.at[i, 'weight'])!r} for "
                         f"{table.at[i, 'category']!r} is not a number of days",
                         line=int(i) + 2, column="weight", expected="a number, 0 or more")
    missing = [c for c in CATEGORIES if c not in set(table["category"])]
    if missing:
        raise InputError(str(source), f"has no weight for {', '.join(missing)}",
                         expected=f"a row for each data.police.uk category: "
                                  f"{', '.join(CATEGORIES)}")
    return pd.Series(weights.to_numpy(dtype=float), index=pd.Index(table["category"],
                     name="category"), name="weight")


def harm_rank(counts_df: pd.DataFrame, weights: pd.Series | None = None,
              category_col: str = "category", count_col: str = "count") -> pd.DataFrame:
    """Categories ranked by count and by harm, side by side.

    counts_df has one row per category with its count. Returns category, count, weight,
    harm (count x weight), count_rank, harm_rank (1 = most; ties share the better rank) and
    harm_share (harm / all harm), sorted by harm_rank then category.
    """
    weights = load_weights() if weights is None else weights
    for col in (category_col, count_col):
        if col not in counts_df.columns:
            raise KeyError(f"column {col!r} is not in the table "
                           f"(columns: {list(counts_df.columns)})")
    frame = pd.DataFrame({"category": counts_df[category_col].astype(str),
                          "count": pd.to_numeric(counts_df[count_col], errors="coerce")})
    if frame["category"].duplicated().any():
        dup = frame.loc[frame["category"].duplicated(), "category"].tolist()
        raise ValueError(f"category(ies) listed more than once: {', '.join(dup)}")
    bad = frame["count"].isna() | (frame["count"] < 0)
    if bad.any():
        raise ValueError(f"count for {frame.loc[bad, 'category'].iloc[0]!r} is not a number "
                         f"of events")
    unknown = sorted(set(frame["category"]) - set(weights.index))
    if unknown:
        raise ValueError(f"no harm weight for {', '.join(unknown)}; weights exist for "
                         f"{', '.join(weights.index)}")
    frame["weight"] = frame["category"].map(weights).astype(float)
    frame["harm"] = frame["count"] * frame["weight"]
    frame["count_rank"] = frame["count"].rank(method="min", ascending=False).astype(int)
    frame["harm_rank"] = frame["harm"].rank(method="min", ascending=False).astype(int)
    total = frame["harm"].sum()
    frame["harm_share"] = frame["harm"] / total if total else float("nan")
    return frame.sort_values(["harm_rank", "category"], kind="stable").reset_index(drop=True)
