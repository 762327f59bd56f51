"""Feedback threads: anyone reads; a key or a name and e-mail posts; owners, the publisher and
suppliers of the dataset answer and close. Text is stored exactly as given and escaped where
shown."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy.orm import Session

from app.audit.service import record
from app.auth.service import WRITE_ROLES, Caller, require_role
from app.catalogue import repository as catalogue_repository
from app.db import queries
from app.errors import Conflict, Forbidden, InvalidParameter, NotFound
from app.feedback import repository
from app.feedback.lookalikes import skeleton
from app.feedback.models import FeedbackMessage, FeedbackThread
from app.feedback.schemas import (
    MessageOut,
    NewMessage,
    NewThread,
    ThreadKind,
    ThreadOut,
    ThreadState,
    ThreadSummaryOut,
)

# The publisher holds every right a co-owner holds (README, "Who may do what").
RESPONDER_ROLES = {"owner", "publisher", "supplier"}


@dataclass(frozen=True)
class _Author:
    organisation_id: str | None = None
    name: str | None = None
    email: str | None = None


def _skeleton(text: str) -> str:
    """A name as a reader sees it: compatibility forms read as their letters ("Ｇｅｎｔ"),
    accents dropped ("Gént"), invisible characters gone (a zero-width space), look-alikes of
    other scripts as the letters they look like ("Ѕtad Gеnt": a Cyrillic Ѕ and е), any other
    character a space ("Stad-Gent"), in one case."""
    kept = "".join(c if c.isalnum() else " " for c in skeleton(text))
    return " ".join(kept.split()).casefold()


def _joined(skeleton: str) -> str:
    """Without its spaces: "Stad\u200bGent" shows as "StadGent"."""
    return skeleton.replace(" ", "")


def _author(
    session: Session, caller: Caller | None, name: str | None, email: str | None
) -> _Author:
    """With a key the organisation writes; without one, a name and an e-mail address. An
    organisation speaks with its key: its id or name given without one is refused, so that
    nobody posts as an organisation (or seems to answer for the owners)."""
    if caller is not None:
        return _Author(organisation_id=caller.organisation.id)
    if name is None:
        raise InvalidParameter("name", "without a key, give your name")
    given = _skeleton(name)
    for organisation in catalogue_repository.list_organisations(session):
        names = [
            _skeleton(n) for n in (organisation.id, organisation.name_nl, organisation.name_en) if n
        ]
        if any(
            n and (re.match(rf"{re.escape(n)}(?!\w)", given) or _joined(n) == _joined(given))
            for n in names
        ):
            raise InvalidParameter(
                "name",
                f"{name!r} names the organisation {organisation.id!r}: an organisation posts "
                "with its API key; without one, give your own name",
            )
    if email is None:
        raise InvalidParameter("email", "without a key, give a valid e-mail address")
    return _Author(name=name, email=email)


def _message(
    thread_id: int, body: str, now: datetime, caller: Caller | None, author: _Author, answer: bool
) -> FeedbackMessage:
    return FeedbackMessage(
        thread_id=thread_id,
        body=body,
        created_at=now,
        is_answer=answer,
        author_key_id=caller.key_id if caller else None,
        author_organisation_id=author.organisation_id,
        author_name=author.name,
        author_email=author.email,
    )


def _is_responder(session: Session, caller: Caller | None, dataset_id: str) -> bool:
    # A reader key reads: it may ask and reply, but not speak for the owners.
    if caller is None or caller.role not in WRITE_ROLES:
        return False
    if caller.is_admin:
        return True
    return any(
        org.id == caller.organisation.id and role.role in RESPONDER_ROLES
        for role, org in catalogue_repository.roles_of_dataset(session, dataset_id)
    )


def create_thread(
    session: Session, caller: Caller | None, dataset_id: str, new: NewThread
) -> ThreadOut:
    dataset = catalogue_repository.get_dataset(session, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id!r} not found", dataset=dataset_id)
    if new.kind == "access_request" and dataset.access_level == "non_public":
        raise Conflict(
            f"dataset {dataset_id!r} is non-public: no grant opens it, so there is no access "
            "to request; ask its owners to publish it with a thread of kind data_request"
        )
    if new.kind == "access_request" and dataset.access_level == "public":
        raise Conflict(
            f"dataset {dataset_id!r} is public: everyone reads its values without a grant, so "
            "there is no access to request; ask a question with a thread of kind question"
        )
    author = _author(session, caller, new.name, new.email)
    now = datetime.now(UTC)
    thread = FeedbackThread(
        dataset_id=dataset_id,
        kind=new.kind,
        state="open",
        title=new.title,
        created_at=now,
        updated_at=now,
        author_organisation_id=author.organisation_id,
        author_name=author.name,
        author_email=author.email,
    )
    session.add(thread)
    session.flush()
    session.add(_message(thread.id, new.body, now, caller, author, answer=False))
    session.flush()
    record(
        session,
        "feedback.create",
        caller=caller,
        actor=author.name,
        dataset_id=dataset_id,
        target=f"thread:{thread.id}",
        details={"kind": new.kind},
    )
    return _with_messages(session, thread)


def _thread(session: Session, thread_id: int) -> FeedbackThread:
    thread = repository.get_thread(session, thread_id)
    if thread is None:
        raise NotFound(f"feedback thread {thread_id} not found", thread=thread_id)
    return thread


def _add_message(
    session: Session,
    caller: Caller | None,
    thread: FeedbackThread,
    body: str,
    author: _Author,
    *,
    answer: bool,
) -> ThreadOut:
    if thread.state == "closed":
        raise Conflict(f"thread {thread.id} is closed; open a new one")
    now = datetime.now(UTC)
    session.add(_message(thread.id, body, now, caller, author, answer))
    # A reply of the asker (or anyone) to an answer asks again: the thread is open, and back
    # in the owners' inbox of open threads.
    thread.state = "answered" if answer else "open"
    thread.updated_at = now
    session.flush()
    record(
        session,
        "feedback.answer" if answer else "feedback.reply",
        caller=caller,
        actor=author.name,
        dataset_id=thread.dataset_id,
        target=f"thread:{thread.id}",
    )
    return _with_messages(session, thread)


def reply(session: Session, caller: Caller | None, thread_id: int, new: NewMessage) -> ThreadOut:
    """A message on the thread; from an owner or supplier of the dataset it answers it,
    unless it comes from the organisation that asked: every centre city supplies most
    datasets, and its own follow-up ("I meant Leuven") answers nothing; it asks again."""
    thread = _thread(session, thread_id)
    asker = caller is not None and caller.organisation.id == thread.author_organisation_id
    return _add_message(
        session,
        caller,
        thread,
        new.body,
        _author(session, caller, new.name, new.email),
        answer=not asker and _is_responder(session, caller, thread.dataset_id),
    )


def answer(session: Session, caller: Caller, thread_id: int, body: str) -> ThreadOut:
    """An answer proper: only owners and suppliers of the dataset (or site admins)."""
    thread = _thread(session, thread_id)
    _require_responder(session, caller, thread, "answering")
    return _add_message(
        session, caller, thread, body, _author(session, caller, None, None), answer=True
    )


def close(session: Session, caller: Caller, thread_id: int) -> ThreadOut:
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
    require_role(caller, WRITE_ROLES, f"{action} a thread")
    if not _is_responder(session, caller, thread.dataset_id):
        raise Forbidden(
            f"owner|publisher|supplier:{thread.dataset_id}",
            f"{action} a thread needs the owner, publisher or supplier role on dataset "
            f"{thread.dataset_id!r}; {caller.organisation.id!r} has none of them",
        )


def _summary_fields(thread: FeedbackThread) -> dict[str, object]:
    return {
        "id": thread.id,
        "dataset": thread.dataset_id,
        "kind": cast(ThreadKind, thread.kind),
        "state": cast(ThreadState, thread.state),
        "title": thread.title,
        "created_at": thread.created_at,
        "updated_at": thread.updated_at,
        "author": thread.author_organisation_id or thread.author_name,
        "organisation": thread.author_organisation_id,
    }


def thread_summary(thread: FeedbackThread) -> ThreadSummaryOut:
    return ThreadSummaryOut.model_validate(_summary_fields(thread))


def thread_out(thread: FeedbackThread, messages: list[FeedbackMessage]) -> ThreadOut:
    return ThreadOut.model_validate(
        {
            **_summary_fields(thread),
            "messages": [
                MessageOut(
                    id=m.id,
                    body=m.body,
                    created_at=m.created_at,
                    author=m.author_organisation_id or m.author_name,
                    organisation=m.author_organisation_id,
                    answer=m.is_answer,
                )
                for m in messages
            ],
        }
    )


def _with_messages(session: Session, thread: FeedbackThread) -> ThreadOut:
    return thread_out(thread, repository.messages_of(session, [thread.id]).get(thread.id, []))


def list_threads(
    session: Session,
    dataset_id: str,
    kind: ThreadKind | None,
    state: ThreadState | None,
    offset: int,
    limit: int,
) -> tuple[list[ThreadOut], int]:
    if catalogue_repository.get_dataset(session, dataset_id) is None:
        raise NotFound(f"dataset {dataset_id!r} not found", dataset=dataset_id)
    stmt = repository.threads_query(dataset_ids=[dataset_id], kind=kind, state=state)
    threads = queries.page(session, stmt, offset, limit)
    messages = repository.messages_of(session, [t.id for t in threads])
    return [thread_out(t, messages.get(t.id, [])) for t in threads], queries.count(session, stmt)


def get_thread(session: Session, thread_id: int) -> ThreadOut:
    return _with_messages(session, _thread(session, thread_id))


def inbox(
    session: Session, organisation_id: str, offset: int, limit: int
) -> tuple[list[ThreadSummaryOut], int]:
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
    return [thread_summary(t) for t in threads], queries.count(session, stmt)
