"""Place profiles: the JSON analyst view carries the exact counts of `counts()`; the briefing
publishes no count from 1 to 4."""

from __future__ import annotations

import json
import re
from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest

from cspkit.measures.areas import custom_area, population, select_area
from cspkit.measures.change import compare_counts
from cspkit.measures.counts import ALL_CRIME, ASB, counts
from cspkit.measures.custom_areas import area_from_wards
from cspkit.measures.deprivation import lsoa_deprivation
from cspkit.measures.periods import calendar_year, month_range
from cspkit.measures.series import monthly_series, peak_months
from cspkit.measures.trend import trend_test
from cspkit.products.profile import profile, write_profile

YEAR = 2023


@pytest.fixture(scope="module")
def kempston(demo_warehouse):
    return area_from_wards(demo_warehouse, "Kempston West and North",
                           ["Kempston West", "Kempston North"])


@pytest.fixture(scope="module")
def kempston_profile(demo_warehouse, kempston) -> dict[str, Any]:
    return profile(demo_warehouse, kempston, YEAR)


def test_profile_json_matches_counts(demo_warehouse, kempston, kempston_profile):
    data = json.loads(json.dumps(kempston_profile))   # JSON-ready
    assert data["lsoas"] == list(kempston.lsoas)
    assert data["years"] == [YEAR - 2, YEAR - 1, YEAR]
    assert data["parents"]["district"]["name"] == "Bedford"
    expected = counts(demo_warehouse, kempston, calendar_year(YEAR), total=True)
    issues = {i["category"]: i for i in data["issues"]}
    for row in expected.itertuples():
        issue = issues[row.category]
        assert issue["count"] == row.count
        assert issue["rate_per_1000"] == pytest.approx(row.rate_per_1000)
        assert issue["counts_by_year"][str(YEAR)] == row.count
        assert issue["change"]["count"] == row.count
    before = counts(demo_warehouse, kempston, calendar_year(YEAR - 1), total=True)
    for row in before.itertuples():
        assert issues[row.category]["change"]["baseline_count"] == row.count
    verdicts = {"significantly higher", "significantly lower", "no significant difference",
                "too few to tell"}
    assert all(i["vs_district"] in verdicts for i in data["issues"])
    assert set(data["stands_out_on"]) == {i["category"] for i in data["issues"]
                                          if i["vs_district"] == "significantly higher"
                                          and not i["is_total"]}
    assert {r["code"] for r in data["deprivation"]["lsoas"]} == set(kempston.lsoas)
    assert len(data["asb"]["seasonality"]) == 12


def _by_category(frame, column="count"):
    return dict(zip(frame["category"], frame[column], strict=True))


