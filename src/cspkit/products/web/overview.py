"""(to be written) The Overview page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cspkit.products.web.templating import page

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def overview_page(request: Request) -> HTMLResponse:
    return page(request, "error.html.j2", title="Overview", active="overview",
                message="The overview is being built.")
