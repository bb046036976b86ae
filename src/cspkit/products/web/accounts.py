"""(to be written: local accounts, sessions, CSRF)"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

router = APIRouter()


def install(app: FastAPI) -> None:
    """Session and CSRF middleware (none yet: everyone is the public)."""
