"""Role changes of one dataset at the same moment (the publisher granting two organisations
a role from a script, a co-owner inviting a supplier while the publisher hands out a
territory): each change keeps what the other did."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from app.catalogue import repository as catalogue_repository
from tests.dbutil import backend
from tests.factories import World

DATASET = "population-2025"
ROLES = f"/api/v1/datasets/{DATASET}/roles"


def _meanwhile(monkeypatch: pytest.MonkeyPatch, change: Callable[[], None]) -> threading.Thread:
    """Start ``change`` (a request of its own) once the next role change has read the
    dataset's roles, before it stores its own, and give it a few seconds to commit: a role
    change that waits for the first one's lock commits after it."""
    original = catalogue_repository.sync_roles
    thread = threading.Thread(target=change)

    def sync_roles(*args: Any, **kwargs: Any) -> Any:
        if not thread.is_alive() and thread.ident is None:
            thread.start()
            thread.join(timeout=3)
        return original(*args, **kwargs)

    monkeypatch.setattr(catalogue_repository, "sync_roles", sync_roles)
    return thread


def _roles(world: World) -> set[tuple[str, str]]:
    dataset = world.client.get(f"/api/v1/datasets/{DATASET}").json()
    return {(r["organisation"]["id"], r["role"]) for r in dataset["roles"]}


@pytest.mark.skipif(
    backend() == "sqlite",
    reason="on SQLite the first change holds the one write lock from its key's use on: the "
    "second waits for it, or gets a 409",
)
@pytest.mark.parametrize("first", ["grant", "territory", "revoke", "publisher"])
def test_a_role_change_keeps_the_role_granted_meanwhile(
    world_db: World, monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    world = world_db
    publisher = world.headers("publisher-editor", "application/json")
    # Another key: a request writes its key's last use, which would wait for the first one.
    admin = world.headers("admin", "application/json")

    answers: list[int] = []

    def grant_meanwhile() -> None:
        response = world.client.post(
            ROLES, json={"organisation": "fluvius", "role": "custodian"}, headers=admin
        )
        answers.append(response.status_code)

    meanwhile = _meanwhile(monkeypatch, grant_meanwhile)
    if first == "grant":
        response = world.client.post(
            ROLES, json={"organisation": "statbel", "role": "custodian"}, headers=publisher
        )
    elif first == "territory":
        response = world.client.post(
            ROLES,
            json={
                "organisation": "antwerpen",
                "role": "supplier",
                "territory": ["municipality:11002", "sector:44021A00-"],
            },
            headers=publisher,
        )
    elif first == "revoke":
        response = world.client.delete(f"{ROLES}/aalst/owner", headers=publisher)
    else:
        response = world.client.put(
            f"/api/v1/datasets/{DATASET}/publisher",
            json={"organisation": "digitaal-vlaanderen"},
            headers=publisher,
        )
    assert response.status_code in (200, 201), response.text
    meanwhile.join(timeout=60)
    assert answers == [201]
    roles = _roles(world)
    # What the first change did, and the role granted while it ran.
    assert ("fluvius", "custodian") in roles
    if first == "grant":
        assert ("statbel", "custodian") in roles
    elif first == "revoke":
        assert ("aalst", "owner") not in roles
    elif first == "publisher":
        assert ("digitaal-vlaanderen", "publisher") in roles
        assert ("kenniscentrum-vlaamse-steden", "publisher") not in roles
    history = world.client.get(f"/api/v1/datasets/{DATASET}/history").json()["items"]
    granted = [e["changes"].get("granted", {}) for e in history if e["kind"] == "role"]
    assert {"organisation": "fluvius", "role": "custodian", "territory": []} in granted
