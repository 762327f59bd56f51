"""JSON shapes of feedback threads and messages."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictStr,
    StringConstraints,
)

from app.api.schemas import Timestamp
from app.api.text import multiline, single_line

ThreadKind = Literal["question", "error_report", "data_request", "access_request"]
ThreadState = Literal["open", "answered", "closed"]

MAX_TITLE = 200
MAX_BODY = 5000
MAX_NAME = 200

Title = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=MAX_TITLE), AfterValidator(single_line)
]
Body = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=MAX_BODY), AfterValidator(multiline)
]
Name = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=MAX_NAME), AfterValidator(single_line)
]


class _Anonymous(BaseModel):
    """Without a key, a name and an e-mail address say who writes."""

    name: Name | None = Field(
        default=None, description=f"Without a key: your name (at most {MAX_NAME} characters)."
    )
    email: EmailStr | None = Field(
        default=None, description="Without a key: your e-mail address (never published)."
    )


class NewThread(_Anonymous):
    model_config = ConfigDict(extra="forbid")

    kind: ThreadKind = Field(
        description="question, error_report, data_request or access_request",
        examples=["question"],
    )
    title: Title = Field(
        description=f"At most {MAX_TITLE} characters.",
        examples=["Waarom is sector 44021A00- leeg?"],
    )
    body: Body = Field(description=f"At most {MAX_BODY} characters.")


class NewMessage(_Anonymous):
    model_config = ConfigDict(extra="forbid")

    body: Body = Field(description=f"At most {MAX_BODY} characters.")


class NewAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Body = Field(description=f"At most {MAX_BODY} characters.")


class MessageOut(BaseModel):
    id: int
    body: str
    created_at: Timestamp
    author: str | None = Field(description="The organisation, or the name given without a key.")
    organisation: str | None = Field(
        description="The organisation that wrote it with its key; null for a name given "
        "without one (not verified)."
    )
    answer: bool = Field(description="Written by an owner or supplier of the dataset.")


class ThreadSummaryOut(BaseModel):
    id: int
    dataset: str
    kind: ThreadKind
    state: ThreadState
    title: str
    created_at: Timestamp
    updated_at: Timestamp
    author: str | None = Field(description="The organisation, or the name given without a key.")
    organisation: str | None = Field(
        description="The organisation that opened it with its key; null for a name given "
        "without one (not verified)."
    )


class ThreadOut(ThreadSummaryOut):
    messages: list[MessageOut] = Field(description="Oldest first.")
