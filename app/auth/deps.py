"""FastAPI dependencies for authentication."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.api.deps import UnitOfWorkDep
from app.auth.service import Caller, authenticate


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def get_caller(request: Request, session: UnitOfWorkDep) -> Caller:
    # The request's unit of work: the key's last_used_at is committed with the request.
    return authenticate(session, _bearer(request))


def get_optional_caller(request: Request, session: UnitOfWorkDep) -> Caller | None:
    token = _bearer(request)
    if token is None:
        return None
    return authenticate(session, token)


CallerDep = Annotated[Caller, Depends(get_caller)]
OptionalCallerDep = Annotated[Caller | None, Depends(get_optional_caller)]
