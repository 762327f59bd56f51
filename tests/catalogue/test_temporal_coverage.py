"""The temporal coverage published for a dataset: the declared one, widened to its years."""

from __future__ import annotations

from datetime import date

import pytest

from app.catalogue.models import Dataset


def covered(
    start: date | None, end: date | None, first: str | None, last: str | None
) -> tuple[date | None, date | None]:
    dataset = Dataset(
        temporal_start=start, temporal_end=end, periods_first=first, periods_last=last
    )
    return dataset.temporal_coverage


@pytest.mark.parametrize(
    ("declared", "held", "published"),
    [
        # Years inside the declared coverage change nothing.
        (
            (date(2018, 1, 1), date(2021, 12, 31)),
            ("2019", "2021"),
            (date(2018, 1, 1), date(2021, 12, 31)),
        ),
        # A year's flow: a later year ends on its 31 December, an earlier one starts on 1 January.
        (
            (date(2018, 1, 1), date(2021, 12, 31)),
            ("2016", "2023"),
            (date(2016, 1, 1), date(2023, 12, 31)),
        ),
        # A stock on a reference day: the same day of the new year.
        (
            (date(2025, 1, 1), date(2025, 1, 1)),
            ("2025", "2026"),
            (date(2025, 1, 1), date(2026, 1, 1)),
        ),
        (
            (date(2024, 2, 29), date(2024, 2, 29)),
            ("2024", "2025"),
            (date(2024, 2, 29), date(2025, 2, 28)),
        ),
        # Nothing declared: the years held, whole.
        ((None, None), ("2019", "2020"), (date(2019, 1, 1), date(2020, 12, 31))),
        # Nothing held (or periods that are not years): the declared coverage as it is.
        ((date(2013, 1, 1), None), (None, None), (date(2013, 1, 1), None)),
        ((None, None), ("2020-Q1", "2020-Q4"), (None, None)),
    ],
)
def test_the_declared_coverage_widens_to_the_years_held(
    declared: tuple[date | None, date | None],
    held: tuple[str | None, str | None],
    published: tuple[date | None, date | None],
) -> None:
    assert covered(*declared, *held) == published
