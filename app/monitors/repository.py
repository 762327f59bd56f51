"""Queries of the monitors that no other domain answers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalogue.models import Dataset


def public_datasets(session: Session) -> list[Dataset]:
    stmt = select(Dataset).where(Dataset.access_level == "public").order_by(Dataset.id)
    return list(session.scalars(stmt))
