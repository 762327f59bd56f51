"""Small query helpers every repository shares: counting and paging a select, and reading
timestamps back in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

RowT = TypeVar("RowT")


def count(session: Session, stmt: Select[Any]) -> int:
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def page(session: Session, stmt: Select[RowT], offset: int, limit: int) -> list[RowT]:
    return list(session.scalars(stmt.offset(offset).limit(limit)))


def as_utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone (they were stored in UTC); PostgreSQL
    with a zone object of its own. Either way: the same moment, in ``datetime.UTC``."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
