"""Generate the SYNTHETIC partner sample files shipped in src/cspkit/demo_data/partner/.

There is no public partner data (fire, ambulance, hospital, treatment, ...) for the demo
districts, so cspkit ships realistic but entirely SYNTHETIC files instead. They sit on the REAL
2021 (Luton, Bedford, Central Bedfordshire) and 2011 (East Cambridgeshire) LSOAs and wards shipped
in demo_data/geography, but no figure in them describes any real place, person or event.

The output is deterministic: the same --seed always gives byte-identical files (CSV written with
"\\n" line endings, XLSX with fixed document properties and fixed zip timestamps).
"""

from __future__ import annotations

import argparse
import calendar
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from cspkit.demo import demo_data_dir

DEFAULT_SEED = 20240501
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "src" / "cspkit" / "demo_data" / "partner"
FIXED_TIMESTAMP = datetime(2024, 5, 1, 0, 0, 0)
ZIP_TIMESTAMP = (2024, 5, 1, 0, 0, 0)

LOOKUP_2021 = "LSOA_(2021)_to_Electoral_Ward_(2023)_to_LAD_(2023)_Best_Fit_Lookup_in_EW.csv.gz"
LOOKUP_2011 = ("Lower_Layer_Super_Output_Area_(2011)_to_Ward_(2019)_Lookup_in_England_and_Wales"
               ".csv.gz")
CENTROIDS_2021 = "LLSOA_Dec_2021_PWC_for_England_and_Wales.csv.gz"
CENSUS_2011 = "census_2011_population_hh.csv.gz"

FIRE_FILE = "fire_incidents_SYNTHETIC.csv"
AMBULANCE_FILE = "ambulance_assault_callouts_SYNTHETIC.xlsx"
ISTV_FILE = "ed_assault_attendances_SYNTHETIC.csv"
TREATMENT_FILE = "treatment_SYNTHETIC.csv"
SAFE_WELL_FILE = "safe_and_well_visits_SYNTHETIC.csv"
MARKERS_FILE = "police_crime_markers_SYNTHETIC.csv"
DA_FILE = "domestic_abuse_SYNTHETIC.xlsx"
ALL_FILES = (FIRE_FILE, AMBULANCE_FILE, ISTV_FILE, TREATMENT_FILE, SAFE_WELL_FILE, MARKERS_FILE,
             DA_FILE)

AMBULANCE_SHEET = "Assault callouts"
DA_SHEET = "By year"

# Exact layouts (column order matters): the shared contract with the loader schemas.
COLUMNS: dict[str, list[str]] = {
    FIRE_FILE: ["IncidentNumber", "CallDate", "CallTime", "IncidentGroup", "CauseCode",
                "PropertyType", "LSOA code", "Easting", "Northing"],
    AMBULANCE_FILE: ["LAD code", "LAD name", "Financial year", "Callouts"],
    ISTV_FILE: ["AttendanceDate", "ArrivalTime", "AgeBand", "Gender", "WeaponCode",
                "AssaultLocation", "IncidentLSOA", "ResidentDistrict"],
    TREATMENT_FILE: ["Area code", "Area name", "Financial year", "Substance group", "In treatment",
                     "Successful completions"],
    SAFE_WELL_FILE: ["District code", "District", "Financial year", "Visits"],
    MARKERS_FILE: ["CrimeRef", "RecordedDate", "OffenceGroup", "LSOA", "HateFlag", "DAFlag",
                   "CyberFlag", "VictimAgeBand"],
    DA_FILE: ["District code", "District", "Financial year", "DA incidents", "DA crimes"],
}

AGE_BANDS = ["0-15", "16-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"]

# Comparator areas for the treatment file. Populations are rounded mid-2019 estimates, used only
# to scale the synthetic comparator numbers.
CAMBRIDGESHIRE = ("E10000003", "Cambridgeshire", 653_500)
ENGLAND = ("E92000001", "England", 56_287_000)


