"""The vulnerable-places document: the ranking table equals `vulnerable_places`, the map and
stability are there, and the analyst CSV beside it holds the full ranking."""

from __future__ import annotations

import pandas as pd

from cspkit.measures.periods import calendar_year
from cspkit.measures.places import vulnerable_places
from cspkit.products.places_report import ranking_blocks
from cspkit.products.report.document import Figure, Paragraph, Table


def test_ranking_blocks_match_the_ranking(demo_warehouse):
    period = calendar_year(2023)
    blocks, finding = ranking_blocks(demo_warehouse, "Bedford", period, level="ward")
    ranking = vulnerable_places(demo_warehouse, "Bedford", period, level="ward")
    (table,) = [b for b in blocks if isinstance(b, Table)]
    assert list(table.frame["Ward"]) == list(ranking["name"].head(10))
    assert list(table.frame["Score"]) == list(ranking["score"].head(10).round(1))
    assert [b for b in blocks if isinstance(b, Figure)]
    assert any(isinstance(b, Paragraph) and b.text.startswith("Stability") for b in blocks)
    assert finding and ranking["name"].iloc[0] in finding
    text = next(b.text for b in blocks if isinstance(b, Paragraph))
    assert "criminal damage" in text and "criminal_damage" not in text


def test_places_command_writes_the_document_and_the_analyst_ranking(demo_warehouse_path,
                                                                     tmp_path):
    from typer.testing import CliRunner

    from cspkit.cli import app

    result = CliRunner().invoke(app, ["places", "--db", str(demo_warehouse_path), "--area",
                                      "Bedford", "--level", "lsoa", "--year", "2023", "--out",
                                      str(tmp_path), "--no-pdf"])
    assert result.exit_code == 0, result.output
    assert not result.stdout.strip()       # paths go to stderr; no table without --format
    html = (tmp_path / "places-bedford-lsoa-2023.html").read_text(encoding="utf-8")
    assert "Multi-issue index by LSOA" in html and "<svg" in html
    published = pd.read_csv(tmp_path / "table-01-places-ranking.csv")
    assert list(published.columns) == ["Rank", "LSOA", "Ward", "Score", "Issues flagged",
                                       "Driven by", "provenance"]   # the demo's is synthetic
    analyst = pd.read_csv(tmp_path / "places-bedford-lsoa-2023-analyst.csv")
    assert {"code", "name", "score", "rank", "flags"} <= set(analyst.columns)
    assert len(published) == len(analyst) > 100
    assert list(published["Rank"]) == list(analyst["rank"])


def test_a_ranking_using_synthetic_partner_data_says_so(demo_warehouse, monkeypatch):
    """The demo's index uses the synthetic fire and domestic-abuse samples: its table, map,
    stability sentence and finding carry the label; without them, none does."""
    from cspkit.measures import places

    period = calendar_year(2023)
    blocks, finding = ranking_blocks(demo_warehouse, "Bedford", period, level="ward")
    (table,) = [b for b in blocks if isinstance(b, Table)]
    (figure,) = [b for b in blocks if isinstance(b, Figure)]
    assert table.synthetic and figure.synthetic
    assert any("SYNTHETIC" in note and "deliberate fires" in note for note in table.notes)
    assert any(isinstance(b, Paragraph) and b.kind == "caveat" and "SYNTHETIC" in b.text
               for b in blocks)
    stability = next(b.text for b in blocks if isinstance(b, Paragraph)
                     and b.text.startswith("Stability"))
    assert stability.endswith("(SYNTHETIC sample data)")
    assert finding and finding.endswith(
        "; the index includes SYNTHETIC sample data: deliberate fires, domestic abuse).")

    monkeypatch.setattr(places, "synthetic_sources", lambda con: frozenset())
    blocks, finding = ranking_blocks(demo_warehouse, "Bedford", period, level="ward")
    assert not any(b.synthetic for b in blocks if isinstance(b, Table | Figure))
    assert not any("SYNTHETIC" in b.text for b in blocks if isinstance(b, Paragraph))
    assert finding and "SYNTHETIC" not in finding


