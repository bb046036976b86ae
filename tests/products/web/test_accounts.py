"""Accounts, sessions and CSRF: argon2id hashes, wrong passwords refused, sessions that end
when idle or old, unsafe requests refused without their token, throttled sign-in, and the
restricted partner sources served only to a role that may see them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cspkit.cli import app as cli
from cspkit.products.web.accounts import (
    AccountError,
    accounts_of,
    add_user,
    db_path,
    list_users,
    remove_user,
    set_password,
    verify,
)
from cspkit.products.web.app import Warehouse, create_app
from cspkit.products.web.auth import User, current_user, withheld_for
from tests.products.report.browser import needs_chromium
from tests.products.web.browser import PHONE, browse
from tests.products.web.users import PASSWORD, csrf, login, logout


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def own_app(demo_warehouse_path: Path, tmp_path: Path) -> FastAPI:
    """An app with its own accounts database and a clock the test moves, and one extra
    route reporting what `withheld_for` gives the signed-in user."""
    web = create_app(demo_warehouse_path, data_dir=tmp_path / "web")
    accounts_of(web).clock = Clock()

    @web.get("/test-only/withheld")
    def withheld(request: Request, pair: Any = Warehouse) -> dict[str, list[str]]:
        con, _ = pair
        return {"withheld": sorted(withheld_for(current_user(request), con))}

    for role in ("viewer", "partner", "admin"):
        add_user(tmp_path / "web", role, PASSWORD, role)
    return web


@pytest.fixture
def own_client(own_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(own_app) as client:
        yield client


def test_passwords_are_stored_as_argon2id(tmp_path: Path) -> None:
    add_user(tmp_path, "alice", "a long password", "partner")
    with sqlite3.connect(db_path(tmp_path)) as con:
        (stored,) = con.execute("SELECT password_hash FROM users").fetchone()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "a long password" not in db_path(tmp_path).read_bytes().decode("latin-1")
    assert verify(tmp_path, "alice", "a long password") == User("alice", "partner")
    assert verify(tmp_path, "alice", "a long passworD") is None
    assert verify(tmp_path, "nobody", "a long password") is None


def test_account_rules(tmp_path: Path) -> None:
    add_user(tmp_path, "alice", "a long password", "viewer")
    with pytest.raises(AccountError, match="exists already"):
        add_user(tmp_path, "alice", "another password", "viewer")
    with pytest.raises(AccountError, match="unknown role"):
        add_user(tmp_path, "bob", "a long password", "superuser")
    with pytest.raises(AccountError, match="at least"):
        add_user(tmp_path, "bob", "short", "viewer")
    with pytest.raises(AccountError, match="not a valid account name"):
        add_user(tmp_path, "bob; DROP TABLE users", "a long password", "viewer")
    set_password(tmp_path, "alice", "a new long password")
    assert verify(tmp_path, "alice", "a long password") is None
    assert verify(tmp_path, "alice", "a new long password") is not None
    remove_user(tmp_path, "alice")
    assert list_users(tmp_path) == []
    with pytest.raises(AccountError, match="no account"):
        remove_user(tmp_path, "alice")


def test_sign_in_wrong_password_and_sign_out(own_client: TestClient) -> None:
    page = own_client.get("/login")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    token = csrf(own_client)
    refused = own_client.post("/login", data={"csrf_token": token, "name": "partner",
                                              "password": "wrong password"},
                              follow_redirects=False)
    assert refused.status_code == 401
    assert "do not match" in refused.text
    assert own_client.get("/api/me").json()["name"] is None

    signed = own_client.post("/login", data={"csrf_token": token, "name": "partner",
                                             "password": PASSWORD, "next": "/api/me"},
                             follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/api/me"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    me = own_client.get("/api/me").json()
    assert me == {"name": "partner", "role": "partner", "may_see_restricted": True,
                  "csrf_token": me["csrf_token"]}
    assert me["csrf_token"] != token            # a new token with the session

    logout(own_client)
    assert own_client.get("/api/me").json()["name"] is None


def test_login_redirect_stays_on_this_site(own_client: TestClient) -> None:
    for target in ("https://elsewhere.example/", "//elsewhere.example/", "/\\elsewhere"):
        response = own_client.post("/login", data={
            "csrf_token": csrf(own_client), "name": "viewer", "password": PASSWORD,
            "next": target}, follow_redirects=False)
        assert response.headers["location"] == "/"
        logout(own_client)


def test_sessions_end_when_idle_and_when_old(own_app: FastAPI, own_client: TestClient) -> None:
    clock = accounts_of(own_app).clock
    assert isinstance(clock, Clock)
    accounts = accounts_of(own_app)
    login(own_client, "viewer")
    clock.now += accounts.idle - 120
    assert own_client.get("/api/me").json()["name"] == "viewer"    # used: idle time restarts
    clock.now += accounts.idle - 120
    assert own_client.get("/api/me").json()["name"] == "viewer"
    clock.now += accounts.idle + 1
    gone = own_client.get("/api/me")
    assert gone.json()["name"] is None
    assert "cspkit_session=;" in gone.headers.get("set-cookie", "")

    login(own_client, "viewer")
    for _ in range(int(accounts.absolute // (accounts.idle / 2)) + 1):
        clock.now += accounts.idle / 2                            # busy, yet too old at last
        name = own_client.get("/api/me").json()["name"]
    assert name is None


def test_unsafe_requests_need_the_csrf_token(own_client: TestClient) -> None:
    login(own_client, "viewer")
    # Without a token: no form field, no header, or the wrong one.
    assert own_client.post("/logout").status_code == 403
    assert own_client.post("/logout", data={"csrf_token": "0" * 64}).status_code == 403
    assert own_client.post("/logout", headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    assert own_client.post("/logout", json={"csrf_token": csrf(own_client)}).status_code == 403
    assert own_client.get("/api/me").json()["name"] == "viewer"     # still signed in
    # The public's token does not pass for a session, nor a session's after it ended.
    token = csrf(own_client)
    assert own_client.post("/logout", data={"csrf_token": token},
                           follow_redirects=False).status_code == 303
    assert own_client.post("/logout", data={"csrf_token": token}).status_code == 403
    # A multipart form with the token first passes; with it missing, refused.
    public = csrf(own_client)
    files = {"file": ("x.csv", b"a,b\n1,2\n", "text/csv")}
    assert own_client.post("/logout", data={"csrf_token": public}, files=files,
                           follow_redirects=False).status_code == 303
    assert own_client.post("/logout", files=files).status_code == 403


def test_public_has_a_token_only_with_its_cookie(own_app: FastAPI) -> None:
    with TestClient(own_app) as first, TestClient(own_app) as second:
        token = csrf(first)
        assert "cspkit_anon=" in first.get("/api/me").request.headers.get("cookie", "")
        assert second.post("/logout", headers={"X-CSRF-Token": token}).status_code == 403
        assert first.post("/logout", headers={"X-CSRF-Token": token},
                          follow_redirects=False).status_code == 303


def test_sign_in_is_throttled(own_app: FastAPI, own_client: TestClient) -> None:
    clock = accounts_of(own_app).clock
    assert isinstance(clock, Clock)
    throttle = accounts_of(own_app).throttle

    def attempt(name: str, password: str) -> int:
        return own_client.post("/login", data={"csrf_token": csrf(own_client), "name": name,
                                               "password": password},
                               follow_redirects=False).status_code

    for _ in range(throttle.per_name):
        assert attempt("admin", "guess guess guess") == 401
    assert attempt("admin", PASSWORD) == 429                  # even the right one, for now
    assert attempt("viewer", PASSWORD) == 303                 # another name is not held up
    logout(own_client)
    clock.now += throttle.window + 1
    assert attempt("admin", PASSWORD) == 303
    logout(own_client)
    # Per address: many names from one client.
    for i in range(throttle.per_address):
        attempt(f"nobody{i}", "guess guess guess")
    assert attempt("partner", PASSWORD) == 429


def test_restricted_sources_only_for_partner_and_admin(own_client: TestClient,
                                                       demo_warehouse: Any) -> None:
    from cspkit.store.ingest_log import restricted_sources

    restricted = sorted(restricted_sources(demo_warehouse))
    assert restricted, "the demo warehouse loads restricted partner sources"
    assert own_client.get("/test-only/withheld").json()["withheld"] == restricted
    for role, expected in (("viewer", restricted), ("partner", []), ("admin", [])):
        login(own_client, role)
        assert own_client.get("/test-only/withheld").json()["withheld"] == expected, role
        assert own_client.get("/api/me").json()["may_see_restricted"] == (not expected)
        logout(own_client)


def test_removing_an_account_or_its_password_ends_its_sessions(own_app: FastAPI,
                                                             own_client: TestClient) -> None:
    data_dir = own_app.state.web.data_dir
    login(own_client, "partner")
    set_password(data_dir, "partner", "changed password!")
    assert own_client.get("/api/me").json()["name"] is None
    login(own_client, "partner", "changed password!")
    remove_user(data_dir, "partner")
    assert own_client.get("/api/me").json()["name"] is None


def test_session_fixture_users_sign_in(web_app: Any, web_users: dict[str, str]) -> None:
    with TestClient(web_app) as client:  # type: ignore[arg-type]
        login(client, web_users["partner"])
        assert client.get("/api/me").json()["role"] == "partner"


def test_cli_users_add_list_password_remove(tmp_path: Path) -> None:
    runner = CliRunner()
    where = ["--data-dir", str(tmp_path)]
    added = runner.invoke(cli, ["users", "add", "alice", "--role", "partner",
                                "--password-stdin", *where], input="a long password\n")
    assert added.exit_code == 0, added.output
    prompted = runner.invoke(cli, ["users", "add", "bob", *where],
                             input="another password\nanother password\n")
    assert prompted.exit_code == 0, prompted.output
    listed = runner.invoke(cli, ["users", "list", "--format", "json", *where])
    assert json.loads(listed.stdout) == [{"name": "alice", "role": "partner"},
                                         {"name": "bob", "role": "viewer"}]
    assert verify(tmp_path, "bob", "another password") == User("bob", "viewer")
    changed = runner.invoke(cli, ["users", "password", "alice", "--password-stdin", *where],
                            input="a changed password\n")
    assert changed.exit_code == 0 and verify(tmp_path, "alice", "a changed password")
    removed = runner.invoke(cli, ["users", "remove", "bob", *where])
    assert removed.exit_code == 0
    assert [u.name for u in list_users(tmp_path)] == ["alice"]
    # A password is never an argument.
    refused = runner.invoke(cli, ["users", "add", "carol", "--password", "x", *where])
    assert refused.exit_code != 0


def test_cli_users_beside_the_warehouse(tmp_path: Path, demo_warehouse_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "w.duckdb"
    result = runner.invoke(cli, ["users", "add", "alice", "--password-stdin", "--db", str(db)],
                           input="a long password\n")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "w.duckdb.web" / "accounts.sqlite3").exists()
    web = create_app(demo_warehouse_path, data_dir=tmp_path / "w.duckdb.web")
    with TestClient(web) as client:
        login(client, "alice", "a long password")


@needs_chromium
def test_sign_in_and_out_in_chromium(live_server: str, web_users: dict[str, str]) -> None:
    with browse(live_server, viewport=PHONE) as b:
        b.go("/login")
        assert b.serious_violations() == []
        b.page.fill("#login-name", web_users["viewer"])
        b.page.fill("#login-password", "not the password")
        b.page.click(".login-form button[type=submit]")
        assert b.page.locator("#login-error").is_visible()
        assert b.serious_violations() == []
        b.screenshot("login-refused")
        assert [p for p in b.problems if "401" not in p] == []     # the refusal's status
        b.problems.clear()
        login(b, web_users["partner"])
        assert "Signed in as test-partner (partner)" in b.page.inner_text(".account")
        width = b.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        b.screenshot("signed-in")
        with b.page.expect_navigation():
            b.page.click(".account button[type=submit]")
        assert b.page.locator(".account a[href='/login']").is_visible()
        assert b.outside == [] and b.problems == []
