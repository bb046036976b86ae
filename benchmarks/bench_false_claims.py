"""Benchmark: do the assessment's words follow the statistics? Proof by simulation.

For each variant, R times: simulate a whole force's police.uk street files for two calendar
years (and, by default, one year of history before them, as real data holds) with no real
change between them (`simulate_force.py`: seasonality kept, real LSOAs and
category mix; Poisson counts, or month-to-month variation as large as the real series show),
ingest them with the real police loader into a copy of a warehouse that already holds the
shipped reference data, build the district's assessment of the second year against the first
(no PDF), and count what it claims (`claims`). A `real-change` variant (and `real-change-poisson`,
with Poisson counts) multiplies one category of
the district (about 700 events a year) by 1.25 and by 0.75 in the second year, and asks whether
the document finds it.

Goals (issue 10): documents with any significant-change claim <= 5% (poisson, overdispersed);
exceptional months flagged in the second year <= 0.3 per document; the planted +-25% change
found in >= 80% of documents. Every share has a 95% Wilson interval.

    .venv/bin/python benchmarks/bench_false_claims.py --runs 40 --json false-claims.json
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table as RichTable

try:                                    # run as a script from benchmarks/
    import simulate_force as sim
except ImportError:                     # imported as benchmarks.bench_false_claims
    from benchmarks import simulate_force as sim

from cspkit.demo import reference_paths
from cspkit.ingest import ingest_police, ingest_reference
from cspkit.measures.periods import Period, calendar_year, parse_period
from cspkit.products.report import charts
from cspkit.products.report.assessment import build_assessment
from cspkit.products.report.document import Document, Figure, Paragraph, Table
from cspkit.store import connect, transaction
from cspkit.store.ingest_log import new_run_id

GOALS = {"any_claim": 0.05, "exceptional_per_doc": 0.3, "found": 0.80}

# ----------------------------------------------------------------------- claim detection

# A claim that a change is statistically significant, in words or in a table's verdict cell.
# "significantly higher/lower" is left out on purpose: the document uses it for an area's rate
# beside its parent's at one time, not for a change between periods.
_CLAIM = re.compile(
    r"\b(?:(?P<verb>rose|fell|increased|decreased|went up|went down) significantly"
    r"|significant(?:ly)? (?P<noun>increase|decrease|rise|fall|drop|reduction))\b",
    re.IGNORECASE)
# A negation anywhere before the claim in its clause: "no significant change", "No ward had a
# significant rise", "not a significant increase".
_NEGATED = re.compile(r"\b(?:no|not|nor|none|never|neither|without)\b", re.IGNORECASE)
_UP = {"rose", "increased", "went up", "increase", "rise"}
_MONTHS = ("january february march april may june july august september october november "
           "december").split()
_MONTH = re.compile(r"\b(" + "|".join(f"{m}|{m[:3]}" for m in _MONTHS) + r")\.?\s+(\d{4})\b",
                    re.IGNORECASE)
# Sentences that name months as exceptional: "Months above the expected range (...): Jun 2023",
# "Months above the control limits: ...", "... exceptionally high (June 2023 and ...)".
_EXCEPTIONAL_TEXT = re.compile(r"months? (?:above|below)|exceptional|control limits|"
                               r"expected range", re.IGNORECASE)
_ALT_FLAGS = re.compile(r"exceptionally (high|low) \(([^)]*)\)", re.IGNORECASE)


def _claims_in(text: str) -> list[tuple[str, str]]:
    """(direction, the clause that makes the claim) for each claim in `text`."""
    found = []
    clauses = re.split(r"(?<=[.;:])\s+|,\s+(?:and|but|while)\s+", text)
    for clause in clauses:
        for match in _CLAIM.finditer(clause):
            if _NEGATED.search(clause[:match.start()]):
                continue
            word = (match.group("verb") or match.group("noun")).lower()
            found.append(("increase" if word in _UP else "decrease", clause))
    return found


def _months_named(text: str) -> set[date]:
    out = set()
    for month, year in _MONTH.findall(text):
        out.add(date(int(year), [m[:3] for m in _MONTHS].index(month[:3].lower()) + 1, 1))
    return out


def _flagged_in_series(figure: Figure) -> dict[date, str]:
    """Months the chart marks exceptional, read from the series frame behind it (attached by
    `trend_series_attached`) the way the chart reads it."""
    series = getattr(figure, "series", None)
    if series is None:
        return {}
    frame = charts._trend_frame(series) if hasattr(charts, "_trend_frame") else series
    flagged = frame[frame["exceptional"].isin(["above", "below"])]
    return {pd.Timestamp(m).date().replace(day=1): str(d)
            for m, d in zip(flagged["month"], flagged["exceptional"], strict=True)}


def claims(doc: Document, period: Period | None = None) -> dict[str, Any]:
    """What a document claims, for the false-claims benchmark.

    Significant-change claims (`change_claims`, split into `in_text`, `in_key_findings` and
    `in_tables`): every clause of a paragraph (Key findings included) saying something "rose
    significantly", "fell significantly", "increased/decreased significantly", or is a
    "significant increase/decrease/rise/fall", unless negated ("no significant increase"); and
    every table cell saying "significant increase" or "significant decrease" (the verdict
    column). Each claim keeps its direction and subject: the clause, or for a table the row's
    first cell (the table's title kept beside it). Rate comparisons between areas
    ("significantly higher than the force") are not changes and are not counted.

    Exceptional months (`exceptional_months`, `exceptional_high`, `exceptional_low`): distinct
    (section, month) pairs, month within `period` (default: the document's period), that the
    document flags as exceptional: months marked in the series frame behind a trend chart (see
    `trend_series_attached`), months named in a trend figure's description as "exceptionally
    high/low (...)", and months named in a paragraph about months above/below the expected range
    or control limits, in the section of that chart. `trend_figures_without_series` counts trend
    charts whose frame was not captured (then only their text is scanned).
    """
    period = period or parse_period(doc.period_label)
    result: dict[str, Any] = {"in_text": 0, "in_key_findings": 0, "in_tables": 0,
                              "claims": [], "trend_figures": 0,
                              "trend_figures_without_series": 0}
    flagged: dict[tuple[str, date], str] = {}
    for section in doc.walk():
        for block in section.blocks:
            if isinstance(block, Paragraph):
                for direction, clause in _claims_in(block.text):
                    where = "key_findings" if section.key == "key-findings" else "text"
                    result[f"in_{where}"] += 1
                    result["claims"].append({"where": where, "section": section.key,
                                             "direction": direction, "subject": clause})
                if section.key != "key-findings" and _EXCEPTIONAL_TEXT.search(block.text):
                    high = not re.search(r"\bbelow\b|exceptionally low", block.text, re.I)
                    for month in _months_named(block.text):
                        flagged.setdefault((section.key, month), "above" if high else "below")
            elif isinstance(block, Table):
                frame = block.frame
                for row in frame.itertuples(index=False):
                    for cell in row:
                        if not isinstance(cell, str):
                            continue
                        for direction, _ in _claims_in(cell):
                            result["in_tables"] += 1
                            result["claims"].append({
                                "where": "table", "section": section.key,
                                "direction": direction, "subject": str(row[0]),
                                "table": block.title})
            elif isinstance(block, Figure) and (block.key.endswith("-trend")
                                                or hasattr(block, "series")):
                result["trend_figures"] += 1
                if not hasattr(block, "series"):
                    result["trend_figures_without_series"] += 1
                for month, direction in _flagged_in_series(block).items():
                    flagged.setdefault((section.key, month), direction)
                for word, months in _ALT_FLAGS.findall(block.alt):
                    for month in _months_named(months):
                        flagged.setdefault((section.key, month),
                                           "above" if word.lower() == "high" else "below")
    in_period = {k: v for k, v in flagged.items() if period.contains(k[1])}
    result["change_claims"] = result["in_text"] + result["in_key_findings"] + result["in_tables"]
    result["exceptional_months"] = len(in_period)
    result["exceptional_high"] = sum(v == "above" for v in in_period.values())
    result["exceptional_low"] = sum(v == "below" for v in in_period.values())
    result["exceptional"] = sorted(f"{s} {m:%Y-%m}" for s, m in in_period)
    return result


def found(result: dict[str, Any], category: str, direction: str) -> bool:
    """Whether the document claims a significant change of `category` in `direction`."""
    name = re.compile(rf"\b{re.escape(category)}\b", re.IGNORECASE)
    return any(c["direction"] == direction and name.search(c["subject"])
               for c in result["claims"])


@contextmanager
def trend_series_attached() -> Iterator[None]:
    """While open, every trend chart the products draw keeps the series frame it was drawn
    from as `figure.series`, so `claims` can read the months the chart marks."""
    original = charts.trend_chart

    def keeping(*args: Any, **kwargs: Any) -> Figure:
        figure = original(*args, **kwargs)
        series = kwargs.get("series", args[2] if len(args) > 2 else None)
        if isinstance(series, pd.DataFrame):
            figure.series = series.copy()  # type: ignore[attr-defined]
        return figure

    charts.trend_chart = keeping  # type: ignore[assignment]
    try:
        yield
    finally:
        charts.trend_chart = original  # type: ignore[assignment]


# ----------------------------------------------------------------------- statistics


def wilson(k: int, n: int, z: float = NormalDist().inv_cdf(0.975)) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k / n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(values: list[int]) -> tuple[float, float, float]:
    """Mean of counts per document with a 95% interval: the wider of the exact Poisson
    (Garwood) interval of the total and the t interval from the documents' own spread, so
    clustered flags (several months in one document) do not make it look too precise."""
    from scipy import stats

    n = len(values)
    if n == 0:
        return (float("nan"), float("nan"), float("nan"))
    total = int(sum(values))
    low = stats.chi2.ppf(0.025, 2 * total) / 2 / n if total > 0 else 0.0
    high = stats.chi2.ppf(0.975, 2 * total + 2) / 2 / n
    mean = total / n
    if n > 1:
        half = stats.t.ppf(0.975, n - 1) * float(np.std(values, ddof=1)) / math.sqrt(n)
        low, high = min(low, max(0.0, mean - half)), max(high, mean + half)
    return (mean, float(low), float(high))


# ----------------------------------------------------------------------- the run


def build_template(path: Path) -> float:
    """A warehouse holding the shipped reference data (as `cspkit demo` loads it), no police
    data. Returns the seconds it took."""
    start = time.perf_counter()
    con = connect(path)
    con.execute("SET enable_progress_bar = false")
    with transaction(con):
        ingest_reference(con, reference_paths(), run_id=new_run_id())
    con.close()
    return time.perf_counter() - start


def run_replicate(template: Path, work: Path, index: int, model: sim.ForceModel,
                  scenario: sim.Scenario, seed: np.random.SeedSequence, area: str
                  ) -> dict[str, Any]:
    """Generate, ingest, assess and scan one document; timings per stage."""
    timing: dict[str, float] = {}
    mark = time.perf_counter()
    files = work / f"files-{index}"
    generated = sim.generate(files, scenario, seed, model)
    timing["generate"] = time.perf_counter() - mark
    mark = time.perf_counter()
    # A fresh path per replicate: the measures memoise area facts per warehouse file.
    db = work / f"replicate-{index}.duckdb"
    shutil.copyfile(template, db)
    con = connect(db)
    con.execute("SET enable_progress_bar = false")
    try:
        with transaction(con):
            report = ingest_police(con, [str(files)], run_id=new_run_id())
        timing["ingest"] = time.perf_counter() - mark
        mark = time.perf_counter()
        first, second = scenario.years[-2], scenario.years[-1]
        try:
            with trend_series_attached():
                doc = build_assessment(con, area, calendar_year(second), calendar_year(first))
        except Exception as exc:  # noqa: BLE001 - a document that cannot be built is a finding
            error = f"{type(exc).__name__}: {exc}"
        else:
            error = None
        timing["assess"] = time.perf_counter() - mark
    finally:
        con.close()
        db.unlink(missing_ok=True)
        shutil.rmtree(files, ignore_errors=True)
    record: dict[str, Any] = {
        "variant": scenario.variant, "factor": None, "replicate": index,
        "seed": list(seed.entropy) if isinstance(seed.entropy, list) else seed.entropy,
        "rows": int(report.rows_in), "quarantined": int(report.rows_quarantined),
        "lsoa_editions": sorted({str(r.lsoa_vintage) for r in report.records}),
        "error": error,
    }
    if error is not None:
        record["timing"] = {k: round(v, 3) for k, v in timing.items()}
        return record
    mark = time.perf_counter()
    result = claims(doc, calendar_year(second))
    timing["scan"] = time.perf_counter() - mark
    record.update({
        **{k: v for k, v in result.items() if k != "claims"},
        "claims": [f"{c['where']}: " + (f"{c['table']}: " if "table" in c else "")
                   + c["subject"] for c in result["claims"]],
        "timing": {k: round(v, 3) for k, v in timing.items()},
    })
    category = generated.change_category
    if category is not None:
        direction = "increase" if scenario.change_factor > 1 else "decrease"
        record.update(factor=scenario.change_factor, category=category,
                      found=found(result, category, direction),
                      found_wrong_way=found(result, category,
                                            "decrease" if direction == "increase"
                                            else "increase"),
                      other_claims=sum(1 for c in result["claims"]
                                       if not re.search(re.escape(category), c["subject"],
                                                        re.IGNORECASE)))
    return record


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The variant's figures over the documents built; failed builds are counted apart."""
    failed = [r for r in records if r.get("error")]
    records = [r for r in records if not r.get("error")]
    n = len(records)
    any_claim = sum(r["change_claims"] > 0 for r in records)
    any_exceptional = sum(r["exceptional_months"] > 0 for r in records)
    mean, low, high = mean_interval([r["exceptional_months"] for r in records])
    out: dict[str, Any] = {
        "documents": n,
        "failed": {"k": len(failed), "errors": sorted({r["error"] for r in failed})},
        "any_claim": {"k": any_claim, "share": any_claim / n if n else None,
                      "wilson95": wilson(any_claim, n)},
        "claims_per_doc": float(np.mean([r["change_claims"] for r in records])) if n else None,
        "key_findings_claims_per_doc": (float(np.mean([r["in_key_findings"] for r in records]))
                                        if n else None),
        "exceptional_per_doc": {"mean": mean, "ci95": (low, high)},
        "any_exceptional": {"k": any_exceptional, "share": any_exceptional / n if n else None,
                            "wilson95": wilson(any_exceptional, n)},
        "seconds_per_replicate": (float(np.mean([sum(r["timing"].values()) for r in records]))
                                  if n else None),
        "stage_seconds": {stage: float(np.mean([r["timing"][stage] for r in records]))
                          for stage in ("generate", "ingest", "assess", "scan")} if n else {},
        "quarantined": int(sum(r["quarantined"] for r in records)),
    }
    if records and records[0].get("factor") is not None:
        k = sum(bool(r["found"]) for r in records)
        wrong = sum(bool(r["found_wrong_way"]) for r in records)
        other = sum(r["other_claims"] > 0 for r in records)
        out.update(category=records[0]["category"], factor=records[0]["factor"],
                   found={"k": k, "share": k / n, "wilson95": wilson(k, n)},
                   found_wrong_way={"k": wrong, "share": wrong / n},
                   any_other_claim={"k": other, "share": other / n,
                                    "wilson95": wilson(other, n)})
    return out


def _label(variant: str, factor: float | None) -> str:
    return variant if factor is None else f"{variant} x{factor:g}"


def _share(block: dict[str, Any] | None) -> str:
    if not block or block.get("share") is None:
        return "-"
    low, high = block["wilson95"]
    return f"{block['share']:.0%} ({block['k']}) [{low:.0%}, {high:.0%}]"


def print_table(console: Console, summaries: dict[str, dict[str, Any]]) -> None:
    table = RichTable(title="False claims in simulated assessments",
                      caption="share (documents) [95% Wilson interval]; mean [95% interval]. "
                              "Goals: any claim <= 5% without a real change, exceptional "
                              "months <= 0.3 a document, planted change found >= 80%.")
    for column in ("variant", "docs", "any change claim", "claims/doc",
                   "exceptional months/doc", "planted change found", "s/replicate"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for label, s in summaries.items():
        docs = str(s["documents"]) + (f" ({s['failed']['k']} failed)" if s["failed"]["k"]
                                      else "")
        if not s["documents"]:
            table.add_row(label, docs, "-", "-", "-", "-", "-")
            continue
        mean, (low, high) = s["exceptional_per_doc"]["mean"], s["exceptional_per_doc"]["ci95"]
        table.add_row(label, docs, _share(s["any_claim"]),
                      f"{s['claims_per_doc']:.2f}", f"{mean:.2f} [{low:.2f}, {high:.2f}]",
                      _share(s.get("found")), f"{s['seconds_per_replicate']:.1f}")
    console.print(table)
    for label, s in summaries.items():
        for error in s["failed"]["errors"]:
            console.print(f"[red]{label}: a document failed to build: {error}[/red]")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=40, help="replicates per variant (40)")
    parser.add_argument("--variants", nargs="+", choices=sim.VARIANTS, default=list(sim.VARIANTS))
    parser.add_argument("--factors", type=float, nargs="+", default=[1.25, 0.75],
                        help="real-change: second-year multipliers (1.25 0.75)")
    parser.add_argument("--area", default=sim.CHANGE_DISTRICT,
                        help="the district assessed, which also gets the real change")
    parser.add_argument("--years", type=int, nargs=2, default=list(sim.DEFAULT_YEARS),
                        metavar=("FIRST", "SECOND"))
    parser.add_argument("--history", type=int, default=1,
                        help="years simulated before FIRST with the same expectation (1): "
                             "real police data holds earlier years, which the change tests "
                             "and the expected ranges use")
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="scratch folder (default: a temporary one, removed at the end)")
    args = parser.parse_args(argv)
    # Logs and pipes get a table wide enough to read, a terminal its own width.
    console = Console(width=None if sys.stdout.isatty() else 150)
    started = time.perf_counter()
    model = sim.force_model()
    category = sim.pick_change_category(model, args.area)
    plans: list[tuple[str, sim.Scenario]] = []
    for variant in args.variants:
        for factor in (args.factors if variant in sim.CHANGED else [None]):
            years = tuple(range(args.years[0] - args.history, args.years[0])) + tuple(args.years)
            scenario = sim.Scenario(variant, years, factor or 1.0, category, args.area)
            plans.append((_label(variant, factor), scenario))
    if set(sim.CHANGED) & set(args.variants):
        expected = model.yearly_expected(args.area)[category]
        console.print(f"real change planted in {category} in {args.area} "
                      f"(expected {expected:,.0f} a year), x{' and x'.join(map(str, args.factors))}"
                      f" in {args.years[1]}")
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        template = work / "template.duckdb"
        with console.status("building the reference warehouse (once per run)"):
            template_seconds = build_template(template)
        console.print(f"reference warehouse built in {template_seconds:.0f} s")
        columns = (TextColumn("{task.description:<18}"), BarColumn(bar_width=20),
                   MofNCompleteColumn(),
                   TextColumn("{task.fields[tally]}"), TimeElapsedColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console) as progress:
            for label, scenario in plans:
                task = progress.add_task(label, total=args.runs, tally="")
                done: list[dict[str, Any]] = []
                for i in range(args.runs):
                    seed = np.random.SeedSequence([args.seed, zlib.crc32(label.encode()), i])
                    record = run_replicate(template, work, i, model, scenario, seed, args.area)
                    record["label"] = label
                    done.append(record)
                    built = [r for r in done if not r["error"]]
                    claimed = sum(r["change_claims"] > 0 for r in built)
                    flags = sum(r["exceptional_months"] for r in built)
                    tally = f"claims in {claimed}, {flags} exceptional months"
                    if scenario.variant in sim.CHANGED:
                        tally += f", found {sum(bool(r['found']) for r in built)}"
                    if len(built) < len(done):
                        tally += f", {len(done) - len(built)} failed"
                    progress.update(task, advance=1, tally=tally)
                records += done
    summaries = {label: summarise([r for r in records if r["label"] == label])
                 for label, _ in plans}
    total = time.perf_counter() - started
    print_table(console, summaries)
    console.print(f"{len(records)} documents in {total:.0f} s (reference warehouse "
                  f"{template_seconds:.0f} s; "
                  f"{np.mean([sum(r['timing'].values()) for r in records]):.1f} s a replicate)")
    out = {
        "settings": {"runs": args.runs, "variants": args.variants, "factors": args.factors,
                     "area": args.area, "years": args.years, "seed": args.seed,
                     "change_category": category, "goals": GOALS,
                     "dispersion": dict(zip(model.categories,
                                            np.round(model.dispersion, 3).tolist(),
                                            strict=True))},
        "timing": {"total_seconds": round(total, 1),
                   "template_seconds": round(template_seconds, 1)},
        "variants": summaries,
        "replicates": records,
    }
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str), encoding="utf-8")
        console.print(f"results written to {args.json}")
    return out


if __name__ == "__main__":
    main()