def test_profile_comparisons_match_each_area_counted_on_its_own(demo_warehouse, kempston,
                                                                 kempston_profile):
    """The profile counts every place in one batch; here each is counted on its own with
    `counts`, `population`, `compare_counts`, `monthly_series` and `lsoa_deprivation`."""
    con, data = demo_warehouse, kempston_profile
    period = calendar_year(YEAR)
    issues = {i["category"]: i for i in data["issues"]}
    bedford = select_area(con, "Bedford")
    district = counts(con, bedford, period, total=True)
    for row in district.itertuples():
        assert issues[row.category]["district_rate_per_1000"] == pytest.approx(row.rate_per_1000)
    # The rest of Bedford, as its own custom area, and the test of the area against it.
    rest_codes = [c for (c,) in con.execute(
        "SELECT lsoa_code FROM lsoa_geography WHERE lad_code = ? AND lsoa_vintage = '2021'",
        [bedford.code]).fetchall() if c not in set(kempston.lsoas)]
    rest = custom_area(con, "rest of Bedford", rest_codes)
    rest_counts = _by_category(counts(con, rest, period, total=True))
    rest_pop = population(con, rest, YEAR).persons
    area_pop = population(con, kempston, YEAR).persons
    assert data["district"]["rest_population"] == pytest.approx(rest_pop)
    tested = 0
    for category, issue in issues.items():
        result = compare_counts(issue["count"], int(rest_counts.get(category, 0)), area_pop,
                                rest_pop)
        assert issue["vs_district_p_value"] == pytest.approx(result.p_value), category
        tested += 1
    assert tested >= 10
    # Similar-sized wards: the mean of their own rates (0 where a ward had none).
    assert len(data["peers"]) >= 3
    peer_frames = [counts(con, select_area(con, p["code"]), period, total=True)
                   for p in data["peers"]]
    for category, issue in issues.items():
        rates = [_by_category(f, "rate_per_1000").get(category, 0.0) for f in peer_frames]
        assert issue["peer_rate_per_1000"] == pytest.approx(sum(rates) / len(rates), abs=1e-3)
    # The force (Bedford is a unitary authority: no county): all crime as `counts` gives it.
    assert set(data["parents"]) == {"district", "force"}
    for role in ("force",):
        place = data["parents"][role]
        frame = counts(con, select_area(con, place["code"]), period, total=True)
        total = frame[frame["category"] == ALL_CRIME].iloc[0]
        assert place["count"] == total["count"]
        assert place["rate_per_1000"] == pytest.approx(total["rate_per_1000"])
    assert data["parents"]["district"]["count"] == _by_category(district)[ALL_CRIME]
    # ASB peaks of the year, and local deciles within Bedford.
    series = monthly_series(con, kempston, category=ASB, period=period)
    assert data["asb"]["peak_months"] == [m.strftime("%Y-%m") for m in peak_months(series)]
    local = _by_category(lsoa_deprivation(con, bedford).rename(
        columns={"lsoa_code": "category"}), "local_decile")
    assert {r["code"]: r["local_decile"] for r in data["deprivation"]["lsoas"]} == {
        c: local[c] for c in kempston.lsoas}


def test_profile_pooled_peers_trend_and_part_years(demo_warehouse, kempston, kempston_profile):
    """The similar wards pooled into one custom area and tested with `compare_counts`; the
    trend over three years by `trend_test` with each year's months; 2021 holds May-December
    only (the Bedfordshire extract begins in May 2021)."""
    con, data = demo_warehouse, kempston_profile
    assert data["months_by_year"] == {"2021": 8, "2022": 12, "2023": 12}
    peer_codes = [p["code"] for p in data["peers"]]
    pooled_lsoas = [c for (c,) in con.execute(
        f"""SELECT DISTINCT lsoa_code FROM lsoa_geography WHERE lsoa_vintage = '2021'
            AND ward_code IN ({", ".join("?" for _ in peer_codes)})""", peer_codes).fetchall()
        if c not in set(kempston.lsoas)]
    pooled = custom_area(con, "pooled", pooled_lsoas)
    pooled_counts = _by_category(counts(con, pooled, calendar_year(YEAR), total=True))
    pooled_pop = population(con, pooled, YEAR).persons
    area_pop = population(con, kempston, YEAR).persons
    for issue in data["issues"]:
        peers = issue["comparisons"]["peers"]
        result = compare_counts(issue["count"], int(pooled_counts.get(issue["category"], 0)),
                                area_pop, pooled_pop)
        assert peers["p_value"] == pytest.approx(result.p_value), issue["category"]
        assert peers["rate_per_1000"] == pytest.approx(
            1000 * pooled_counts.get(issue["category"], 0) / pooled_pop, abs=1e-3)
        years = [str(y) for y in data["years"]]
        pops = [population(con, kempston, int(y)).persons for y in years]
        scored = trend_test([issue["counts_by_year"][y] for y in years],
                            [pop * data["months_by_year"][y] / 12
                             for pop, y in zip(pops, years, strict=True)])
        expected = _monthly_trend_p(con, kempston, issue["category"], data["years"], pops,
                                    scored.p_value)
        # (two IRLS fits agree to their convergence tolerance)
        assert issue["trend"]["p_value"] == pytest.approx(expected, rel=1e-4)
        for y, pop in zip(years, pops, strict=True):
            assert issue["rates_by_year"][y] == pytest.approx(
                1000 * issue["counts_by_year"][y] / pop, abs=1e-3)
    # Trend verdicts are decided across the issues (Benjamini-Hochberg).
    from cspkit.measures.error_control import adjust

    tested = [i for i in data["issues"] if i["trend"]["verdict"] not in
              ("too few to tell", "too few years to tell")]
    q = adjust([i["trend"]["p_value"] for i in tested])
    for issue, q_value in zip(tested, q, strict=True):
        assert (issue["trend"]["verdict"] in ("rising", "falling")) == (q_value < 0.05)
    # The trend figures month by month: every covered month, all crime and ASB.
    assert len(data["trend"]) == 32
    total = next(i for i in data["issues"] if i["is_total"])
    assert sum(m[ALL_CRIME] for m in data["trend"] if m["month"].startswith(str(YEAR))) == (
        total["count"])


