"""The strategic assessment, assembled from measures in the order a board reads it.

Every number printed comes from `cspkit.measures`; this module only chooses, arranges, applies
the disclosure policy to what is published, and writes the sentences through `narrative`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd

from cspkit.measures import comparisons, counts, deprivation, period_change, series
from cspkit.measures.areas import AreaSelection, events_vintage, reads_warehouse, select_area
from cspkit.measures.change import DECREASE, INCREASE, NO_CHANGE, TOO_FEW
from cspkit.measures.counts import ALL_CRIME, ASB
from cspkit.measures.disclosure import DisclosurePolicy, publish
from cspkit.measures.periods import Period, month_label, previous
from cspkit.measures.settings import Settings
from cspkit.products.report import charts, narrative
from cspkit.products.report.config import LocalContent
from cspkit.products.report.document import Block, Document, Paragraph, Section, Table
from cspkit.products.report.partners import partner_section
from cspkit.store.coverage import coverage

POLICE_SOURCE = "Police recorded crime and ASB: data.police.uk"
# The scanning sections, in the order a board reads them.
ISSUES: list[tuple[str, str, list[str]]] = [
    ("acquisitive", "Acquisitive crime", ["Burglary", "Vehicle crime", "Robbery", "Shoplifting",
                                          "Bicycle theft", "Theft from the person",
                                          "Other theft"]),
    ("violence", "Violence and sexual offences", ["Violence and sexual offences"]),
    ("public-order", "Public order", ["Public order"]),
    ("criminal-damage", "Criminal damage and arson", ["Criminal damage and arson"]),
    ("drugs", "Drugs", ["Drugs"]),
    ("weapons", "Possession of weapons", ["Possession of weapons"]),
    ("other-crime", "Other crime", ["Other crime"]),
    ("anti-social-behaviour", "Anti-social behaviour", [ASB]),
]
MIN_FOR_WARD_TABLE = 20   # below this a ward table is mostly suppressed cells: say so instead


@dataclass
class Context:
    con: duckdb.DuckDBPyConnection
    area: AreaSelection
    period: Period
    baseline: Period
    local: LocalContent
    settings: Settings
    policy: DisclosurePolicy
    allow_partial: bool = True
    findings: list[tuple[int, str]] = field(default_factory=list)   # (priority, sentence)
    stable: list[str] = field(default_factory=list)      # issues with no significant change
    too_few: list[str] = field(default_factory=list)     # issues too small to test
    caveats: list[str] = field(default_factory=list)
    multi_issue: dict[str, list[str]] = field(default_factory=dict)  # ward -> issues rising


@reads_warehouse
def build_assessment(con: duckdb.DuckDBPyConnection, area: str, period: Period,
                     baseline: Period | None = None, *, local: LocalContent | None = None,
                     settings: Settings | None = None, produced: date | None = None
                     ) -> Document:
    """The whole document for `area` and `period`, compared with `baseline` (default: the
    period before)."""
    settings = settings or Settings()
    local = local or LocalContent()
    selection = select_area(con, area)
    ctx = Context(con, selection, period, baseline or previous(period), local, settings,
                  DisclosurePolicy.from_settings(settings))
    title = local.title or f"{selection.name} Community Safety Strategic Assessment {period.label}"
    doc = Document(title=title, area_name=selection.name, area_code=selection.code,
                   period_label=period.label, produced=produced or date.today())
    builders = {
        "overall-crime": overall_crime, "issues": issues, "deprivation": deprivation_section,
        "places": places_section, "partners": lambda c: partner_section(c.con, c),
        "data-quality": data_quality, "method": method_section,
    }
    body = [builders[key](ctx) for key in local.sections if key in builders]
    front: list[Section] = []
    if "key-findings" in local.sections:
        front.append(key_findings(ctx))
    if "priorities" in local.sections and (local.priorities or local.recommendations):
        front.append(priorities_section(ctx))
    doc.sections = front + body
    doc.details = _details(ctx, doc)
    doc.number()
    return doc


# --------------------------------------------------------------------------- helpers


def _published(frame: pd.DataFrame, count_columns: list[str], ctx: Context,
               derived: dict[str, str] | None = None, total_rows: tuple[object, ...] = ()
               ) -> pd.DataFrame:
    return publish(frame.reset_index(drop=True), count_columns, derived=derived,
                   total_rows=total_rows, policy=ctx.policy)


def _change_frame(ctx: Context) -> pd.DataFrame:
    return period_change.change(ctx.con, ctx.area, ctx.period, ctx.baseline,
                                allow_partial=ctx.allow_partial, settings=ctx.settings)


def _commentary(ctx: Context, key: str) -> list[Paragraph]:
    text = ctx.local.commentary.get(key)
    return [Paragraph(text, kind="local")] if text else []


def _area_forces(ctx: Context) -> set[str]:
    """The police forces whose data covers the area (its LSOAs' force)."""
    condition, params = ctx.area.where("g")
    return {r[0] for r in ctx.con.execute(
        f"SELECT DISTINCT g.force_code FROM lsoa_geography g WHERE {condition} "
        "AND g.force_code IS NOT NULL", params).fetchall()}


def _details(ctx: Context, doc: Document) -> dict[str, str]:
    forces = _area_forces(ctx)
    cov = coverage(ctx.con)
    months = sorted({fm.month for fm in cov.force_months if fm.force in forces})
    return {
        "Area": f"{ctx.area.name} ({ctx.area.code})",
        "Partnership": ctx.local.partnership or f"{ctx.area.name} Community Safety Partnership",
        "Period": ctx.period.label,
        "Compared with": ctx.baseline.label,
        "Police data held": f"{months[0]} to {months[-1]}" if months else "none",
        "Produced": doc.produced.isoformat(),
        "Produced with": "cspkit",
    }


# --------------------------------------------------------------------------- sections


def key_findings(ctx: Context) -> Section:
    """The largest significant changes, the places with several rising issues, what is stable,
    and what the data cannot tell."""
    section = Section("key-findings", "Key findings")
    ordered = sorted(ctx.findings, key=lambda f: f[0])
    for _, sentence in ordered[:8]:
        section.blocks.append(Paragraph(sentence, kind="finding"))
    if not ordered:
        section.blocks.append(Paragraph("No issue changed significantly between the periods.",
                                        kind="finding"))
    if ctx.stable:
        section.blocks.append(Paragraph(
            f"Stable since {ctx.baseline.label} (no significant change): "
            + ", ".join(ctx.stable) + ".", kind="finding"))
    if ctx.too_few:
        section.blocks.append(Paragraph(
            "Too few incidents to tell whether anything changed: " + ", ".join(ctx.too_few)
            + ".", kind="caveat"))
    section.blocks.append(Paragraph(
        "What this data cannot tell: police.uk records only what is reported and recorded, so "
        "it cannot show unreported crime, victims or repeat victimisation, and its locations "
        "are approximate; a change in recording practice can look like a change in crime.",
        kind="caveat"))
    for caveat in dict.fromkeys(ctx.caveats):
        section.blocks.append(Paragraph(caveat, kind="caveat"))
    return section


def priorities_section(ctx: Context) -> Section:
    section = Section("priorities", "Priorities and recommendations")
    if ctx.local.priorities:
        section.blocks.append(Paragraph("The partnership's priorities: "
                                        + "; ".join(ctx.local.priorities) + ".", kind="local"))
    for recommendation in ctx.local.recommendations:
        section.blocks.append(Paragraph(f"Recommendation: {recommendation}", kind="local"))
    return section


def overall_crime(ctx: Context) -> Section:
    section = Section("overall-crime", "Overall crime")
    con, area = ctx.con, ctx.area
    change = period_change.change(con, area, ctx.period, ctx.baseline, total=True,
                                  allow_partial=ctx.allow_partial, settings=ctx.settings)
    row = change[change["is_total"]].iloc[0].to_dict()
    change = change[~change["is_total"]]
    sentence = narrative.change_sentence(f"Police recorded crime (excluding ASB) in {area.name}",
                                         row, ctx.settings)
    _note_finding(ctx, 1, row, sentence)
    trend = series.monthly_series(con, area, category=ALL_CRIME, settings=ctx.settings)
    figure = charts.trend_chart("overall-trend", f"Police recorded crime (excluding ASB) by "
                                f"month, {area.name}", trend, y_title="Crimes",
                                area_name=area.name)
    figure.source = POLICE_SOURCE
    section.blocks += [Paragraph(sentence + " {figure:overall-trend} shows the monthly trend "
                                 "since the data begins.")]
    section.blocks.append(figure)
    table = change[["category", "count", "baseline_count", "change", "pct_change", "verdict"]]
    table = table.rename(columns={"count": ctx.period.label, "baseline_count": ctx.baseline.label,
                                  "pct_change": "change_pct"})
    published = _published(table, [ctx.period.label, ctx.baseline.label], ctx,
                           derived={"change": ctx.period.label,
                                    "change_pct": ctx.period.label})
    section.blocks.append(Paragraph("{table:overall-change} lists every issue with its change "
                                    "and whether the change is statistically significant."))
    section.blocks.append(Table("overall-change", f"Police recorded crime and ASB by type, "
                                f"{area.name}, {ctx.period.label} and {ctx.baseline.label}",
                                published, source=POLICE_SOURCE,
                                notes=["Verdicts from the Poisson E-test at the 5% level; "
                                       "counts of 1-4 are shown as <5."]))
    for sentence_row in change.itertuples(index=False):
        if sentence_row.verdict == NO_CHANGE:
            ctx.stable.append(sentence_row.category)
        elif sentence_row.verdict == TOO_FEW:
            ctx.too_few.append(sentence_row.category)
        if sentence_row.verdict in (INCREASE, DECREASE):
            _note_finding(ctx, 2, sentence_row._asdict(), narrative.change_sentence(
                f"{sentence_row.category} in {area.name}", sentence_row._asdict(),
                ctx.settings))
    if area.level in ("lad", "ward"):
        section.subsections.append(_comparison(ctx, ALL_CRIME, "overall"))
    section.blocks += _commentary(ctx, "overall-crime")
    return section


def _note_finding(ctx: Context, priority: int, row: dict[str, object] | pd.Series,
                  sentence: str) -> None:
    if row.get("verdict") in (INCREASE, DECREASE):
        ctx.findings.append((priority, sentence))


def _comparison(ctx: Context, category: str, key: str) -> Section:
    frame = comparisons.siblings(ctx.con, ctx.area, ctx.period, category=category,
                                 settings=ctx.settings)
    parent = frame[frame["role"] == "parent"].iloc[0]
    area_row = frame[frame["role"] == "area"].iloc[0]
    sub = Section(f"{key}-comparison", f"{ctx.area.name} beside {parent['name']}")
    sub.blocks.append(Paragraph(narrative.rate_sentence(
        "police recorded crime (excluding ASB)" if category == ALL_CRIME else category,
        area_row, parent["name"], ctx.settings)
        + " {figure:" + key + "-rates} compares every area of " + parent["name"] + "."))
    chart_frame = frame[["name", "rate_per_1000"]].dropna()
    figure = charts.bar_chart(f"{key}-rates", f"Rate per 1,000 residents, {ctx.period.label}",
                              chart_frame, category="name", value="rate_per_1000",
                              value_title="Per 1,000 residents", highlight=ctx.area.name)
    figure.source = POLICE_SOURCE + "; population: ONS mid-year estimates"
    sub.blocks.append(figure)
    table = frame[["name", "role", "count", "population", "rate_per_1000", "verdict"]]
    sub.blocks.append(Table(f"{key}-rates-table", f"Rates beside {parent['name']}, "
                            f"{ctx.period.label}", _published(table, ["count"], ctx,
                                                              derived={"rate_per_1000": "count"}),
                            source=POLICE_SOURCE,
                            notes=["Each area is tested against the rest of the parent."]))
    return sub


def issues(ctx: Context) -> Section:
    section = Section("issues", "Scanning across issues")
    section.blocks.append(Paragraph(
        "Each issue below has its monthly trend since the data begins, its change since "
        f"{ctx.baseline.label} with a test of whether the change is more than chance, and where "
        "it happens by ward."))
    change = _change_frame(ctx).set_index("category")
    for key, title, categories in ISSUES:
        present = [c for c in categories if c in change.index]
        sub = Section(key, title)
        if not present:
            sub.blocks.append(Paragraph(f"No {title.lower()} was recorded in either period."))
            section.subsections.append(sub)
            continue
        for category in present:
            row = change.loc[category].to_dict() | {"category": category}
            sub.blocks.append(Paragraph(narrative.change_sentence(
                f"{category} in {ctx.area.name}", row, ctx.settings)))
        slug = key
        trend = (series.monthly_series(ctx.con, ctx.area, category=present[0],
                                       settings=ctx.settings)
                 if len(present) == 1 else _group_series(ctx, present))
        figure = charts.trend_chart(f"{slug}-trend", f"{title} by month, {ctx.area.name}",
                                    trend, y_title="Count", area_name=ctx.area.name)
        figure.source = POLICE_SOURCE
        judged = "exceptional_seasonal" if "exceptional_seasonal" in trend else "exceptional"
        peaks = [month_label(m) for m in trend.loc[trend[judged] == "above", "month"]][:4]
        text = "{figure:" + slug + "-trend} shows the monthly trend."
        if peaks:
            text += (" Months above the expected range (control limits"
                     + (", allowing for the season" if judged == "exceptional_seasonal" else "")
                     + "): " + ", ".join(peaks) + ".")
        sub.blocks.append(figure)
        if len(present) > 1:
            group = change.loc[present].reset_index()
            table = group[["category", "count", "baseline_count", "change", "verdict"]].rename(
                columns={"count": ctx.period.label, "baseline_count": ctx.baseline.label})
            sub.blocks.append(Table(f"{slug}-types", f"{title} by type, {ctx.area.name}",
                                    _published(table, [ctx.period.label, ctx.baseline.label],
                                               ctx, derived={"change": ctx.period.label}),
                                    source=POLICE_SOURCE))
        if ctx.area.level in ("lad", "county", "force"):
            sub.blocks += _ward_blocks(ctx, slug, title, present)
        sub.blocks += _commentary(ctx, key)
        section.subsections.append(sub)
    return section


def _group_series(ctx: Context, categories: list[str]) -> pd.DataFrame:
    frames = [series.monthly_counts(ctx.con, ctx.area, category=c) for c in categories]
    total = pd.concat(frames).groupby("month", as_index=False)["count"].sum()
    from cspkit.measures.control import control_limits, rolling_mean

    out = control_limits(rolling_mean(total), None, ctx.settings)
    out["exceptional"] = ""
    out.loc[out["count"] > out["upper"], "exceptional"] = "above"
    out.loc[out["count"] < out["lower"], "exceptional"] = "below"
    return out


def _ward_blocks(ctx: Context, slug: str, title: str, categories: list[str]) -> list:
    frames = [period_change.place_change(ctx.con, ctx.area, ctx.period, ctx.baseline,
                                         level="ward", category=c,
                                         allow_partial=ctx.allow_partial, settings=ctx.settings)
              for c in categories]
    wards = pd.concat(frames).groupby(["ward_code", "ward_name"], as_index=False)[
        ["count", "baseline_count"]].sum()
    wards["change"] = wards["count"] - wards["baseline_count"]
    wards = wards.sort_values(["change", "count"], ascending=False)
    blocks: list = []
    values = pd.DataFrame({"code": wards["ward_code"], "name": wards["ward_name"],
                           "value": [None if 0 < c < ctx.settings.suppress_below else c
                                     for c in wards["count"]]})
    figure = charts.choropleth(f"{slug}-map", f"{title} by ward, {ctx.period.label}", ctx.con,
                               codes_values=values, level="ward", value_title="Count",
                               vintage=None)
    figure.source = POLICE_SOURCE + "; boundaries: ONS"
    blocks.append(Paragraph("{figure:" + slug + "-map} maps " + title.lower()
                            + " by ward; wards with fewer than 5 are shown grey."))
    blocks.append(figure)
    if int(wards["count"].sum()) >= MIN_FOR_WARD_TABLE:
        table = wards.rename(columns={"ward_name": "ward", "count": ctx.period.label,
                                      "baseline_count": ctx.baseline.label})[
            ["ward", ctx.baseline.label, ctx.period.label, "change"]]
        blocks.append(Paragraph("{table:" + slug + "-wards} gives the volume change by ward."))
        blocks.append(Table(f"{slug}-wards", f"{title} by ward: volume change "
                            f"{ctx.baseline.label} to {ctx.period.label}",
                            _published(table, [ctx.baseline.label, ctx.period.label], ctx,
                                       derived={"change": ctx.period.label}),
                            source=POLICE_SOURCE))
        rising = wards[(wards["change"] > 0) & (wards["count"] >= ctx.settings.suppress_below)]
        top = rising.head(max(1, len(wards) // 5))
        for name in top["ward_name"]:
            ctx.multi_issue.setdefault(str(name), []).append(title)
    else:
        blocks.append(Paragraph(f"Too few {title.lower()} incidents to tabulate by ward "
                                "without revealing small numbers."))
    return blocks


def deprivation_section(ctx: Context) -> Section:
    section = Section("deprivation", "Deprivation")
    con, area = ctx.con, ctx.area
    try:
        lsoas = deprivation.lsoa_deprivation(con, area)
    except ValueError as exc:
        section.blocks.append(Paragraph(f"No deprivation data: {exc}.", kind="caveat"))
        return section
    edition = str(lsoas["edition"].iloc[0]) if len(lsoas) else "?"
    section.blocks.append(Paragraph(
        f"Deprivation is from the English Indices of Deprivation {edition} (rank 1 = most "
        f"deprived LSOA in England), on the {deprivation.EDITION_VINTAGE.get(edition)} LSOAs "
        f"the police data for {area.name} uses. Local deciles rank {area.name}'s own "
        f"{len(lsoas)} LSOAs into ten groups."))
    if area.level == "lad":
        summary = deprivation.district_summary(con, area.code, "2019")
        if not summary.empty and "rank_of_average_score" in summary:
            imd = summary[summary["domain"] == "imd"].iloc[0]
            section.blocks.append(Paragraph(
                f"On IoD2019, {area.name} ranks {int(imd['rank_of_average_score'])} of "
                f"{int(imd['n_districts'])} districts by average score (1 = most deprived); "
                "{table:deprivation-domains} gives every domain."))
            table = summary[["domain_name", "rank_of_average_score", "rank_of_average_rank"]]
            section.blocks.append(Table("deprivation-domains", f"IoD2019 district ranks by "
                                        f"domain, {area.name}", table,
                                        source="MHCLG English Indices of Deprivation 2019"))
    deciles = deprivation.decile_distribution(con, area)
    by_decile = deprivation.events_by_decile(con, area, ctx.period)
    table = deciles.merge(by_decile[["decile", "count", "share_of_events"]],
                          left_on="national_decile", right_on="decile").drop(columns="decile")
    table["count"] = table["count"].round().astype(int)
    section.blocks.append(Paragraph(
        "{table:deprivation-deciles} shows how many LSOAs fall in each national decile and "
        "where the period's crime and ASB were recorded."))
    section.blocks.append(Table("deprivation-deciles", f"LSOAs and incidents by national IMD "
                                f"decile, {area.name}", _published(
                                    table, ["lsoas", "count"], ctx,
                                    derived={"share_of_events": "count"}),
                                source=f"IoD{edition}; {POLICE_SOURCE}"))
    most, least = deprivation.extremes(con, area, 5)
    section.blocks.append(Table("deprivation-most", f"The five most deprived LSOAs in "
                                f"{area.name}", most, source=f"IoD{edition}"))
    section.blocks.append(Table("deprivation-least", f"The five least deprived LSOAs in "
                                f"{area.name}", least, source=f"IoD{edition}"))
    values = pd.DataFrame({"code": lsoas["lsoa_code"], "name": lsoas["lsoa_name"],
                           "value": lsoas["national_decile"]})
    figure = charts.choropleth("deprivation-map", f"IMD national decile by LSOA, {area.name}",
                               con, codes_values=values, level="lsoa",
                               value_title="National decile (1 = most deprived)",
                               vintage=deprivation.EDITION_VINTAGE.get(edition),
                               domain=(1, 10), reverse=True)
    figure.source = f"IoD{edition}; boundaries: ONS"
    section.blocks.append(Paragraph("{figure:deprivation-map} maps each LSOA's national "
                                    "decile (1 = most deprived tenth of England)."))
    section.blocks.append(figure)
    section.blocks += _commentary(ctx, "deprivation")
    return section


def places_section(ctx: Context) -> Section:
    section = Section("places", "Places with several issues")
    if ctx.area.level == "lad":
        section.blocks += _vulnerable_places(ctx)
    several = {w: i for w, i in ctx.multi_issue.items() if len(i) >= 2}
    if not several:
        section.blocks.append(Paragraph(
            "No ward was among the largest rises on two or more issues in this period."))
        return section
    table = pd.DataFrame([{"ward": w, "issues": len(i), "rising issues": ", ".join(i)}
                          for w, i in sorted(several.items(), key=lambda kv: -len(kv[1]))])
    section.blocks.append(Paragraph(
        "{table:places-several} lists the wards among the fifth with the largest rises on two "
        "or more issues. A rise in one ward on one issue is often noise; several together are "
        "worth a closer look."))
    section.blocks.append(Table("places-several", "Wards with rises on several issues", table,
                                source=POLICE_SOURCE))
    ctx.findings.append((3, f"{len(several)} ward(s) were among the largest rises on two or "
                            f"more issues, led by {table['ward'].iloc[0]}."))
    return section


def _vulnerable_places(ctx: Context) -> list[Block]:
    """The multi-issue ranking of wards (`products.places_report`): its top ten, a map, and how
    stable it is against the year before."""
    from cspkit.products.places_report import ranking_blocks

    blocks, finding = ranking_blocks(ctx.con, ctx.area.code, ctx.period, level="ward")
    if finding:
        ctx.findings.append((3, finding))
    return blocks


def data_quality(ctx: Context) -> Section:
    section = Section("data-quality", "Data quality and caveats")
    forces = _area_forces(ctx)
    cov = coverage(ctx.con)
    cov.force_months = [fm for fm in cov.force_months if fm.force in forces]
    cov.missing_months = [m for m in cov.missing_months if m["force"] in forces]
    totals = cov.totals()
    vintage = events_vintage(ctx.con, ctx.area)
    rows = pd.DataFrame([{"force": fm.force, "month": fm.month, "rows": fm.rows,
                          "unlocated": fm.unlocated, "duplicates skipped":
                          fm.duplicates_skipped, "LSOA edition": fm.lsoa_vintage or ""}
                         for fm in cov.force_months])
    section.blocks.append(Paragraph(
        f"The warehouse holds {totals['months_present']} months of police.uk data for "
        f"{', '.join(sorted(forces)) or 'this area'}; "
        f"{100 * totals['unlocated_share']:.1f}% of records have no location and cannot be "
        "placed in any area, so area figures exclude them. "
        f"{totals['duplicates_skipped']:,} repeated Crime IDs were skipped. "
        "{table:coverage} gives the coverage audit."))
    if cov.missing_months:
        missing = ", ".join(f"{m['force']} {m['month']}" for m in cov.missing_months)
        text = f"Months missing between the first and last loaded: {missing}."
        section.blocks.append(Paragraph(text, kind="caveat"))
        ctx.caveats.append(text)
    section.blocks.append(Table("coverage", "Police data coverage by force and month", rows,
                                source="cspkit coverage audit"))
    notes = [
        "data.police.uk locations are anonymised: each crime is moved to the nearest of a set "
        "of map points (street, public place or commercial premises), so small-area counts are "
        "approximate and a point can attract crimes from nearby streets.",
        f"The police data for {ctx.area.name} uses {vintage} LSOA codes; figures on the other "
        "edition (deprivation, population) are carried across with the ONS LSOA 2011-2021 "
        "lookup.",
        "Rates use the nearest population estimate held to each period; LSOA populations on the "
        "2021 geography are apportioned from 2011-LSOA estimates.",
        "Counts of 1 to 4 are published as <5 (and a second cell where needed so they cannot be "
        "recovered from a total); the analysis behind them uses the exact counts.",
        "Statistical tests treat counts as Poisson; a 'significant' change can still be driven "
        "by recording practice rather than by a change in crime.",
    ]
    for text in notes:
        section.blocks.append(Paragraph(text, kind="caveat"))
    # The period's coverage alone says whether it is partial: no need to count events again.
    text = narrative.partial_caveat(counts.area_period(ctx.con, ctx.area, ctx.period).columns())
    if text:
        section.blocks.append(Paragraph(text, kind="caveat"))
        ctx.caveats.append(text)
    return section


def method_section(ctx: Context) -> Section:
    section = Section("method", "Method and sources")
    for text in [
        "Counts are police.uk street-level crimes and anti-social behaviour incidents located "
        "in the area's LSOAs; rates are per 1,000 residents.",
        "Change between periods is tested with the Poisson E-test (Krishnamoorthy and Thomson, "
        "2004); a change is called an increase or a decrease only when p < 0.05, and totals "
        "under 10 are reported as too few to tell.",
        "Monthly control limits are a c-chart (mean ± 3 standard deviations) with a seasonal "
        "expectation where two or more years of data exist.",
        "Contains public sector information licensed under the Open Government Licence v3.0. "
        "Source: Office for National Statistics licensed under the Open Government Licence "
        "v.3.0. Contains OS data © Crown copyright and database right. English Indices of "
        "Deprivation: Ministry of Housing, Communities and Local Government.",
    ]:
        section.blocks.append(Paragraph(text))
    return section

