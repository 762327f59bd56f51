"""JSON shapes shared by every domain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

ItemT = TypeVar("ItemT")


def _utc_text(moment: datetime) -> str:
    # SQLite hands timestamps back without a zone; they were stored in UTC.
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat().replace("+00:00", "Z")


# Every timestamp in JSON: RFC 3339 in UTC with a "Z", as the OpenAPI `date-time` promises.
Timestamp = Annotated[
    datetime,
    PlainSerializer(_utc_text, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Text(BaseModel):
    """A text in Dutch and English."""

    nl: str | None
    en: str | None


class Page(BaseModel, Generic[ItemT]):
    """A page of a list; RFC 8288 ``Link`` headers carry first/prev/next/last."""

    items: list[ItemT]
    total: int = Field(description="Number of items over all pages.")
    page: int
    page_size: int
