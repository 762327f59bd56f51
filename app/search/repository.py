"""Queries search needs beyond the catalogue's own: which periods a dataset has values for."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalogue.models import DatasetIndicator, DerivedIndicator
from app.stats.models import Observation, PublishedValue


def periods_of_datasets(session: Session, dataset_ids: Sequence[str]) -> dict[str, set[str]]:
    """The periods each dataset has current observations for.

    A skip scan: per (dataset, indicator) one index probe for the next period after the last
    one found, so the cost follows the number of periods, not of observations (a DISTINCT
    over millions of observations would read them all). A derived indicator across datasets
    has no observations of its own (its dataset holds copies of its parts): its periods are
    those it is published for."""
    derived = set(session.scalars(select(DerivedIndicator.indicator_id)))
    pairs = session.execute(
        select(DatasetIndicator.dataset_id, DatasetIndicator.indicator_id).where(
            DatasetIndicator.dataset_id.in_(list(dataset_ids))
        )
    ).all()
    result: dict[str, set[str]] = {d: set() for d in dataset_ids}
    for dataset_id, indicator_id in pairs:
        last: str | None = ""
        table = PublishedValue if indicator_id in derived else Observation
        while True:
            last = session.scalar(
                select(table.period)
                .where(
                    table.dataset_id == dataset_id,
                    table.indicator_id == indicator_id,
                    table.period > last,
                    table.revision_to.is_(None),
                )
                .order_by(table.period)
                .limit(1)
            )
            if last is None:
                break
            result[dataset_id].add(last)
    return result
