"""A national police.uk-shaped dataset made from the real files shipped with cspkit, offline:
SYNTHETIC street files for every territorial force of England and Wales (43: the 42 whose
districts the ONS lookups place, and the City of London), for every 2021 LSOA, laid out as the
data.police.uk archive lays them out (`YYYY-MM/YYYY-MM-<force>-street.csv`).

What is real and what is made up:

- real: every LSOA of England and Wales (census 2021 usual residents, ONS), its district
  (ONS LSOA 2021 -> ward -> LAD 2023 best-fit lookup), its force (Police Act 1996, Schedule 1:
  `cspkit.police_forces`) and its population-weighted centroid (ONS, converted to WGS84);
- fitted to the real Bedfordshire files (36 months; `simulate_force.py`): each crime type's
  rate per resident by calendar month (seasonality, category mix), its unlocated share, its
  dispersion (a gamma multiplier per force x type x month gives the real month-to-month
  variation), its outcome mix, and the spread of risk between LSOAs (each LSOA takes the
  per-resident risk profile of a randomly drawn Bedfordshire LSOA, so some places have many
  times the crime of others, as in the real data);
- made up: every row. Map points are the LSOA's centroid moved by up to about 150 m, the
  location reads "On or near Simulated Street", Crime IDs are random. The output folder gets
  a README saying the data are synthetic.

Bedfordshire's rates per resident are below the national average, so by default every rate is
multiplied by 1.6 (`--scale`): the 36 months then hold about 25 million rows, roughly the size
of the real national archive. Everything is seeded.

    python benchmarks/simulate_national.py --out national/ --months 36 --seed 1
"""

from __future__ import annotations

import argparse
import binascii
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import simulate_force as sim  # noqa: E402

from cspkit.police_forces import FORCES, force_of_district  # noqa: E402

LOOKUP = "LSOA_(2021)_to_Electoral_Ward_(2023)_to_LAD_(2023)_Best_Fit_Lookup_in_EW.csv.gz"
WARDS = ("Ward_to_Local_Authority_District_to_County_to_Region_to_Country_(May_2023)_Lookup_"
         "in_United_Kingdom.csv.gz")
CENTROIDS = "LLSOA_Dec_2021_PWC_for_England_and_Wales.csv.gz"
RESIDENTS = "census_2021_lsoa_usual_residents.csv.gz"
JITTER_DEGREES = 0.0015
# Bedfordshire's rates per resident give about 15 million rows in 36 months for England and
# Wales; the real archive holds about 25 million (crime and ASB), so rates are scaled by this.
NATIONAL_SCALE = 1.6
README = """SYNTHETIC DATA made by cspkit's benchmarks/simulate_national.py: not police records.
Every row is simulated from rates fitted to real data.police.uk files for Bedfordshire, placed
on the real LSOAs of England and Wales. Use it to measure speed and memory, never to describe
crime anywhere.
"""


@dataclass(frozen=True)
class Nation:
    lsoa_codes: np.ndarray      # (L,)
    lsoa_names: np.ndarray
    residents: np.ndarray       # (L,)
    force: np.ndarray           # (L,) force id
    lon: np.ndarray
    lat: np.ndarray

    def forces(self) -> list[str]:
        return sorted(set(self.force))


