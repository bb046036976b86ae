"""The whole assessment on the shipped data, for a full-year district (Bedford 2023) and a
partial-year one (East Cambridgeshire 2019): the document's numbers agree with the measures, the
HTML opens offline in a real browser, the PDF reads back, every table is exported, and no small
count is published."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cspkit.cli import app
from cspkit.measures.areas import select_area
from cspkit.measures.change import DECREASE, INCREASE, NO_CHANGE
from cspkit.measures.period_change import change
from cspkit.measures.periods import parse_period
from cspkit.products.report.assessment import build_assessment
from cspkit.products.report.document import Document, Paragraph
from tests.products.report.browser import needs_chromium, offline_page


@pytest.fixture(scope="module")
def bedford_out(demo_warehouse_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bedford")
    result = CliRunner().invoke(app, ["assess", "--area", "Bedford", "--year", "2023",
                                      "--out", str(out), "--db", str(demo_warehouse_path)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def bedford_doc(demo_warehouse) -> Document:  # type: ignore[no-untyped-def]
    return build_assessment(demo_warehouse, "Bedford", parse_period("2023"))


@pytest.fixture(scope="module")
def east_cambs_doc(demo_warehouse) -> Document:  # type: ignore[no-untyped-def]
    return build_assessment(demo_warehouse, "East Cambridgeshire", parse_period("2019"),
                            parse_period("2018"))


def paragraphs(doc: Document) -> list[str]:
    return [b.text for s in doc.walk() for b in s.blocks if isinstance(b, Paragraph)]


def test_every_output_is_written(bedford_out: Path):
    html = next(bedford_out.glob("*.html"))
    assert html.name == "strategic-assessment-E06000055-2023.html"
    assert next(bedford_out.glob("*.pdf")).stat().st_size > 50_000
    csvs = sorted(bedford_out.glob("table-*.csv"))
    assert len(csvs) >= 15
    workbook = pd.ExcelFile(bedford_out / "tables.xlsx", engine="calamine")
    assert len(workbook.sheet_names) == len(csvs) + 1   # plus Contents


@pytest.mark.parametrize("area,period,baseline", [("Bedford", "2023", "2022"),
                                                  ("East Cambridgeshire", "2019", "2018")])
def test_the_change_table_is_the_measure(demo_warehouse, bedford_doc, east_cambs_doc, area,
                                         period, baseline):
    doc = bedford_doc if area == "Bedford" else east_cambs_doc
    # The document's family is every category and the all-crime total, tested together at
    # the family's share of the document's error budget (80% of 5%).
    expected = change(demo_warehouse, select_area(demo_warehouse, area), parse_period(period),
                      parse_period(baseline), allow_partial=True, total=True, alpha=0.04)
    expected = expected[~expected["is_total"]].set_index("category")
    table = next(t for t in doc.tables() if t.key == "overall-change").frame.set_index(
        "category")
    assert set(table.index) == set(expected.index)
    # Headers name the months compared (East Cambridgeshire's years share none).
    now_label, before_label = expected["period"].iloc[0], expected["baseline_period"].iloc[0]
    assert (now_label == period) == (area == "Bedford")
    for category, row in expected.iterrows():
        published = table.loc[category]
        for column, value in ((now_label, row["count"]), (before_label, row["baseline_count"])):
            shown = published[column]
            assert shown == ("<5" if 0 < value < 5 else str(value)) or shown == "*"
        assert published["verdict"] == row["verdict"]


def test_words_follow_each_issues_verdict(demo_warehouse, bedford_doc):
    # The category family's share of the document's error budget: 80% of 5%.
    expected = change(demo_warehouse, select_area(demo_warehouse, "Bedford"),
                      parse_period("2023"), parse_period("2022"), total=True, alpha=0.04)
    family = expected
    expected = expected[~expected["is_total"]].set_index("category")
    texts = paragraphs(bedford_doc)
    for category, row in expected.iterrows():
        sentence = next(t for t in texts if t.startswith(f"{category} in Bedford"))
        if row["verdict"] == INCREASE:
            assert "rose significantly" in sentence
        elif row["verdict"] == DECREASE:
            assert "fell significantly" in sentence
        elif row["verdict"] == NO_CHANGE:
            assert "no significant change" in sentence
            assert "rose" not in sentence and "fell" not in sentence
        assert f"{row['count']:,} in 2023" in sentence
    findings = [b.text for s in bedford_doc.walk() for b in s.blocks
                if isinstance(b, Paragraph) and b.kind == "finding"]
    change_findings = [f for f in findings if "significantly:" in f]
    # Exactly the changes surviving Holm across the whole change family are key findings.
    from cspkit.measures.error_control import survivors

    holm = dict(zip(family["category"], survivors(family["p_value"], alpha=0.04),
                    strict=True))
    named = {f.split(" in Bedford")[0] for f in change_findings}
    assert named == {c if c != "All crime (excluding ASB)" else
                     "Police recorded crime (excluding ASB)" for c, keep in holm.items() if keep}
    if not change_findings:
        assert any("No change between the periods was large enough" in f for f in findings)
    # What showed no significant change is said too, naming exactly those issues.
    stable = next(f for f in findings if f.startswith("No significant change since 2022"))
    for category in expected[expected["verdict"] == NO_CHANGE].index:
        assert category in stable


def test_a_partial_year_says_so(east_cambs_doc):
    texts = paragraphs(east_cambs_doc)
    assert any("covers only 4 of the months of 2019" in t for t in texts)
    # 2019 and 2018 share no months held, so no change is stated, and the text says why.
    assert any("No change against" in t and "share no months" in t for t in texts)
    assert not any("significantly" in t and "2018" in t for t in texts)
    assert any("Months missing" in t and "cambridgeshire 2019-03" in t for t in texts)
    assert east_cambs_doc.details["Police data held"] == "2018-03 to 2019-09"


def test_no_published_table_shows_a_count_from_1_to_4(bedford_doc, east_cambs_doc):
    for doc in (bedford_doc, east_cambs_doc):
        for table in doc.tables():
            for column in table.frame.columns:
                if re.fullmatch(r"\d{4}(/\d{2})?|count|lsoas", str(column)):
                    values = {str(v) for v in table.frame[column]}
                    assert not values & {"1", "2", "3", "4"}, (table.key, column)


def test_partner_sections_appear_when_their_data_is_loaded(bedford_doc):
    partners = next(s for s in bedford_doc.walk() if s.key == "partners")
    keys = [s.key for s in partners.subsections]
    assert keys == ["partner-fire", "partner-ambulance", "partner-ed-assaults",
                    "partner-treatment", "partner-safe-and-well", "partner-hate-crime",
                    "partner-domestic-abuse", "partner-cyber"]
    # Every one says its figures are synthetic samples.
    for sub in partners.subsections:
        assert any(isinstance(b, Paragraph) and "SYNTHETIC" in b.text for b in sub.blocks)


def test_partner_data_not_supplied_is_listed(warehouse):
    from cspkit.products.report.partners import partner_section

    section = partner_section(warehouse, None)
    assert section.subsections == []
    text = " ".join(b.text for b in section.blocks if isinstance(b, Paragraph))
    assert "No data supplied for: Fire and rescue incidents" in text and "Cyber crime" in text


def test_local_content_is_included(demo_warehouse, tmp_path):
    from cspkit.products.report.config import load_local_content

    path = tmp_path / "local.yaml"
    path.write_text("priorities: [Night-time economy]\nrecommendations: [Review CCTV]\n"
                    "commentary:\n  drugs: Two county lines were disrupted this year.\n"
                    "sections: [key-findings, priorities, issues, method]\n")
    doc = build_assessment(demo_warehouse, "Luton", parse_period("2023"),
                           local=load_local_content(path))
    assert [s.key for s in doc.sections] == ["key-findings", "priorities", "issues", "method"]
    texts = paragraphs(doc)
    assert any("Night-time economy" in t for t in texts)
    assert "Two county lines were disrupted this year." in texts


@needs_chromium
def test_the_html_in_a_real_browser(bedford_out: Path):
    with offline_page(next(bedford_out.glob("*.html"))) as visit:
        svgs = visit.page.locator("figure svg")
        assert svgs.count() >= 15
        for i in range(svgs.count()):
            box = svgs.nth(i).bounding_box()
            assert box is not None and box["width"] > 50 and box["height"] > 50
            assert svgs.nth(i).locator("path, rect, circle, line").count() > 0
    assert visit.requests == [visit.url], f"requests left the file: {visit.requests[1:]}"
    assert visit.problems == []


def test_the_pdf_reads_back(bedford_out: Path, demo_warehouse):
    from pypdf import PdfReader

    reader = PdfReader(next(bedford_out.glob("*.pdf")))
    assert len(reader.pages) >= 15
    text = "\n".join(page.extract_text() for page in reader.pages)
    for heading in ("Key findings", "Overall crime", "Scanning across issues", "Deprivation",
                    "Data quality and caveats", "Method and sources"):
        assert heading in text
    expected = change(demo_warehouse, select_area(demo_warehouse, "Bedford"),
                      parse_period("2023"), parse_period("2022"), total=True)
    total = int(expected.loc[expected["is_total"], "count"].iloc[0])
    assert f"{total:,} in 2023" in text.replace("\n", " ")
    assert "Open Government Licence" in text


def test_an_unknown_area_is_a_clear_error(demo_warehouse_path: Path, tmp_path: Path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "cspkit.cli", "assess", "--area", "Bedfrod",
                             "--year", "2023", "--out", str(tmp_path), "--db",
                             str(demo_warehouse_path)], capture_output=True, text=True)
    assert result.returncode == 2 and "Did you mean: Bedford" in result.stderr


RESTRICTED_SOURCES = ("istv", "police-markers")


def test_no_record_level_detail_of_restricted_sources_is_published(bedford_out: Path,
                                                                   demo_warehouse):
    """Restricted sources appear only as aggregates: no exact date or record reference of any
    of their records is in the HTML, the PDF or any CSV."""
    from pypdf import PdfReader

    records = demo_warehouse.execute(
        f"SELECT event_date, record_id FROM events WHERE source IN {RESTRICTED_SOURCES}"
    ).fetchall()
    if not records:
        pytest.skip("no restricted partner samples loaded in the demo warehouse")
    dates = {d for d, _ in records if d is not None}
    needles = set()
    for d in dates:
        needles |= {d.isoformat(), d.strftime("%d/%m/%Y"), f"{d.day} {d:%B %Y}"}
    needles |= {r for _, r in records if r}
    html = next(bedford_out.glob("*.html")).read_text(encoding="utf-8")
    pdf = "\n".join(p.extract_text() for p in PdfReader(next(bedford_out.glob("*.pdf"))).pages)
    csvs = "\n".join(p.read_text(encoding="utf-8") for p in bedford_out.glob("table-*.csv"))
    for name, text in (("html", html), ("pdf", pdf), ("csv", csvs)):
        leaked = sorted(n for n in needles if n in text)
        assert not leaked, f"{name} shows record-level detail: {leaked[:5]}"
    # And the restricted tables are there, aggregated, with small counts hidden.
    assert "ED assault attendances by age band and gender" in html
    istv = [p for p in bedford_out.glob("table-*-istv-*.csv")]
    assert istv
    for path in istv:
        table = pd.read_csv(path, dtype=str)
        for column in table.columns[1:]:
            assert not set(table[column].dropna()) & {"1", "2", "3", "4"}


def test_exceptional_months_are_one_family_across_the_document(demo_warehouse, bedford_doc):
    """Every trend chart judges 2023 against its expected range, widened for the 10 charts x
    12 months the document inspects; the sentences say so, and no chart description uses an
    untested direction word or a count of 1-4."""
    trends = [f for f in bedford_doc.figures() if f.key.endswith("-trend")]
    assert len(trends) == 10       # overall, 8 issues, deliberate fires
    for figure in trends:
        assert "limits widened for 120 months inspected" in figure.alt, figure.key
        assert not re.search(r"\b(rose|fell)\b", figure.alt), figure.key
        assert not re.search(r"(highest|lowest) [1-4] ", figure.alt), figure.key
    texts = [t for t in paragraphs(bedford_doc) if "outside the expected range" in t]
    assert len(texts) == 10
    assert all("limits widened for 120 months inspected)" in t for t in texts)
    assert not any("control limits" in t for t in paragraphs(bedford_doc))
    method = next(t for t in paragraphs(bedford_doc) if t.startswith("Exceptional months"))
    assert "120 months" in method and "Bonferroni" in method


def test_bedford_ward_tables_have_no_recoverable_cell(demo_warehouse, bedford_doc):
    """Each ward table's arithmetic declared here, independently of the code that published
    it: change = 2023 - 2022 on every row, and each column adds up to the district's count
    for the issue (published in the overall table). No hidden count may be pinned by them,
    nor by the order of the rows (the audit infers that too)."""
    from cspkit.measures.disclosure_audit import Arithmetic, Difference, KnownSum, audit_table
    from cspkit.products.report.assessment import ISSUES

    bedford = select_area(demo_warehouse, "Bedford")
    district = change(demo_warehouse, bedford, parse_period("2023"), parse_period("2022"),
                      allow_partial=True).set_index("category")
    tables = {t.key: t for t in bedford_doc.tables()}
    audited, with_hidden, leaks = 0, 0, []
    for slug, _, categories in ISSUES:
        table = tables.get(f"{slug}-wards")
        if table is None:
            continue
        present = [c for c in categories if c in district.index]
        spec = Arithmetic(
            counts=("2022", "2023"), derived=(("change", Difference("2023", "2022")),),
            known_sums=(KnownSum("2023", int(district.loc[present, "count"].sum())),
                        KnownSum("2022", int(district.loc[present, "baseline_count"].sum()))))
        leaks += audit_table(table.frame, spec, name=table.key)
        with_hidden += bool((table.frame[["2022", "2023"]] == "<5").any().any())
        audited += 1
    fire = tables["fire-deliberate-wards"]
    leaks += audit_table(fire.frame, Arithmetic(counts=("2022", "2023"), derived=(
        ("change", Difference("2023", "2022")),)), name=fire.key)
    assert audited == 8 and with_hidden >= 4
    assert [str(leak) for leak in leaks] == []


@pytest.mark.parametrize("which", ["bedford", "east_cambs"])
def test_built_documents_pass_the_disclosure_audit(which, bedford_doc, east_cambs_doc):
    """Documents built without being written are audited here; every document written goes
    through `write_document`, which audits it and refuses to write a leak."""
    from cspkit.products.report.render import audit_document

    report = audit_document(bedford_doc if which == "bedford" else east_cambs_doc)
    assert [str(leak) for leak in report.leaks] == []
    # Only tables of ranks, scores, deciles and data coverage declare no counts.
    assert set(report.unchecked) <= {"deprivation-domains", "deprivation-most",
                                     "deprivation-least", "places-ranking", "places-several",
                                     "coverage", "method-families"}


def test_the_method_names_the_geography_editions_the_store_used(bedford_doc, east_cambs_doc):
    # Bedford's police data is on 2021 LSOAs, East Cambridgeshire's on 2011 ones: each
    # document names its own editions, as the warehouse resolved them.
    assert ("Geography editions: the police data for Bedford in 2023 is on the 2021 LSOAs; "
            "ward tables and maps use the 2023 wards (from the ONS best-fit LSOA to ward "
            "lookup); Bedford is the district of the 2023 district edition; deprivation is the "
            "English Indices of Deprivation 2025 (on 2021 LSOAs).") in paragraphs(bedford_doc)
    assert ("Geography editions: the police data for East Cambridgeshire in 2019 is on the "
            "2011 LSOAs; ward tables and maps use the 2019 wards (from the ONS LSOA to ward "
            "lookup); East Cambridgeshire is the district of the 2023 district edition; "
            "deprivation is the English Indices of Deprivation 2019 (on 2011 LSOAs)."
            ) in paragraphs(east_cambs_doc)
