"""What the tests of the CSV export in parts share (PostgreSQL's and SQLite's)."""

from __future__ import annotations

import threading

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.stats import repository, service
from app.stats.models import PublishedValue

# Datasets and filters of the real data an export in parts is checked on: every level, the
# sector level, a level of few units, the largest dataset, and periods not in their order.
REAL_EXPORTS = [
    ("income", {}),
    ("income", {"level": "sector"}),
    ("climate-energy-monitor", {"level": "municipality"}),
    ("energy-fluvius", {"level": "sector"}),
    ("energy-fluvius", {"periods": ["2021", "2019"]}),
]


def wanted(session: Session, dataset_id: str, **filters: object) -> repository.PublishedFilter:
    """The published rows the observations API reads for these filters."""
    query = service.build_query(
        session,
        dataset_id,
        indicators=filters.get("indicators", []),  # type: ignore[arg-type]
        periods=filters.get("periods", []),  # type: ignore[arg-type]
        level=filters.get("level"),  # type: ignore[arg-type]
        version=None,
        within=filters.get("within"),  # type: ignore[arg-type]
        units=[],
        area=[],
    )
    return service.published_filter(query, None)


def export(session: Session, asked: repository.PublishedFilter, parts: int) -> bytes:
    """The CSV export, then the session's transaction ended, as a request's ends (an export
    inside a transaction that has begun is made alone)."""
    made = b"".join(repository.copy_csv(session, asked, service.RECORD_FIELDS, parts=parts))
    session.rollback()
    return made


def part_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("csv-export-part-")]


# A value no dataset has: found in an export, it is the one a test wrote.
WRITTEN_VALUE = 987654321


def overwrite_a_value(session: Session, dataset_id: str) -> None:
    """Give the dataset's first current published value WRITTEN_VALUE, in the session's
    transaction (not committed)."""
    first = session.scalars(
        select(PublishedValue.id)
        .where(
            PublishedValue.dataset_id == dataset_id,
            PublishedValue.level == "sector",
            PublishedValue.revision_to.is_(None),
            PublishedValue.value.is_not(None),
        )
        .order_by(PublishedValue.id)
        .limit(1)
    ).one()
    session.execute(
        update(PublishedValue).where(PublishedValue.id == first).values(value=WRITTEN_VALUE)
    )
