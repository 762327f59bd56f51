"""Tables of feedback threads and their messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

THREAD_KINDS = ("question", "error_report", "data_request", "access_request")
THREAD_STATES = ("open", "answered", "closed")


class FeedbackThread(Base):
    __tablename__ = "feedback_thread"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('question', 'error_report', 'data_request', 'access_request')", name="kind"
        ),
        CheckConstraint("state IN ('open', 'answered', 'closed')", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="open")
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Either an organisation's key or, anonymously, a name and an e-mail address.
    author_organisation_id: Mapped[str | None] = mapped_column(
        ForeignKey("organisation.id"), nullable=True
    )
    author_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    author_email: Mapped[str | None] = mapped_column(String(300), nullable=True)


class FeedbackMessage(Base):
    __tablename__ = "feedback_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_thread.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    author_organisation_id: Mapped[str | None] = mapped_column(
        ForeignKey("organisation.id"), nullable=True
    )
    author_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"), nullable=True)
    author_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    author_email: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # Written by an owner or supplier of the dataset: it answers the thread.
    is_answer: Mapped[bool] = mapped_column(Boolean, default=False)
