"""JSON shapes shared by every domain."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

ItemT = TypeVar("ItemT")


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
