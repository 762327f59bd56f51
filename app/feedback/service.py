"""Feedback threads: anyone reads; a key or a name and e-mail posts; owners and suppliers of
the dataset answer and close. Text is stored exactly as given and escaped where shown."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.audit.service import record
from app.auth.service import Caller
from app.catalogue import repository as catalogue_repository
from app.db import queries
from app.errors import Conflict, Forbidden, InvalidParameter, NotFound
from app.feedback import repository
from app.feedback.models import THREAD_KINDS, THREAD_STATES, FeedbackMessage, FeedbackThread

MAX_TITLE = 200
MAX_BODY = 5000
MAX_NAME = 200
RESPONDER_ROLES = {"owner", "supplier"}


def _check_text(parameter: str, value: str | None, limit: int) -> str:
    if value is None or not value.strip():
        raise InvalidParameter(parameter, f"{parameter} may not be empty")
    if len(value) > limit:
        raise InvalidParameter(
            parameter, f"{parameter} is {len(value)} characters; at most {limit}"
        )
    return value


def _author(caller: Caller | None, name: str | None, email: str | None) -> dict[str, Any]:
    if caller is not None:
        return {"author_organisation_id": caller.organisation.id}
    name = _check_text("name", name, MAX_NAME)
    if email is None or "@" not in email or len(email) > 300 or any(c.isspace() for c in email):
        raise InvalidParameter("email", "without a key, give a valid e-mail address")
    return {"author_name": name, "author_email": email}


def _is_responder(session: Session, caller: Caller | None, dataset_id: str) -> bool:
    if caller is None:
        return False
    if caller.is_admin:
        return True
    return any(
        org.id == caller.organisation.id and role.role in RESPONDER_ROLES
        for role, org in catalogue_repository.roles_of_dataset(session, dataset_id)
    )


def create_thread(
    session: Session,
    caller: Caller | None,
    dataset_id: str,
    *,
    kind: str,
    title: str | None,
    body: str | None,
    name: str | None = None,
    email: str | None = None,
) -> dict[str, Any]:
    if catalogue_repository.get_dataset(session, dataset_id) is None:
        raise NotFound(f"dataset {dataset_id!r} not found", dataset=dataset_id)
    if kind not in THREAD_KINDS:
        raise InvalidParameter("kind", f"kind must be one of {', '.join(THREAD_KINDS)}")
    title = _check_text("title", title, MAX_TITLE)
    body = _check_text("body", body, MAX_BODY)
    author = _author(caller, name, email)
    now = datetime.now(UTC)
    thread = FeedbackThread(
        dataset_id=dataset_id,
        kind=kind,
        state="open",
        title=title,
        created_at=now,
        updated_at=now,
        **author,
    )
    session.add(thread)
    session.flush()
    session.add(
        FeedbackMessage(
            thread_id=thread.id,
            body=body,
            created_at=now,
            is_answer=False,
            author_key_id=caller.key_id if caller else None,
            **author,
        )
    )
    session.flush()
    record(
        session,
        "feedback.create",
        caller=caller,
        actor=author.get("author_name"),
        dataset_id=dataset_id,
        target=f"thread:{thread.id}",
        details={"kind": kind},
    )
    return _with_messages(session, thread)


def _thread(session: Session, thread_id: int) -> FeedbackThread:
    thread = repository.get_thread(session, thread_id)
    if thread is None:
        raise NotFound(f"feedback thread {thread_id} not found", thread=thread_id)
    return thread


def reply(
    session: Session,
    caller: Caller | None,
    thread_id: int,
    *,
    body: str | None,
    name: str | None = None,
    email: str | None = None,
) -> dict[str, Any]:
    thread = _thread(session, thread_id)
    if thread.state == "closed":
        raise Conflict(f"thread {thread_id} is closed; open a new one")
    body = _check_text("body", body, MAX_BODY)
    author = _author(caller, name, email)
    answer = _is_responder(session, caller, thread.dataset_id)
    now = datetime.now(UTC)
    session.add(
        FeedbackMessage(
            thread_id=thread.id,
            body=body,
            created_at=now,
            is_answer=answer,
            author_key_id=caller.key_id if caller else None,
            **author,
        )
    )
    if answer:
        thread.state = "answered"
    thread.updated_at = now
    session.flush()
    record(
        session,
        "feedback.answer" if answer else "feedback.reply",
        caller=caller,
        actor=author.get("author_name"),
        dataset_id=thread.dataset_id,
        target=f"thread:{thread.id}",
    )
    return _with_messages(session, thread)


def answer(session: Session, caller: Caller, thread_id: int, body: str | None) -> dict[str, Any]:
    """An answer proper: only owners and suppliers of the dataset (or site admins)."""
    thread = _thread(session, thread_id)
    _require_responder(session, caller, thread, "answering")
    return reply(session, caller, thread_id, body=body)


def close(session: Session, caller: Caller, thread_id: int) -> dict[str, Any]:
    thread = _thread(session, thread_id)
    _require_responder(session, caller, thread, "closing")
    if thread.state != "closed":
        thread.state = "closed"
        thread.updated_at = datetime.now(UTC)
        record(
            session,
            "feedback.close",
            caller=caller,
            dataset_id=thread.dataset_id,
            target=f"thread:{thread.id}",
        )
    return _with_messages(session, thread)


def _require_responder(
    session: Session, caller: Caller, thread: FeedbackThread, action: str
) -> None:
    if not _is_responder(session, caller, thread.dataset_id):
        raise Forbidden(
            f"owner|supplier:{thread.dataset_id}",
            f"{action} a thread needs the owner or supplier role on dataset "
            f"{thread.dataset_id!r}; {caller.organisation.id!r} has neither",
        )


def thread_out(
    thread: FeedbackThread, messages: list[FeedbackMessage] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": thread.id,
        "dataset": thread.dataset_id,
        "kind": thread.kind,
        "state": thread.state,
        "title": thread.title,
        "created_at": thread.created_at,
        "updated_at": thread.updated_at,
        "author": thread.author_organisation_id or thread.author_name,
    }
    if messages is not None:
        out["messages"] = [
            {
                "id": m.id,
                "body": m.body,
                "created_at": m.created_at,
                "author": m.author_organisation_id or m.author_name,
                "answer": m.is_answer,
            }
            for m in messages
        ]
    return out


def _with_messages(session: Session, thread: FeedbackThread) -> dict[str, Any]:
    return thread_out(thread, repository.messages_of(session, [thread.id]).get(thread.id, []))


def list_threads(
    session: Session,
    dataset_id: str,
    kind: str | None,
    state: str | None,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    if catalogue_repository.get_dataset(session, dataset_id) is None:
        raise NotFound(f"dataset {dataset_id!r} not found", dataset=dataset_id)
    if kind is not None and kind not in THREAD_KINDS:
        raise InvalidParameter("kind", f"kind must be one of {', '.join(THREAD_KINDS)}")
    if state is not None and state not in THREAD_STATES:
        raise InvalidParameter("state", f"state must be one of {', '.join(THREAD_STATES)}")
    stmt = repository.threads_query(dataset_ids=[dataset_id], kind=kind, state=state)
    threads = queries.page(session, stmt, offset, limit)
    messages = repository.messages_of(session, [t.id for t in threads])
    return [thread_out(t, messages.get(t.id, [])) for t in threads], queries.count(session, stmt)


def get_thread(session: Session, thread_id: int) -> dict[str, Any]:
    return _with_messages(session, _thread(session, thread_id))


def inbox(
    session: Session, organisation_id: str, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """Open threads on the datasets the organisation owns or supplies."""
    if catalogue_repository.get_organisation(session, organisation_id) is None:
        raise NotFound(f"organisation {organisation_id!r} not found", organisation=organisation_id)
    datasets = sorted(
        {
            dataset
            for dataset, role in catalogue_repository.roles_of_organisation(
                session, organisation_id
            )
            if role in RESPONDER_ROLES
        }
    )
    stmt = repository.threads_query(dataset_ids=datasets, kind=None, state="open")
    threads = queries.page(session, stmt, offset, limit)
    return [thread_out(t) for t in threads], queries.count(session, stmt)