@dataclass(frozen=True)
class District:
    code: str
    name: str
    vintage: int             # LSOA vintage: 2021 or 2011
    first_month: str         # "YYYY-MM", inclusive
    last_month: str          # "YYYY-MM", inclusive
    financial_years: tuple[str, ...]
    population: int          # Census 2011 usual residents (real), used to scale the fakes
    lsoas: pd.DataFrame      # columns: lsoa, ward, base, easting, northing (Int64, may be NA)


DISTRICTS: tuple[tuple[str, int, str, str, tuple[str, ...]], ...] = (
    ("E06000032", 2021, "2021-05", "2024-04", ("2021/22", "2022/23", "2023/24")),
    ("E06000055", 2021, "2021-05", "2024-04", ("2021/22", "2022/23", "2023/24")),
    ("E06000056", 2021, "2021-05", "2024-04", ("2021/22", "2022/23", "2023/24")),
    ("E07000009", 2011, "2017-01", "2019-12", ("2017/18", "2018/19", "2019/20")),
)

# One clear spike month of deliberate secondary fires: (district, wards, month, extra fires).
FIRE_SPIKES: tuple[tuple[str, tuple[str, ...], str, int], ...] = (
    ("E07000009", ("Soham South", "Soham North"), "2019-04", 32),
    ("E06000055", ("Kempston Central & East",), "2023-04", 28),
)


# --------------------------------------------------------------------------------------------
# Geography (real, from the shipped lookups)
# --------------------------------------------------------------------------------------------

def load_districts(data_dir: Path | None = None) -> list[District]:
    """The four demo districts with their real LSOAs, wards and centroids."""
    root = data_dir if data_dir is not None else demo_data_dir()
    lookups = root / "geography" / "lookups"
    l21 = pd.read_csv(lookups / LOOKUP_2021, encoding="utf-8-sig", dtype=str)
    l11 = pd.read_csv(lookups / LOOKUP_2011, encoding="utf-8-sig", dtype=str)
    cents = pd.read_csv(root / "geography" / "centroids" / CENTROIDS_2021, encoding="utf-8-sig",
                        dtype={"LSOA21CD": str})
    cents = cents.set_index("LSOA21CD")
    census = pd.read_csv(root / "population" / CENSUS_2011, encoding="utf-8-sig", dtype=str)
    census["pop"] = census["Persons"].str.replace(",", "").astype(int)
    lad_pop = census.groupby("Local authority code")["pop"].sum()
    lsoa_pop = census.set_index("LSOA Code")["pop"]

    out: list[District] = []
    for code, vintage, first, last, fys in DISTRICTS:
        if vintage == 2021:
            rows = l21[l21["LAD23CD"] == code].sort_values("LSOA21CD")
            name = str(rows["LAD23NM"].iloc[0])
            lsoa = rows["LSOA21CD"].to_numpy(dtype=str)
            missing = set(lsoa) - set(cents.index)
            if missing:
                raise ValueError(f"no centroid for {sorted(missing)[:5]}")
            east = pd.array(np.round(cents.loc[lsoa, "x"].to_numpy()).astype(int), dtype="Int64")
            north = pd.array(np.round(cents.loc[lsoa, "y"].to_numpy()).astype(int), dtype="Int64")
            frame = pd.DataFrame({"lsoa": lsoa, "ward": rows["WD23NM"].to_numpy(dtype=str),
                                  "base": np.ones(len(lsoa)), "easting": east,
                                  "northing": north})
        else:
            rows = l11[l11["LAD19CD"] == code].sort_values("LSOA11CD")
            name = str(rows["LAD19NM"].iloc[0])
            lsoa = rows["LSOA11CD"].to_numpy(dtype=str)
            pops = lsoa_pop.reindex(lsoa).fillna(lsoa_pop.median()).to_numpy(dtype=float)
            frame = pd.DataFrame({"lsoa": lsoa, "ward": rows["WD19NM"].to_numpy(dtype=str),
                                  "base": pops / pops.mean(),
                                  "easting": pd.array([pd.NA] * len(lsoa), dtype="Int64"),
                                  "northing": pd.array([pd.NA] * len(lsoa), dtype="Int64")})
        if frame.empty:
            raise ValueError(f"district {code} not found in the shipped lookups")
        out.append(District(code, name, vintage, first, last, fys, int(lad_pop[code]),
                            frame.reset_index(drop=True)))
    return out


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def months(first: str, last: str) -> list[tuple[int, int]]:
    y, m = (int(p) for p in first.split("-"))
    ly, lm = (int(p) for p in last.split("-"))
    out = []
    while (y, m) <= (ly, lm):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def days(first: str, last: str) -> pd.DatetimeIndex:
    ly, lm = (int(p) for p in last.split("-"))
    end = f"{last}-{calendar.monthrange(ly, lm)[1]:02d}"
    return pd.date_range(f"{first}-01", end, freq="D")


