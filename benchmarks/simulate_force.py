"""Simulated data.police.uk street files for a whole force, with no real change between years.

The expected count of every LSOA x crime type x month comes from the real Bedfordshire files
shipped with cspkit (36 months):

- each crime type's force-level expected monthly count is a quasi-Poisson GLM of the real force
  series with calendar-month effects and a linear trend, evaluated at the middle of the trend,
  so both simulated years share the same seasonal expectation and no trend;
- the real share of each type that is unlocated (blank LSOA and coordinates), and each LSOA's
  share of the located rest (real LSOA codes and names, including the few outside the force);
- the dispersion ratio of each type (Pearson chi2 / df of that GLM): about 1.6 for robbery to
  14 for violence and sexual offences.

Variants:

- `poisson`: independent Poisson counts;
- `overdispersed`: one gamma multiplier per crime type x month (mean 1, variance
  (phi - 1) / mu, so the force series has dispersion ratio phi), shared by every LSOA, then
  Poisson: month-to-month variation as large as the real series show;
- `real-change-poisson`: like `real-change` below, with Poisson counts (no extra variation);
- `real-change`: like `overdispersed`, but one crime type in one district (default: the one
  with an expected yearly count nearest 700 in Bedford) is multiplied by a factor (1.25 or
  0.75) in the second year.

Rows look like the real files: 64-hex Crime IDs (blank for anti-social behaviour, as
police.uk publishes it), a real map point (longitude, latitude, "On or near ...") of the row's
LSOA, an outcome drawn from the crime type's real outcome mix, blank Context. Files are written
as the archive lays them out, `YYYY-MM/YYYY-MM-<force>-street.csv`. Everything is seeded.

    python benchmarks/simulate_force.py --out sim/ --variant overdispersed --seed 1
"""

from __future__ import annotations

import argparse
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

VARIANTS = ("poisson", "overdispersed", "real-change", "real-change-poisson")
CHANGED = ("real-change", "real-change-poisson")
FORCE = "bedfordshire"
ASB = "Anti-social behaviour"
COLUMNS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
           "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
DEFAULT_YEARS = (2022, 2023)
CHANGE_DISTRICT = "Bedford"
CHANGE_TARGET = 700.0         # expected events a year of the category given a real change


def default_archive(force: str = FORCE) -> Path:
    from cspkit.demo import demo_data_dir

    return demo_data_dir() / "police" / f"{force}.zip"


def read_street_archive(archive: Path) -> pd.DataFrame:
    """Every street file of a police.uk archive as text columns, repeated Crime IDs within a
    month dropped (the ingest skips them the same way)."""
    with zipfile.ZipFile(archive) as zf:
        names = sorted(n for n in zf.namelist() if n.endswith("-street.csv"))
        frames = [pd.read_csv(zf.open(n), dtype=str, keep_default_na=False) for n in names]
    rows = pd.concat(frames, ignore_index=True)
    repeated = (rows["Crime ID"] != "") & rows.duplicated(["Month", "Crime ID"])
    return rows[~repeated].reset_index(drop=True)


def _design(months: pd.Series) -> pd.DataFrame:
    """Calendar-month indicators (January the reference) and a centred linear trend."""
    dates = pd.to_datetime(months)
    index = dates.dt.year * 12 + dates.dt.month
    trend = (index - index.mean()).astype(float)
    design = pd.get_dummies(dates.dt.month, prefix="m", drop_first=True, dtype=float)
    design.insert(0, "trend", trend.to_numpy())
    design.insert(0, "const", 1.0)
    return design


