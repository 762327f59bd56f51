"""FastAPI dependencies for authentication."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.api.deps import UnitOfWorkDep
from app.api.problems import OPTIONAL_SCHEME_SUFFIX
from app.auth.service import Caller, authenticate
from app.errors import Unauthorized

# Declared as a security scheme so that the OpenAPI document marks the operations that take
# a key (and Swagger UI offers "Authorize"); a missing key is answered by ``authenticate``.
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key of your organisation: `Authorization: Bearer <key>`.",
)
# The same scheme for operations that also answer without a key (public data, anonymous
# feedback): the OpenAPI document lists "no key" as an alternative for them.
optional_bearer = HTTPBearer(
    auto_error=False,
    scheme_name=f"apiKey{OPTIONAL_SCHEME_SUFFIX}",
    description="An API key of your organisation: `Authorization: Bearer <key>`.",
)


def bearer_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is not None:
        return credentials.credentials
    if request.headers.get("authorization") is not None:
        # A client that sends credentials means to be someone: never read them as "no key".
        raise Unauthorized("the Authorization header must be 'Bearer <key>'")
    return None


def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    session: UnitOfWorkDep,
) -> Caller:
    # The request's unit of work: the key's last_used_at is committed with the request.
    return authenticate(session, bearer_token(request, credentials))


def get_optional_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(optional_bearer)],
    session: UnitOfWorkDep,
) -> Caller | None:
    token = bearer_token(request, credentials)
    return None if token is None else authenticate(session, token)


CallerDep = Annotated[Caller, Depends(get_caller)]
OptionalCallerDep = Annotated[Caller | None, Depends(get_optional_caller)]