def read_nation(data_dir: Path | None = None) -> Nation:
    """Every 2021 LSOA of England and Wales with its residents, force and centroid."""
    from pyproj import Transformer

    from cspkit.demo import demo_data_dir

    data = data_dir or demo_data_dir()
    people = pd.read_csv(data / "population" / RESIDENTS, dtype={"LSOA21CD": str})
    people = people.rename(columns={people.columns[0]: "name"})
    lookup = pd.read_csv(data / "geography" / "lookups" / LOOKUP, dtype=str,
                         encoding="utf-8-sig", usecols=["LSOA21CD", "LAD23CD"])
    wards = pd.read_csv(data / "geography" / "lookups" / WARDS, dtype=str, encoding="utf-8-sig",
                        usecols=["LAD23CD", "CTY23CD", "RGN23CD"]).drop_duplicates("LAD23CD")
    points = pd.read_csv(data / "geography" / "centroids" / CENTROIDS, encoding="utf-8-sig",
                         usecols=["LSOA21CD", "x", "y"])
    frame = (people.merge(lookup, on="LSOA21CD").merge(wards, on="LAD23CD", how="left")
             .merge(points, on="LSOA21CD"))
    frame["force"] = [force_of_district(lad, cty if isinstance(cty, str) else None,
                                        rgn if isinstance(rgn, str) else None)
                      for lad, cty, rgn in zip(frame["LAD23CD"], frame["CTY23CD"],
                                               frame["RGN23CD"], strict=True)]
    frame = frame[frame["force"].notna()].sort_values(["force", "LSOA21CD"])
    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
        frame["x"].to_numpy(), frame["y"].to_numpy())
    return Nation(frame["LSOA21CD"].to_numpy(dtype=object), frame["name"].to_numpy(dtype=object),
                  frame["Population"].to_numpy(dtype=float),
                  frame["force"].to_numpy(dtype=object), np.asarray(lon), np.asarray(lat))


@dataclass(frozen=True)
class Rates:
    """Per-resident expected monthly counts, fitted to the real force (model)."""

    model: sim.ForceModel
    per_resident: np.ndarray    # (12, C): expected events a month per resident, force-wide
    profiles: np.ndarray        # (T, C): relative risk of each real LSOA (1 = force average)
    template: np.ndarray        # (L,): the real LSOA whose profile each national LSOA keeps


def fit_rates(model: sim.ForceModel, nation: Nation, rng: np.random.Generator) -> Rates:
    """Rates per resident of the real force's own LSOAs, and their risk profiles (share of
    the force's located events / share of its residents, by category). The few rows the real
    files place in other forces' LSOAs are left out of both."""
    residents_of = dict(zip(nation.lsoa_codes, nation.residents, strict=True))
    own = set(nation.lsoa_codes[nation.force == model.force])
    inside = np.array([code in own for code in model.lsoa_codes])
    people = np.array([residents_of[code] for code in model.lsoa_codes[inside]])
    total = people.sum()
    shares = model.lsoa_share[:, inside]
    shares = shares / shares.sum(axis=1, keepdims=True).clip(min=1e-12)
    profiles = (shares / (people / total)[None, :]).T        # (T, C)
    template = rng.integers(0, len(profiles), size=len(nation.lsoa_codes))
    return Rates(model, model.seasonal / total, profiles, template)


