"""HTTP routes of feedback threads and inboxes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from app.api.deps import PageDep, SessionDep, SettingsDep, UnitOfWorkDep, app_state, paged
from app.auth.deps import CallerDep, OptionalCallerDep
from app.auth.service import Caller
from app.config import Settings
from app.feedback import service

router = APIRouter(tags=["feedback"])


class NewThread(BaseModel):
    kind: str = Field(
        description="question, error_report, data_request or access_request",
        examples=["question"],
    )
    title: str | None = Field(default=None, examples=["Waarom is sector 44021A00- leeg?"])
    body: str | None = Field(default=None)
    name: str | None = Field(default=None, description="Without a key: your name.")
    email: str | None = Field(default=None, description="Without a key: your e-mail address.")


class NewMessage(BaseModel):
    body: str | None = None
    name: str | None = Field(default=None, description="Without a key: your name.")
    email: str | None = Field(default=None, description="Without a key: your e-mail address.")


def _limit(request: Request, caller: Caller | None, settings: Settings) -> None:
    limiter = app_state(request).feedback_limiter
    if caller is not None:
        limiter.check(f"key:{caller.key_id}", settings.feedback_per_minute)
    else:
        client = request.client.host if request.client else "unknown"
        limiter.check(f"ip:{client}", settings.anonymous_feedback_per_minute)


@router.get("/datasets/{dataset_id}/feedback", summary="Feedback threads on a dataset")
def list_threads(
    dataset_id: str,
    request: Request,
    response: Response,
    session: SessionDep,
    paging: PageDep,
    kind: Annotated[str | None, Query(description="Only this kind.")] = None,
    state: Annotated[str | None, Query(description="open, answered or closed.")] = None,
) -> dict[str, Any]:
    items, total = service.list_threads(
        session, dataset_id, kind, state, paging.offset, paging.page_size
    )
    return paged(request, response, paging, items, total)


@router.post(
    "/datasets/{dataset_id}/feedback",
    status_code=201,
    summary="Ask a question, report an error, request data or access",
)
def create_thread(
    dataset_id: str,
    request: Request,
    thread: NewThread,
    caller: OptionalCallerDep,
    session: UnitOfWorkDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    _limit(request, caller, settings)
    return service.create_thread(
        session,
        caller,
        dataset_id,
        kind=thread.kind,
        title=thread.title,
        body=thread.body,
        name=thread.name,
        email=thread.email,
    )


@router.get("/feedback/{thread_id}", summary="One thread with its messages")
def get_thread(thread_id: int, session: SessionDep) -> dict[str, Any]:
    return service.get_thread(session, thread_id)


@router.post("/feedback/{thread_id}/replies", status_code=201, summary="Reply to a thread")
def reply(
    thread_id: int,
    request: Request,
    message: NewMessage,
    caller: OptionalCallerDep,
    session: UnitOfWorkDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    _limit(request, caller, settings)
    return service.reply(
        session,
        caller,
        thread_id,
        body=message.body,
        name=message.name,
        email=message.email,
    )


@router.post(
    "/feedback/{thread_id}/answers",
    status_code=201,
    summary="Answer a thread (owners and suppliers of the dataset)",
)
def answer(
    thread_id: int, message: NewMessage, caller: CallerDep, session: UnitOfWorkDep
) -> dict[str, Any]:
    return service.answer(session, caller, thread_id, message.body)


@router.post(
    "/feedback/{thread_id}/close", summary="Close a thread (owners and suppliers of the dataset)"
)
def close(thread_id: int, caller: CallerDep, session: UnitOfWorkDep) -> dict[str, Any]:
    return service.close(session, caller, thread_id)


@router.get(
    "/organisations/{organisation_id}/inbox",
    summary="Open threads on the datasets an organisation owns or supplies",
)
def inbox(
    organisation_id: str,
    request: Request,
    response: Response,
    session: SessionDep,
    paging: PageDep,
) -> dict[str, Any]:
    items, total = service.inbox(session, organisation_id, paging.offset, paging.page_size)
    return paged(request, response, paging, items, total)
