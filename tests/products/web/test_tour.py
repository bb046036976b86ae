"""The whole dashboard as a reader meets it: every page, as the public and signed in as a
partner, at 1280x800 and at 390 px wide, in Debian's Chromium (one launch per width). Each page
answers 200, has one <h1> and a <title> that names it, asks nothing of any host but 127.0.0.1,
logs no console error, passes axe without a serious violation, does not scroll sideways on a
phone, gives every chart and map a text alternative, and lets Tab reach its first control with
a visible focus style. Full-page screenshots are kept as tour-*.png."""

from __future__ import annotations

from typing import Any

from tests.products.report.browser import needs_chromium
from tests.products.web.browser import DESKTOP, PHONE, Browse, browse
from tests.products.web.users import login

BEDFORD = "E06000055"
HARPUR = "E05014502"
GREYFRIARS = "E05014501"
SITE = "cspkit dashboard"

PAGES = [
    ("overview", f"/?area={BEDFORD}&period=2023"),
    ("explorer", f"/explorer?area={BEDFORD}&period=2023&issue=burglary&level=ward"),
    ("places", f"/places?area={BEDFORD}&period=2023"),
    ("profile", f"/places/{HARPUR}?year=2023"),
    ("custom-area", f"/custom-area?area={BEDFORD}&ward={GREYFRIARS}&ward={HARPUR}&year=2023"),
    ("reports", f"/reports?area={BEDFORD}&period=2023"),
    ("data", "/data"),
    ("login", "/login"),
]

# Every <svg> outside a labelled image must name itself (aria-label, aria-labelledby or a
# <title>) or sit in a <figure> with a caption; decorative ones are aria-hidden.
UNLABELLED_SVGS = """() => [...document.querySelectorAll('svg')]
  .filter(s => !s.parentElement.closest('svg'))
  .filter(s => !s.closest('[aria-hidden="true"]'))
  .filter(s => {
    const img = s.closest('[role="img"]');
    if (img && (img.getAttribute('aria-label') || img.getAttribute('aria-labelledby'))) return false;
    if (s.getAttribute('aria-label') || s.getAttribute('aria-labelledby')) return false;
    if (s.querySelector(':scope > title') && s.querySelector(':scope > title').textContent.trim()) return false;
    const fig = s.closest('figure');
    return !(fig && fig.querySelector('figcaption') && fig.querySelector('figcaption').textContent.trim());
  })
  .map(s => (s.getAttribute('class') || 'svg') + ' in ' + (s.parentElement.id || s.parentElement.className))"""

FIRST_CONTROL = """() => {
  const visible = e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
  const all = [...document.querySelectorAll(
    'main input:not([type=hidden]), main select, main textarea, main button')];
  const target = all.find(e => visible(e) && !e.disabled);
  if (!target) return null;
  target.setAttribute('data-tour-target', '');
  return target.outerHTML.slice(0, 80);
}"""

FOCUS_STYLE = """() => {
  const e = document.activeElement;
  if (!e || !e.hasAttribute('data-tour-target')) return null;
  const s = getComputedStyle(e);
  return {outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0,
          shadow: s.boxShadow !== 'none'};
}"""


def _check(b: Browse, name: str, path: str, phone: bool) -> list[str]:
    """Everything wrong with one page, as lines naming the page."""
    found: list[str] = []
    response = b.go(path)
    b.page.wait_for_load_state("networkidle")
    if response.status != 200:
        found.append(f"HTTP {response.status}")
    headings = b.page.locator("h1")
    if headings.count() != 1:
        found.append(f"{headings.count()} <h1>")
    else:
        h1 = headings.inner_text().strip()
        title = b.page.title()
        if not h1 or title != f"{h1} · {SITE}":
            found.append(f"title {title!r} for h1 {h1!r}")
    if phone and b.page.evaluate(
            "document.documentElement.scrollWidth > window.innerWidth"):
        width = b.page.evaluate("document.documentElement.scrollWidth")
        found.append(f"scrolls sideways: {width} px wide")
    found += [f"svg without a text alternative: {s}" for s in b.page.evaluate(UNLABELLED_SVGS)]
    found += b.serious_violations()
    target = b.page.evaluate(FIRST_CONTROL)
    if target is not None:
        b.page.evaluate("document.activeElement && document.activeElement.blur()")
        style = None
        for _ in range(120):     # past the navigation and any map's links
            b.page.keyboard.press("Tab")
            style = b.page.evaluate(FOCUS_STYLE)
            if style is not None:
                break
        if style is None:
            found.append(f"Tab never reaches {target}")
        elif not (style["outline"] or style["shadow"]):
            found.append(f"no visible focus on {target}")
    b.page.evaluate("document.activeElement && document.activeElement.blur(); "
                    "window.scrollTo(0, 0)")
    b.screenshot(f"tour-{'phone' if phone else 'desktop'}-{name}")
    return [f"{name}: {line}" for line in found]


def _tour(b: Browse, who: str, phone: bool) -> list[str]:
    found: list[str] = []
    for name, path in PAGES:
        found += _check(b, f"{who}-{name}", path, phone)
    found += [f"{who}: left 127.0.0.1: {u}" for u in b.outside]
    found += [f"{who}: console: {p}" for p in b.problems]
    b.outside.clear()
    b.problems.clear()
    return found


@needs_chromium
def test_every_page_at_both_widths_public_and_signed_in(
        live_server: str, web_users: dict[str, str]) -> None:
    found: list[str] = []
    for viewport in (DESKTOP, PHONE):
        phone = viewport is PHONE
        with browse(live_server, viewport) as b:
            found += _tour(b, "public", phone)
            login(b, web_users["partner"])
            found += _tour(b, "partner", phone)
            signed_in_as: Any = b.page.locator(".account").inner_text()
            assert web_users["partner"] in signed_in_as
    assert found == [], "\n".join(found)
