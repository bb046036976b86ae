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
from cspkit.measures.areas import (
    AreaSelection,
    area_forces,
    events_vintage,
    focus_on,
    geography_editions,
    reads_warehouse,
    select_area,
)
from cspkit.measures.change import DECREASE, INCREASE, NO_CHANGE, TOO_FEW
from cspkit.measures.control import BONFERRONI, family_size
from cspkit.measures.counts import ALL_CRIME, ASB
from cspkit.measures.disclosure import Derived, DisclosurePolicy, hidden_last, publish
from cspkit.measures.disclosure_audit import Difference, KnownSum, PercentChange, Rate, Share
from cspkit.measures.error_control import HOLM, Family, budget, control, level_text, survivors
from cspkit.measures.periods import Period, month_label, months_text, year_before
from cspkit.measures.settings import Settings
from cspkit.products.report import charts, narrative
from cspkit.products.report.config import LocalContent
from cspkit.products.report.document import Block, Document, Paragraph, Section, Table
from cspkit.products.report.hotspots_section import hotspot_blocks
from cspkit.products.report.partners import held, partner_section
from cspkit.products.report.similar_section import similar_section
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
WITHHELD_NOTE = ("Restricted partner sources are withheld for this reader: their sections, "
                 "tables and findings are left out, and the places index is scored without "
                 "them.")
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
    memo: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: list[tuple[int, str]] = field(default_factory=list)   # (priority, sentence)
    stable: list[str] = field(default_factory=list)      # issues with no significant change
    too_few: list[str] = field(default_factory=list)     # issues too small to test
    caveats: list[str] = field(default_factory=list)
    multi_issue: dict[str, list[str]] = field(default_factory=dict)  # ward -> issues rising
    multi_issue_holm: dict[str, list[str]] = field(default_factory=dict)  # ... surviving Holm
    # Every family of tests the document reports, for the method section.
    families: list[Family] = field(default_factory=list)
    # Changes that may become key findings: (priority, sentence, category); Holm decides.
    candidates: list[tuple[int, str, str]] = field(default_factory=list)
    months_compared: str = ""     # what the change tables compare, when not whole periods
    exceptional: dict[str, int] = field(default_factory=dict)  # chart -> months flagged
    # Restricted partner sources this reader may not see: left out, and said so in words.
    withheld: frozenset[str] = frozenset()


@reads_warehouse
def build_assessment(con: duckdb.DuckDBPyConnection, area: str, period: Period,
                     baseline: Period | None = None, *, local: LocalContent | None = None,
                     settings: Settings | None = None, produced: date | None = None,
                     withheld: frozenset[str] = frozenset()) -> Document:
    """The whole document for `area` and `period`, compared with `baseline` (default: the
    same months a year earlier). `withheld`: restricted partner sources (events/indicators
    `source` names) this reader may not see; everything drawn from them is left out and the
    document says so."""
    settings = settings or Settings()
    local = local or LocalContent()
    selection = select_area(con, area)
    focus_on(con, selection)   # the document's questions read its force's rows, not all rows
    ctx = Context(con, selection, period, baseline or year_before(period), local, settings,
                  DisclosurePolicy.from_settings(settings), withheld=frozenset(withheld))
    title = local.title or f"{selection.name} Community Safety Strategic Assessment {period.label}"
    doc = Document(title=title, area_name=selection.name, area_code=selection.code,
                   period_label=period.label, produced=produced or date.today(),
                   rate_per=settings.rate_per)
    builders = {
        "overall-crime": overall_crime, "issues": issues, "deprivation": deprivation_section,
        "places": places_section,
        "partners": lambda c: partner_section(c.con, c, withheld=c.withheld),
        "data-quality": data_quality, "method": method_section,
    }
    # The method section lists every family of tests, so it is built after the others.
    built = {key: builders[key](ctx) for key in local.sections
             if key in builders and key != "method"}
    if ctx.exceptional:
        ctx.families.append(Family("Exceptional months on the trend charts",
                                   exceptional_family(ctx), BONFERRONI, settings.alpha,
                                   sum(ctx.exceptional.values())))
    if "method" in local.sections:
        built["method"] = method_section(ctx)
    body = [built[key] for key in local.sections if key in built]
    front: list[Section] = []
    if "key-findings" in local.sections:
        front.append(key_findings(ctx))
    if "priorities" in local.sections and (local.priorities or local.recommendations):
        front.append(priorities_section(ctx))
    doc.sections = front + body
    doc.families = list(ctx.families)
    doc.details = _details(ctx, doc)
    doc.number()
    return doc


