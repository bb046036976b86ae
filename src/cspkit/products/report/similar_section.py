"""The district beside its cspkit similar districts (`measures.similar`): for each headline
issue, its rate against the pooled rate of the similar districts whose police data covers the
same months, tested with the Poisson test of the sibling comparisons.

The tests form one declared family (Benjamini–Hochberg at the document's alpha, as the sibling
comparisons do), listed in the method section; a sentence says 'higher' or 'lower' only for a
test that survived it, with the counts beside it as published (small counts as '<5'). With
fewer than settings.similar_min_with_data members holding data, the section says so and makes
no claim.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cspkit.measures import similar
from cspkit.measures.areas import AreaSelection
from cspkit.measures.comparisons import HIGHER, LOWER, SAME, TOO_FEW, family_rates
from cspkit.measures.counts import ALL_CRIME
from cspkit.measures.disclosure import publish
from cspkit.measures.disclosure_audit import Rate
from cspkit.measures.error_control import control, level_text
from cspkit.measures.periods import months_text
from cspkit.products.report.document import Paragraph, Section, Table

if TYPE_CHECKING:
    from cspkit.products.report.assessment import Context

SOURCE = ("Police recorded crime and ASB: data.police.uk; population: ONS mid-year estimates; "
          "similar districts: cspkit, from ONS and MHCLG open data")
FAMILY_NAME = "Rate against similar districts, by issue"


def _names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def similar_section(ctx: Context, issues: list[tuple[str, list[str]]], key: str = "overall"
                    ) -> Section:
    area, settings = ctx.area, ctx.settings
    sub = Section(f"{key}-similar", f"{area.name} beside similar districts")
    try:
        found = similar.family_of(ctx.con, area, settings.similar_size)
    except similar.SimilarError as exc:
        sub.blocks.append(Paragraph(f"No similar districts are compared: {exc}.",
                                    kind="caveat"))
        return sub
    members = [AreaSelection(str(r.code), str(r.name), "lad")
               for r in found.members.itertuples(index=False)]
    size = len(members)
    sub.blocks.append(Paragraph(
        f"The {size} districts most like {area.name}, nearest first: "
        f"{_names([m.name for m in members])}. " + similar.method_text(size)))
    frame = family_rates(ctx.con, area, ctx.period, members, issues, settings=settings)
    with_data, months = frame.attrs["with_data"], frame.attrs["months"]
    held = (months_text(months) if months and len(months) < ctx.period.n_months
            else ctx.period.label)
    count_text = (f"{len(with_data)} of {size} similar districts "
                  f"{'has' if len(with_data) == 1 else 'have'} police data held for {held}"
                  + (f": {_names(with_data)}." if with_data else "."))
    if not frame.attrs["enough"]:
        sub.blocks.append(Paragraph(
            count_text + f" With fewer than {settings.similar_min_with_data} of them holding "
            f"data for the same months, {area.name} is not compared with its similar districts "
            "and no claim is made about how its rates stand beside theirs.", kind="caveat"))
        return sub
    frame, family = control(frame, FAMILY_NAME, alpha=settings.alpha)
    ctx.families.append(family)
    columns = ["issue", "count", "population", "rate_per_1000", "family_count",
               "family_population", "family_rate_per_1000", "verdict"]
    published = publish(frame[columns].reset_index(drop=True), ["count", "family_count"],
                        derived={"rate_per_1000": Rate("count", "population"),
                                 "family_rate_per_1000": Rate("family_count",
                                                              "family_population")},
                        policy=ctx.policy)
    _hide_as_elsewhere(ctx, published, issues)
    sub.blocks.append(Paragraph(
        count_text + " Their counts are added together and divided by their populations "
        "(the family rate); " + area.name + " is tested against it for each issue in "
        "{table:" + key + "-similar-table}."))
    sub.blocks += _sentences(ctx, frame, published, len(with_data), family.tests)
    sub.blocks.append(Table(
        f"{key}-similar-table", f"Rates beside similar districts with data, {held}",
        published, source=SOURCE,
        headers={"count": f"Count, {area.name}", "population": f"Population, {area.name}",
                 "rate_per_1000": f"Rate per {settings.rate_per:,} residents, {area.name}"},
        notes=[f"Each issue's rate in {area.name} is tested against the similar districts' "
               "pooled rate (Poisson E-test); significance is decided across the "
               f"{family.tests} issues tested with the {family.procedure} procedure at "
               f"{level_text(family.alpha)}. Counts of 1-4 are shown as "
               f"{settings.suppression_label}; a rate from a hidden count is shown as *."]))
    return sub


def _hide_as_elsewhere(ctx: Context, published: pd.DataFrame,
                       issues: list[tuple[str, list[str]]]) -> None:
    """The district's count of an issue is hidden here wherever the overall table hid one of
    its categories (so a '*' there cannot be read off here); the overall table protects the
    sums of the issues of several categories (see `assessment._group_sums`)."""
    overall = ctx.memo.get("overall-change-published")
    if overall is None or overall.empty:
        return
    column = [c for c in overall.columns if c != "category"][0]   # the period's counts
    hidden = {str(c) for c, v in zip(overall["category"], overall[column], strict=True)
              if not str(v).isdigit()}
    label = ctx.policy.secondary_label
    for index, (_, categories) in enumerate(issues):
        if categories == [ALL_CRIME]:
            continue   # the total: published with the overall table
        if hidden & set(categories) and str(published.at[index, "count"]).isdigit():
            published.at[index, "count"] = label
            published.at[index, "rate_per_1000"] = label


def _sentences(ctx: Context, frame: pd.DataFrame, published: pd.DataFrame, members: int,
               tests: int) -> list[Paragraph]:
    """A sentence for each difference that survived the family's control, with its counts as
    published; the issues without a significant difference listed together."""
    out: list[Paragraph] = []
    same: list[str] = []
    few: list[str] = []
    for (_, row), (_, shown) in zip(frame.reset_index(drop=True).iterrows(),
                                    published.iterrows(), strict=True):
        if row["verdict"] in (HIGHER, LOWER):
            word = "higher" if row["verdict"] == HIGHER else "lower"
            rate = _rate_text(shown["rate_per_1000"], ctx.settings.rate_per)
            family_rate = _rate_text(shown["family_rate_per_1000"], ctx.settings.rate_per)
            across = ("the one similar district with data" if members == 1
                      else f"the {members} similar districts with data")
            out.append(Paragraph(
                f"{row['issue']}: {rate} in {ctx.area.name} ({_count_text(shown['count'])}) "
                f"against {family_rate} across {across} "
                f"({_count_text(shown['family_count'])}): significantly {word}, a "
                f"difference that survives the control across the {tests} issues tested.",
                kind="finding"))
        elif row["verdict"] == SAME:
            same.append(str(row["issue"]))
        elif row["verdict"] == TOO_FEW:
            few.append(str(row["issue"]))
    if same:
        out.append(Paragraph(f"Not significantly different from the similar districts: "
                             f"{', '.join(same)}."))
    if few:
        out.append(Paragraph(f"Too few incidents to compare with the similar districts: "
                             f"{', '.join(few)}.", kind="caveat"))
    return out


def _count_text(value: object) -> str:
    """A published count as a reader writes it: '1,146 recorded'; a hidden one said so."""
    text = str(value)
    if text.isdigit():
        return f"{int(text):,} recorded"
    if text.startswith("<"):
        return f"fewer than {text[1:]} recorded"
    return "the number recorded is not shown, to protect small numbers elsewhere"


def _rate_text(value: object, per: int) -> str:
    if isinstance(value, int | float):
        return f"{float(value):.1f} per {per:,} residents"
    return "a rate not shown (it would reveal a small count)"
