"""Deprivation: a district's IMD ranks, its LSOAs' national and local deciles, the most and least
deprived LSOAs, and how events spread across deprivation deciles.

Editions are kept apart: IoD2019 is published on 2011 LSOAs, IoD2025 on 2021 LSOAs. By default
the edition whose LSOAs the area's events use is chosen, so every event meets its own LSOA; a
user may ask for the other, and events are then carried across through the ONS LSOA 2011 <-> 2021
lookup (an LSOA formed from several takes the mean of their ranks) and the result says so.
Local deciles rank the LSOAs within the area itself (1 = most deprived tenth of the area).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from cspkit.measures.areas import AreaSelection, events_vintage, memoised
from cspkit.measures.counts import period_events
from cspkit.measures.periods import Period
from cspkit.store.tables import Warehouse, WarehouseLike, warehouse

EDITION_VINTAGE = {"2015": "2011", "2019": "2011", "2025": "2021"}
DOMAIN_NAMES = {
    "imd": "Index of Multiple Deprivation", "income": "Income", "employment": "Employment",
    "education": "Education, Skills and Training", "health": "Health Deprivation and Disability",
    "crime": "Crime", "barriers": "Barriers to Housing and Services",
    "living_environment": "Living Environment", "idaci": "Income Deprivation Affecting Children",
    "idaopi": "Income Deprivation Affecting Older People",
}


def editions(con: WarehouseLike) -> list[str]:
    wh = warehouse(con)
    return [str(e) for e in wh.values(wh.table("imd").select("edition").distinct()
                                      .order_by("edition"))]


def choose_edition(con: WarehouseLike, area: AreaSelection,
                   edition: str | None = None) -> str:
    """The requested edition, else the one on the LSOA geography the area's events use."""
    held = editions(con)
    if edition:
        if edition not in held:
            raise ValueError(f"IoD{edition} is not loaded (loaded: "
                             f"{', '.join('IoD' + e for e in held) or 'none'})")
        return edition
    vintage = events_vintage(con, area)
    matching = [e for e in held if EDITION_VINTAGE.get(e) == vintage]
    if not matching and not held:
        raise ValueError("no deprivation data loaded: `cspkit ingest reference` an IoD file")
    return (matching or held)[-1]


def district_summary(con: WarehouseLike, lad_code: str, edition: str = "2019"
                     ) -> pd.DataFrame:
    """The district's summary measures per domain (IoD File 10): rank of average rank, rank of
    average score, share of LSOAs in the most deprived 10% ... (rank 1 = most deprived of all
    districts). Empty when the edition has no district summaries loaded."""
    wh = warehouse(con)
    summaries = wh.table("imd_district")
    summaries = summaries.filter(summaries.edition == edition)
    frame = wh.frame(summaries.filter(summaries.lad_code == lad_code)
                     .select("domain", "measure", "value"))
    if frame.empty:
        return pd.DataFrame(columns=["domain", "domain_name"])
    wide = frame.pivot(index="domain", columns="measure", values="value").reset_index()
    wide.insert(1, "domain_name", wide["domain"].map(DOMAIN_NAMES).fillna(wide["domain"]))
    wide["n_districts"] = wh.values(summaries.aggregate(n=summaries.lad_code.nunique()))[0]
    order = {d: i for i, d in enumerate(DOMAIN_NAMES)}
    return wide.sort_values("domain", key=lambda s: s.map(order)).reset_index(drop=True)


def lsoa_deprivation(con: WarehouseLike, area: AreaSelection,
                     edition: str | None = None) -> pd.DataFrame:
    """Each LSOA of the area on the edition's geography with its ward, IMD rank, national decile
    and local decile, and every domain's rank and national decile.

    Columns: lsoa_code, lsoa_name, ward_code, ward_name, imd_rank, national_decile,
    local_decile, then <domain>_rank and <domain>_decile for each domain, edition."""
    edition = choose_edition(con, area, edition)
    # Deprivation changes only with what is loaded: one lookup per area, edition and ingest state
    # (a copy, so callers may change their frame).
    return memoised(con, ("deprivation", area, edition),
                 lambda: _lsoa_deprivation(con, area, edition)).copy()


