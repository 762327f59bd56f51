"""FastAPI dependencies of the upload routes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.api.deps import UnitOfWorkDep, app_state
from app.auth.deps import bearer, bearer_token
from app.auth.service import Caller, authenticate
from app.db.session import transaction
from app.errors import DatapediaError, first_line
from app.ingest import submissions

logger = logging.getLogger("datapedia")

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


def get_refusal_note(request: Request, session: UnitOfWorkDep) -> Iterator[submissions.RefusalNote]:
    """Where the upload's service notes a refusal of the file's content or form. Such a
    refusal is recorded (a rejected submission with its errors) once the request's unit of
    work is rolled back, in a short transaction of its own, and its id is added to the
    problem the supplier gets (``submission``); the answer is otherwise the same. Exits
    before the unit of work, on which it depends. A record that cannot be written (the
    database gone) is a warning in the log, never another answer."""
    note = submissions.RefusalNote()
    try:
        yield note
    except DatapediaError as error:
        if note.refusal is not None:
            recorded = _record_refusal(request, session, note.refusal)
            if recorded is not None:
                error.extensions["submission"] = recorded
        raise


def _record_refusal(request: Request, session: Session, refusal: submissions.Refusal) -> int | None:
    factory = app_state(request).session_factory
    assert factory is not None, "the lifespan creates the session factory"
    try:
        session.rollback()  # the unit of work: nothing of the file stays
        with transaction(factory) as own:
            return submissions.record_refusal(own, refusal)
    except SQLAlchemyError as exc:
        logger.warning(
            "the refused upload of %s to %s (%s) could not be recorded: %s",
            refusal.organisation_id,
            refusal.dataset_id,
            refusal.status,
            first_line(exc),
        )
        return None


RefusalNoteDep = Annotated[submissions.RefusalNote, Depends(get_refusal_note, scope="function")]
