"""A supplier's rights are read when its file is checked, which takes as long as the file is
large; the publisher may narrow the supplier's territory (or remove the role) meanwhile. The
file must not be stored under the rights it had before that change was committed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.auth.keys import create_key
from app.db.session import transaction
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


def test_a_role_removed_while_a_withdrawal_waits_for_the_dataset_stops_it(
    world_db: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A withdrawal waits for the dataset while another write to it is being stored; the
    publisher may remove the supplier's role meanwhile (its change waits in the same line).
    The withdrawal must then be judged on the rights of when it runs, not of before it
    waited (found by an outside tester: the rights were read before the wait)."""
    world = world_db
    publisher = world.headers("publisher-editor", "application/json")
    # Digitaal Vlaanderen supplies Gent's sectors and holds no other role on the dataset.
    invited = world.client.post(
        ROLES,
        json={
            "organisation": "digitaal-vlaanderen",
            "role": "supplier",
            "territory": ["municipality:44021"],
        },
        headers=publisher,
    )
    assert invited.status_code == 201, invited.text
    with transaction(world.factory) as session:
        supplier = {
            "Authorization": f"Bearer {create_key(session, 'digitaal-vlaanderen', 'supplier')}"
        }
    submitted = world.client.post(
        SUBMIT, content=UPLOAD, headers={**supplier, "Content-Type": "text/csv"}
    )
    assert submitted.status_code == 201, submitted.text
    submission = submitted.json()["submission"]
    before = _current_gent_values(world)

    original = stats_repository.lock_dataset
    done: list[bool] = []

    def lock_dataset(*args: Any, **kwargs: Any) -> Any:
        if not done:
            done.append(True)
            # Committed in a request of its own while the withdrawal waits for the lock.
            removed = world.client.delete(
                f"{ROLES}/digitaal-vlaanderen/supplier", headers=publisher
            )
            assert removed.status_code == 200, removed.text
        return original(*args, **kwargs)

    monkeypatch.setattr(stats_repository, "lock_dataset", lock_dataset)
    response = world.client.delete(f"{SUBMIT}/{submission}", headers=supplier)
    assert done
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["missing_right"] == f"supplier|owner|publisher:{DATASET}"
    assert _current_gent_values(world) == before
    listed = world.client.get(SUBMIT, params={"state": "accepted"}).json()["items"]
    assert all(s["withdrawn_by"] is None for s in listed)