def _lsoa_deprivation(con: WarehouseLike, area: AreaSelection, edition: str) -> pd.DataFrame:
    wh = warehouse(con)
    g = wh.hierarchy()
    g = g.filter(area.filter(g), g.lsoa_vintage == EDITION_VINTAGE.get(edition, "2011"))
    lsoas = g.select("lsoa_code", "lsoa_name", "ward_code", "ward_name").distinct()
    ranks = wh.table("imd")
    ranks = ranks.filter(ranks.edition == edition)
    imd = ranks.filter(ranks.domain == "imd").select("lsoa_code", "rank", "decile")
    joined = lsoas.join(imd, "lsoa_code")
    frame = wh.frame(joined.select(
        *lsoas.columns, imd_rank=joined["rank"], national_decile=joined.decile,
        # ntile splits the area's LSOAs, most deprived first, into ten groups (Ibis counts
        # them from 0)
        local_decile=ibis.ntile(10).over(order_by=joined["rank"]) + 1).order_by("imd_rank"))
    domains = wh.frame(ranks.filter(ranks.domain != "imd", ranks.lsoa_code.isin(g.lsoa_code))
                       .select("lsoa_code", "domain", "rank", "decile"))
    if not domains.empty:
        wide = domains.pivot(index="lsoa_code", columns="domain", values=["rank", "decile"])
        wide.columns = [f"{domain}_{what}" for what, domain in wide.columns]
        frame = frame.merge(wide.reset_index(), on="lsoa_code", how="left")
    frame["edition"] = edition
    return frame


def domain_profile(con: WarehouseLike, lsoas: list[str], vintage: str,
                   edition: str) -> dict[str, object]:
    """The mean national rank per domain over a set of LSOAs (codes of `vintage`), in
    `edition`; when the edition is published on the other LSOA edition, over the LSOAs the
    ONS 2011 <-> 2021 lookup links to them (each counted once). An area's profile on IoD2019's
    seven domains can so be read even where its LSOAs are of 2021 and IoD2025 holds only the
    overall index.

    Returns {"edition", "lsoas" (the codes the ranks were read for), "mapped" (True when
    carried through the lookup), "domains": {domain: mean rank}}."""
    wh = warehouse(con)
    target = EDITION_VINTAGE.get(edition, "2011")
    codes = sorted(set(lsoas))
    mapped = target != vintage
    if mapped and codes:
        src, dst = _link_columns(target)
        changes = wh.table("lsoa_changes")
        codes = [str(c) for c in wh.values(changes.filter(changes[src].isin(codes))
                                           .select(code=changes[dst]).distinct()
                                           .order_by("code"))]
    rows: list[tuple[Any, ...]] = []
    if codes:
        imd = wh.table("imd")
        imd = imd.filter(imd.edition == edition, imd.lsoa_code.isin(codes))
        rows = wh.rows(imd.group_by("domain").aggregate(mean=imd["rank"].mean()))
    order = {d: i for i, d in enumerate(DOMAIN_NAMES)}
    return {"edition": edition, "lsoas": codes, "mapped": mapped,
            "domains": {d: round(float(v), 1)
                        for d, v in sorted(rows, key=lambda r: order.get(r[0], 99))}}


def domain_editions(con: WarehouseLike) -> dict[str, int]:
    """Editions held and how many domains each has (IoD2025 File 1 alone has 1)."""
    wh = warehouse(con)
    imd = wh.table("imd")
    return {str(e): int(n) for e, n in wh.rows(
        imd.group_by("edition").aggregate(n=imd.domain.nunique()).order_by("edition"))}


