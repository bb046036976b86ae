"""TEST ONLY: an app whose requests are made by the user a test names, until accounts and
login exist. Never used by the package: `as_users(app)` wraps a dashboard app built by
create_app so that a request carrying the header `X-Test-Role: admin` (or partner, viewer) is
made by `auth.User("test-<role>", role)`, and one without it by the public."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from cspkit.products.web import auth

Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
                Awaitable[None]]
HEADER = b"x-test-role"


def role(name: str) -> dict[str, str]:
    """Headers for a request made by a user of role `name`."""
    return {HEADER.decode(): name}


class as_users:  # noqa: N801 - used like a function
    def __init__(self, app: Any) -> None:
        self.app = app

    @property
    def state(self) -> Any:   # the dashboard's own state (WebState under .web)
        return self.app.state

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            chosen = dict(scope.get("headers") or []).get(HEADER)
            if chosen:
                name = chosen.decode()
                scope.setdefault("state", {})["user"] = auth.User(f"test-{name}", name)
        await self.app(scope, receive, send)
