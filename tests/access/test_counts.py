"""What a submission counts (its rows) tells of a dataset's values: for a restricted or
non-public dataset only whoever may read the values sees the counts, in the submissions and
in the history; everyone else reads them as null (README: no page shows a non-public
dataset's values or counts them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.factories import World, submit_rows

DATASET = "population-2025"
URL = f"/api/v1/datasets/{DATASET}"
COUNTS = ("rows_total", "rows_added", "rows_changed", "rows_unchanged", "rows_not_supplied")


def counts(world: World, who: str | None) -> list[tuple[Any, ...]]:
    """The counts of every submission, as listed and as the history tells them."""
    headers = world.auth(who) if who else {}
    listed = world.client.get(f"{URL}/submissions", params={"page_size": 1000}, headers=headers)
    assert listed.status_code == 200, listed.text
    history = world.client.get(f"{URL}/history", params={"page_size": 1000}, headers=headers)
    assert history.status_code == 200, history.text
    found = [tuple(s[c] for c in COUNTS) for s in listed.json()["items"]]
    told = [
        tuple(e["changes"][c] for c in COUNTS)
        for e in history.json()["items"]
        if e["kind"] == "submission"
    ]
    assert found and sorted(found, key=str) == sorted(told, key=str)
    return found


def hidden(found: list[tuple[Any, ...]]) -> bool:
    return all(value is None for row in found for value in row)


def shown(found: list[tuple[Any, ...]]) -> bool:
    return all(isinstance(value, int) for row in found for value in row)


@pytest.mark.parametrize("level", ["non_public", "restricted"])
def test_the_counts_of_a_closed_dataset_are_for_its_readers_only(world: World, level: str) -> None:
    submit_rows(world, DATASET, "gent", "44021A00-,population,2025,1234,")
    public = counts(world, None)
    assert shown(public)
    world.set_access_level(DATASET, level)
    before = world.fingerprint()
    # Without a key, with a key of an organisation holding no role, or only a custodian's or
    # originator's (Statbel): null.
    for who in (None, "analyst", "analyst-editor", "statbel-editor"):
        assert hidden(counts(world, who)), who
    # The owners, the publisher, a supplier and site admins: the counts.
    for who in ("gent-editor", "gent", "gent-reader", "publisher-editor", "admin"):
        assert counts(world, who) == public, who
    assert world.fingerprint() == before  # a list of counts is no read of the values
    if level == "restricted":
        # A grant opens the values, and so their counts.
        later = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
        granted = world.client.post(
            f"{URL}/grants",
            json={"organisation": "digitaal-vlaanderen", "purpose": "p", "valid_until": later},
            headers=world.auth("gent-editor"),
        )
        assert granted.status_code == 201, granted.text
        assert counts(world, "analyst") == public
