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


def withheld_for(user: User | None, con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The restricted partner sources this user may not see (every page leaves them out and
    says so): none for a role that may see them, else every source loaded as restricted."""
    if may_see_restricted(user):
        return frozenset()
    return restricted_sources(con)
