"""FastAPI dependencies for authentication."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.api.deps import UnitOfWorkDep
from app.auth.service import Caller, authenticate

# Declared as a security scheme so that the OpenAPI document marks the operations that take
# a key (and Swagger UI offers "Authorize"); a missing key is answered by ``authenticate``.
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key of your organisation: `Authorization: Bearer <key>`.",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def get_caller(credentials: BearerDep, session: UnitOfWorkDep) -> Caller:
    # The request's unit of work: the key's last_used_at is committed with the request.
    return authenticate(session, credentials.credentials if credentials else None)


def get_optional_caller(credentials: BearerDep, session: UnitOfWorkDep) -> Caller | None:
    if credentials is None:
        return None
    return authenticate(session, credentials.credentials)


CallerDep = Annotated[Caller, Depends(get_caller)]
OptionalCallerDep = Annotated[Caller | None, Depends(get_optional_caller)]
