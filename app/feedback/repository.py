"""All queries on feedback threads."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.feedback.models import FeedbackMessage, FeedbackThread


def get_thread(session: Session, thread_id: int) -> FeedbackThread | None:
    return session.get(FeedbackThread, thread_id)


def messages(session: Session, thread_id: int) -> list[FeedbackMessage]:
    return list(
        session.scalars(
            select(FeedbackMessage)
            .where(FeedbackMessage.thread_id == thread_id)
            .order_by(FeedbackMessage.id)
        )
    )


def threads_query(
    *, dataset_ids: Sequence[str], kind: str | None, state: str | None
) -> Select[FeedbackThread]:
    stmt = select(FeedbackThread).where(FeedbackThread.dataset_id.in_(list(dataset_ids)))
    if kind is not None:
        stmt = stmt.where(FeedbackThread.kind == kind)
    if state is not None:
        stmt = stmt.where(FeedbackThread.state == state)
    return stmt.order_by(FeedbackThread.updated_at.desc(), FeedbackThread.id.desc())


def count(session: Session, stmt: Select[FeedbackThread]) -> int:
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def page(
    session: Session, stmt: Select[FeedbackThread], offset: int, limit: int
) -> list[FeedbackThread]:
    return list(session.scalars(stmt.offset(offset).limit(limit)))
