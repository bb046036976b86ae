"""Who is asking: the signed-in account (or None for the public), and whether its role may
see restricted partner sources. (Accounts, sessions and CSRF: see accounts.py.)"""

from __future__ import annotations

import duckdb
from fastapi import Request

from cspkit.store.accounts import User
from cspkit.store.ingest_log import restricted_sources

# Roles allowed to see restricted partner sources (record-level health and police markers,
# aggregated), and roles allowed to load data.
RESTRICTED_ROLES = frozenset({"partner", "admin"})
ADMIN_ROLES = frozenset({"admin"})


def current_user(request: Request) -> User | None:
    return getattr(request.state, "user", None)


def may_see_restricted(user: User | None) -> bool:
    return user is not None and user.role in RESTRICTED_ROLES


def is_admin(user: User | None) -> bool:
    return user is not None and user.role in ADMIN_ROLES


# One sentence on every page and API that leaves restricted sources out. It names none of them:
# the public is told that something is withheld, not what.
WITHHELD_NOTE = ("Restricted partner sources are withheld from this view: they are shown only "
                 "to signed-in users whose role allows them.")


def withheld_note(withheld: frozenset[str] | list[str]) -> str:
    """WITHHELD_NOTE when anything is withheld, else ''."""
    return WITHHELD_NOTE if withheld else ""


def withheld_for(user: User | None, con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The restricted partner sources this user may not see (every page leaves them out and
    says so): none for a role that may see them, else every source loaded as restricted."""
    if may_see_restricted(user):
        return frozenset()
    return restricted_sources(con)