def extremes(con: WarehouseLike, area: AreaSelection, n: int = 5,
             edition: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The `n` most and least deprived LSOAs of the area, with their wards."""
    frame = lsoa_deprivation(con, area, edition)
    cols = ["lsoa_code", "lsoa_name", "ward_name", "imd_rank", "national_decile",
            "local_decile"]
    return (frame.nsmallest(n, "imd_rank")[cols].reset_index(drop=True),
            frame.nlargest(n, "imd_rank")[cols].reset_index(drop=True))


def decile_distribution(con: WarehouseLike, area: AreaSelection) -> pd.DataFrame:
    """How many of the area's LSOAs fall in each national decile, and the local deciles."""
    frame = lsoa_deprivation(con, area)
    counts = frame.groupby("national_decile").size().reindex(range(1, 11), fill_value=0)
    return pd.DataFrame({"national_decile": range(1, 11), "lsoas": counts.to_numpy()})


def events_by_decile(con: WarehouseLike, area: AreaSelection, period: Period, *,
                     category: str | None = None, edition: str | None = None,
                     source: str = "police.uk", local: bool = False) -> pd.DataFrame:
    """Events in each deprivation decile of the area's LSOAs (national deciles, or local ones
    with `local`), with each decile's share of events and of LSOAs.

    Columns: decile, lsoas, count, share_of_events, share_of_lsoas, edition, mapped (True when
    events were carried to the edition's LSOAs through the 2011 <-> 2021 lookup)."""
    edition = choose_edition(con, area, edition)
    target = EDITION_VINTAGE.get(edition, "2011")
    deciles = lsoa_deprivation(con, area, edition)
    column = "local_decile" if local else "national_decile"
    wh = warehouse(con)
    events = period_events(wh, area, period, source)
    if category:
        events = events.filter(events.category == category)
    per_lsoa = events.group_by(["lsoa_code", "lsoa_vintage"]).aggregate(count=events.count())
    counted = wh.frame(per_lsoa)
    mapped = bool((counted["lsoa_vintage"] != target).any()) if not counted.empty else False
    if mapped:   # carried in the engine, from the same counts
        counted = wh.frame(_carry_to_vintage(wh, per_lsoa, target))
    merged = counted.groupby("lsoa_code", as_index=False)["count"].sum().merge(
        deciles[["lsoa_code", column]], on="lsoa_code", how="inner")
    by_decile = merged.groupby(column)["count"].sum()
    lsoas = deciles.groupby(column).size()
    out = pd.DataFrame({"decile": range(1, 11)})
    out["lsoas"] = out["decile"].map(lsoas).fillna(0).astype(int)
    out["count"] = out["decile"].map(by_decile).fillna(0).round(6)
    total_events, total_lsoas = out["count"].sum(), out["lsoas"].sum()
    out["share_of_events"] = (out["count"] / total_events).round(4) if total_events else 0.0
    out["share_of_lsoas"] = (out["lsoas"] / total_lsoas).round(4) if total_lsoas else 0.0
    out["edition"] = edition
    out["decile_kind"] = "local" if local else "national"
    out["mapped"] = mapped
    return out


def _link_columns(target: str) -> tuple[str, str]:
    """(from, to) columns of `lsoa_changes` carrying LSOAs to the `target` edition."""
    return (("lsoa21_code", "lsoa11_code") if target == "2011"
            else ("lsoa11_code", "lsoa21_code"))


def _carry_to_vintage(wh: Warehouse, per_lsoa: ir.Table, target: str) -> ir.Table:
    """Counts (lsoa_code, lsoa_vintage, count) on one LSOA edition shared equally among the
    matching LSOAs of the other: (lsoa_code, count) on `target`'s LSOAs."""
    src, dst = _link_columns(target)
    changes = wh.table("lsoa_changes")
    links = changes.select(s=changes[src], d=changes[dst],
                           n=changes.count().over(group_by=changes[src]))
    joined = per_lsoa.left_join(links, [per_lsoa.lsoa_code == links.s,
                                        per_lsoa.lsoa_vintage != target])
    shared = joined.select(lsoa_code=joined.d.coalesce(joined.lsoa_code),
                           count=joined["count"] / joined.n.coalesce(1))
    return shared.group_by("lsoa_code").aggregate(count=shared["count"].sum())
