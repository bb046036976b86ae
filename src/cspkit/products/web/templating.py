"""Server-rendered pages: one Jinja environment over the package's templates, the navigation,
and the district and period pickers every page carries."""

from __future__ import annotations

from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from cspkit.products.web.auth import withheld_note
from cspkit.products.web.blocks import table_json

NAV = [("overview", "Overview", "/"), ("explorer", "Issue explorer", "/explorer"),
       ("places", "Places", "/places"), ("custom", "Custom area", "/custom-area"),
       ("reports", "Reports", "/reports"), ("data", "Data", "/data")]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("cspkit.products.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,   # a typo in a template fails loudly, not blank
)
_ENV.globals.update(nav=NAV, table_json=table_json, withheld_note=withheld_note)


def environment() -> jinja2.Environment:
    return _ENV


def page(request: Request, template: str, *, title: str, active: str, status: int = 200,
         **context: Any) -> HTMLResponse:
    """A whole page: `title` goes first in <title> (what a screen reader announces) and in
    the <h1>; `active` marks the current item of the navigation (aria-current)."""
    from cspkit.products.web.app import state
    from cspkit.products.web.auth import current_user

    web = state(request)
    html = _ENV.get_template(template).render(
        request=request, title=title, active=active, user=current_user(request),
        csrf_token=getattr(request.state, "csrf_token", ""),
        districts=web.districts(), **context)
    return HTMLResponse(html, status_code=status)
