"""JSON shapes of the submissions API: the Table Schema of uploads, a submission's result
and the list of submissions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.api.schemas import Page, Timestamp
from app.api.tableschema import FieldConstraints, TableField, TableSchema

__all__ = [
    "FieldConstraints",
    "SubmissionError",
    "SubmissionOut",
    "SubmissionPage",
    "SubmissionResult",
    "SubmissionState",
    "TableField",
    "TableSchema",
    "WithdrawalResult",
]


class SubmissionResult(BaseModel):
    """An accepted submission: the revision that holds it and what it changed."""

    submission: int = Field(description="Id of the submission.")
    revision: int = Field(
        description="The dataset's revision holding the submission's rows: a new one, or the "
        "current one when the submission changed nothing."
    )
    new_revision: bool = Field(
        description="Whether the submission made a new revision. A submission whose every "
        "row equals the current one is recorded but changes nothing: no revision, no new "
        "modification date, no download written again."
    )
    rows_total: int
    rows_added: int
    rows_changed: int
    rows_unchanged: int
    rows_not_supplied: int = Field(
        description="For a period the dataset did not hold yet: the sectors that report the "
        "indicator in other periods but are not in this submission, stored as `missing` "
        "(`not_applicable` where they always are), so that the period's totals are "
        "`incomplete` with their coverage until those sectors are supplied."
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="What was accepted but may not be what was meant, e.g. a CSV file whose "
        "last line has no line end unlike the others (cut off?).",
    )


class WithdrawalResult(BaseModel):
    """A withdrawn submission: the revision that undid it and what it changed."""

    submission: int = Field(description="Id of the withdrawal (listed with the submissions).")
    withdrawn: int = Field(description="Id of the submission withdrawn.")
    revision: int = Field(description="The dataset's new revision, without the submission.")
    rows_withdrawn: int = Field(description="Rows of the submission that were still current.")
    rows_restored: int = Field(
        description="Of those, the rows whose earlier value is current again; the others are "
        "gone (the submission had added them)."
    )


_COUNTED = (
    "Null for a caller who may not read the dataset's values (a restricted dataset without a "
    "grant, a non-public one but for its owners, suppliers and site admins)."
)


# accepted: stored (a revision, or nothing changed); rejected: an upload refused for its
# content or form, kept with its errors (nothing of it was stored).
SubmissionState = Literal["accepted", "rejected"]


class SubmissionError(BaseModel):
    """One problem of a refused upload, as the refusal (the 422 or 403 answer) listed it."""

    row: int = Field(description="Data row, 1 = the first row after the header; 0 = the file.")
    line: int | None = Field(
        default=None, description="Of a CSV file: the line the row starts on (the header is 1)."
    )
    column: str | None
    value: str | None = Field(description="The cell as sent (shortened to 100 characters).")
    reason: str


class SubmissionOut(BaseModel):
    """One submission (an upload or an import from the source) of a dataset."""

    id: int
    organisation: str
    created_at: Timestamp
    source: str | None = Field(description="`upload`, or the source file of an import.")
    media_type: str | None
    sha256: str | None = Field(
        description="SHA-256 of the file; given to the dataset's owners, publisher, suppliers "
        "and site admins, null for everyone else (and for a withdrawal, which has no file)."
    )
    state: SubmissionState = Field(
        description="`accepted`, or `rejected`: an upload refused for its content or form "
        "(invalid rows, a type that cannot be read, rows outside the supplier's territory), "
        "nothing of which was stored. Rejected uploads are listed to the organisation that "
        "sent them, the dataset's publisher and site admins only.",
        examples=["accepted"],
    )
    revision: int | None = Field(
        description="The revision it made; null for a submission that changed nothing, and "
        "for a rejected one."
    )
    # What a submission counts tells of the values: null for whoever may not read them.
    rows_total: int | None = Field(
        description=f"Rows of the file (of a rejected one: the rows read). {_COUNTED}"
    )
    rows_added: int | None = Field(description=_COUNTED)
    rows_changed: int | None = Field(description=_COUNTED)
    rows_unchanged: int | None = Field(description=_COUNTED)
    rows_not_supplied: int | None = Field(
        description="Sectors stored as `missing` because this submission opened a period "
        f"without them (see the submission result). {_COUNTED}"
    )
    withdrawn_by: int | None = Field(
        description="The withdrawal (listed with the submissions) that undid this upload; "
        "null while it is in effect."
    )
    errors: list[SubmissionError] = Field(
        description="Of a rejected upload: its first errors (at most 100), as the refusal "
        "listed them; empty for an accepted one."
    )
    error_count: int = Field(
        description="Of a rejected upload: how many errors it had in all; 0 for an accepted one."
    )


class SubmissionPage(Page[SubmissionOut]):
    """A page of submissions, newest first."""
