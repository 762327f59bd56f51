"""Small query helpers every repository shares: counting and paging a select, matching text
literally, and reading timestamps back in UTC."""

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


LIKE_ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """A LIKE pattern that finds ``text`` literally, lower-cased: ``%`` and ``_`` typed by a
    user are characters, not wildcards. Use with ``.like(pattern, escape=LIKE_ESCAPE)``."""
    return f"%{_escaped(text)}%"


def prefix_pattern(text: str) -> str:
    """Like :func:`contains_pattern`, for values that start with ``text``."""
    return f"{_escaped(text)}%"


def _escaped(text: str) -> str:
    return (
        text.lower()
        .replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
