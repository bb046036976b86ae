"""Who is asking: the signed-in account (or None for the public), and whether its role may
see restricted partner sources. (Accounts, sessions and CSRF: see accounts.py.)"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request


@dataclass(frozen=True)
class User:
    name: str
    role: str            # viewer | partner | admin


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
