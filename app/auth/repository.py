"""All queries on API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from app.auth.models import ApiKey


def key_by_hash(session: Session, key_hash: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))


def touch(session: Session, key_id: int, when: datetime) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=when))


def keys_query(organisation_id: str) -> Select[ApiKey]:
    return select(ApiKey).where(ApiKey.organisation_id == organisation_id).order_by(ApiKey.id)


def get_key(session: Session, key_id: int) -> ApiKey | None:
    return session.get(ApiKey, key_id)
