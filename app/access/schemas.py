"""JSON shapes of grants and the audit log."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictStr,
    StringConstraints,
)

from app.api.schemas import Timestamp
from app.api.text import multiline, single_line

MAX_PURPOSE = 1000
# A grant is for a purpose, not forever: at most this far ahead, then the owners renew it.
MAX_GRANT_DAYS = 5 * 366


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_text(value: Any) -> Any:
    # A number would otherwise be read as Unix time, and a time of day at midnight as that
    # day: only a date written as a date is one here.
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("a date written as YYYY-MM-DD")


def _in_the_future(value: date) -> date:
    today = datetime.now(UTC).date()
    if value <= today:
        raise ValueError(f"must lie in the future (after {today.isoformat()})")
    if value > today + timedelta(days=MAX_GRANT_DAYS):
        raise ValueError(f"may lie at most {MAX_GRANT_DAYS} days ahead")
    return value


class NewGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation: Annotated[
        StrictStr, StringConstraints(min_length=1, max_length=100), AfterValidator(single_line)
    ] = Field(
        description="The organisation that may read the dataset's values.", examples=["leuven"]
    )
    purpose: Annotated[
        StrictStr,
        StringConstraints(min_length=1, max_length=MAX_PURPOSE),
        AfterValidator(multiline),
    ] = Field(
        description=f"Why it may (at most {MAX_PURPOSE} characters); written to the audit log "
        "with every read.",
        examples=["Omgevingsanalyse voor het mobiliteitsplan"],
    )
    valid_until: Annotated[
        date, BeforeValidator(_iso_date_text), AfterValidator(_in_the_future)
    ] = Field(
        description=f"The last day of the grant: after today, at most {MAX_GRANT_DAYS} days ahead.",
        # Computed: a fixed date would one day be an example that is refused.
        examples=[(datetime.now(UTC).date() + timedelta(days=365)).isoformat()],
    )


class GrantOut(BaseModel):
    id: int
    dataset: str
    organisation: str
    purpose: str
    valid_until: date
    granted_by: str = Field(description="The organisation of the owner who granted it.")
    created_at: Timestamp
    revoked_at: Timestamp | None


class AuditEventOut(BaseModel):
    """One line of the audit log."""

    id: int
    at: Timestamp
    organisation: str | None = Field(description="The organisation of the key that acted.")
    key: int | None = Field(
        description="The id of the key that acted: for the caller's own organisation's events "
        "(all of them for a site admin), null for other organisations' and without a key."
    )
    actor: str | None = Field(description="Without a key: the name given.")
    action: str = Field(examples=["grant.create"])
    dataset: str | None
    target: str | None
    purpose: str | None
    details: dict[str, JsonValue]