def fy_start(fy: str) -> int:
    return int(fy[:4])


def population_in(d: District, year: int) -> float:
    """The real 2011 population grown gently (about 0.8% a year) to the given year."""
    return d.population * (1 + 0.008 * (year - 2011))


def hotspot_weights(rng: np.random.Generator, d: District, shape: float) -> np.ndarray:
    """Per-LSOA rates drawn from a gamma distribution: some LSOAs carry far more than others."""
    w = d.lsoas["base"].to_numpy(dtype=float) * rng.gamma(shape, 1.0 / shape, len(d.lsoas))
    return w / w.sum()


def pick(rng: np.random.Generator, options: Sequence[str], probs: Sequence[float],
         n: int) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p / p.sum())]


def clock(rng: np.random.Generator, hour_weights: Sequence[float], n: int) -> list[str]:
    p = np.asarray(hour_weights, dtype=float)
    hours = rng.choice(24, size=n, p=p / p.sum())
    minutes = rng.integers(0, 60, size=n)
    return [f"{h:02d}:{mi:02d}" for h, mi in zip(hours, minutes, strict=True)]


def random_days(rng: np.random.Generator, year: int, month: int, n: int) -> list[date]:
    last = calendar.monthrange(year, month)[1]
    return [date(year, month, int(x)) for x in rng.integers(1, last + 1, size=n)]


def normalised(values: Sequence[float]) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    return a / a.mean()


# Month-of-year profiles (index 0 = January), mean 1.
SECONDARY_SEASON = normalised([0.45, 0.55, 0.9, 1.7, 1.6, 1.5, 1.75, 1.55, 0.95, 0.8, 1.0, 0.45])
PRIMARY_SEASON = normalised([1.1, 1.05, 1.0, 1.0, 0.95, 0.9, 0.9, 0.9, 0.95, 1.0, 1.1, 1.15])
CHIMNEY_SEASON = normalised([2.6, 2.2, 1.5, 0.6, 0.2, 0.1, 0.05, 0.05, 0.2, 0.9, 1.8, 2.5])
VIOLENCE_SEASON = normalised([0.88, 0.85, 0.95, 1.0, 1.08, 1.12, 1.15, 1.1, 1.0, 0.98, 0.95, 0.94])


# --------------------------------------------------------------------------------------------
# The seven files
# --------------------------------------------------------------------------------------------

