"""The vulnerable-places ranking as something to publish: the ranked table with the issues that
drive each place, a map of the index, and how stable the ranking is against the year before.

`ranking_blocks` gives those blocks (the strategic assessment includes them in its "Places with
several issues" section); `write_places` writes them on their own as a short document (HTML,
PDF, tables as CSV/XLSX) beside the full ranking with every issue's counts and rates
(`places-<area>-<level>-<year>-analyst.csv`, an analyst file that is not for publication: it
holds exact small counts). `published_ranking` is that ranking fit to publish (what `cspkit
places --format` prints): counts under the disclosure policy, rates and flags hidden with them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from cspkit.measures.areas import events_vintage, reads_warehouse, select_area
from cspkit.measures.disclosure import DisclosurePolicy, publish
from cspkit.measures.disclosure_audit import (
    Computed,
    DisclosureLeak,
    KnownSum,
    Rate,
    arithmetic_of,
    audit_table,
)
from cspkit.measures.periods import Period, calendar_year
from cspkit.measures.place_lsoas import lsoa_wards
from cspkit.measures.places import ISSUES, stability_of, vulnerable_places
from cspkit.products.cell_safety import write_csv
from cspkit.products.profile import slug
from cspkit.products.report import charts
from cspkit.products.report.document import Block, Document, Paragraph, Section, Table
from cspkit.products.report.labels import SYNTHETIC_COLUMN, SYNTHETIC_VALUE, label
from cspkit.products.report.render import write_document

SOURCE = "police.uk street-level crime and ASB; partner data where loaded; MHCLG IMD"
LEVEL_WORDS = {"ward": ("ward", "wards"), "lsoa": ("LSOA", "LSOAs")}


@reads_warehouse
def ranking_blocks(con: duckdb.DuckDBPyConnection, area: str, period: Period, *,
                   level: str = "ward", top: int | None = 10,
                   ranking: pd.DataFrame | None = None,
                   withheld: frozenset[str] = frozenset()) -> tuple[list[Block], str | None]:
    """The ranking's paragraphs, table (the `top` places, all when None), map and stability
    sentence, and a one-line finding about the first place (None when nothing is ranked).
    `ranking` is the period's `vulnerable_places` table when the caller already has it;
    `withheld`: restricted sources left out (as `vulnerable_places` leaves them out)."""
    district = select_area(con, area)
    one, many = LEVEL_WORDS[level]
    if ranking is None:
        ranking = vulnerable_places(con, district, period, level=level, withheld=withheld)
    if ranking.empty:
        return [], None
    shown = ranking if top is None else ranking.head(top)
    table = pd.DataFrame({"Rank": shown["rank"], one[0].upper() + one[1:]: shown["name"]})
    if level == "lsoa":   # which ward each LSOA lies in, so a reader can find it
        wards = lsoa_wards(con, district, events_vintage(con, district))
        table["Ward"] = [wards.get(c) or "" for c in shown["code"]]
    table["Score"] = shown["score"].round(1)
    table["Issues flagged"] = shown["flags"]
    table["Driven by"] = shown["drivers"]
    labels = {i.slug: i.label for i in ISSUES}
    issues = [labels.get(i, i) for i in ranking.attrs.get("issues", [])]
    # Issues from synthetic sample data make the whole ranking synthetic: say so everywhere.
    synthetic = [labels.get(i, i) for i in ranking.attrs.get("synthetic", [])]
    which = f"the {len(shown)} highest-ranked {many}" if top is not None else f"every {one}"
    blocks: list[Block] = [Paragraph(
        f"Every {one} is ranked on an index of several issues, as the IMD ranks LSOAs: each "
        f"issue's rate per 1,000 residents is ranked across the district's {many}, the ranks "
        "are exponentially transformed so the worst-affected places stand out, and the "
        f"results are combined with documented weights. A {one} is flagged on an issue when "
        f"it is in the district's top fifth for it. {{table:places-ranking}} gives {which} "
        "and the issues that drive each."
        + (f" Issues in the index: {', '.join(map(str, issues))}." if issues else ""))]
    if synthetic:
        blocks.append(Paragraph(
            f"The index's {', '.join(synthetic)} figures are SYNTHETIC sample data (the shipped "
            "partner samples), so this ranking, its map and its stability do not describe real "
            "places.", kind="caveat"))
    blocks.append(Table("places-ranking", f"{many[0].upper() + many[1:]} ranked by the "
                        f"multi-issue index, {district.name}, {period.label}", table,
                        source=SOURCE, synthetic=bool(synthetic),
                        notes=["Score: weighted mean of exponentially transformed issue "
                               "ranks (0-100; higher = more issues). Flags: issues on which "
                               "the place is in the district's top fifth. The order is a "
                               "ranking of rates, not a test: a place's position does not "
                               "show that its rates differ from its neighbours' beyond "
                               "chance."]
                        + ([f"The index uses SYNTHETIC sample data for {', '.join(synthetic)}"
                            ": the ranking does not describe real places."]
                           if synthetic else [])))
    values = pd.DataFrame({"code": ranking["code"], "name": ranking["name"],
                           "value": ranking["score"].round(1)})
    figure = charts.choropleth(
        "places-map", f"Multi-issue index by {one}, {district.name}", con,
        codes_values=values, level=level, value_title="Index score",
        vintage=events_vintage(con, district) if level == "lsoa" else None)
    figure.source = SOURCE + "; boundaries: ONS"
    figure.synthetic = bool(synthetic)
    blocks += [Paragraph("{figure:places-map} maps the index across the district."), figure]
    if period.kind == "calendar":
        before = calendar_year(period.start.year - 1)
        try:   # the year before ranked; this year's ranking is the one above
            stability = stability_of([vulnerable_places(con, district, before, level=level,
                                                        withheld=withheld),
                                      ranking], [before, period])
        except ValueError:
            stability = {"pairs": []}
        for pair in stability["pairs"]:
            blocks.append(Paragraph(
                f"Stability: the ranking's rank correlation with {pair['from']} is "
                f"{pair['spearman']:.2f}; entering the top ten: "
                f"{', '.join(pair['entered']) or 'none'}; leaving it: "
                f"{', '.join(pair['left']) or 'none'}. Places that move in and out of the top "
                "ten from year to year are more likely noise than a change on the ground."
                + (" (SYNTHETIC sample data)" if synthetic else "")))
    leader = ranking.iloc[0]
    finding = (f"On the multi-issue index, {leader['name']} ranks first in {district.name}, "
               f"driven by {leader['drivers']} (a ranking, not a test of difference"
               + (f"; the index includes SYNTHETIC sample data: {', '.join(synthetic)}"
                  if synthetic else "")
               + ").")
    return blocks, finding


def published_ranking(ranking: pd.DataFrame, policy: DisclosurePolicy | None = None
                      ) -> pd.DataFrame:
    """The `vulnerable_places` ranking fit to publish: each issue's count under the policy
    (each column's total, the district's count, taken as published), its rate and its flag
    hidden where the count is; audited before it is returned (DisclosureLeak). Deprivation's
    'count' is of LSOAs ranked, not of events, and is shown as it is."""
    policy = policy or DisclosurePolicy()
    counts = [c for c in ranking.columns
              if c.endswith("_count") and c != "deprivation_count"]
    derived: dict[str, Rate | Computed] = {}
    for column in counts:
        stem = column[: -len("_count")]
        if f"{stem}_rate" in ranking:
            derived[f"{stem}_rate"] = Rate(column, "population")
        if f"{stem}_flag" in ranking:
            derived[f"{stem}_flag"] = Computed((column,))
    frame = ranking.reset_index(drop=True)
    out = publish(frame, counts, derived=derived, policy=policy,
                  known_sums=[KnownSum(c, int(frame[c].sum())) for c in counts])
    spec = arithmetic_of(out)
    assert spec is not None
    leaks = audit_table(out, spec, name="places ranking")
    if leaks:
        raise DisclosureLeak(leaks)
    out.attrs = dict(ranking.attrs) | out.attrs
    return out


def write_places(con: duckdb.DuckDBPyConnection, area: str, period: Period, out_dir: Path, *,
                 level: str = "ward", pdf: bool = True) -> dict[str, Path]:
    """Write the ranking document (`places-<area>-<level>-<year>.html`/.pdf, its table as
    CSV/XLSX) and the full analyst ranking beside it. Returns the paths by kind."""
    district = select_area(con, area)
    stem = f"places-{slug(district.name)}-{level}-{slug(period.label)}"
    full = vulnerable_places(con, district, period, level=level)
    blocks, finding = ranking_blocks(con, area, period, level=level, top=None, ranking=full)
    if not blocks:
        raise ValueError(f"no {LEVEL_WORDS[level][1]} to rank in {district.name}")
    doc = Document(
        title=f"Places with several issues: {district.name}", area_name=district.name,
        area_code=district.code, period_label=period.label, produced=date.today(),
        details={"Area": district.name, "Period": period.label,
                 "Places": LEVEL_WORDS[level][1]})
    doc.sections = [Section("places", "Places with several issues",
                            [Paragraph(finding, "finding")] if finding else []),
                    Section("ranking", "The ranking", blocks)]
    doc.number()
    out_dir = Path(out_dir)
    paths = write_document(doc, out_dir, stem, pdf=pdf)
    paths["ranking"] = out_dir / f"{stem}-analyst.csv"
    synthetic = bool(full.attrs.get("synthetic"))
    analyst = full.assign(**{SYNTHETIC_COLUMN: SYNTHETIC_VALUE}) if synthetic else full
    write_csv(analyst, paths["ranking"])
    _describe(paths["dictionary"], paths["ranking"].name, analyst, synthetic)
    return paths


def _describe(dictionary: Path, file: str, frame: pd.DataFrame, synthetic: bool) -> None:
    """Add the analyst file's columns to the data dictionary written with the tables."""
    title = "Full ranking for analysts (not for publication: exact small counts)" + (
        " (SYNTHETIC DATA)" if synthetic else "")
    rows = [{"file": file, "table": title, "column": c.name, "header": c.header,
             "kind": c.kind, "unit": c.unit, "description": c.description}
            for c in (label(name) for name in frame.columns)]
    merged = pd.concat([pd.read_csv(dictionary, dtype=str, keep_default_na=False),
                        pd.DataFrame(rows)])
    write_csv(merged, dictionary)
