"""FastAPI dependencies for authentication."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.api.deps import FactoryDep
from app.auth.service import Caller, authenticate
from app.db.session import transaction


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def get_caller(request: Request, factory: FactoryDep) -> Caller:
    with transaction(factory) as session:  # records last_used_at
        return authenticate(session, _bearer(request))


def get_optional_caller(request: Request, factory: FactoryDep) -> Caller | None:
    token = _bearer(request)
    if token is None:
        return None
    with transaction(factory) as session:
        return authenticate(session, token)


CallerDep = Annotated[Caller, Depends(get_caller)]
OptionalCallerDep = Annotated[Caller | None, Depends(get_optional_caller)]