def make_fire(rng: np.random.Generator, districts: list[District]) -> pd.DataFrame:
    groups = {
        # group: (share of incidents, season, cause probs D/A/U, property types, probs)
        "Primary fire": (0.45, PRIMARY_SEASON, (0.16, 0.74, 0.10),
                         ("Dwelling", "Vehicle", "Non-residential building", "Other outdoor"),
                         (0.52, 0.28, 0.14, 0.06)),
        "Secondary fire": (0.48, SECONDARY_SEASON, (0.35, 0.45, 0.20),
                           ("Grassland", "Refuse", "Other outdoor"), (0.40, 0.38, 0.22)),
        "Chimney fire": (0.07, CHIMNEY_SEASON, (0.0, 0.95, 0.05), ("Dwelling",), (1.0,)),
    }
    hours_primary = [2, 2, 1.5, 1.2, 1, 1, 1.5, 2.5, 3, 3, 3, 3.5, 4, 4, 4, 4, 4.5, 5, 5.5, 5,
                     4.5, 4, 3, 2.5]
    hours_secondary = [1.5, 1, 0.7, 0.5, 0.4, 0.4, 0.5, 0.8, 1, 1.5, 2, 2.5, 3, 3.5, 4.5, 5.5,
                       6.5, 7, 7, 6.5, 5.5, 4.5, 3, 2]
    hours_chimney = [1, 0.5, 0.3, 0.2, 0.2, 0.2, 0.5, 1, 1.5, 1.5, 1.5, 1.5, 2, 2, 2, 2.5, 3.5,
                     4.5, 5, 5, 4.5, 3.5, 2.5, 1.5]
    hours = {"Primary fire": hours_primary, "Secondary fire": hours_secondary,
             "Chimney fire": hours_chimney}
    records: list[dict[str, object]] = []

    def add(d: District, lsoa_idx: np.ndarray | None, when: list[date], times: list[str],
            group: str, causes: np.ndarray, props: np.ndarray, blank: np.ndarray) -> None:
        for i in range(len(when)):
            row = d.lsoas.iloc[int(lsoa_idx[i])] if lsoa_idx is not None else None
            located = row is not None and not blank[i]
            records.append({
                "when": when[i], "CallTime": times[i], "IncidentGroup": group,
                "CauseCode": causes[i], "PropertyType": props[i],
                "LSOA code": row["lsoa"] if located else "",
                "Easting": row["easting"] if located else pd.NA,
                "Northing": row["northing"] if located else pd.NA})

    for d in districts:
        weights = hotspot_weights(rng, d, shape=0.9)
        annual = 250 + 1.2 * d.population / 1000
        year_factor = {y: float(rng.normal(1.0, 0.06)) for y in range(2016, 2026)}
        for (y, m) in months(d.first_month, d.last_month):
            for group, (share, season, cause_p, prop_names, prop_p) in groups.items():
                lam = annual * share / 12 * season[m - 1] * year_factor[y]
                n = int(rng.poisson(lam))
                if n == 0:
                    continue
                causes = pick(rng, ("D", "A", "U"), cause_p, n)
                unknown = causes == "U"
                causes[unknown] = np.where(rng.random(int(unknown.sum())) < 0.3, "NK", "U")
                add(d, rng.choice(len(d.lsoas), size=n, p=weights), random_days(rng, y, m, n),
                    clock(rng, hours[group], n), group, causes,
                    pick(rng, prop_names, prop_p, n), rng.random(n) < 0.015)
        for code, wards, month, extra in FIRE_SPIKES:
            if code != d.code:
                continue
            in_wards = np.flatnonzero(d.lsoas["ward"].isin(wards).to_numpy())
            if len(in_wards) == 0:
                raise ValueError(f"spike wards {wards} not found in {d.name}")
            y, m = (int(p) for p in month.split("-"))
            idx = rng.choice(in_wards, size=extra)
            add(d, idx, random_days(rng, y, m, extra), clock(rng, hours_secondary, extra),
                "Secondary fire", np.full(extra, "D", dtype=object),
                pick(rng, ("Grassland", "Refuse", "Other outdoor"), (0.5, 0.3, 0.2), extra),
                np.zeros(extra, dtype=bool))

    df = pd.DataFrame.from_records(records)
    df = df.sort_values(["when", "CallTime"], kind="mergesort").reset_index(drop=True)
    df["IncidentNumber"] = [f"SYN-F{w.year % 100:02d}-{i + 1:06d}"
                            for i, w in enumerate(df["when"])]
    df["CallDate"] = [w.strftime("%d/%m/%Y") for w in df["when"]]
    df["Easting"] = df["Easting"].astype("Int64")
    df["Northing"] = df["Northing"].astype("Int64")
    return df[COLUMNS[FIRE_FILE]]


def make_ambulance(rng: np.random.Generator, districts: list[District]) -> pd.DataFrame:
    rows = []
    for d in districts:
        level = 1.0
        for fy in d.financial_years:
            level *= float(rng.normal(1.0, 0.05))
            expected = (150 + 2.3 * population_in(d, fy_start(fy)) / 1000) * level
            rows.append([d.code, d.name, fy, int(rng.poisson(expected))])
    return pd.DataFrame(rows, columns=COLUMNS[AMBULANCE_FILE])


