"""FastAPI dependencies of the upload routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials

from app.api.deps import app_state
from app.auth.deps import bearer, bearer_token
from app.auth.service import Caller, authenticate
from app.db.session import transaction
from app.ingest import submissions

# PostgreSQL refuses a NUL in a query parameter; no id holds a control character.
DatasetId = Annotated[
    str,
    Path(
        max_length=100,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="A dataset id.",
        examples=["population-2025"],
    ),
]


def get_submitter(
    dataset_id: DatasetId,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The caller of an upload, known and allowed to submit to the dataset before a byte of
    the body is read, in a short transaction of its own (the key's ``last_used_at`` is
    committed there). The request's unit of work opens its connection only once the body
    is in: a client that sends slowly, or stops, holds no connection from the pool and, on
    SQLite, no lock that every other write would wait for."""
    factory = app_state(request).session_factory
    assert factory is not None, "the lifespan creates the session factory"
    with transaction(factory) as session:
        caller = authenticate(session, bearer_token(request, credentials))
        submissions.check_may_submit(session, caller, dataset_id)
    return caller


SubmitterDep = Annotated[Caller, Depends(get_submitter)]