def month_counts(rates: Rates, nation: Nation, rows: np.ndarray, month: int,
                 rng: np.random.Generator, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Counts (L, C) for one force's LSOAs `rows` in calendar `month`, and unlocated (C,)."""
    model = rates.model
    profile = rates.profiles[rates.template[rows]]                             # (L, C)
    # The drawn templates' mean risk differs from 1 by chance; rescale so that the force's
    # residents-weighted mean is 1 per category and its total follows the fitted rate.
    people = nation.residents[rows]
    mean_risk = people @ profile / people.sum()
    profile = profile / np.where(mean_risk > 0, mean_risk, 1)[None, :]
    base = rates.per_resident[month - 1][None, :] * nation.residents[rows][:, None] * scale
    located = base * (1 - model.unlocated_share)[None, :] * profile
    unlocated = base.sum(axis=0) * model.unlocated_share
    force_mu = base.sum(axis=0)
    variance = np.clip(model.dispersion - 1, 0, None) / np.clip(force_mu, 1e-9, None)
    effect = np.ones_like(force_mu)
    spread = variance > 0
    shape = 1 / variance[spread]
    effect[spread] = rng.gamma(shape, 1 / shape)
    return rng.poisson(located * effect[None, :]), rng.poisson(unlocated * effect)


def crime_ids(n: int, rng: np.random.Generator) -> np.ndarray:
    """n random 64-hex IDs like police.uk's, made in one pass."""
    if not n:
        return np.array([], dtype=object)
    text = binascii.hexlify(rng.bytes(32 * n))
    return np.frombuffer(text, dtype="S64").astype("U64").astype(object)


def force_month_rows(rates: Rates, nation: Nation, force: str, rows: np.ndarray, when: date,
                     rng: np.random.Generator, scale: float) -> pd.DataFrame:
    model = rates.model
    located, unlocated = month_counts(rates, nation, rows, when.month, rng, scale)
    lsoa_idx, cat_idx = np.nonzero(located)
    reps = located[lsoa_idx, cat_idx]
    lsoa = np.repeat(rows[lsoa_idx], reps)
    cat = np.concatenate([np.repeat(cat_idx, reps),
                          np.repeat(np.arange(len(unlocated)), unlocated)])
    n_located, n = len(lsoa), len(cat)
    categories = np.asarray(model.categories, dtype=object)[cat]
    outcome = np.full(n, "", dtype=object)
    for c, category in enumerate(model.categories):
        chosen = cat == c
        values, probs = model.outcomes[category]
        outcome[chosen] = rng.choice(values, size=int(chosen.sum()), p=probs)
    ids = crime_ids(n, rng)
    ids[categories == sim.ASB] = ""
    # Floats, blank where unlocated: to_csv writes them with six decimals, as police.uk does.
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    jitter = (rng.random((n_located, 2)) - 0.5) * 2 * JITTER_DEGREES
    lon[:n_located] = nation.lon[lsoa] + jitter[:, 0]
    lat[:n_located] = nation.lat[lsoa] + jitter[:, 1]
    blank = np.full(n - n_located, "", dtype=object)
    name = FORCES[force]
    return pd.DataFrame({
        "Crime ID": ids, "Month": when.strftime("%Y-%m"), "Reported by": name,
        "Falls within": name, "Longitude": lon, "Latitude": lat,
        "Location": np.concatenate([np.full(n_located, "On or near Simulated Street",
                                            dtype=object), np.full(n - n_located,
                                                                   "No Location", dtype=object)]),
        "LSOA code": np.concatenate([nation.lsoa_codes[lsoa], blank]),
        "LSOA name": np.concatenate([nation.lsoa_names[lsoa], blank]),
        "Crime type": categories, "Last outcome category": outcome, "Context": "",
    }, columns=sim.COLUMNS)


def months_ending(last: date, count: int) -> list[date]:
    index = last.year * 12 + last.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - count + 1, index + 1)]


def generate(out_dir: Path, *, months: list[date], forces: list[str] | None = None,
             seed: int = 1, scale: float = 1.0, nation: Nation | None = None,
             model: sim.ForceModel | None = None, progress: bool = False) -> dict[str, int]:
    """Write the street files; returns rows written per force."""
    nation = nation or read_nation()
    model = model or sim.force_model()
    rng = np.random.default_rng(seed)
    rates = fit_rates(model, nation, rng)
    wanted = forces or nation.forces()
    written = dict.fromkeys(wanted, 0)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "README-SYNTHETIC.txt").write_text(README, encoding="utf-8")
    started = time.perf_counter()
    for m, when in enumerate(months):
        stamp = when.strftime("%Y-%m")
        (out_dir / stamp).mkdir(exist_ok=True)
        for force in wanted:
            rows = np.flatnonzero(nation.force == force)
            frame = force_month_rows(rates, nation, force, rows, when, rng, scale)
            frame.to_csv(out_dir / stamp / f"{stamp}-{force}-street.csv", index=False,
                         float_format="%.6f")
            written[force] += len(frame)
        if progress:
            total = sum(written.values())
            print(f"{m + 1}/{len(months)} months, {total:,} rows, "
                  f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--last", default="2024-03", help="last month, YYYY-MM")
    parser.add_argument("--forces", default=None, help="comma-separated force ids (default all)")
    parser.add_argument("--scale", type=float, default=NATIONAL_SCALE,
                        help="multiply every rate (1.0: Bedfordshire's rates per resident; "
                             f"default {NATIONAL_SCALE}: about the real national volume)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    year, month = (int(p) for p in args.last.split("-"))
    nation = read_nation()
    written = generate(args.out, months=months_ending(date(year, month, 1), args.months),
                       forces=args.forces.split(",") if args.forces else None, seed=args.seed,
                       scale=args.scale, nation=nation, progress=True)
    print(f"{len(written)} forces, {len(nation.lsoa_codes):,} LSOAs, "
          f"{sum(written.values()):,} rows in {args.out}")


if __name__ == "__main__":
    main()
