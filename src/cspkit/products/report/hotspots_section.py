"""Hot and cold spots for the assessment's places section: Getis-Ord Gi* on the district's LSOAs
(`measures.getis_ord`) for police recorded crime (excluding ASB) and for ASB, each as a map, a
table of the LSOAs that survived the false-discovery-rate control, and a sentence stating the
weights, the test, how many LSOAs were tested and how many hot spots survived.

Counts are published through the disclosure policy; z-scores and q-values are neighbourhood
statistics from which no single LSOA's count can be recovered (they also depend on the
neighbours' counts and the spread across the district, none of which is published).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cspkit.measures import getis_ord
from cspkit.measures.counts import ALL_CRIME, ASB
from cspkit.measures.disclosure import publish
from cspkit.measures.error_control import Family
from cspkit.products.report import charts
from cspkit.products.report.document import Block, Paragraph, Table

if TYPE_CHECKING:
    from cspkit.products.report.assessment import Context

# (label shown, colour), in legend order; the last is the background class.
HOT = ("Hot spot", "#c00000")
COLD = ("Cold spot", "#2166ac")
NOT_TESTED = ("Not tested", charts.NOT_SHOWN_COLOUR)
NOT_SIGNIFICANT = ("Not significant", "#ececec")
LABELS = {getis_ord.HOT: HOT[0], getis_ord.COLD: COLD[0], getis_ord.NOT_TESTED: NOT_TESTED[0],
          getis_ord.NOT_SIGNIFICANT: NOT_SIGNIFICANT[0]}
ISSUES = [("hotspots-crime", "Police recorded crime (excluding ASB)", ALL_CRIME),
          ("hotspots-asb", "Anti-social behaviour", ASB)]
COUNT = "Incidents"
Z = "Gi* z-score"
Q = "q-value (FDR)"


def hotspot_blocks(ctx: Context) -> list[Block]:
    """For crime (excluding ASB) and for ASB: a map of LSOAs coloured hot, cold or not
    significant, a table of the hot and cold spots and the sentence saying how they were
    found. A district the test cannot be run on gets a sentence saying why."""
    blocks: list[Block] = [Paragraph(
        "Hot spots are LSOAs where incidents cluster: the LSOA and its neighbours together hold "
        "more than the district's average would put there, by more than chance allows once "
        "every LSOA has been tested (cold spots: fewer). They mark where police.uk places "
        "incidents (each at the nearest anonymised map point), and they are counts, not "
        "rates: a town centre with many visitors and few residents is expected to be one.")]
    for slug, label, category in ISSUES:
        try:
            result = getis_ord.lsoa_hotspots(ctx.con, ctx.area, ctx.period, category=category,
                                             settings=ctx.settings)
        except getis_ord.HotspotError as exc:
            blocks.append(Paragraph(f"{label}: hot spots were not tested ({exc}).",
                                    kind="caveat"))
            continue
        blocks += _issue_blocks(ctx, slug, label, result)
    return blocks


def _issue_blocks(ctx: Context, slug: str, label: str, result: pd.DataFrame) -> list[Block]:
    from cspkit.products.report.assessment import POLICE_SOURCE

    attrs = result.attrs
    found = result[result["classification"].isin([getis_ord.HOT, getis_ord.COLD])]
    hot, cold = int(attrs["n_hot"]), int(attrs["n_cold"])
    # One family per issue: the LSOAs tested, for the method section's list of families.
    ctx.families.append(Family(f"Hot and cold spots by LSOA: {label[0].lower()}{label[1:]}",
                               int(attrs["n_tested"]), str(attrs["procedure"]),
                               float(attrs["alpha"]), hot + cold))
    area, period = ctx.area.name, ctx.period.label
    text = (f"{label}, {period}: Getis-Ord Gi* on the {attrs['n_lsoas']} LSOAs of {area} "
            f"({attrs['lsoa_vintage']} edition). Weights: {attrs['weights']}. Each LSOA's "
            "z-score is tested two-sided against the normal approximation, and the false "
            f"discovery rate is held at {attrs['alpha']:.0%} across the "
            f"{attrs['n_tested']} LSOAs tested ({attrs['procedure']}). "
            + (f"{_count(hot, 'hot spot')} and {_count(cold, 'cold spot')} survived; "
               "{figure:" + slug + "-map} maps them and {table:" + slug + "} lists them."
               if len(found) else "No hot or cold spot survived; {figure:" + slug
               + "-map} maps the LSOAs tested."))
    blocks: list[Block] = [Paragraph(text)]
    blocks += [Paragraph(note[0].upper() + note[1:] + ".", kind="caveat")
               for note in attrs["notes"]]
    classes = [HOT, COLD] + ([NOT_TESTED] if attrs["not_tested"] else []) + [NOT_SIGNIFICANT]
    figure = charts.category_map(
        f"{slug}-map", f"{label}: hot and cold spots by LSOA, {area}, {period}", ctx.con,
        codes_classes=pd.DataFrame({"code": result["lsoa_code"], "name": result["lsoa_name"],
                                    "value": result["classification"].map(LABELS)}),
        level="lsoa", classes=classes,
        legend_title=f"Hot-spot class (Gi*, FDR {attrs['alpha']:.0%})",
        vintage=str(attrs["lsoa_vintage"]))
    figure.source = POLICE_SOURCE + "; boundaries: ONS"
    blocks.append(figure)
    if len(found):
        blocks.append(Table(slug, f"{label}: hot and cold spots by LSOA, {area}, {period}",
                            _table(ctx, found), source=POLICE_SOURCE,
                            notes=[f"{Z}: how far the LSOA and its neighbours together stand "
                                   f"above (positive) or below (negative) the {area} "
                                   "average, in standard errors.",
                                   f"{Q}: the {attrs['procedure']} adjusted p-value; an LSOA is "
                                   f"listed when it is below {attrs['alpha']:g}.",
                                   "Counts of 1-4 are shown as <5."]))
    return blocks


def _table(ctx: Context, found: pd.DataFrame) -> pd.DataFrame:
    """Hot spots by z-score from the highest, then cold spots from the lowest."""
    ordered = pd.concat([found[found["classification"] == getis_ord.HOT]
                         .sort_values("gi_z", ascending=False),
                         found[found["classification"] == getis_ord.COLD]
                         .sort_values("gi_z")])
    table = pd.DataFrame({
        "LSOA": ordered["lsoa_name"].fillna(ordered["lsoa_code"]).to_numpy(),
        "Ward": ordered["ward_name"].fillna("").to_numpy(),
        COUNT: ordered["count"].astype(int).to_numpy(),
        Z: [f"{z:.1f}" for z in ordered["gi_z"]],
        Q: [q_label(q) for q in ordered["q_value"]],
        "Hot or cold": ordered["classification"].map(LABELS).to_numpy(),
    })
    return publish(table, [COUNT], policy=ctx.policy)


def q_label(q: float) -> str:
    """A q-value as published: three decimals, '<0.001' below that."""
    return "<0.001" if q < 0.001 else f"{q:.3f}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