def test_profile_of_a_ward_equals_the_profile_of_its_lsoas(demo_warehouse):
    con = demo_warehouse
    ward = select_area(con, "E05014507")   # Kempston West, 2023 wards
    assert ward.level == "ward"
    named = profile(con, ward, YEAR)
    lsoas = custom_area(con, "Kempston West LSOAs", named["lsoas"])
    custom = profile(con, lsoas, YEAR)
    keys = ("count", "rate_per_1000", "counts_by_year", "district_rate_per_1000",
            "vs_district", "change")
    assert [{k: i[k] for k in keys} for i in named["issues"]] == [
        {k: i[k] for k in keys} for i in custom["issues"]]
    assert named["population"]["persons"] == custom["population"]["persons"]
    expected = _by_category(counts(con, ward, calendar_year(YEAR), total=True))
    assert {i["category"]: i["count"] for i in named["issues"] if i["count"]} == expected


class _Tables(HTMLParser):
    """Cell texts of each <table>, keyed by its caption."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[str]] = {}
        self._caption: str | None = None
        self._cells: list[str] | None = None
        self._text: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._cells, self._caption = [], ""
        elif tag in ("caption", "td") and self._cells is not None:
            self._in, self._text = tag, []

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in and self._cells is not None:
            text = "".join(self._text).strip()
            if tag == "caption":
                self._caption = text
            else:
                self._cells.append(text)
            self._in = None
        elif tag == "table" and self._cells is not None:
            self.tables[self._caption or ""] = self._cells
            self._cells = None


def test_write_profile_html_and_json(demo_warehouse, kempston, tmp_path):
    paths, exact = write_profile(demo_warehouse, kempston, YEAR, tmp_path,
                                 fmt={"html", "json"})
    assert "pdf" not in paths and "analyst-json" not in paths
    assert paths["html"].exists() and paths["json"].exists()
    data = json.loads(paths["json"].read_text())
    assert data["name"] == "Kempston West and North"
    small = [i["category"] for i in exact["issues"] if 1 <= i["count"] <= 4]
    assert small, "the demo area should have small counts to suppress"
    # The JSON beside the briefing is published: those counts hidden, and their rates.
    published = {i["category"]: i for i in data["issues"]}
    for category in small:
        assert published[category]["count"] == "<5"
        assert published[category]["rate_per_1000"] == "*"
    shown = [v for i in data["issues"] for v in i["counts_by_year"].values()]
    shown += [m[k] for m in data["trend"] for k in m if k != "month"]
    assert not [v for v in shown if isinstance(v, int) and 1 <= v <= 4]
    parser = _Tables()
    parser.feed(paths["html"].read_text(encoding="utf-8"))
    issue_tables = [cells for caption, cells in parser.tables.items()
                    if "Crime and ASB in" in caption]
    assert len(issue_tables) == 1
    cells = issue_tables[0]
    assert cells
    assert not [c for c in cells if re.fullmatch(r"[1-4]", c)]
    assert "<5" in cells
    html = paths["html"].read_text(encoding="utf-8")
    assert "Figure 2" in html   # ASB chart and map


def test_write_profile_pdf(demo_warehouse, tmp_path):
    area = area_from_wards(demo_warehouse, "Kempston West", ["Kempston West"])
    paths, _ = write_profile(demo_warehouse, area, YEAR, tmp_path)
    assert {"html", "pdf", "json", "xlsx"} <= set(paths)
    assert paths["pdf"].read_bytes().startswith(b"%PDF")
    assert paths["json"].name == "kempston-west.json"


def test_published_profile_hides_what_would_reveal_a_small_count(kempston_profile):
    """Every figure computed from a hidden count is hidden with it; the months of a year
    cannot be subtracted from its total; the result passes the audit (published_profile
    runs it) and the audit catches a figure put back."""
    from cspkit.measures.disclosure_audit import DisclosureLeak
    from cspkit.products.profile import audit_profile_json, published_profile

    data = published_profile(kempston_profile)
    exact = {i["category"]: i for i in kempston_profile["issues"]}
    for issue in data["issues"]:
        hidden = [y for y, v in issue["counts_by_year"].items() if isinstance(v, str)]
        for y in hidden:
            assert issue["rates_by_year"][y] == "*"
        if str(YEAR) in hidden:
            assert issue["rate_per_1000"] == "*" and issue["vs_district_p_value"] == "*"
            assert all(e["p_value"] == "*" for e in issue["comparisons"].values())
        if hidden:
            assert issue["trend"]["p_value"] == "*"
        if not isinstance(issue["change"]["count"], int):
            assert issue["change"]["pct_change"] == "*"
        shown = [v for v in issue["counts_by_year"].values() if isinstance(v, int)]
        assert shown == [v for y, v in exact[issue["category"]]["counts_by_year"].items()
                         if isinstance(issue["counts_by_year"][y], int)]
    leaky = json.loads(json.dumps(data))
    victim = next(i for i in leaky["issues"] if i["rate_per_1000"] == "*")
    victim["rate_per_1000"] = exact[victim["category"]]["rate_per_1000"]
    with pytest.raises(DisclosureLeak, match=victim["category"]):
        audit_profile_json(leaky)


def test_profile_command_json_contract(demo_warehouse_path):
    import json

    from typer.testing import CliRunner

    from cspkit.cli import app

    result = CliRunner().invoke(app, ["profile", "--db", str(demo_warehouse_path), "--name",
                                      "Kempston", "--wards", "Kempston West,Kempston North",
                                      "--year", "2023", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["lsoas"]) == 6 and all(c.startswith("E01") for c in data["lsoas"])
    assert {"category", "count", "rate_per_1000"} <= set(data["issues"][0])
    assert "<5" in {i["count"] for i in data["issues"]} and "published" in data
    # --analyst: the exact figures, small counts included.
    exact = CliRunner().invoke(app, ["profile", "--db", str(demo_warehouse_path), "--name",
                                     "Kempston", "--wards", "Kempston West,Kempston North",
                                     "--year", "2023", "--format", "json", "--analyst"])
    assert exact.exit_code == 0, exact.output
    counts = {i["count"] for i in json.loads(exact.stdout)["issues"]}
    assert counts & {1, 2, 3, 4} and "<5" not in counts


def _cli(*args: str):
    from typer.testing import CliRunner

    from cspkit.cli import app

    return CliRunner().invoke(app, list(args))


def test_profile_command_polygon_rules_and_out(demo_warehouse, demo_warehouse_path, tmp_path):
    import shapely

    rows = demo_warehouse.execute(
        "SELECT geometry_wkb FROM area_geometry WHERE level = 'ward' AND code IN (?, ?)",
        ["E05014507", "E05014505"]).fetchall()
    shape = shapely.unary_union([shapely.from_wkb(bytes(r[0])) for r in rows]).buffer(1e-6)
    path = tmp_path / "kempston.geojson"
    path.write_text(json.dumps({"type": "Feature", "properties": {},
                                "geometry": json.loads(shapely.to_geojson(shape))}))
    db = str(demo_warehouse_path)
    by_share = _cli("profile", "--db", db, "--name", "K", "--polygon", str(path), "--rule",
                    "area-share", "--threshold", "0.9", "--year", "2023", "--format", "json")
    assert by_share.exit_code == 0, by_share.output
    data = json.loads(by_share.stdout)
    assert "90%" in data["rule"] and data["rule_id"] == "area-share"
    assert all(data["shares"][c] >= 0.9 for c in data["lsoas"])
    # --out writes the briefing and prints the paths, not the JSON
    out = _cli("profile", "--db", db, "--name", "Kempston", "--wards",
               "Kempston West,Kempston North", "--district", "Bedford", "--out",
               str(tmp_path / "brief"), "--no-pdf")
    assert out.exit_code == 0, out.output
    assert "html:" in out.output and not out.stdout.strip()   # paths go to stderr
    written = json.loads((tmp_path / "brief" / "kempston.json").read_text())
    assert written["rule"] == "the 6 LSOAs of the wards Kempston West, Kempston North"
    assert not (tmp_path / "brief" / "kempston.pdf").exists()
    bad = _cli("profile", "--db", db, "--name", "K", "--polygon", str(path), "--rule",
               "nearest")
    # (`cspkit`'s entry point turns this error into exit status 2 and a one-line message)
    assert bad.exit_code != 0 and "--rule must be one of" in str(bad.exception)


def test_crime_map_hides_small_counts_and_the_one_that_would_give_them_away(
        demo_warehouse, kempston, kempston_profile):
    """With a threshold of 40 one LSOA (33 crimes) is below it; as the total is published,
    a second LSOA must be hidden too, or the first could be worked out by subtraction."""
    from cspkit.measures.disclosure import DisclosurePolicy
    from cspkit.measures.settings import Settings
    from cspkit.products.profile import _crime_map

    con = demo_warehouse
    by_lsoa = dict(con.execute(
        f"""SELECT e.lsoa_code, count(*) FROM events e WHERE e.source = 'police.uk'
            AND e.category <> 'Anti-social behaviour' AND year(e.month) = 2023
            AND e.lsoa_code IN ({", ".join("?" for _ in kempston.lsoas)}) GROUP BY 1""",
        list(kempston.lsoas)).fetchall())
    small = [c for c, n in by_lsoa.items() if n < 40]
    assert len(small) == 1
    policy = DisclosurePolicy.from_settings(Settings(suppress_below=40,
                                                     suppression_label="<40"))
    _, figure = _crime_map(con, kempston_profile, policy)
    hidden_part = figure.alt.split("Not shown (grey): ")[1]
    names = dict(con.execute("SELECT code, name FROM areas WHERE level = 'lsoa'").fetchall())
    assert names[small[0]] in hidden_part
    assert hidden_part.count("Bedford") == 2
    shown = [int(n) for n in re.findall(r"\((\d+)\)", figure.alt)]
    assert shown and min(shown) >= 40
    assert f'"value":{by_lsoa[small[0]]}' not in figure.svg.replace(" ", "")


def test_profile_of_an_area_across_two_districts(demo_warehouse):
    """Three Bedford LSOAs and two of Central Bedfordshire: compared with Bedford (most of
    it), whose rest leaves out only its own three; the other two have no local decile."""
    con = demo_warehouse
    bedford = ["E01017453", "E01017454", "E01017455"]
    central = ["E01017371", "E01017372"]
    area = custom_area(con, "Straddle", bedford + central)
    data = profile(con, area, YEAR)
    assert data["district"]["name"] == "Bedford"
    in_bedford = con.execute(
        "SELECT count(*) FROM lsoa_geography WHERE lad_name = 'Bedford' "
        "AND lsoa_vintage = '2021'").fetchone()[0]
    assert data["district"]["rest_lsoas"] == in_bedford - 3
    local = {r["code"]: r["local_decile"] for r in data["deprivation"]["lsoas"]}
    assert all(isinstance(local[c], int) for c in bedford)
    assert all(local[c] is None for c in central)
    expected = _by_category(counts(con, area, calendar_year(YEAR), total=True))
    assert {i["category"]: i["count"] for i in data["issues"] if i["count"]} == expected


def test_profile_change_equals_change_measure(demo_warehouse, kempston, kempston_profile):
    """The profile tests this year against last from its own counts; `change` (its own query)
    must give the same counts, p-values and verdicts, the all-crime total included once."""
    from cspkit.measures.period_change import change

    expected = change(demo_warehouse, kempston, calendar_year(YEAR), calendar_year(YEAR - 1),
                      allow_partial=True, total=True)
    assert (expected["category"] == ALL_CRIME).sum() == 1
    issues = {i["category"]: i["change"] for i in kempston_profile["issues"]}
    for row in expected.itertuples():
        got = issues[row.category]
        assert (got["count"], got["baseline_count"]) == (row.count, row.baseline_count)
        assert got["p_value"] == pytest.approx(row.p_value)
        assert got["verdict"] == row.verdict


def test_profile_of_all_a_districts_lsoas_equals_the_districts(demo_warehouse):
    con = demo_warehouse
    bedford = select_area(con, "Bedford")
    codes = [c for (c,) in con.execute(
        "SELECT lsoa_code FROM lsoa_geography WHERE lad_code = ? AND lsoa_vintage = '2021'",
        [bedford.code]).fetchall()]
    named = profile(con, bedford, YEAR)
    custom = profile(con, custom_area(con, "All of Bedford", codes), YEAR)
    keys = ("category", "count", "rate_per_1000", "counts_by_year", "rates_by_year", "change")
    assert [{k: i[k] for k in keys} for i in named["issues"]] == [
        {k: i[k] for k in keys} for i in custom["issues"]]
    # The published mid-2022 estimate, the nearest held to the profile's year.
    assert named["population"]["persons"] == custom["population"]["persons"] == 187_466


def _monthly_trend_p(con, area, category, years, pops, score_p):
    """An independent fit of the monthly trend: the monthly counts from `monthly_counts`,
    statsmodels' formula GLM with calendar month as a factor and Pearson scale, never below
    the yearly score test; the score test alone without extra variation or enough months."""
    import numpy as np
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    from scipy.stats import t

    from cspkit.measures.series import monthly_counts

    frame = monthly_counts(con, area, category=category,
                           period=month_range(date(years[0], 1, 1), date(years[-1], 12, 1)))
    frame = frame.assign(t=[m.year - years[0] for m in frame["month"]],
                         cal=[m.month for m in frame["month"]])
    frame = frame[frame.groupby("cal")["count"].transform("sum") > 0]
    frame["offset"] = np.log([pops[k] / 12 for k in frame["t"]])
    df = len(frame) - frame["cal"].nunique() - 1
    if df < 6:
        return score_p
    fit = smf.glm("count ~ C(cal) + t", frame, family=sm.families.Poisson(),
                  offset=frame["offset"]).fit(scale="X2")
    if fit.scale <= 1:
        return score_p
    return max(2 * t.sf(abs(fit.params["t"] / fit.bse["t"]), df), score_p)


def test_a_year_whose_previous_year_holds_no_data_states_no_change(demo_warehouse, kempston):
    # Bedfordshire's data begins in May 2021: 2020 holds nothing to compare with.
    data = profile(demo_warehouse, kempston, 2021)
    for issue in data["issues"]:
        assert issue["change"]["verdict"] == "not compared", issue["category"]
        assert "holds no months of 2020" in issue["change"]["comparison_note"]
        assert issue["change"]["period"] == "May–Dec 2021"
