"""scripts/make_partner_samples.py: deterministic SYNTHETIC partner files that follow the layouts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from cspkit.demo import demo_data_dir

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_partner_samples.py"
BEDS = {"E06000032", "E06000055", "E06000056"}
EAST_CAMBS = "E07000009"
BEDS_RANGE = ("2021-05-01", "2024-04-30")
CAMBS_RANGE = ("2017-01-01", "2019-12-31")

EXPECTED_COLUMNS = {
    "fire_incidents_SYNTHETIC.csv": ["IncidentNumber", "CallDate", "CallTime", "IncidentGroup", "CauseCode", "PropertyType", "LSOA code", "Easting", "Northing"],
    "ambulance_assault_callouts_SYNTHETIC.xlsx": ["LAD code", "LAD name", "Financial year", "Callouts"],
    "ed_assault_attendances_SYNTHETIC.csv": ["AttendanceDate", "ArrivalTime", "AgeBand", "Gender", "WeaponCode", "AssaultLocation", "IncidentLSOA", "ResidentDistrict"],
    "treatment_SYNTHETIC.csv": ["Area code", "Area name", "Financial year", "Substance group", "In treatment", "Successful completions"],
    "safe_and_well_visits_SYNTHETIC.csv": ["District code", "District", "Financial year", "Visits"],
    "police_crime_markers_SYNTHETIC.csv": ["CrimeRef", "RecordedDate", "OffenceGroup", "LSOA", "HateFlag", "DAFlag", "CyberFlag", "VictimAgeBand"],
    "domestic_abuse_SYNTHETIC.xlsx": ["District code", "District", "Financial year", "DA incidents", "DA crimes"],
}
SHEETS = {"ambulance_assault_callouts_SYNTHETIC.xlsx": "Assault callouts",
          "domestic_abuse_SYNTHETIC.xlsx": "By year"}
AGE_BANDS = {"0-15", "16-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"}
CRIME_TYPES = {"Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs", "Other crime",
               "Other theft", "Possession of weapons", "Public order", "Robbery", "Shoplifting",
               "Theft from the person", "Vehicle crime", "Violence and sexual offences"}


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_partner_samples", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module      # dataclasses look the module up while decorating
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def default_run(script: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("default")
    assert script.main(["--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def lsoa_district() -> dict[str, str]:
    """Each LSOA code of the four demo districts -> its district (2021 codes for Bedfordshire,
    2011 codes for East Cambridgeshire), from the shipped lookups."""
    lookups = demo_data_dir() / "geography" / "lookups"
    l21 = pd.read_csv(lookups / "LSOA_(2021)_to_Electoral_Ward_(2023)_to_LAD_(2023)_Best_Fit_Lookup_in_EW.csv.gz", encoding="utf-8-sig", dtype=str)
    l11 = pd.read_csv(lookups / "Lower_Layer_Super_Output_Area_(2011)_to_Ward_(2019)_Lookup_in_England_and_Wales.csv.gz", encoding="utf-8-sig", dtype=str)
    out = dict(zip(l21["LSOA21CD"], l21["LAD23CD"], strict=True))
    out = {k: v for k, v in out.items() if v in BEDS}
    cambs = l11[l11["LAD19CD"] == EAST_CAMBS]
    out.update(dict(zip(cambs["LSOA11CD"], cambs["LAD19CD"], strict=True)))
    return out


def read(folder: Path, name: str) -> pd.DataFrame:
    if name.endswith(".xlsx"):
        return pd.read_excel(folder / name, sheet_name=SHEETS[name], dtype=str, engine="openpyxl")
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def in_range(dates: pd.Series, district: str) -> bool:
    lo, hi = CAMBS_RANGE if district == EAST_CAMBS else BEDS_RANGE
    return bool(((dates >= pd.Timestamp(lo)) & (dates <= pd.Timestamp(hi))).all())


def test_same_seed_gives_identical_bytes(script: ModuleType, default_run: Path,
                                         tmp_path: Path) -> None:
    script.main(["--out", str(tmp_path), "--seed", str(script.DEFAULT_SEED)])
    assert files(tmp_path) == files(default_run)


def test_different_seed_gives_different_files(script: ModuleType, default_run: Path,
                                              tmp_path: Path) -> None:
    script.main(["--out", str(tmp_path), "--seed", "7"])
    other, base = files(tmp_path), files(default_run)
    assert other.keys() == base.keys()
    for name in EXPECTED_COLUMNS:
        assert other[name] != base[name], name


def test_shipped_files_match_a_fresh_run(default_run: Path) -> None:
    shipped = demo_data_dir() / "partner"
    assert files(shipped) == files(default_run), (
        "demo_data/partner drifted from the script: run python scripts/make_partner_samples.py")


def test_names_and_labels_say_synthetic(default_run: Path) -> None:
    names = sorted(p.name for p in default_run.iterdir())
    assert names == sorted([*EXPECTED_COLUMNS, "README.md"])
    for name in EXPECTED_COLUMNS:
        assert Path(name).stem.endswith("_SYNTHETIC")
    readme = (default_run / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme and "20240501" in readme


def test_exact_columns(default_run: Path) -> None:
    for name, columns in EXPECTED_COLUMNS.items():
        df = read(default_run, name)
        assert list(df.columns) == columns, name
        assert len(df) > 0, name


def test_fire(default_run: Path, lsoa_district: dict[str, str]) -> None:
    df = read(default_run, "fire_incidents_SYNTHETIC.csv")
    assert df["IncidentNumber"].is_unique
    assert set(df["IncidentGroup"]) == {"Primary fire", "Secondary fire", "Chimney fire"}
    assert set(df["CauseCode"]) <= {"D", "A", "U", "NK"}
    assert df["CallTime"].str.fullmatch(r"([01]\d|2[0-3]):[0-5]\d").all()
    dates = pd.to_datetime(df["CallDate"], format="%d/%m/%Y")
    located = df["LSOA code"] != ""
    assert 0 < (~located).sum() < 0.05 * len(df)
    assert df.loc[located, "LSOA code"].isin(lsoa_district.keys()).all()
    district = df["LSOA code"].map(lsoa_district)
    for code in {*BEDS, EAST_CAMBS}:
        assert in_range(dates[district == code], code), code
    assert dates[~located].between(pd.Timestamp(CAMBS_RANGE[0]), pd.Timestamp(BEDS_RANGE[1])).all()
    # Grid references exactly where there is a 2021 LSOA; blank for 2011 LSOAs and blank LSOAs.
    has_xy = df["Easting"] != ""
    assert (has_xy == (df["Northing"] != "")).all()
    assert (has_xy == district.isin(BEDS)).all()


def test_istv(default_run: Path, lsoa_district: dict[str, str]) -> None:
    df = read(default_run, "ed_assault_attendances_SYNTHETIC.csv")
    assert set(df["ResidentDistrict"]) == {*BEDS, EAST_CAMBS}
    assert set(df["AgeBand"]) <= AGE_BANDS
    assert set(df["Gender"]) <= {"M", "F", "U"}
    assert set(df["WeaponCode"]) <= {str(i) for i in range(1, 7)}
    assert set(df["AssaultLocation"]) <= {"Home", "Street", "Licensed premises", "Other"}
    assert 0.5 < (df["IncidentLSOA"] == "").mean() < 0.7
    given = df[df["IncidentLSOA"] != ""]
    assert (given["IncidentLSOA"].map(lsoa_district) == given["ResidentDistrict"]).all()
    dates = pd.to_datetime(df["AttendanceDate"], format="%Y-%m-%d")
    for code in {*BEDS, EAST_CAMBS}:
        assert in_range(dates[df["ResidentDistrict"] == code], code), code


def test_police_markers(default_run: Path, lsoa_district: dict[str, str]) -> None:
    df = read(default_run, "police_crime_markers_SYNTHETIC.csv")
    assert df["CrimeRef"].is_unique
    assert set(df["OffenceGroup"]) <= CRIME_TYPES
    assert df["LSOA"].isin(lsoa_district.keys()).all()
    for flag in ("HateFlag", "DAFlag", "CyberFlag"):
        assert set(df[flag]) <= {"Y", "N"}
    assert set(df["VictimAgeBand"]) <= AGE_BANDS
    dates = pd.to_datetime(df["RecordedDate"], format="%d/%m/%Y")
    district = df["LSOA"].map(lsoa_district)
    for code in {*BEDS, EAST_CAMBS}:
        assert (district == code).any()
        assert in_range(dates[district == code], code), code
    assert 0.12 < (df["DAFlag"] == "Y").mean() < 0.22


def test_aggregates(default_run: Path) -> None:
    fys = {code: {"2021/22", "2022/23", "2023/24"} for code in BEDS}
    fys[EAST_CAMBS] = {"2017/18", "2018/19", "2019/20"}
    for name, code_col in [("ambulance_assault_callouts_SYNTHETIC.xlsx", "LAD code"),
                           ("safe_and_well_visits_SYNTHETIC.csv", "District code"),
                           ("domestic_abuse_SYNTHETIC.xlsx", "District code")]:
        df = read(default_run, name)
        got = df.groupby(code_col)["Financial year"].agg(set).to_dict()
        assert got == fys, name
        assert not df.duplicated([code_col, "Financial year"]).any()
    da = read(default_run, "domestic_abuse_SYNTHETIC.xlsx")
    assert (da["DA crimes"].astype(int) <= da["DA incidents"].astype(int)).all()

    tr = read(default_run, "treatment_SYNTHETIC.csv")
    assert set(tr["Substance group"]) == {"Opiate", "Non-opiate only", "Alcohol only", "Alcohol and non-opiate"}
    assert (tr["Successful completions"].astype(int) <= tr["In treatment"].astype(int)).all()
    years = tr.groupby("Area code")["Financial year"].agg(set).to_dict()
    assert years["E10000003"] == fys[EAST_CAMBS]
    assert years["E92000001"] == fys[EAST_CAMBS] | fys["E06000032"]
    assert not tr.duplicated(["Area code", "Financial year", "Substance group"]).any()


def test_help_has_an_example(script: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        script.main(["--help"])
    assert "example:" in capsys.readouterr().out