def make_istv(rng: np.random.Generator, districts: list[District]) -> pd.DataFrame:
    dow = normalised([0.8, 0.72, 0.78, 0.9, 1.25, 1.65, 1.3])          # Monday .. Sunday
    hours = [6, 5, 4, 3, 2, 1.2, 0.8, 0.7, 0.8, 1, 1.2, 1.5, 1.8, 2, 2.2, 2.5, 3, 3.3, 3.6, 4,
             4.6, 5.5, 6.5, 7]
    ages = (0.06, 0.05, 0.25, 0.27, 0.17, 0.11, 0.05, 0.04)
    frames = []
    for d in districts:
        weights = hotspot_weights(rng, d, shape=0.8)
        annual = 60 + 1.3 * d.population / 1000
        span = days(d.first_month, d.last_month)
        lam = (annual / 365.25 * VIOLENCE_SEASON[span.month.to_numpy() - 1]
               * dow[span.day_of_week.to_numpy()])
        counts = rng.poisson(lam)
        when = np.repeat(span.to_numpy(), counts)
        n = len(when)
        times = clock(rng, hours, n)
        night = np.array([int(t[:2]) >= 20 or int(t[:2]) < 5 for t in times])
        location = np.where(
            night,
            pick(rng, ("Home", "Street", "Licensed premises", "Other"), (0.14, 0.40, 0.28, 0.18),
                 n),
            pick(rng, ("Home", "Street", "Licensed premises", "Other"), (0.32, 0.35, 0.05, 0.28),
                 n))
        lsoa = d.lsoas["lsoa"].to_numpy(dtype=object)[rng.choice(len(d.lsoas), size=n,
                                                                  p=weights)]
        lsoa = np.where(rng.random(n) < 0.6, "", lsoa)
        frames.append(pd.DataFrame({
            "when": when, "ArrivalTime": times,
            "AgeBand": pick(rng, AGE_BANDS, ages, n),
            "Gender": pick(rng, ("M", "F", "U"), (0.70, 0.28, 0.02), n),
            "WeaponCode": rng.choice(np.arange(1, 7), size=n,
                                     p=[0.62, 0.06, 0.05, 0.04, 0.05, 0.18]),
            "AssaultLocation": location, "IncidentLSOA": lsoa, "ResidentDistrict": d.code}))
    df = pd.concat(frames, ignore_index=True)
    df = df.sort_values(["when", "ArrivalTime", "ResidentDistrict"], kind="mergesort")
    df["AttendanceDate"] = pd.to_datetime(df["when"]).dt.strftime("%Y-%m-%d")
    return df[COLUMNS[ISTV_FILE]].reset_index(drop=True)


def make_treatment(rng: np.random.Generator, districts: list[District]) -> pd.DataFrame:
    # substance group: (in treatment per 100,000 people, successful completion rate)
    groups = {"Opiate": (200, 0.05), "Non-opiate only": (45, 0.30),
              "Alcohol only": (110, 0.35), "Alcohol and non-opiate": (50, 0.28)}
    rows = []

    def area(code: str, name: str, pops: dict[str, float]) -> None:
        factors = {g: float(rng.lognormal(0, 0.15)) for g in groups}
        for fy, pop in pops.items():
            for g, (rate, success) in groups.items():
                n = int(rng.poisson(rate * pop / 100_000 * factors[g] * rng.normal(1, 0.04)))
                p = min(0.95, success * float(rng.lognormal(0, 0.12)))
                rows.append([code, name, fy, g, n, int(rng.binomial(n, p))])

    for d in districts:
        area(d.code, d.name, {fy: population_in(d, fy_start(fy)) for fy in d.financial_years})
    cambs_years = [fy for d in districts if d.vintage == 2011 for fy in d.financial_years]
    area(CAMBRIDGESHIRE[0], CAMBRIDGESHIRE[1],
         {fy: CAMBRIDGESHIRE[2] * (1 + 0.008 * (fy_start(fy) - 2019)) for fy in cambs_years})
    all_years = sorted({fy for d in districts for fy in d.financial_years})
    area(ENGLAND[0], ENGLAND[1],
         {fy: ENGLAND[2] * (1 + 0.006 * (fy_start(fy) - 2019)) for fy in all_years})
    return pd.DataFrame(rows, columns=COLUMNS[TREATMENT_FILE])