# --------------------------------------------------------------------------- helpers


def _published(frame: pd.DataFrame, count_columns: list[str], ctx: Context,
               derived: dict[str, Derived] | None = None, total_rows: tuple[object, ...] = (),
               known_sums: tuple[KnownSum, ...] = ()) -> pd.DataFrame:
    return publish(frame.reset_index(drop=True), count_columns, derived=derived,
                   total_rows=total_rows, known_sums=known_sums, policy=ctx.policy)


def _column_sums(frame: pd.DataFrame, columns: list[str]) -> tuple[KnownSum, ...]:
    """Each column's total, published elsewhere (the district's count in another table)."""
    return tuple(KnownSum(c, int(frame[c].sum())) for c in columns)


# Ward tables that may be drawn: one per issue group and deliberate fires (partner data).
WARD_FAMILIES = len(ISSUES) + 1


def change_budget(ctx: Context) -> tuple[float, float]:
    """The document's error budget for change claims (settings.alpha): the share for the
    change by type of crime, and the share of each ward table. With nothing really changed,
    the chance of any change claim in the document is at most settings.alpha."""
    return budget(ctx.settings.alpha, ctx.settings.headline_share, WARD_FAMILIES)


def _findings_alpha(ctx: Context) -> float:
    """Holm's level for key findings: the headline family's share of the findings level."""
    return ctx.settings.findings_alpha * ctx.settings.headline_share


def _change_frame(ctx: Context) -> pd.DataFrame:
    """The change by category with the all-crime total: one family, decided once and shared
    by the overall table, the issue sections and the key findings."""
    if "change" not in ctx.memo:
        frame = period_change.change(ctx.con, ctx.area, ctx.period, ctx.baseline, total=True,
                                     allow_partial=ctx.allow_partial, settings=ctx.settings,
                                     alpha=change_budget(ctx)[0])
        ctx.families.append(frame.attrs["family"].renamed("Change by type of crime "
                                     "(and all crime), this period against the comparison"))
        match = period_change.month_pairs(frame)
        if match is not None and not match.whole:
            ctx.months_compared = (f"Changes are compared {match.note()}." if match.pairs
                                   else f"No change is stated: {match.reason}.")
        ctx.memo["change"] = frame
    return ctx.memo["change"]


def compared_labels(frame: pd.DataFrame, ctx: Context) -> tuple[str, str]:
    """Header labels for the two periods as compared: the months themselves when the
    comparison is on part of the periods ('May–Dec 2021')."""
    match = period_change.month_pairs(frame)
    if match is None:
        return ctx.period.label, ctx.baseline.label
    return match.label, match.baseline_label


def _commentary(ctx: Context, key: str) -> list[Paragraph]:
    text = ctx.local.commentary.get(key)
    return [Paragraph(text, kind="local")] if text else []


def _area_forces(ctx: Context) -> frozenset[str]:
    """The police forces whose data covers the area (its LSOAs' force)."""
    return area_forces(ctx.con, ctx.area)


def _held_label(ctx: Context, period: Period) -> str:
    """'2023', or '2021 (part year: the data holds May–Dec 2021)'."""
    held = counts.area_period(ctx.con, ctx.area, period).coverage
    if not held.partial:
        return period.label
    months = months_text(held.months_present) or "no months"
    return f"{period.label} (part year: the data holds {months})"


