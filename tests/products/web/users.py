"""Accounts for tests of the dashboard.

- `web_users` (session fixture): one account per role on the session's `web_app`, as
  {"viewer": name, "partner": name, "admin": name}; every password is `PASSWORD`.
- `login(client_or_browse, name)`: signs in a TestClient, a `browse()` visit or a Playwright
  page (give `base=` for a bare page) through the real form, and returns the CSRF token to
  send with unsafe requests (`headers={"X-CSRF-Token": token}` or a `csrf_token` form field).
- `signed_in(web_app, name)`: a fresh TestClient signed in as `name` (the session-wide
  `client` fixture stays public; do not sign it in, other tests share it).
- `csrf(client)`: the CSRF token of the client's current session (public or signed in).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from cspkit.products.web.accounts import AccountError, add_user, set_password, set_role

PASSWORD = "test password, long enough"
ROLES = ("viewer", "partner", "admin")


def ensure_user(web_app: Any, name: str, role: str, password: str = PASSWORD) -> str:
    data_dir = web_app.state.web.data_dir
    try:
        add_user(data_dir, name, password, role)
    except AccountError:          # made by an earlier test: same password and role again
        set_password(data_dir, name, password)
        set_role(data_dir, name, role)
    return name


@pytest.fixture(scope="session")
def web_users(web_app: Any) -> dict[str, str]:
    return {role: ensure_user(web_app, f"test-{role}", role) for role in ROLES}


def csrf(client: TestClient) -> str:
    return str(client.get("/api/me").json()["csrf_token"])


def login(client_or_page: Any, name: str, password: str = PASSWORD, *,
          base: str | None = None, next: str = "/") -> str:
    """Sign in through the login form; returns the session's CSRF token. A page lands on
    `next` (a path of the app) once signed in."""
    if isinstance(client_or_page, TestClient):
        client = client_or_page
        token = csrf(client)
        response = client.post("/login", data={"csrf_token": token, "name": name,
                                               "password": password, "next": "/api/me"},
                               follow_redirects=False)
        assert response.status_code == 303, f"login as {name}: HTTP {response.status_code}"
        me = client.get("/api/me").json()
        assert me["name"] == name, me
        return str(me["csrf_token"])
    page = getattr(client_or_page, "page", client_or_page)
    base = base or getattr(client_or_page, "base", None)
    assert base, "give base= (the server's URL) with a bare Playwright page"
    page.goto(f"{base}/login?{urlencode({'next': next})}")
    page.fill("#login-name", name)
    page.fill("#login-password", password)
    with page.expect_navigation() as landed:
        page.click(".login-form button[type=submit]")
    assert landed.value is not None and landed.value.ok, f"login as {name} failed"
    assert page.locator("#login-error").count() == 0, f"login as {name} refused"
    return str(page.get_attribute('meta[name="csrf-token"]', "content"))


def logout(client: TestClient) -> None:
    response = client.post("/logout", headers={"X-CSRF-Token": csrf(client)},
                           follow_redirects=False)
    assert response.status_code == 303


@contextmanager
def signed_in(web_app: Any, name: str, password: str = PASSWORD) -> Iterator[TestClient]:
    with TestClient(web_app) as client:
        login(client, name, password)
        yield client

