"""HTTP routes of feedback threads and inboxes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.api.deps import (
    DbId,
    PageDep,
    SessionDep,
    SettingsDep,
    TextId,
    UnitOfWorkDep,
    limit_feedback,
    paged,
    refuse_unknown_parameters,
)
from app.api.problems import problems
from app.api.schemas import Page
from app.auth.deps import CallerDep, OptionalCallerDep
from app.auth.service import Caller
from app.config import Settings
from app.feedback import service
from app.feedback.schemas import (
    NewAnswer,
    NewMessage,
    NewThread,
    ThreadKind,
    ThreadOut,
    ThreadState,
    ThreadSummaryOut,
)

router = APIRouter(tags=["feedback"], dependencies=[Depends(refuse_unknown_parameters)])


def _limit(request: Request, caller: Caller | None, settings: Settings) -> None:
    limit_feedback(request, None if caller is None else caller.key_id, settings)


@router.get(
    "/datasets/{dataset_id}/feedback",
    summary="Feedback threads on a dataset",
    responses=problems(404, 422),
)
def list_threads(
    dataset_id: TextId,
    request: Request,
    response: Response,
    session: SessionDep,
    paging: PageDep,
    kind: Annotated[ThreadKind | None, Query(description="Only this kind.")] = None,
    state: Annotated[ThreadState | None, Query(description="Only threads in this state.")] = None,
) -> Page[ThreadOut]:
    items, total = service.list_threads(
        session, dataset_id, kind, state, paging.offset, paging.page_size
    )
    return paged(request, response, paging, items, total)


@router.post(
    "/datasets/{dataset_id}/feedback",
    status_code=201,
    summary="Ask a question, report an error, request data or access",
    responses=problems(404, 409, 422, 429),
)
def create_thread(
    dataset_id: TextId,
    request: Request,
    thread: NewThread,
    caller: OptionalCallerDep,
    session: UnitOfWorkDep,
    settings: SettingsDep,
) -> ThreadOut:
    _limit(request, caller, settings)
    return service.create_thread(session, caller, dataset_id, thread)


@router.get(
    "/feedback/{thread_id}", summary="One thread with its messages", responses=problems(404)
)
def get_thread(thread_id: DbId, session: SessionDep) -> ThreadOut:
    return service.get_thread(session, thread_id)


@router.post(
    "/feedback/{thread_id}/replies",
    status_code=201,
    summary="Reply to a thread",
    responses=problems(404, 422, 429),
)
def reply(
    thread_id: DbId,
    request: Request,
    message: NewMessage,
    caller: OptionalCallerDep,
    session: UnitOfWorkDep,
    settings: SettingsDep,
) -> ThreadOut:
    _limit(request, caller, settings)
    return service.reply(session, caller, thread_id, message)


@router.post(
    "/feedback/{thread_id}/answers",
    status_code=201,
    summary="Answer a thread (owners and suppliers of the dataset)",
    responses=problems(404, 422),
)
def answer(
    thread_id: DbId, message: NewAnswer, caller: CallerDep, session: UnitOfWorkDep
) -> ThreadOut:
    return service.answer(session, caller, thread_id, message.body)


@router.post(
    "/feedback/{thread_id}/close",
    summary="Close a thread (owners and suppliers of the dataset)",
    responses=problems(404),
)
def close(thread_id: DbId, caller: CallerDep, session: UnitOfWorkDep) -> ThreadOut:
    return service.close(session, caller, thread_id)


@router.get(
    "/organisations/{organisation_id}/inbox",
    summary="Open threads on the datasets an organisation owns or supplies",
    responses=problems(404, 422),
)
def inbox(
    organisation_id: TextId,
    request: Request,
    response: Response,
    session: SessionDep,
    paging: PageDep,
) -> Page[ThreadSummaryOut]:
    items, total = service.inbox(session, organisation_id, paging.offset, paging.page_size)
    return paged(request, response, paging, items, total)
