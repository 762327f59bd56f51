"""What the tests of the CSV export in parts share (PostgreSQL's and SQLite's)."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from app.stats import repository, service

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


def part_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("csv-export-part-")]
