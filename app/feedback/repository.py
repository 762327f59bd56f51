"""All queries on feedback threads."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.feedback.models import FeedbackMessage, FeedbackThread


def get_thread(session: Session, thread_id: int) -> FeedbackThread | None:
    return session.get(FeedbackThread, thread_id)


def messages_of(session: Session, thread_ids: Sequence[int]) -> dict[int, list[FeedbackMessage]]:
    """The messages of these threads, oldest first, in one query."""
    result: dict[int, list[FeedbackMessage]] = {thread_id: [] for thread_id in thread_ids}
    stmt = (
        select(FeedbackMessage)
        .where(FeedbackMessage.thread_id.in_(list(thread_ids)))
        .order_by(FeedbackMessage.id)
    )
    for message in session.scalars(stmt):
        result[message.thread_id].append(message)
    return result


def threads_query(
    *, dataset_ids: Sequence[str], kind: str | None, state: str | None
) -> Select[FeedbackThread]:
    stmt = select(FeedbackThread).where(FeedbackThread.dataset_id.in_(list(dataset_ids)))
    if kind is not None:
        stmt = stmt.where(FeedbackThread.kind == kind)
    if state is not None:
        stmt = stmt.where(FeedbackThread.state == state)
    return stmt.order_by(FeedbackThread.updated_at.desc(), FeedbackThread.id.desc())