def quasi_poisson_fit(months: pd.Series, counts: pd.Series | np.ndarray
                      ) -> tuple[np.ndarray, float]:
    """Fit log E[count] = const + calendar month + linear trend to a monthly series.

    Returns the expected count of each calendar month (1-12) at the middle of the trend, and the
    dispersion ratio (Pearson chi2 / residual df; 1 for Poisson counts)."""
    design = _design(pd.Series(months).reset_index(drop=True))
    y = np.asarray(counts, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(y, design, family=sm.families.Poisson()).fit()
    phi = float(fit.pearson_chi2 / fit.df_resid)
    params = fit.params
    seasonal = np.array([params["const"] + (params.get(f"m_{m}", 0.0) if m > 1 else 0.0)
                         for m in range(1, 13)])
    return np.exp(seasonal), phi


def dispersion_ratio(months: pd.Series, counts: pd.Series | np.ndarray) -> float:
    """Pearson chi2 / df of a monthly series after calendar-month effects and a linear trend."""
    return quasi_poisson_fit(months, counts)[1]


@dataclass(frozen=True)
class ForceModel:
    """What the simulation takes from the real data of one force."""

    force: str
    force_name: str
    real_months: tuple[str, ...]
    categories: tuple[str, ...]
    seasonal: np.ndarray            # (12, C) expected force count by calendar month
    dispersion: np.ndarray          # (C,) Pearson chi2 / df of the real force series
    unlocated_share: np.ndarray     # (C,)
    lsoa_codes: np.ndarray          # (L,)
    lsoa_names: np.ndarray          # (L,)
    lsoa_district: np.ndarray       # (L,) district name, from the LSOA name ('Bedford 001A')
    lsoa_share: np.ndarray          # (C, L) share of the located rows of each category
    place_offset: np.ndarray        # (L,) where each LSOA's map points start in place_*
    place_count: np.ndarray         # (L,)
    place_lon: np.ndarray           # (P,) real map points, as the files print them
    place_lat: np.ndarray
    place_location: np.ndarray
    outcomes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def category_index(self, category: str) -> int:
        return self.categories.index(category)

    def district_mask(self, district: str) -> np.ndarray:
        return self.lsoa_district == district

    def yearly_expected(self, district: str | None = None) -> pd.Series:
        """Expected events a year of each category, force-wide or in one district's LSOAs."""
        year = self.seasonal.sum(axis=0)
        if district is None:
            return pd.Series(year, index=list(self.categories))
        located = (1 - self.unlocated_share) * self.lsoa_share[:, self.district_mask(district)
                                                              ].sum(axis=1)
        return pd.Series(year * located, index=list(self.categories))


def fit_force_model(archive: Path | None = None, force: str = FORCE) -> ForceModel:
    """Fit the simulation's expectations to a force's real street files."""
    rows = read_street_archive(archive or default_archive(force))
    months = sorted(rows["Month"].unique())
    categories = sorted(rows["Crime type"].unique())
    by_month = (rows.groupby(["Crime type", "Month"]).size().unstack(fill_value=0)
                .reindex(index=categories, columns=months, fill_value=0))
    seasonal = np.zeros((12, len(categories)))
    dispersion = np.zeros(len(categories))
    month_series = pd.Series(months)
    for c, category in enumerate(categories):
        seasonal[:, c], dispersion[c] = quasi_poisson_fit(month_series, by_month.loc[category])
    located = rows[rows["LSOA code"] != ""]
    unlocated = (rows["LSOA code"] == "").groupby(rows["Crime type"]).mean()
    lsoas = (located[["LSOA code", "LSOA name"]].drop_duplicates("LSOA code")
             .sort_values(["LSOA name", "LSOA code"]).reset_index(drop=True))
    shares = (located.groupby(["Crime type", "LSOA code"]).size().unstack(fill_value=0)
              .reindex(index=categories, columns=lsoas["LSOA code"], fill_value=0))
    shares = shares.div(shares.sum(axis=1).replace(0, 1), axis=0)
    points = (located[["LSOA code", "Longitude", "Latitude", "Location"]].drop_duplicates()
              .set_index("LSOA code").loc[lsoas["LSOA code"]].reset_index())
    count = points.groupby("LSOA code", sort=False).size().reindex(lsoas["LSOA code"]).to_numpy()
    outcomes = {}
    for category, group in rows.groupby("Crime type"):
        mix = group["Last outcome category"].value_counts(normalize=True)
        outcomes[str(category)] = (mix.index.to_numpy(dtype=object), mix.to_numpy())
    return ForceModel(
        force=force,
        force_name=str(rows["Falls within"].mode().iloc[0]),
        real_months=tuple(months),
        categories=tuple(categories),
        seasonal=seasonal,
        dispersion=dispersion,
        unlocated_share=unlocated.reindex(categories).to_numpy(),
        lsoa_codes=lsoas["LSOA code"].to_numpy(dtype=object),
        lsoa_names=lsoas["LSOA name"].to_numpy(dtype=object),
        lsoa_district=lsoas["LSOA name"].str.rsplit(" ", n=1).str[0].to_numpy(dtype=object),
        lsoa_share=shares.to_numpy(),
        place_offset=np.concatenate([[0], np.cumsum(count)[:-1]]),
        place_count=count,
        place_lon=points["Longitude"].to_numpy(dtype=object),
        place_lat=points["Latitude"].to_numpy(dtype=object),
        place_location=points["Location"].to_numpy(dtype=object),
        outcomes=outcomes,
    )


@lru_cache(maxsize=2)
def force_model(force: str = FORCE) -> ForceModel:
    """The model of a shipped force, fitted once per process."""
    return fit_force_model(default_archive(force), force)


def pick_change_category(model: ForceModel, district: str = CHANGE_DISTRICT,
                         target: float = CHANGE_TARGET) -> str:
    """The category whose expected yearly count in `district` is nearest `target`."""
    yearly = model.yearly_expected(district)
    return str((yearly - target).abs().idxmin())


@dataclass(frozen=True)
class Scenario:
    variant: str = "poisson"
    years: tuple[int, ...] = DEFAULT_YEARS
    change_factor: float = 1.25           # real-change only: applied in the last year
    change_category: str | None = None    # real-change only: default pick_change_category
    change_district: str = CHANGE_DISTRICT

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant {self.variant!r}: expected one of {', '.join(VARIANTS)}")

    def months(self) -> list[date]:
        return [date(y, m, 1) for y in self.years for m in range(1, 13)]

    def category(self, model: ForceModel) -> str | None:
        if self.variant not in CHANGED:
            return None
        return self.change_category or pick_change_category(model, self.change_district)


def expected_counts(model: ForceModel, scenario: Scenario) -> np.ndarray:
    """Expected count of every month x category x place (the LSOAs, then unlocated):
    shape (months, C, L + 1). The month effects of `overdispersed` have mean 1, so this is the
    expectation of every variant."""
    months = scenario.months()
    force = model.seasonal[[m.month - 1 for m in months]]                      # (M, C)
    located = force[:, :, None] * ((1 - model.unlocated_share)[:, None] * model.lsoa_share)
    unlocated = (force * model.unlocated_share)[:, :, None]
    mu = np.concatenate([located, unlocated], axis=2)
    category = scenario.category(model)
    if category is not None:
        last = np.array([m.year == scenario.years[-1] for m in months])
        lsoas = np.append(model.district_mask(scenario.change_district), False)
        c = model.category_index(category)
        mu[np.ix_(last, [c], lsoas)] *= scenario.change_factor
    return mu


def month_effects(model: ForceModel, scenario: Scenario, rng: np.random.Generator
                  ) -> np.ndarray:
    """One multiplier per month x category: 1 for `poisson`; otherwise gamma with mean 1 and
    variance (phi - 1) / mu, so a force count mu has variance phi x mu."""
    months = scenario.months()
    force = model.seasonal[[m.month - 1 for m in months]]
    if scenario.variant in ("poisson", "real-change-poisson"):
        return np.ones_like(force)
    variance = np.clip(model.dispersion - 1, 0, None)[None, :] / force
    effects = np.ones_like(force)
    spread = variance > 0
    shape = 1 / variance[spread]
    effects[spread] = rng.gamma(shape, 1 / shape)
    return effects


def simulate_counts(model: ForceModel, scenario: Scenario, rng: np.random.Generator
                    ) -> np.ndarray:
    """Counts of every month x category x place (LSOAs, then unlocated)."""
    mu = expected_counts(model, scenario) * month_effects(model, scenario, rng)[:, :, None]
    return rng.poisson(mu)


def force_series(counts: np.ndarray, model: ForceModel, scenario: Scenario) -> pd.DataFrame:
    """Force-level monthly counts by category (what a force file totals to)."""
    frame = pd.DataFrame(counts.sum(axis=2), columns=list(model.categories))
    frame.insert(0, "month", pd.to_datetime(scenario.months()))
    return frame


def _crime_ids(n: int, rng: np.random.Generator) -> np.ndarray:
    """n distinct-in-practice 64-hex IDs like police.uk's (32 random bytes each)."""
    raw = rng.bytes(32 * n)
    return np.array([raw[i:i + 32].hex() for i in range(0, 32 * n, 32)], dtype=object)


def month_rows(model: ForceModel, counts: np.ndarray, month: date,
               rng: np.random.Generator) -> pd.DataFrame:
    """The street-file rows of one month from its counts (C, L + 1)."""
    n_lsoa = len(model.lsoa_codes)
    place_idx, cat_idx = np.nonzero(counts.T)     # by place, as the real files are ordered
    reps = counts[cat_idx, place_idx]
    cat = np.repeat(cat_idx, reps)
    place = np.repeat(place_idx, reps)
    n = len(cat)
    located = place < n_lsoa
    lsoa = np.where(located, place, 0)
    point = model.place_offset[lsoa] + (rng.random(n) * model.place_count[lsoa]).astype(int)
    blank = np.full(n, "", dtype=object)
    categories = np.asarray(model.categories, dtype=object)[cat]
    outcome = blank.copy()
    for c, category in enumerate(model.categories):
        rows = cat == c
        values, probs = model.outcomes[category]
        outcome[rows] = rng.choice(values, size=int(rows.sum()), p=probs)
    ids = _crime_ids(n, rng)
    ids[categories == ASB] = ""
    return pd.DataFrame({
        "Crime ID": ids,
        "Month": month.strftime("%Y-%m"),
        "Reported by": model.force_name,
        "Falls within": model.force_name,
        "Longitude": np.where(located, model.place_lon[point], blank),
        "Latitude": np.where(located, model.place_lat[point], blank),
        "Location": np.where(located, model.place_location[point], "No Location"),
        "LSOA code": np.where(located, model.lsoa_codes[lsoa], blank),
        "LSOA name": np.where(located, model.lsoa_names[lsoa], blank),
        "Crime type": categories,
        "Last outcome category": outcome,
        "Context": blank,
    }, columns=COLUMNS)


def write_street_files(model: ForceModel, scenario: Scenario, counts: np.ndarray,
                       out_dir: Path, rng: np.random.Generator) -> list[Path]:
    """One street file per month, laid out as the police.uk archive does."""
    paths = []
    for i, month in enumerate(scenario.months()):
        stamp = month.strftime("%Y-%m")
        path = Path(out_dir) / stamp / f"{stamp}-{model.force}-street.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        month_rows(model, counts[i], month, rng).to_csv(path, index=False)
        paths.append(path)
    return paths


@dataclass
class Generated:
    scenario: Scenario
    counts: np.ndarray
    paths: list[Path]
    change_category: str | None


def generate(out_dir: Path, scenario: Scenario, seed: int | np.random.SeedSequence,
             model: ForceModel | None = None) -> Generated:
    """Simulate and write one force's street files for `scenario`, reproducibly from `seed`."""
    model = model or force_model()
    rng = np.random.default_rng(seed)
    counts = simulate_counts(model, scenario, rng)
    paths = write_street_files(model, scenario, counts, out_dir, rng)
    return Generated(scenario, counts, paths, scenario.category(model))


def describe(model: ForceModel) -> pd.DataFrame:
    """Per category: expected per year force-wide and in Bedford, dispersion, unlocated share."""
    return pd.DataFrame({
        "per_year": model.yearly_expected().round(0),
        f"per_year_{CHANGE_DISTRICT}": model.yearly_expected(CHANGE_DISTRICT).round(0),
        "dispersion": np.round(model.dispersion, 2),
        "unlocated_share": np.round(model.unlocated_share, 4),
    }, index=list(model.categories))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder to write the files to")
    parser.add_argument("--variant", choices=VARIANTS, default="poisson")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--years", type=int, nargs=2, default=list(DEFAULT_YEARS),
                        metavar=("FIRST", "SECOND"))
    parser.add_argument("--factor", type=float, default=1.25,
                        help="real-change: the multiplier of the second year (default 1.25)")
    parser.add_argument("--category", default=None,
                        help="real-change: the category to change (default: the one nearest "
                             f"{CHANGE_TARGET:.0f} a year in {CHANGE_DISTRICT})")
    args = parser.parse_args(argv)
    model = force_model()
    scenario = Scenario(args.variant, tuple(args.years), args.factor, args.category)
    generated = generate(args.out, scenario, args.seed, model)
    print(describe(model).to_string())
    if generated.change_category:
        print(f"real change: {generated.change_category} in {CHANGE_DISTRICT} x{args.factor} "
              f"in {args.years[1]}")
    print(f"{len(generated.paths)} files, {int(generated.counts.sum()):,} rows, in {args.out}")


if __name__ == "__main__":
    main()
