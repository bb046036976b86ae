"""The assessment for a reader who may not see restricted partner sources: everything drawn
from them is left out, and the document says so in words; other sections are unchanged."""

from __future__ import annotations

import pytest

from cspkit.measures.periods import parse_period
from cspkit.products.report.assessment import WITHHELD_NOTE, build_assessment
from cspkit.products.report.document import Document, Paragraph, Section
from cspkit.products.web.blocks import section_json
from cspkit.store.ingest_log import restricted_sources

RESTRICTED_SECTIONS = {"partner-ed-assaults", "partner-hate-crime", "partner-cyber"}


def _keys(section: Section) -> set[str]:
    return {section.key} | {k for s in section.subsections for k in _keys(s)}


def _texts(section: Section) -> list[str]:
    return ([b.text for b in section.blocks if isinstance(b, Paragraph)]
            + [t for s in section.subsections for t in _texts(s)])


def _without_svg(value: object) -> object:
    """A section's JSON without the charts' markup (which carries generated element ids)."""
    if isinstance(value, dict):
        return {k: _without_svg(v) for k, v in value.items() if k != "svg"}
    if isinstance(value, list):
        return [_without_svg(v) for v in value]
    return value


def _section(doc: Document, key: str) -> Section:
    return next(s for s in doc.sections if s.key == key)


@pytest.fixture(scope="module")
def withheld_doc(demo_warehouse) -> Document:  # type: ignore[no-untyped-def]
    return build_assessment(demo_warehouse, "Bedford", parse_period("2023"),
                            withheld=restricted_sources(demo_warehouse))


def test_demo_holds_the_restricted_sources(demo_warehouse) -> None:  # type: ignore[no-untyped-def]
    assert restricted_sources(demo_warehouse) == {"istv", "police-markers"}


def test_restricted_sections_are_left_out_and_said_to_be(withheld_doc: Document) -> None:
    partners = _section(withheld_doc, "partners")
    assert not _keys(partners) & RESTRICTED_SECTIONS
    assert {"partner-fire", "partner-domestic-abuse"} <= _keys(partners)
    assert any("withheld for this reader" in t for t in _texts(partners))
    findings = _section(withheld_doc, "key-findings")
    assert WITHHELD_NOTE in _texts(findings)
    # Nothing published names them: no ISTV or marker table, and the places index drops the
    # issue scored from police markers (domestic abuse).
    text = str([section_json(s) for s in withheld_doc.sections])
    assert "istv" not in text.lower() and "hate crime" not in text.lower()
    places = " ".join(_texts(_section(withheld_doc, "places")))
    assert "Issues in the index:" in places and "domestic abuse" not in places


def test_the_police_sections_do_not_change(withheld_doc: Document,
                                           demo_warehouse) -> None:  # type: ignore[no-untyped-def]
    full = build_assessment(demo_warehouse, "Bedford", parse_period("2023"))
    assert _keys(_section(full, "partners")) >= RESTRICTED_SECTIONS
    assert WITHHELD_NOTE not in _texts(_section(full, "key-findings"))
    for key in ("overall-crime", "issues"):
        assert (_without_svg(section_json(_section(full, key)))
                == _without_svg(section_json(_section(withheld_doc, key))))
