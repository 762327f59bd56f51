"""Writing to the audit log. Reading it (with its rights) is the ``access`` domain's work."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from app.audit.models import AuditEvent


class Actor(Protocol):
    """Whoever acts with a key: an authenticated caller."""

    @property
    def organisation_id(self) -> str: ...

    @property
    def key_id(self) -> int: ...


def record(
    session: Session,
    action: str,
    *,
    caller: Actor | None = None,
    actor: str | None = None,
    dataset_id: str | None = None,
    target: str | None = None,
    purpose: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one event to the audit log, in the caller's transaction: the event exists
    exactly when the change it records does. There is no way to change or remove one."""
    session.add(
        AuditEvent(
            at=datetime.now(UTC),
            organisation_id=caller.organisation_id if caller else None,
            api_key_id=caller.key_id if caller else None,
            actor=actor,
            action=action,
            dataset_id=dataset_id,
            target=target,
            purpose=purpose,
            details=details or {},
        )
    )