def make_safe_and_well(rng: np.random.Generator, districts: list[District]) -> pd.DataFrame:
    rows = []
    for d in districts:
        for fy in d.financial_years:
            recovery = 0.85 if fy == "2021/22" else 1.0    # visits still recovering post-Covid
            expected = ((150 + 4.0 * population_in(d, fy_start(fy)) / 1000) * recovery
                        * float(rng.normal(1.0, 0.07)))
            rows.append([d.code, d.name, fy, int(rng.poisson(expected))])
    return pd.DataFrame(rows, columns=COLUMNS[SAFE_WELL_FILE])


OFFENCES = {
    # police.uk crime type: (share of the sample, hate rate, DA rate, cyber rate)
    "Violence and sexual offences": (0.36, 0.030, 0.38, 0.030),
    "Criminal damage and arson": (0.10, 0.020, 0.12, 0.003),
    "Public order": (0.10, 0.100, 0.06, 0.020),
    "Other theft": (0.08, 0.003, 0.02, 0.010),
    "Shoplifting": (0.08, 0.002, 0.00, 0.001),
    "Vehicle crime": (0.08, 0.001, 0.01, 0.001),
    "Burglary": (0.06, 0.003, 0.03, 0.001),
    "Drugs": (0.03, 0.000, 0.00, 0.005),
    "Other crime": (0.03, 0.020, 0.10, 0.200),
    "Possession of weapons": (0.012, 0.005, 0.02, 0.001),
    "Robbery": (0.012, 0.010, 0.01, 0.001),
    "Bicycle theft": (0.015, 0.000, 0.00, 0.001),
    "Theft from the person": (0.011, 0.005, 0.01, 0.002),
}


def make_markers(rng: np.random.Generator, districts: list[District]) -> pd.DataFrame:
    names = list(OFFENCES)
    share = np.array([OFFENCES[k][0] for k in names])
    hate, da, cyber = (np.array([OFFENCES[k][i] for k in names]) for i in (1, 2, 3))
    ages_general = (0.08, 0.05, 0.16, 0.24, 0.19, 0.15, 0.08, 0.05)
    ages_da = (0.02, 0.03, 0.20, 0.33, 0.22, 0.13, 0.05, 0.02)
    frames = []
    for d in districts:
        weights = hotspot_weights(rng, d, shape=0.7)
        annual = 600 + 7.0 * d.population / 1000
        for (y, m) in months(d.first_month, d.last_month):
            n = int(rng.poisson(annual / 12 * VIOLENCE_SEASON[m - 1]))
            kind = rng.choice(len(names), size=n, p=share / share.sum())
            is_da = rng.random(n) < da[kind]
            ages = np.where(is_da, pick(rng, AGE_BANDS, ages_da, n),
                            pick(rng, AGE_BANDS, ages_general, n))
            frames.append(pd.DataFrame({
                "when": random_days(rng, y, m, n),
                "OffenceGroup": np.asarray(names, dtype=object)[kind],
                "LSOA": d.lsoas["lsoa"].to_numpy(dtype=object)[
                    rng.choice(len(d.lsoas), size=n, p=weights)],
                "HateFlag": np.where(rng.random(n) < hate[kind], "Y", "N"),
                "DAFlag": np.where(is_da, "Y", "N"),
                "CyberFlag": np.where(rng.random(n) < cyber[kind], "Y", "N"),
                "VictimAgeBand": ages}))
    df = pd.concat(frames, ignore_index=True)
    df = df.sort_values("when", kind="mergesort").reset_index(drop=True)
    df["CrimeRef"] = [f"SYN-C{w.year % 100:02d}-{i + 1:07d}" for i, w in enumerate(df["when"])]
    df["RecordedDate"] = [w.strftime("%d/%m/%Y") for w in df["when"]]
    return df[COLUMNS[MARKERS_FILE]]


