"""JSON shapes of the submissions API: the Table Schema of uploads, a submission's result
and the list of submissions."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.api.schemas import Page, Timestamp
from app.api.tableschema import FieldConstraints, TableField, TableSchema

__all__ = [
    "FieldConstraints",
    "SubmissionOut",
    "SubmissionPage",
    "SubmissionResult",
    "TableField",
    "TableSchema",
]


class SubmissionResult(BaseModel):
    """An accepted submission: the new revision and what it changed."""

    submission: int = Field(description="Id of the submission.")
    revision: int = Field(description="The dataset's new revision.")
    rows_total: int
    rows_added: int
    rows_changed: int
    rows_unchanged: int


class SubmissionOut(BaseModel):
    """One submission (an upload or an import from the source) of a dataset."""

    id: int
    organisation: str
    created_at: Timestamp
    source: str | None = Field(description="`upload`, or the source file of an import.")
    media_type: str | None
    sha256: str
    state: str = Field(examples=["accepted"])
    revision: int | None
    rows_total: int
    rows_added: int
    rows_changed: int
    rows_unchanged: int


class SubmissionPage(Page[SubmissionOut]):
    """A page of submissions, newest first."""
