"""Fixtures of the statistics tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session


@pytest.fixture
def plain_session(real_engine: Engine) -> Iterator[Session]:
    """A session on the shared real database as a request has one (no savepoint; its reads
    outside a transaction); rolled back at the end."""
    with Session(real_engine) as session:
        try:
            yield session
        finally:
            session.rollback()
