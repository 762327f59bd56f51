"""A supplier's rights are read when its file is checked, which takes as long as the file is
large; the publisher may narrow the supplier's territory (or remove the role) meanwhile. The
file must not be stored under the rights it had before that change was committed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.stats import repository as stats_repository
from tests.factories import World

DATASET = "population-2025"
SUBMIT = f"/api/v1/datasets/{DATASET}/submissions"
ROLES = f"/api/v1/datasets/{DATASET}/roles"
UPLOAD = (
    b"sector,indicator,period,value,status\n"
    b"44021A00-,population,2025,1000,\n"
    b"44021A01-,population,2025,2000,\n"
)


def _while_checking(monkeypatch: pytest.MonkeyPatch, change: Callable[[], None]) -> None:
    """Run ``change`` (committed in a request of its own) once the upload's rows are read and
    checked against the rights the upload began with, before they are stored."""
    original = stats_repository.staged_duplicates
    done: list[bool] = []

    def staged_duplicates(*args: Any, **kwargs: Any) -> Any:
        if not done:
            done.append(True)
            change()
        return original(*args, **kwargs)

    monkeypatch.setattr(stats_repository, "staged_duplicates", staged_duplicates)


def _current_gent_values(world: World) -> list[object]:
    response = world.client.get(
        f"/api/v1/datasets/{DATASET}/observations",
        params={"indicator": "population", "level": "sector", "within": "municipality:44021"},
    )
    assert response.status_code in (200, 404), response.text
    return [] if response.status_code == 404 else response.json()["items"]


@pytest.mark.parametrize("how", ["narrowed", "removed"])
def test_a_territory_changed_while_the_file_is_checked_stores_nothing(
    world_db: World, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    world = world_db
    publisher = world.headers("publisher-editor", "application/json")

    def change() -> None:
        if how == "narrowed":
            response = world.client.post(
                ROLES,
                json={
                    "organisation": "gent",
                    "role": "supplier",
                    "territory": ["sector:44021A00-"],
                },
                headers=publisher,
            )
        else:
            response = world.client.delete(f"{ROLES}/gent/supplier", headers=publisher)
        assert response.status_code in (200, 201), response.text

    _while_checking(monkeypatch, change)
    before = _current_gent_values(world)
    response = world.client.post(SUBMIT, content=UPLOAD, headers=world.headers("gent"))
    # The rights changed under the upload: it is refused as a conflict (send it again, and
    # the rights of now decide), never stored under the rights of before.
    assert response.status_code == 409, response.text
    assert "changed while" in response.json()["detail"]
    assert _current_gent_values(world) == before
    accepted = world.client.get(SUBMIT, params={"state": "accepted"}).json()
    assert all(s["organisation"] != "gent" for s in accepted["items"])
    # Sent again, the file meets the rights of now.
    again = world.client.post(SUBMIT, content=UPLOAD, headers=world.headers("gent"))
    assert again.status_code == 403, again.text