def make_domestic_abuse(rng: np.random.Generator, districts: list[District]) -> pd.DataFrame:
    rows = []
    for d in districts:
        ratio = float(rng.uniform(0.50, 0.58))
        for k, fy in enumerate(d.financial_years):
            incidents = int(rng.poisson((1200 + 12 * population_in(d, fy_start(fy)) / 1000)
                                        * rng.normal(1.0, 0.05)))
            crimes = int(rng.binomial(incidents, min(0.9, ratio * (1.03 ** k))))
            rows.append([d.code, d.name, fy, incidents, crimes])
    return pd.DataFrame(rows, columns=COLUMNS[DA_FILE])


# --------------------------------------------------------------------------------------------
# Writing (byte-stable)
# --------------------------------------------------------------------------------------------

def write_csv(df: pd.DataFrame, path: Path) -> None:
    path.write_bytes(df.to_csv(index=False, lineterminator="\n").encode("utf-8"))


def write_xlsx(df: pd.DataFrame, path: Path, sheet: str, title: str) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append([v.item() if isinstance(v, np.generic) else v for v in row])
    note = wb.create_sheet("About")
    for line in (f"SYNTHETIC DATA: {title}",
                 "Every figure in this workbook is invented by scripts/make_partner_samples.py.",
                 "Real district codes and names are used only as labels; no figure describes any "
                 "real place.",
                 f"The data is on the sheet '{sheet}'."):
        note.append([line])
    wb.properties.creator = "cspkit scripts/make_partner_samples.py"
    wb.properties.title = f"SYNTHETIC - {title}"
    wb.properties.description = "Synthetic sample data: no figure describes any real place."
    wb.properties.created = FIXED_TIMESTAMP
    wb.properties.modified = FIXED_TIMESTAMP
    wb.properties.lastModifiedBy = "cspkit"
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()     # not save_workbook: that stamps "modified"
    # Re-pack with fixed entry timestamps so the bytes do not depend on when this ran.
    stable = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(stable, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_TIMESTAMP)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, src.read(info.filename))
    path.write_bytes(stable.getvalue())


