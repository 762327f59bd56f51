"""Creating and checking API keys. A key is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from app.auth.models import KEY_ROLES, ApiKey
from app.catalogue.repository import get_organisation
from app.errors import InvalidParameter, NotFound

KEY_PREFIX = "dp_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(
    session: Session, organisation_id: str, role: str, label: str | None = None
) -> tuple[ApiKey, str]:
    """A new key of the organisation: the stored row and the key itself (never stored)."""
    if get_organisation(session, organisation_id) is None:
        raise NotFound(f"organisation {organisation_id!r} not found", organisation=organisation_id)
    if role not in KEY_ROLES:
        raise InvalidParameter("role", f"role must be one of {', '.join(KEY_ROLES)}; got {role!r}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        organisation_id=organisation_id,
        role=role,
        prefix=key[:10],
        key_hash=hash_key(key),
        label=label,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return row, key


def create_key(session: Session, organisation_id: str, role: str, label: str | None = None) -> str:
    return issue_key(session, organisation_id, role, label)[1]