def _details(ctx: Context, doc: Document) -> dict[str, str]:
    forces = _area_forces(ctx)
    cov = coverage(ctx.con)
    months = sorted({fm.month for fm in cov.force_months if fm.force in forces})
    return {
        "Area": f"{ctx.area.name} ({ctx.area.code})",
        "Partnership": ctx.local.partnership or f"{ctx.area.name} Community Safety Partnership",
        "Period": _held_label(ctx, ctx.period),
        "Compared with": _held_label(ctx, ctx.baseline),
        **({"Changes": ctx.months_compared} if ctx.months_compared else {}),
        "Police data held": f"{months[0]} to {months[-1]}" if months else "none",
        "Produced": doc.produced.isoformat(),
        "Produced with": "cspkit",
    }


# --------------------------------------------------------------------------- sections


def key_findings(ctx: Context) -> Section:
    """The largest significant changes, the places with several rising issues, what is stable,
    and what the data cannot tell."""
    section = Section("key-findings", "Key findings")
    changes = _holm_findings(ctx)
    ordered = sorted(ctx.findings + changes, key=lambda f: f[0])
    for _, sentence in ordered[:8]:
        section.blocks.append(Paragraph(sentence, kind="finding"))
    if ctx.months_compared:
        section.blocks.append(Paragraph(ctx.months_compared, kind="caveat"))
    if not changes and _change_frame(ctx).attrs["family"].tests:
        section.blocks.append(Paragraph(
            "No change between the periods was large enough to pass the document's control "
            "for key findings (Holm across all the types of crime tested).", kind="finding"))
    if ctx.stable:
        section.blocks.append(Paragraph(
            f"No significant change since {ctx.baseline.label} (which is not proof that "
            "nothing changed): "
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
    if ctx.withheld:
        section.blocks.append(Paragraph(WITHHELD_NOTE, kind="caveat"))
    return section


def _holm_findings(ctx: Context) -> list[tuple[int, str]]:
    """The candidate changes whose test survives Holm across the whole change family (every
    type of crime tested, and the total): only those become key findings."""
    frame = _change_frame(ctx)
    tested = frame[frame["q_value"].notna()]
    if tested.empty:
        return []
    keep = dict(zip(tested["category"], survivors(
        tested["p_value"].astype(float), alpha=_findings_alpha(ctx), procedure=HOLM),
        strict=True))
    return [(priority, sentence) for priority, sentence, category in ctx.candidates
            if keep.get(category)]


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
    full = _change_frame(ctx)
    row = full[full["is_total"]].iloc[0].to_dict()
    change = full[~full["is_total"]]
    sentence = narrative.change_sentence(f"Police recorded crime (excluding ASB) in {area.name}",
                                         row, ctx.settings)
    _note_finding(ctx, 1, row, sentence)
    trend = series.monthly_series(con, area, category=ALL_CRIME, inspect=ctx.period,
                                  family_size=exceptional_family(ctx), settings=ctx.settings)
    figure = charts.trend_chart("overall-trend", f"Police recorded crime (excluding ASB) by "
                                f"month, {area.name}", trend, y_title="Crimes",
                                area_name=area.name, settings=ctx.settings)
    figure.source = POLICE_SOURCE
    section.blocks += [Paragraph(sentence + " {figure:overall-trend} shows the monthly trend "
                                 "since the data begins."),
                       Paragraph(exceptional_sentence(ctx, "Police recorded crime", trend))]
    section.blocks.append(figure)
    now_label, before_label = compared_labels(full, ctx)
    table = change[["category", "count", "baseline_count", "change", "pct_change", "verdict"]]
    table = table.rename(columns={"count": now_label, "baseline_count": before_label,
                                  "pct_change": "change_pct"})
    # The sentence above publishes the total of every category but ASB.
    crime = table.reset_index(drop=True)
    crime_rows = tuple(crime.index[crime["category"] != ASB])
    published = _published(table, [now_label, before_label], ctx,
                           derived={"change": Difference(now_label, before_label),
                                    "change_pct": PercentChange(now_label, before_label)},
                           known_sums=tuple(KnownSum(c, int(crime.loc[list(crime_rows), c].sum()),
                                                     crime_rows)
                                            for c in (now_label, before_label))
                           + _group_sums(crime, now_label))
    ctx.memo["overall-change-published"] = published
    section.blocks.append(Paragraph("{table:overall-change} lists every issue with its change "
                                    "and whether the change is statistically significant."))
    notes = [verdict_note(full, ctx), "Counts of 1-4 are shown as <5."]
    if ctx.months_compared:
        notes = list(dict.fromkeys([ctx.months_compared, *notes]))   # said once
    section.blocks.append(Table("overall-change", f"Police recorded crime and ASB by type, "
                                f"{area.name}, {now_label} and {before_label}",
                                published, source=POLICE_SOURCE, notes=notes))
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
        section.subsections.append(comparison(ctx, ALL_CRIME, "overall"))
    if area.level == "lad":
        section.subsections.append(similar_section(
            ctx, [(ALL_CRIME, [ALL_CRIME])] + [(title, cats) for _, title, cats in ISSUES]))
    section.blocks += _commentary(ctx, "overall-crime")
    return section


def _group_sums(table: pd.DataFrame, column: str) -> tuple[KnownSum, ...]:
    """The issues of several categories (acquisitive crime) are published as one count
    beside the similar districts: protect each group's sum as if shown here."""
    out = []
    for _, _, categories in ISSUES:
        rows = tuple(table.index[table["category"].isin(categories)])
        if len(categories) > 1 and rows:
            out.append(KnownSum(column, int(table.loc[list(rows), column].sum()), rows))
    return tuple(out)


def verdict_note(frame: pd.DataFrame, ctx: Context) -> str:
    """How the table's verdicts were decided: the tests used and the family's control."""
    match = period_change.month_pairs(frame)
    if match is not None and not match.pairs:
        return f"No change is stated: {match.reason}."
    tests = sorted({str(t).split(",")[0] for t in frame.get("test", pd.Series(dtype=str))
                    if t})
    family = frame.attrs.get("family")
    used = " or ".join(tests) if tests else "no test (nothing to compare)"
    control = (f"; significance decided across the table's {family.tests} tests with the "
               f"{family.procedure} procedure at {level_text(family.alpha)}" if family else "")
    return (f"Verdicts: {used} test of the monthly counts on the months both periods hold"
            f"{control}. A verdict names a change only when it survives that control.")


def _note_finding(ctx: Context, priority: int, row: dict[str, object] | pd.Series,
                  sentence: str) -> None:
    """A significant change is a candidate key finding; Holm across the family decides."""
    if row.get("verdict") in (INCREASE, DECREASE):
        ctx.candidates.append((priority, sentence, str(row.get("category"))))


def comparison(ctx: Context, category: str | list[str], key: str,
               subject: str | None = None) -> Section:
    """The area beside the other areas of its parent: a family of tests of each area's rate
    against the rest of the parent. `category` may be several categories counted together
    (an issue); `subject` names it in words (default: the category)."""
    frame = comparisons.siblings(ctx.con, ctx.area, ctx.period, category=category,
                                 settings=ctx.settings)
    named = subject or (category if isinstance(category, str) else ", ".join(category))
    frame, family = control(frame, f"Rate of each area of the parent against the rest of it "
                            f"({named})", alpha=ctx.settings.alpha)
    ctx.families.append(family)
    parent = frame[frame["role"] == "parent"].iloc[0]
    area_row = frame[frame["role"] == "area"].iloc[0]
    sub = Section(f"{key}-comparison", f"{ctx.area.name} beside {parent['name']}")
    sub.blocks.append(Paragraph(narrative.rate_sentence(
        "police recorded crime (excluding ASB)" if category == ALL_CRIME else named,
        area_row, parent["name"], ctx.settings)
        + " {figure:" + key + "-rates} compares every area of " + parent["name"] + "."))
    chart_frame = frame[["name", "rate_per_1000"]].dropna()
    figure = charts.bar_chart(f"{key}-rates", f"Rate per 1,000 residents, {ctx.period.label}",
                              chart_frame, category="name", value="rate_per_1000",
                              value_title="Per 1,000 residents", highlight=ctx.area.name)
    held = sorted({int(y) for y in frame["population_year"].dropna()})
    years = ", ".join(f"mid-{y}" for y in held) or "none held"
    figure.source = POLICE_SOURCE + f"; population: ONS estimates, {years}"
    sub.blocks.append(figure)
    table = frame[["name", "role", "count", "population", "rate_per_1000", "verdict"]]
    table = table.reset_index(drop=True)
    # The parent's count is the total of the districts when all of them are listed.
    parent_row = tuple(table.index[table["role"] == "parent"])
    adds_up = len(parent_row) == 1 and int(table.loc[parent_row[0], "count"]) == int(
        table.loc[table["role"] != "parent", "count"].sum())
    sub.blocks.append(Table(f"{key}-rates-table", f"Rates beside {parent['name']}, "
                            f"{ctx.period.label}", _published(
                                table, ["count"], ctx,
                                derived={"rate_per_1000": Rate("count", "population")},
                                total_rows=parent_row if adds_up else ()),
                            source=POLICE_SOURCE,
                            notes=["Each area is tested against the rest of the parent.",
                                   f"Populations: {years} (the nearest held to "
                                   f"{ctx.period.start.year})."]))
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
        trend = _group_series(ctx, present)
        figure = charts.trend_chart(f"{slug}-trend", f"{title} by month, {ctx.area.name}",
                                    trend, y_title="Count", area_name=ctx.area.name,
                                    settings=ctx.settings)
        figure.source = POLICE_SOURCE
        text = ("{figure:" + slug + "-trend} shows the monthly trend. "
                + exceptional_sentence(ctx, title, trend))
        sub.blocks.append(Paragraph(text))
        sub.blocks.append(figure)
        if len(present) > 1:
            group = change.loc[present].reset_index()
            now_label, before_label = compared_labels(_change_frame(ctx), ctx)
            table = group[["category", "count", "baseline_count", "change", "verdict"]].rename(
                columns={"count": now_label, "baseline_count": before_label})
            sub.blocks.append(Table(f"{slug}-types", f"{title} by type, {ctx.area.name}, "
                                    f"{now_label} and {before_label}",
                                    _published(table, [now_label, before_label],
                                               ctx, derived={"change": Difference(
                                                   now_label, before_label)}),
                                    source=POLICE_SOURCE,
                                    notes=[verdict_note(_change_frame(ctx), ctx)]))
        if ctx.area.level in ("lad", "county", "force"):
            sub.blocks += _ward_blocks(ctx, slug, title, present)
        sub.blocks += _commentary(ctx, key)
        section.subsections.append(sub)
    return section


def _group_series(ctx: Context, categories: list[str]) -> pd.DataFrame:
    """The issue's categories counted together by month, its months of the period judged
    against their expected range."""
    return series.monthly_series(ctx.con, ctx.area,
                                 category=categories[0] if len(categories) == 1 else categories,
                                 inspect=ctx.period, family_size=exceptional_family(ctx),
                                 settings=ctx.settings)


def exceptional_family(ctx: Context) -> int:
    """How many months the document inspects for exceptional months: every month of the
    period on each trend chart it draws (overall crime, one per issue, deliberate fires), so
    that the chance of a false alarm anywhere in the document stays at settings.alpha."""
    sections = ctx.local.sections
    charts_drawn = (("overall-crime" in sections) + len(ISSUES) * ("issues" in sections)
                    + ("partners" in sections and held(ctx.con, "fire")))
    return family_size(charts_drawn, ctx.period)


def exceptional_sentence(ctx: Context, name: str, trend: pd.DataFrame) -> str:
    """The months outside their expected range, or that none was, or why none was judged;
    the chart's flagged months are counted in the document's family."""
    attrs = trend.attrs
    if attrs.get("reason"):
        return f"No month is judged against an expected range: {attrs['reason']}."
    ctx.exceptional[name] = int(trend["exceptional"].isin(["above", "below"]).sum())
    method = (f"({charts.expectation_words(attrs)}, limits widened for {attrs.get('m')} "
              "months inspected)")
    flagged = trend[trend["exceptional"].isin(["above", "below"])]
    if flagged.empty:
        return f"No month of {attrs.get('inspected')} was outside the expected range {method}."
    months = [f"{month_label(r.month)} ({'high' if r.exceptional == 'above' else 'low'})"
              for r in flagged.itertuples()]
    return f"Months outside the expected range {method}: {', '.join(months)}."


def _ward_blocks(ctx: Context, slug: str, title: str, categories: list[str]) -> list:
    """The issue by ward: a map, and the volume-change table with each ward's test (one family
    per issue, Benjamini–Hochberg). Wards whose rise survives that control are noted for the
    several-issues table; those surviving Holm too may become a key finding."""
    wards = period_change.place_change(ctx.con, ctx.area, ctx.period, ctx.baseline,
                                       level="ward", category=categories,
                                       allow_partial=ctx.allow_partial, settings=ctx.settings,
                                       alpha=change_budget(ctx)[1])
    family = wards.attrs["family"]
    blocks: list = []
    values = pd.DataFrame({"code": wards["ward_code"], "name": wards["ward_name"],
                           "value": [None if 0 < c < ctx.settings.suppress_below else c
                                     for c in wards["count"]]})
    now_label, before_label = compared_labels(wards, ctx)
    figure = charts.choropleth(f"{slug}-map", f"{title} by ward, {now_label}", ctx.con,
                               codes_values=values, level="ward", value_title="Count",
                               vintage=None)
    figure.source = POLICE_SOURCE + "; boundaries: ONS"
    blocks.append(Paragraph("{figure:" + slug + "-map} maps " + title.lower()
                            + " by ward; wards with fewer than 5 are shown grey."))
    blocks.append(figure)
    if int(wards["count"].sum()) >= MIN_FOR_WARD_TABLE:
        ctx.families.append(family.renamed(f"Change by ward: {title.lower()}"))
        table = wards.rename(columns={"ward_name": "ward", "count": now_label,
                                      "baseline_count": before_label})[
            ["ward", before_label, now_label, "change", "verdict"]]
        blocks.append(Paragraph(
            "{table:" + slug + "-wards} gives the volume change by ward, largest rise first "
            "(wards whose change is not shown last): the order is a ranking, not a test; the "
            "verdict column gives each ward's test, decided across the "
            f"{family.tests} wards tested."))
        published = _published(table, [before_label, now_label], ctx,
                               derived={"change": Difference(now_label, before_label)},
                               known_sums=_column_sums(table, [before_label, now_label]))
        blocks.append(Table(f"{slug}-wards", f"{title} by ward: volume change "
                            f"{before_label} to {now_label}",
                            hidden_last(published, "change", "ward", ctx.policy),
                            source=POLICE_SOURCE, notes=[verdict_note(wards, ctx)]))
        rising = wards[wards["verdict"] == INCREASE]
        tested = wards[wards["q_value"].notna()]
        holm = dict(zip(tested["ward_name"], survivors(
            tested["p_value"].astype(float), alpha=change_budget(ctx)[1],
            procedure=HOLM), strict=True))
        for name in rising["ward_name"]:
            ctx.multi_issue.setdefault(str(name), []).append(title)
            if holm.get(name):
                ctx.multi_issue_holm.setdefault(str(name), []).append(title)
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
                                    derived={"share_of_events": Share("count")}),
                                source=f"IoD{edition}; {POLICE_SOURCE}",
                                headers={"count": "Crime and ASB incidents"}))
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
        section.blocks += hotspot_blocks(ctx)
    several = {w: i for w, i in ctx.multi_issue.items() if len(i) >= 2}
    if not several:
        section.blocks.append(Paragraph(
            "No ward had a significant rise (after the control across each issue's wards) on "
            "two or more issues in this period."))
        return section
    table = pd.DataFrame([{"ward": w, "issues": len(i), "rising issues": ", ".join(i)}
                          for w, i in sorted(several.items(), key=lambda kv: -len(kv[1]))])
    section.blocks.append(Paragraph(
        "{table:places-several} lists the wards with a significant rise on two or more issues, "
        "each decided across that issue's wards (Benjamini–Hochberg). A rise in one ward on one "
        "issue is often noise; several together are worth a closer look."))
    section.blocks.append(Table("places-several", "Wards with significant rises on several "
                                "issues", table, source=POLICE_SOURCE))
    # A key finding needs every rise it names to survive Holm within its issue's wards.
    strict = {w: i for w, i in ctx.multi_issue_holm.items() if len(i) >= 2}
    if strict:
        ward, rising = max(strict.items(), key=lambda kv: len(kv[1]))
        ctx.findings.append((3, f"{len(strict)} ward(s) had significant rises on two or more "
                                f"issues, led by {ward} ({', '.join(rising)})."))
    return section


