"""JSON shapes of the key API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, StringConstraints

from app.api.schemas import Timestamp
from app.api.text import single_line
from app.catalogue.schemas import OrganisationRef

KeyRole = Literal["reader", "supplier", "editor", "admin"]
MAX_LABEL = 200

Label = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=MAX_LABEL), AfterValidator(single_line)
]


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: KeyRole = Field(description="reader, supplier, editor or admin", examples=["supplier"])
    label: Label | None = Field(
        default=None,
        description=f"What the key is for (at most {MAX_LABEL} characters).",
        examples=["upload script of the statistics team"],
    )


class KeyOut(BaseModel):
    """A key as listed: never the key itself, only its first characters."""

    id: int
    organisation: str
    role: KeyRole
    prefix: str = Field(description="The first characters of the key, to recognise it.")
    label: str | None
    created_at: Timestamp
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None


class NewKeyOut(BaseModel):
    """A new key: the only time the key itself is shown."""

    id: int
    key: str = Field(description="Send as 'Authorization: Bearer <key>'. Shown only once.")
    prefix: str
    role: KeyRole
    organisation: str
    label: str | None


class MeOut(BaseModel):
    organisation: OrganisationRef
    role: KeyRole
    key_id: int