README_TEMPLATE = """\
# SYNTHETIC partner sample data — NOT REAL

> **Every file in this folder is SYNTHETIC.** The numbers were invented by a random generator.
> No figure in any of these files describes any real place, person, incident or organisation.
> Do not quote, publish or rely on them. They exist only so that cspkit's partner loaders, measures
> and reports can be demonstrated and tested end to end.

There is no public partner data (fire, ambulance, hospital, drug and alcohol treatment, ...) for
the demo districts, so these files stand in for it. They are shaped like the real extracts
partners supply, and their orders of magnitude are plausible, but that is all.

## How they were made

Generated by `scripts/make_partner_samples.py` with seed **{seed}**. To regenerate (the output is
byte-identical for the same seed), from the repository root:

```
python scripts/make_partner_samples.py --seed {seed}
```

A test (`tests/scripts/test_make_partner_samples.py`) fails if these files ever drift from a fresh
run of the script. Do not edit them by hand: change the script and re-run it.

## Geography: real codes, invented numbers

The files sit on the **real** geography shipped in `demo_data/geography`:

- Luton (E06000032), Bedford (E06000055), Central Bedfordshire (E06000056): 2021 LSOA codes from
  the ONS LSOA 2021 → ward 2023 → LAD 2023 best-fit lookup; record dates 2021-05-01 .. 2024-04-30;
  financial years 2021/22, 2022/23, 2023/24. Fire Easting/Northing are the ONS 2021 LSOA
  population-weighted centroids.
- East Cambridgeshire (E07000009): 2011 LSOA codes from the ONS LSOA 2011 → ward 2019 lookup;
  record dates 2017-01-01 .. 2019-12-31; financial years 2017/18, 2018/19, 2019/20. Fire
  Easting/Northing are blank (no 2011 centroids are shipped).

Sizes are scaled from the real Census 2011 district populations. Which LSOAs and wards look "high"
is decided by random draws (a gamma-distributed rate per LSOA), not by anything about the place.
The fire spikes (deliberate secondary fires in Soham South / Soham North in April 2019 and in
Kempston Central & East in April 2023) were planted to give the demo something to find.

## Files

| File | Layout | Rows |
|---|---|---|
{table}

- `fire_incidents_SYNTHETIC.csv` — record-level fire incidents: `IncidentNumber`, `CallDate`
  (dd/mm/yyyy), `CallTime`, `IncidentGroup` (Primary / Secondary / Chimney fire), `CauseCode`
  (D / A / U / NK), `PropertyType`, `LSOA code` (blank for a few rows), `Easting`, `Northing`.
- `ambulance_assault_callouts_SYNTHETIC.xlsx`, sheet `Assault callouts` — ambulance callouts to
  assaults per district and financial year.
- `ed_assault_attendances_SYNTHETIC.csv` — record-level emergency department assault attendances
  (ISTV minimum dataset; RESTRICTED layout): date, arrival time, age band, gender, weapon code,
  assault location, incident LSOA (blank for about 60%), resident district.
- `treatment_SYNTHETIC.csv` — drug and alcohol treatment: numbers in treatment and successful
  completions per area, financial year and substance group, with Cambridgeshire county
  (E10000003, East Cambridgeshire years) and England (E92000001, all years) comparator rows.
- `safe_and_well_visits_SYNTHETIC.csv` — fire service safe and well visits per district and
  financial year.
- `police_crime_markers_SYNTHETIC.csv` — record-level sample of crimes with hate, domestic abuse
  and cyber flags and victim age band (RESTRICTED layout). Invented records: they do not
  correspond to any crime in the real police.uk files shipped in `demo_data/police`.
- `domestic_abuse_SYNTHETIC.xlsx`, sheet `By year` — domestic abuse incidents and crimes per
  district and financial year.
"""


def write_readme(out: Path, seed: int, counts: dict[str, int]) -> None:
    table = "\n".join(f"| `{name}` | {', '.join(f'`{c}`' for c in COLUMNS[name])} | "
                      f"{counts[name]:,} |" for name in ALL_FILES)
    text = README_TEMPLATE.format(seed=seed, table=table)
    (out / "README.md").write_bytes(text.encode("utf-8"))


def generate(out: Path, seed: int = DEFAULT_SEED, data_dir: Path | None = None) -> list[Path]:
    """Write all seven synthetic files (and README.md) into `out`; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    districts = load_districts(data_dir)
    streams = np.random.default_rng(seed).spawn(7)
    frames = {
        FIRE_FILE: make_fire(streams[0], districts),
        AMBULANCE_FILE: make_ambulance(streams[1], districts),
        ISTV_FILE: make_istv(streams[2], districts),
        TREATMENT_FILE: make_treatment(streams[3], districts),
        SAFE_WELL_FILE: make_safe_and_well(streams[4], districts),
        MARKERS_FILE: make_markers(streams[5], districts),
        DA_FILE: make_domestic_abuse(streams[6], districts),
    }
    written = []
    for name, df in frames.items():
        path = out / name
        if name == AMBULANCE_FILE:
            write_xlsx(df, path, AMBULANCE_SHEET, "ambulance assault callouts")
        elif name == DA_FILE:
            write_xlsx(df, path, DA_SHEET, "domestic abuse incidents and crimes")
        else:
            write_csv(df, path)
        written.append(path)
    write_readme(out, seed, {name: len(df) for name, df in frames.items()})
    written.append(out / "README.md")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate the SYNTHETIC partner sample files (fire, ambulance, ED assaults, "
                    "treatment, safe and well visits, police crime markers, domestic abuse) on "
                    "the real demo LSOAs and wards. Same seed, byte-identical files.",
        epilog="example: python scripts/make_partner_samples.py --out /tmp/partner --seed 7",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output folder (default: src/cspkit/demo_data/partner in this repo)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed (default: {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    for path in generate(args.out, args.seed):
        print(f"{path.stat().st_size:>10,}  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