def _vulnerable_places(ctx: Context) -> list[Block]:
    """The multi-issue ranking of wards (`products.places_report`): its top ten, a map, and how
    stable it is against the year before."""
    from cspkit.products.places_report import ranking_blocks

    # Issues from withheld sources are left out: the index is scored without them.
    # The ranking is not a test: its headline stays in its section, never a key finding.
    blocks, finding = ranking_blocks(ctx.con, ctx.area.code, ctx.period, level="ward",
                                     withheld=ctx.withheld)
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
        "Rates use the nearest population estimate held to each period's first year; LSOA "
        "populations on the 2021 geography for years published only on 2011 LSOAs are "
        "apportioned from the 2011-LSOA estimates.",
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


WARD_LOOKUP = {"official": "the ONS LSOA to ward lookup",
               "best-fit": "the ONS best-fit LSOA to ward lookup",
               "derived": "placing each LSOA's population-weighted centroid in the ward "
                          "boundaries (no lookup held)"}


def geography_text(ctx: Context) -> str:
    """The geography editions the document used, as the warehouse used them."""
    used = geography_editions(ctx.con, ctx.area, ctx.period.start, ctx.period.end)
    if len(used.police_lsoas) > 1:   # no counts: one edition may hold a count of 1 to 4
        editions = list(used.police_lsoas)
        police = (f"{editions[0]} LSOAs (most records) and the "
                  + " and ".join(f"{v} LSOAs" for v in editions[1:]))
    elif used.police_lsoas:
        police = f"{next(iter(used.police_lsoas))} LSOAs"
    else:
        police = f"{events_vintage(ctx.con, ctx.area)} LSOAs (no records in the period)"
    parts = [f"Geography editions: the police data for {ctx.area.name} in {ctx.period.label} "
             f"is on the {police}"]
    if used.wards:
        parts.append("ward tables and maps use the " + " and ".join(
            f"{v} wards (from {WARD_LOOKUP.get(m, m)})" for v, m, _ in used.wards))
    if used.district:
        former = (f", counting the former districts {', '.join(used.former)} in it"
                  if used.former else "")
        parts.append(f"{ctx.area.name} is the district of the {used.district} district "
                     f"edition{former}")
    try:
        edition = deprivation.choose_edition(ctx.con, ctx.area)
        parts.append(f"deprivation is the English Indices of Deprivation {edition} (on "
                     f"{deprivation.EDITION_VINTAGE.get(edition, '?')} LSOAs)")
    except ValueError:
        parts.append("no Indices of Deprivation are held")
    return "; ".join(parts) + "."