def test_the_places_files_are_labelled_and_described(demo_warehouse_path, tmp_path):
    from cspkit.products.places_report import write_places
    from cspkit.store import connect

    con = connect(demo_warehouse_path, read_only=True)
    try:
        paths = write_places(con, "Bedford", calendar_year(2023), tmp_path, level="ward",
                             pdf=False)
    finally:
        con.close()
    published = pd.read_csv(paths["csv:places-ranking"])
    analyst = pd.read_csv(paths["ranking"])
    assert set(published["provenance"]) == set(analyst["provenance"]) == {
        "SYNTHETIC sample data"}
    dictionary = pd.read_csv(paths["dictionary"], keep_default_na=False)
    for path, frame in ((paths["csv:places-ranking"], published), (paths["ranking"], analyst)):
        described = dictionary[dictionary["file"] == path.name]
        assert described["column"].tolist() == list(frame.columns)
        assert described["table"].str.contains("SYNTHETIC DATA").all()
        assert not described["header"].str.contains("_").any()
    html = paths["html"].read_text(encoding="utf-8")
    assert html.count('class="synthetic-label"') >= 4   # table, map, and both in contents


def test_the_printed_ranking_is_published(demo_warehouse, demo_warehouse_path):
    """`cspkit places --format json` prints published figures: the counts 1-4 the exact
    ranking holds are '<5', their rates and flags hidden, and the JSON passes the audit;
    --analyst prints the exact ranking."""
    import json

    from typer.testing import CliRunner

    from cspkit.cli import app
    from cspkit.measures.disclosure_audit import Arithmetic, KnownSum, Rate, audit_table

    exact = vulnerable_places(demo_warehouse, "Bedford", calendar_year(2023), level="ward")
    args = ["places", "--db", str(demo_warehouse_path), "--area", "Bedford", "--year",
            "2023", "--format", "json", "--no-stability"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    published = pd.DataFrame(json.loads(result.stdout))
    assert list(published["code"]) == list(exact["code"])
    counts = [c for c in exact.columns if c.endswith("_count") and c != "deprivation_count"]
    small = [(i, c) for c in counts for i in exact.index if 1 <= exact.at[i, c] <= 4]
    assert small
    for i, column in small:
        stem = column[: -len("_count")]
        assert published.at[i, column] == "<5"
        assert published.at[i, f"{stem}_rate"] == "*" == published.at[i, f"{stem}_flag"]
    # Audited here against arithmetic declared independently: rates from the published
    # population, each column adding up to the district's count.
    spec = Arithmetic(counts=tuple(counts), known_sums=tuple(
        KnownSum(c, int(exact[c].sum())) for c in counts), derived=tuple(
        (f"{c[:-len('_count')]}_rate", Rate(c, "population")) for c in counts))
    text = published.assign(**{c: published[c].astype(str) for c in counts})
    assert audit_table(text, spec) == []
    analyst = CliRunner().invoke(app, [*args, "--analyst"])
    assert analyst.exit_code == 0, analyst.output
    assert pd.DataFrame(json.loads(analyst.stdout))[counts].isin([1, 2, 3, 4]).any().any()


def test_formula_like_place_names_are_neutralised_in_every_csv(demo_warehouse_path, tmp_path,
                                                               monkeypatch):
    """A ward name a spreadsheet would run goes out with a leading quote in the published
    table's CSV and XLSX and in the analyst ranking."""
    from openpyxl import load_workbook

    from cspkit.products import places_report
    from cspkit.store import connect

    real = places_report.vulnerable_places

    def renamed(*args, **kwargs):
        ranking = real(*args, **kwargs)
        ranking.loc[ranking.index[:2], "name"] = ["=HYPERLINK(\"http://x\")", "@SUM(A1)"]
        return ranking

    monkeypatch.setattr(places_report, "vulnerable_places", renamed)
    con = connect(demo_warehouse_path, read_only=True)
    try:
        paths = places_report.write_places(con, "Bedford", calendar_year(2023), tmp_path,
                                           level="ward", pdf=False)
    finally:
        con.close()
    expected = ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)"]
    analyst = pd.read_csv(paths["ranking"], dtype=str)
    assert analyst["name"].tolist()[:2] == expected
    published = pd.read_csv(paths["csv:places-ranking"], dtype=str)
    assert published["Ward"].tolist()[:2] == expected
    book = load_workbook(paths["xlsx"])
    cells = [c for row in book.worksheets[1].iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"]
    assert {c.value for c in cells} >= set(expected)
