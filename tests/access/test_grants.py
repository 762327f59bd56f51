"""Grants on restricted data and the audit log: who may read and change them; typed bodies."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.access import repository as access_repository
from app.access.models import AccessGrant
from app.access.schemas import MAX_GRANT_DAYS
from app.db.session import transaction
from tests.dbutil import backend
from tests.factories import World

DATASET = "population-2025"
GRANTS = f"/api/v1/datasets/{DATASET}/grants"
BIG = 9223372036854775808  # one beyond int64


@pytest.fixture
def world(world: World) -> World:
    """The shared fresh world with the dataset made restricted: a grant is given on a
    restricted dataset only."""
    world.set_access_level(DATASET, "restricted")
    return world


def today() -> date:
    # Asked when a test runs, not when the module is collected: a run that crosses midnight
    # would otherwise send yesterday's dates.
    return datetime.now(UTC).date()


def in_days(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


class InDays(int):
    """A date given as days from the day the test runs (parameters are made at collection)."""


def grant_body(**changes: Any) -> dict[str, Any]:
    return {
        "organisation": "digitaal-vlaanderen",
        "purpose": "mobiliteitsplan",
        "valid_until": in_days(30),
        **{k: in_days(v) if isinstance(v, InDays) else v for k, v in changes.items()},
    }


def stored_grants(world: World) -> list[tuple[int, str, str, date, object]]:
    with world.factory() as session:
        return [
            (g.id, g.organisation_id, g.purpose, g.valid_until, g.revoked_at)
            for g in session.scalars(select(AccessGrant).order_by(AccessGrant.id))
        ]


def a_grant(world: World) -> int:
    """A grant stored directly, for tests about revoking it."""
    with transaction(world.factory) as session:
        grant = AccessGrant(
            dataset_id=DATASET,
            organisation_id="digitaal-vlaanderen",
            purpose="studie",
            valid_until=today() + timedelta(days=10),
            granted_by="gent",
            created_at=datetime.now(UTC),
        )
        session.add(grant)
        session.flush()
        return grant.id


def test_a_grant_is_created_listed_and_revoked(world: World) -> None:
    client = world.client
    created = client.post(
        GRANTS, json=grant_body(purpose="Mobiliteitsplan\n2026"), headers=world.auth("gent-editor")
    )
    assert created.status_code == 201, created.text
    grant = created.json()
    assert grant["dataset"] == DATASET
    assert grant["organisation"] == "digitaal-vlaanderen"
    assert grant["granted_by"] == "gent"
    assert grant["valid_until"] == in_days(30)
    assert grant["created_at"].endswith("Z")
    assert grant["revoked_at"] is None
    assert stored_grants(world) == [
        (grant["id"], "digitaal-vlaanderen", "Mobiliteitsplan\n2026", today() + timedelta(30), None)
    ]

    listed = client.get(GRANTS, headers=world.auth("antwerpen-editor"))
    assert listed.status_code == 200
    assert listed.json() == {"items": [grant], "total": 1, "page": 1, "page_size": 50}
    assert 'rel="first"' in listed.headers["link"]

    revoked = client.delete(f"/api/v1/grants/{grant['id']}", headers=world.auth("gent-editor"))
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"].endswith("Z")
    assert stored_grants(world)[0][4] is not None
    before = world.fingerprint()
    again = client.delete(f"/api/v1/grants/{grant['id']}", headers=world.auth("gent-editor"))
    assert again.status_code == 409
    assert world.fingerprint() == before

    log = client.get(f"/api/v1/datasets/{DATASET}/audit", headers=world.auth("gent-editor"))
    assert log.status_code == 200
    events = log.json()["items"]
    assert [e["action"] for e in events][:2] == ["grant.revoke", "grant.create"]
    assert events[1]["purpose"] == "Mobiliteitsplan\n2026"
    assert events[1]["details"] == {
        "organisation": "digitaal-vlaanderen",
        "valid_until": in_days(30),
    }
    assert all(e["at"].endswith("Z") for e in events)


# Owners' work on population-2025: editor keys of a co-owner (Gent, Antwerpen) and site admins.
# Statbel is its originator, Digitaal Vlaanderen holds no role; a supplier or reader key of a
# co-owner is not an editor's.
OWNERS = {"gent-editor", "antwerpen-editor", "admin"}
CALLERS = [
    "gent-reader",
    "gent",
    "gent-editor",
    "antwerpen-editor",
    "statbel",
    "statbel-editor",
    "analyst",
    "analyst-editor",
    "admin",
]


def assert_refused(response: Any, who: str) -> None:
    assert response.status_code == 403, (who, response.text)
    right = response.json()["missing_right"]
    # A key without the editor role lacks the role; an editor elsewhere lacks the dataset.
    if who.endswith(("-editor",)):
        assert DATASET in right, right
    else:
        assert right.startswith("role:"), right


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_grant(world: World, who: str) -> None:
    before, grants = world.fingerprint(), stored_grants(world)
    response = world.client.post(GRANTS, json=grant_body(), headers=world.auth(who))
    if who in OWNERS:
        assert response.status_code == 201
        assert len(stored_grants(world)) == len(grants) + 1
    else:
        assert_refused(response, who)
        assert world.fingerprint() == before
        assert stored_grants(world) == grants


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_revoke_a_grant(world: World, who: str) -> None:
    grant_id = a_grant(world)
    before = world.fingerprint()
    response = world.client.delete(f"/api/v1/grants/{grant_id}", headers=world.auth(who))
    revoked = stored_grants(world)[0][4]
    if who in OWNERS:
        assert response.status_code == 200
        assert revoked is not None
        return
    if who in MAY_SEE_GRANT:
        assert_refused(response, who)
    else:
        assert_unknown_grant(response, grant_id)
    assert revoked is None
    assert world.fingerprint() == before


# Besides the owners, the grant's holder (digitaal-vlaanderen, it lists the grants it holds)
# and the co-owner's other keys see a grant: the others are answered as for no grant at all.
MAY_SEE_GRANT = {"gent-reader", "gent", "analyst", "analyst-editor"}


def assert_unknown_grant(response: Any, grant_id: int) -> None:
    assert response.status_code == 404, response.text
    assert response.json() == {
        "type": "https://datapedia.be/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": f"grant {grant_id} not found",
        "instance": f"/api/v1/grants/{grant_id}",
        "grant": grant_id,
    }
    assert DATASET not in response.text


@pytest.mark.parametrize("who", ["statbel-editor", "statbel", "antwerpen-editor"])
def test_a_grant_the_caller_may_not_see_is_answered_as_one_that_does_not_exist(
    world: World, who: str
) -> None:
    """An id does not tell which dataset a grant opens (issue: the 403 named it)."""
    grant_id = a_grant(world)
    if who == "antwerpen-editor":
        # Antwerpen no longer owns the dataset: the grant is no longer its to see.
        left = world.client.delete(
            f"/api/v1/datasets/{DATASET}/roles/antwerpen/owner",
            headers=world.auth("publisher-editor"),
        )
        assert left.status_code == 200, left.text
    before = world.fingerprint()
    response = world.client.delete(f"/api/v1/grants/{grant_id}", headers=world.auth(who))
    assert_unknown_grant(response, grant_id)
    assert_unknown_grant(
        world.client.delete(f"/api/v1/grants/{grant_id + 1}", headers=world.auth(who)),
        grant_id + 1,
    )
    assert stored_grants(world)[0][4] is None
    assert world.fingerprint() == before


@pytest.mark.parametrize("who", CALLERS)
@pytest.mark.parametrize("path", [GRANTS, f"/api/v1/datasets/{DATASET}/audit"])
def test_who_may_read_grants_and_the_dataset_log(world: World, who: str, path: str) -> None:
    a_grant(world)
    response = world.client.get(path, headers=world.auth(who))
    if who in OWNERS:
        assert response.status_code == 200
        page = response.json()
        assert set(page) == {"items", "total", "page", "page_size"}
        if path == GRANTS:
            assert [g["purpose"] for g in page["items"]] == ["studie"]
    else:
        assert_refused(response, who)


@pytest.mark.parametrize("who", CALLERS)
def test_only_site_admins_read_the_whole_log(world: World, who: str) -> None:
    response = world.client.get("/api/v1/audit", headers=world.auth(who))
    if who == "admin":
        assert response.status_code == 200
        assert set(response.json()) == {"items", "total", "page", "page_size"}
    else:
        assert response.status_code == 403
        assert response.json()["missing_right"] == "role:admin"


def test_grants_and_log_of_an_unknown_dataset(world: World) -> None:
    for method, path in [
        ("GET", "/api/v1/datasets/nothing/grants"),
        ("POST", "/api/v1/datasets/nothing/grants"),
        ("GET", "/api/v1/datasets/nothing/audit"),
    ]:
        response = world.client.request(
            method,
            path,
            json=grant_body() if method == "POST" else None,
            headers=world.auth("admin"),
        )
        assert response.status_code == 404, (method, path)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"organisation": 5}, "organisation"),
        ({"organisation": ""}, "organisation"),
        ({"organisation": ["gent"]}, "organisation"),
        ({"organisation": "gent\x00"}, "organisation"),
        ({"purpose": 5}, "purpose"),
        ({"purpose": ""}, "purpose"),
        ({"purpose": " \n "}, "purpose"),
        ({"purpose": "x" * 1001}, "purpose"),
        ({"purpose": "a\x00b"}, "purpose"),
        ({"purpose": {"nl": "x"}}, "purpose"),
        ({"valid_until": 4102444800}, "valid_until"),
        ({"valid_until": "tomorrow"}, "valid_until"),
        ({"valid_until": "2027-01-01T00:00:00"}, "valid_until"),
        ({"valid_until": "20270101"}, "valid_until"),
        ({"valid_until": InDays(0)}, "valid_until"),
        ({"valid_until": InDays(-1)}, "valid_until"),
        ({"valid_until": InDays(MAX_GRANT_DAYS + 1)}, "valid_until"),
        ({"valid_until": None}, "valid_until"),
        ({"dataset": "income"}, "dataset"),
    ],
)
def test_bad_grants_are_refused(world: World, changes: dict[str, Any], field: str) -> None:
    before, grants = world.fingerprint(), stored_grants(world)
    response = world.client.post(GRANTS, json=grant_body(**changes), headers=world.auth("admin"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {e["parameter"] for e in response.json()["errors"]}
    assert world.fingerprint() == before
    assert stored_grants(world) == grants


def test_a_grant_for_an_unknown_organisation_is_404(world: World) -> None:
    before = world.fingerprint()
    response = world.client.post(
        GRANTS, json=grant_body(organisation="nobody"), headers=world.auth("admin")
    )
    assert response.status_code == 404
    assert response.json()["organisation"] == "nobody"
    assert world.fingerprint() == before


def test_the_last_allowed_day_is_accepted(world: World) -> None:
    response = world.client.post(
        GRANTS, json=grant_body(valid_until=in_days(MAX_GRANT_DAYS)), headers=world.auth("admin")
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("grant_id", [BIG, 2**63 - 1, 2**31, 0, "abc"])
def test_revoking_a_grant_that_cannot_exist_is_404(world: World, grant_id: object) -> None:
    response = world.client.delete(f"/api/v1/grants/{grant_id}", headers=world.auth("admin"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("dataset", ["a%00b", "a%1Fb", "x" * 101])
@pytest.mark.parametrize(
    ("method", "route"), [("GET", "grants"), ("POST", "grants"), ("GET", "audit")]
)
def test_a_dataset_id_that_cannot_exist_is_404(
    world: World, dataset: str, method: str, route: str
) -> None:
    before = world.fingerprint()
    response = world.client.request(
        method,
        f"/api/v1/datasets/{dataset}/{route}",
        json=grant_body() if method == "POST" else None,
        headers=world.auth("admin"),
    )
    assert response.status_code == 404
    assert world.fingerprint() == before


def test_a_grant_on_a_public_dataset_is_refused(world: World) -> None:
    """A grant on a public dataset opens nothing now, and would open the values once the
    publisher closes it: who reads a closed dataset is decided after it is closed."""
    world.set_access_level(DATASET, "public")
    before, grants = world.fingerprint(), stored_grants(world)
    response = world.client.post(GRANTS, json=grant_body(), headers=world.auth("gent-editor"))
    assert response.status_code == 409, response.text
    assert "is public" in response.json()["detail"]
    assert world.fingerprint() == before and stored_grants(world) == grants


@pytest.mark.parametrize(
    ("who", "organisation"),
    [
        ("gent-editor", "gent"),
        ("publisher-editor", "kenniscentrum-vlaamse-steden"),
    ],
)
def test_nobody_grants_itself_access(world: World, who: str, organisation: str) -> None:
    """A grant outlives the role: a co-owner that granted itself could leave the dataset
    and go on reading for years."""
    before, grants = world.fingerprint(), stored_grants(world)
    response = world.client.post(
        GRANTS, json=grant_body(organisation=organisation), headers=world.auth(who)
    )
    assert response.status_code == 403, response.text
    assert response.json()["missing_right"] == "role:admin"
    assert world.fingerprint() == before and stored_grants(world) == grants


def test_a_second_grant_while_one_holds_is_refused(world: World) -> None:
    """Two grants at once would leave the organisation reading after "its" grant was
    revoked."""
    first = world.client.post(GRANTS, json=grant_body(), headers=world.auth("gent-editor"))
    assert first.status_code == 201, first.text
    before, grants = world.fingerprint(), stored_grants(world)
    second = world.client.post(
        GRANTS, json=grant_body(purpose="dup"), headers=world.auth("antwerpen-editor")
    )
    assert second.status_code == 409, second.text
    assert f"grant {first.json()['id']}" in second.json()["detail"]
    assert world.fingerprint() == before and stored_grants(world) == grants
    # Revoked, the grant makes room for a new one, and its holder reads no more meanwhile.
    revoked = world.client.delete(
        f"/api/v1/grants/{first.json()['id']}", headers=world.auth("gent-editor")
    )
    assert revoked.status_code == 200, revoked.text
    obs = f"/api/v1/datasets/{DATASET}/observations"
    assert world.client.get(obs, headers=world.auth("analyst")).status_code == 403
    again = world.client.post(GRANTS, json=grant_body(), headers=world.auth("antwerpen-editor"))
    assert again.status_code == 201, again.text
    assert world.client.get(obs, headers=world.auth("analyst")).status_code == 200


def test_an_organisation_reads_the_grants_it_holds(world: World) -> None:
    """A researcher asked until when a grant lets it read: the owners' list was closed to
    it. Its own keys, of any role, read the grants it holds; nobody else but site admins."""
    made = world.client.post(GRANTS, json=grant_body(), headers=world.auth("gent-editor"))
    assert made.status_code == 201, made.text
    held = "/api/v1/organisations/digitaal-vlaanderen/grants"
    for who in ("analyst", "analyst-editor", "admin"):
        listed = world.client.get(held, headers=world.auth(who))
        assert listed.status_code == 200, (who, listed.text)
        assert listed.json()["items"] == [made.json()] and listed.json()["total"] == 1
    for who in ("gent-editor", "statbel"):
        refused = world.client.get(held, headers=world.auth(who))
        assert refused.status_code == 403, refused.text
        assert refused.json()["missing_right"] == "organisation:digitaal-vlaanderen"
    assert world.client.get(held).status_code == 401
    unknown = world.client.get("/api/v1/organisations/nobody/grants", headers=world.auth("admin"))
    assert unknown.status_code == 404


def key_id(world: World, who: str) -> int:
    me = world.client.get("/api/v1/me", headers=world.auth(who))
    assert me.status_code == 200, me.text
    return int(me.json()["key_id"])


def test_the_log_names_only_the_callers_own_keys(world: World) -> None:
    """A key id of another organisation is answered nowhere (README): an owner's log shows
    the key of its own organisation's events only; a site admin's every key."""
    granted = world.client.post(GRANTS, json=grant_body(), headers=world.auth("gent-editor"))
    assert granted.status_code == 201, granted.text
    for reader in ("gent", "antwerpen", "admin"):  # reads of restricted values are logged
        read = world.client.get(
            f"/api/v1/datasets/{DATASET}/observations", headers=world.auth(reader)
        )
        assert read.status_code == 200, read.text
    keys = {who: key_id(world, who) for who in ("gent", "gent-editor", "antwerpen", "admin")}
    keys["publisher-editor"] = key_id(world, "publisher-editor")

    def log(who: str, path: str = f"/api/v1/datasets/{DATASET}/audit") -> list[dict[str, Any]]:
        response = world.client.get(path, params={"page_size": 1000}, headers=world.auth(who))
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def keyed(items: list[dict[str, Any]]) -> set[tuple[str, int | None]]:
        return {(e["organisation"], e["key"]) for e in items if e["organisation"]}

    publisher = "kenniscentrum-vlaamse-steden"
    assert keyed(log("gent-editor")) == {
        ("gent", keys["gent-editor"]),  # the grant
        ("gent", keys["gent"]),  # a read
        ("antwerpen", None),
        (publisher, None),  # the access level, a site admin's read
    }
    assert keyed(log("publisher-editor")) == {
        ("gent", None),
        ("antwerpen", None),
        (publisher, keys["publisher-editor"]),
        (publisher, keys["admin"]),  # its own organisation's admin key
    }
    everything = {
        ("gent", keys["gent-editor"]),
        ("gent", keys["gent"]),
        ("antwerpen", keys["antwerpen"]),
        (publisher, keys["publisher-editor"]),
        (publisher, keys["admin"]),
    }
    assert keyed(log("admin")) == everything
    assert everything <= keyed(log("admin", "/api/v1/audit"))


def test_opening_a_dataset_ends_its_grants(world: World) -> None:
    """A public dataset takes no grants: who reads it once it is closed again is decided
    after it is closed. A grant given before it was opened must not come back to life when
    the publisher closes it again (found by an outside tester: the researcher read on)."""
    made = world.client.post(GRANTS, json=grant_body(), headers=world.auth("gent-editor"))
    assert made.status_code == 201, made.text
    obs = f"/api/v1/datasets/{DATASET}/observations"
    assert world.client.get(obs, headers=world.auth("analyst")).status_code == 200
    world.set_access_level(DATASET, "public")
    world.set_access_level(DATASET, "restricted")
    refused = world.client.get(obs, headers=world.auth("analyst"))
    assert refused.status_code == 403, refused.text
    assert refused.json()["missing_right"] == f"grant:{DATASET}"
    # The holder sees its grant ended, and the owners' log says by whom and why.
    held = world.client.get(
        "/api/v1/organisations/digitaal-vlaanderen/grants", headers=world.auth("analyst")
    )
    assert held.json()["items"][0]["revoked_at"] is not None
    log = world.client.get(
        f"/api/v1/datasets/{DATASET}/audit", headers=world.auth("gent-editor")
    ).json()["items"]
    ended = next(e for e in log if e["action"] == "grant.revoke")
    assert ended["target"] == f"grant:{made.json()['id']}"
    assert ended["organisation"] == "kenniscentrum-vlaamse-steden"
    assert ended["details"]["organisation"] == "digitaal-vlaanderen"
    assert "public" in ended["details"]["reason"]
    # A new grant is the owners' decision, made after the dataset was closed again.
    again = world.client.post(GRANTS, json=grant_body(), headers=world.auth("gent-editor"))
    assert again.status_code == 201, again.text
    assert world.client.get(obs, headers=world.auth("analyst")).status_code == 200


def test_a_refused_opening_ends_no_grant(world: World) -> None:
    """A co-owner may not open the dataset (the publisher decides): its refused attempt
    leaves the grants as they were."""
    made = world.client.post(GRANTS, json=grant_body(), headers=world.auth("gent-editor"))
    assert made.status_code == 201, made.text
    before, grants = world.fingerprint(), stored_grants(world)
    refused = world.client.patch(
        f"/api/v1/datasets/{DATASET}",
        json={"access_level": "public"},
        headers=world.auth("gent-editor"),
    )
    assert refused.status_code == 403, refused.text
    assert world.fingerprint() == before and stored_grants(world) == grants


@pytest.mark.skipif(
    backend() == "sqlite",
    reason="on SQLite the first grant holds the one write lock from its key's use on",
)
def test_two_grants_given_at_the_same_moment_make_one(
    world_db: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two owners answering one access request at the same moment (found by an outside
    tester: three grants were stored, and revoking "the" grant left the others open)."""
    world = world_db
    world.set_access_level(DATASET, "restricted")
    original = access_repository.active_grant
    answers: list[int] = []

    def other_owner() -> None:
        response = world.client.post(
            GRANTS, json=grant_body(purpose="twee"), headers=world.auth("antwerpen-editor")
        )
        answers.append(response.status_code)

    thread = threading.Thread(target=other_owner)

    def active_grant(*args: Any, **kwargs: Any) -> Any:
        held = original(*args, **kwargs)
        if thread.ident is None:
            # The other owner's grant runs once this one found none held, before it stores
            # its own; one that waits for this one commits after it.
            thread.start()
            thread.join(timeout=3)
        return held

    monkeypatch.setattr(access_repository, "active_grant", active_grant)
    first = world.client.post(GRANTS, json=grant_body(), headers=world.auth("gent-editor"))
    thread.join()
    assert sorted([first.status_code, *answers]) == [201, 409], (first.text, answers)
    assert len([g for g in stored_grants(world) if g[4] is None]) == 1