def method_section(ctx: Context) -> Section:
    section = Section("method", "Method and sources")
    settings = ctx.settings
    texts = [
        "Counts are police.uk street-level crimes and anti-social behaviour incidents located "
        f"in the area's LSOAs; rates are per {settings.rate_per:,} residents.",
        "Like for like: a change between two periods is computed only on the calendar months "
        "both periods hold, matched in pairs (January with January, and so on); the tables "
        "and sentences name those months when they are not the whole periods, and where the "
        "periods share no months no change is stated.",
        "Change over time is tested on the monthly counts of those months with a "
        "quasi-Poisson model: one effect for each calendar month (the season), one for each "
        "year, and a dispersion estimated from how much the months vary beyond what chance "
        "alone gives (real police series vary several times more than a Poisson count). Up "
        f"to {settings.history_years} earlier years held enter the model too: they sharpen "
        "the season and the dispersion but not the comparison, which stays the two periods' "
        "totals on the months both hold. Where fewer than "
        f"{settings.min_months_for_dispersion} months hold events, where the months show no "
        "extra variation, or where one period has none, the exact Poisson E-test "
        "(Krishnamoorthy and Thomson, 2004) of the two totals is used; the quasi-Poisson "
        "p-value is never taken below the E-test's. Each table's note names the test used. "
        f"Fewer than {settings.min_total_for_test} events in all, or both counts under "
        f"{settings.small_count}, is reported as too few to tell.",
        "Error control across the document: every test belongs to a declared family, and "
        "significance is decided across the family with the Benjamini–Hochberg procedure (of "
        "the changes a table calls significant, at most its level are expected to be false). "
        f"The document's claims of change share one budget of {level_text(settings.alpha)}: "
        f"{level_text(change_budget(ctx)[0])} for the change by type of crime and "
        f"{level_text(change_budget(ctx)[1])} for each of the {WARD_FAMILIES} ward tables it "
        "may draw, so that where nothing really changed the chance of any claim of change in "
        f"the whole document is at most {level_text(settings.alpha)}. A statement enters the "
        "key findings only if its test also survives the Holm procedure across its family at "
        f"{level_text(_findings_alpha(ctx))}. Rankings such as the largest ward rises or the "
        "places index order places; they are not tests and are never key findings.",
        "Disclosure: counts of 1 to 4 are published as <5, and nothing published may reveal "
        "one. Before the document is written every table (its HTML, CSV and XLSX forms come "
        "from one published table), every sentence, note and figure description and the "
        "charts' own text are audited against the arithmetic that links them (totals, "
        "changes, percentages, rates, shares, sums published elsewhere) with an integer "
        "programme, and a document that would let a small count be worked out is not written. "
        "Trend charts leave a month of 1 to 4 unplotted. Not covered: counts about the data "
        "rather than about events in a place (records per force and month, months held), "
        "ranks and scores, and the analyst outputs marked as not for publication.",
        "Exceptional months: each trend chart's months of the period are compared with an "
        "expected range from a quasi-Poisson model of the months before it (calendar-month "
        "effects where every calendar month appears at least twice, else one annual harmonic, "
        "a linear trend where the "
        "history spans two years or more, and the series' own month-to-month variation), "
        f"widened for every month the document inspects ({BONFERRONI}: "
        f"{exceptional_family(ctx)} months, a {level_text(settings.alpha)} chance of any false "
        "alarm in the document); months before the period are shown for context only.",
    ]
    texts.append(geography_text(ctx))
    for text in texts:
        section.blocks.append(Paragraph(text))
    if ctx.families:
        table = pd.DataFrame([{"family": f.name, "tests": f.tests, "procedure": f.procedure,
                               "level": level_text(f.alpha), "significant": f.significant}
                              for f in ctx.families])
        section.blocks.append(Paragraph(
            "{table:method-families} lists the document's families of tests: "
            f"{sum(f.tests for f in ctx.families):,} tests in {len(ctx.families)} families."))
        section.blocks.append(Table("method-families", "Families of tests and their error "
                                    "control", table, source="cspkit"))
    section.blocks.append(Paragraph(
        "Contains public sector information licensed under the Open Government Licence v3.0. "
        "Source: Office for National Statistics licensed under the Open Government Licence "
        "v.3.0. Contains OS data © Crown copyright and database right. English Indices of "
        "Deprivation: Ministry of Housing, Communities and Local Government."))
    return section
