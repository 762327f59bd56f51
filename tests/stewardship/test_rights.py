"""Who may change a dataset's metadata, roles, territories and publisher (README, "Who may do
what"): the escalation from issue 9 first, then the whole matrix key role × relation of the
caller's organisation to the dataset × action."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any

import httpx
import pytest
from sqlalchemy import delete

from app.auth.keys import create_key
from app.catalogue.models import DatasetRole
from app.db.session import transaction
from tests.factories import Template, World, open_world

DATASET = "population-2025"
URL = f"/api/v1/datasets/{DATASET}"
ROLES = f"{URL}/roles"
SUBMIT = f"{URL}/submissions"
PUBLISHER = "kenniscentrum-vlaamse-steden"
THIRD = "provincies-data-analyse"  # holds no role on the dataset
OUTSIDE = "municipality:11002"  # Antwerpen
GENT = "municipality:44021"

# The caller's organisation and how it relates to population-2025 (seeds/datasets).
RELATIONS = {
    "publisher": PUBLISHER,
    "co-owner": "gent",  # owner, and supplier for municipality:44021
    "supplier-only": "digitaal-vlaanderen",  # made a supplier for Gent's territory below
    "unrelated": "fluvius",
}
KEY_ROLES = ("reader", "supplier", "editor", "admin")
OWNER_RIGHT = f"owner|publisher:{DATASET}"
PUBLISHER_RIGHT = f"publisher:{DATASET}"
TERRITORY_RIGHT = f"territory:{DATASET}"
SELF_RIGHT = "role:admin"
KEY_RIGHT = "role:editor|admin"


def add_keys(world: World, *pairs: tuple[str, str]) -> dict[str, dict[str, str]]:
    with transaction(world.factory) as session:
        keys = {f"{org}/{role}": create_key(session, org, role) for org, role in pairs}
    return {name: {"Authorization": f"Bearer {key}"} for name, key in keys.items()}


def dataset(world: World) -> dict[str, Any]:
    response = world.client.get(URL)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def roles(world: World) -> dict[tuple[str, str], list[str]]:
    """(organisation, role) → territory, read back through the API."""
    return {
        (r["organisation"]["id"], r["role"]): sorted(u["id"] for u in r["territory"])
        for r in dataset(world)["roles"]
    }


def submit(world: World, headers: dict[str, str], sector: str) -> int:
    body = f"sector,indicator,period,value,status\n{sector},population,2025,10,\n"
    response = world.client.post(
        SUBMIT, content=body.encode(), headers={**headers, "Content-Type": "text/csv"}
    )
    return response.status_code


# --- the escalation of issue 9 -------------------------------------------------------------


def test_a_co_owner_cannot_widen_its_own_territory(world: World) -> None:
    before, roles_before = world.fingerprint(), roles(world)
    response = world.client.post(
        ROLES,
        json={"organisation": "gent", "role": "supplier", "territory": [GENT, OUTSIDE]},
        headers=world.auth("gent-editor"),
    )
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["missing_right"] == SELF_RIGHT
    assert "nobody widens their own rights" in response.json()["detail"]
    assert world.fingerprint() == before
    assert roles(world) == roles_before
    assert roles(world)[("gent", "supplier")] == [GENT]
    # And so Gent's supplier key still cannot write Antwerpen's sectors.
    assert submit(world, world.auth("gent"), "11002A00-") == 403
    assert world.fingerprint() == before


def test_the_publisher_may_widen_a_co_owners_territory(world: World) -> None:
    keys = add_keys(world, (PUBLISHER, "editor"))
    response = world.client.post(
        ROLES,
        json={"organisation": "gent", "role": "supplier", "territory": [GENT, OUTSIDE]},
        headers=keys[f"{PUBLISHER}/editor"],
    )
    assert response.status_code == 201, response.text
    assert roles(world)[("gent", "supplier")] == [OUTSIDE, GENT]
    assert submit(world, world.auth("gent"), "11002A00-") == 201


def test_a_unit_named_twice_in_a_territory_is_answered_and_kept_once(world: World) -> None:
    keys = add_keys(world, (PUBLISHER, "editor"))
    response = world.client.post(
        ROLES,
        json={"organisation": "gent", "role": "supplier", "territory": [GENT, OUTSIDE, GENT]},
        headers=keys[f"{PUBLISHER}/editor"],
    )
    assert response.status_code == 201, response.text
    assert response.json()["territory"] == [GENT, OUTSIDE]
    assert roles(world)[("gent", "supplier")] == [OUTSIDE, GENT]


def test_an_organisation_may_narrow_its_own_territory(world: World) -> None:
    response = world.client.post(
        ROLES,
        json={"organisation": "gent", "role": "supplier", "territory": ["sector:44021A00-"]},
        headers=world.auth("gent-editor"),
    )
    assert response.status_code == 201, response.text
    assert roles(world)[("gent", "supplier")] == ["sector:44021A00-"]
    assert submit(world, world.auth("gent"), "44021A01-") == 403


def test_the_history_of_a_territory_changed_says_what_it_was(world: World) -> None:
    response = world.client.post(
        ROLES,
        json={"organisation": "gent", "role": "supplier", "territory": ["sector:44021A00-"]},
        headers=world.auth("gent-editor"),
    )
    assert response.status_code == 201, response.text
    history = world.client.get(f"{URL}/history", headers=world.auth("gent-editor"))
    assert history.status_code == 200, history.text
    granted = next(e for e in history.json()["items"] if e["kind"] == "role")["changes"]
    assert granted == {
        "granted": {
            "organisation": "gent",
            "role": "supplier",
            "territory": ["sector:44021A00-"],
            "previous_territory": [GENT],
        }
    }


def test_a_co_owner_adds_to_a_suppliers_territory_inside_its_own_only(world: World) -> None:
    # Adding a Gent sector to Antwerpen's territory is inside Gent's: allowed …
    grow = world.client.post(
        ROLES,
        json={
            "organisation": "antwerpen",
            "role": "supplier",
            "territory": [OUTSIDE, "sector:44021A00-"],
        },
        headers=world.auth("gent-editor"),
    )
    assert grow.status_code == 201, grow.text
    assert roles(world)[("antwerpen", "supplier")] == [OUTSIDE, "sector:44021A00-"]
    # … taking Antwerpen's own municipality away is not.
    before = world.fingerprint()
    shrink = world.client.post(
        ROLES,
        json={"organisation": "antwerpen", "role": "supplier", "territory": ["sector:44021A00-"]},
        headers=world.auth("gent-editor"),
    )
    assert shrink.status_code == 403, shrink.text
    assert shrink.json()["missing_right"] == TERRITORY_RIGHT
    assert world.fingerprint() == before
    assert roles(world)[("antwerpen", "supplier")] == [OUTSIDE, "sector:44021A00-"]


def test_a_co_owner_without_a_supplier_role_invites_in_its_municipality(world: World) -> None:
    # Gent gives up its supplier role; its municipality (NIS 44021) remains its territory.
    gave_up = world.client.delete(f"{ROLES}/gent/supplier", headers=world.auth("gent-editor"))
    assert gave_up.status_code == 200, gave_up.text
    assert ("gent", "supplier") not in roles(world)
    inside = world.client.post(
        ROLES,
        json={"organisation": THIRD, "role": "supplier", "territory": ["sector:44021A00-"]},
        headers=world.auth("gent-editor"),
    )
    assert inside.status_code == 201, inside.text
    outside = world.client.post(
        ROLES,
        json={"organisation": "statbel", "role": "supplier", "territory": ["sector:11002A00-"]},
        headers=world.auth("gent-editor"),
    )
    assert outside.status_code == 403
    assert outside.json()["missing_right"] == TERRITORY_RIGHT
    # The VGC is a co-owner without a supplier role or a NIS code: no territory to invite in.
    keys = add_keys(world, ("vgc", "editor"))
    vgc = world.client.post(
        ROLES,
        json={"organisation": THIRD, "role": "supplier", "territory": ["region:04000"]},
        headers=keys["vgc/editor"],
    )
    assert vgc.status_code == 403
    assert vgc.json()["missing_right"] == TERRITORY_RIGHT
    assert roles(world).get((THIRD, "supplier")) == ["sector:44021A00-"]


def invite_supplier(world: World, key: str) -> httpx.Response:
    """The third organisation invited as supplier of one of Gent's sectors, by ``key``."""
    return world.client.post(
        ROLES,
        json={"organisation": THIRD, "role": "supplier", "territory": ["sector:44021A00-"]},
        headers=world.auth(key),
    )


@pytest.mark.parametrize("level", ["restricted", "non_public"])
def test_a_co_owner_opens_no_closed_dataset_by_inviting_a_supplier(
    world: World, level: str
) -> None:
    """A supplier reads every value of a dataset, so a co-owner that invited any organisation
    as a supplier of one sector opened the whole closed dataset to it, without the grant's
    purpose and end date (non-public: although no grant opens it). A new supplier of a closed
    dataset is the publisher's to invite; a supplier already there may still be given more
    of the co-owner's territory."""
    closed = world.client.patch(URL, json={"access_level": level}, headers=world.auth("admin"))
    assert closed.status_code == 200, closed.text
    before = world.fingerprint()
    invited = invite_supplier(world, "gent-editor")
    assert invited.status_code == 403, invited.text
    assert invited.json()["missing_right"] == f"publisher:{DATASET}"
    assert world.fingerprint() == before
    assert world.client.get(f"{URL}/observations", headers=world.auth("analyst")).status_code == 403
    by_publisher = invite_supplier(world, "publisher-editor")
    assert by_publisher.status_code == 201, by_publisher.text
    # Now a supplier: the co-owner may add of its own territory to it.
    more = world.client.post(
        ROLES,
        json={
            "organisation": THIRD,
            "role": "supplier",
            "territory": ["sector:44021A00-", "sector:44021A01-"],
        },
        headers=world.auth("gent-editor"),
    )
    assert more.status_code == 201, more.text


def test_a_co_owner_opens_no_closed_dataset_to_a_custodian_as_supplier(world: World) -> None:
    """A custodian or an originator holds a role but reads a closed dataset only with a
    grant: made a supplier, it would read every value. Inviting it is the publisher's."""
    publisher = world.auth("publisher-editor")
    closed = world.client.patch(URL, json={"access_level": "restricted"}, headers=publisher)
    assert closed.status_code == 200, closed.text
    custodian = {"organisation": THIRD, "role": "custodian"}
    assert world.client.post(ROLES, json=custodian, headers=publisher).status_code == 201
    before = world.fingerprint()
    invited = invite_supplier(world, "gent-editor")
    assert invited.status_code == 403, invited.text
    assert invited.json()["missing_right"] == PUBLISHER_RIGHT
    assert world.fingerprint() == before
    assert (THIRD, "supplier") not in roles(world)


def test_the_publisher_is_changed_with_put_only(world: World) -> None:
    before = world.fingerprint()
    via_roles = world.client.post(
        ROLES, json={"organisation": "gent", "role": "publisher"}, headers=world.auth("admin")
    )
    assert via_roles.status_code == 422
    assert via_roles.json()["errors"][0]["parameter"] == "role"
    removed = world.client.delete(f"{ROLES}/{PUBLISHER}/publisher", headers=world.auth("admin"))
    assert removed.status_code == 409
    assert "PUT" in removed.json()["detail"]
    assert world.fingerprint() == before
    changed = world.client.put(
        f"{URL}/publisher", json={"organisation": "statbel"}, headers=world.auth("admin")
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"dataset": DATASET, "publisher": "statbel", "previous": PUBLISHER}
    assert dataset(world)["publisher"]["id"] == "statbel"
    assert [o for o, r in roles(world) if r == "publisher"] == ["statbel"]
    history = world.client.get(f"{URL}/history").json()["items"]
    assert history[0]["changes"] == {"publisher": [PUBLISHER, "statbel"]}
    # The old publisher's editor has handed over its rights with it.
    keys = add_keys(world, (PUBLISHER, "editor"))
    back = world.client.put(
        f"{URL}/publisher", json={"organisation": PUBLISHER}, headers=keys[f"{PUBLISHER}/editor"]
    )
    assert back.status_code == 403
    assert back.json()["missing_right"] == PUBLISHER_RIGHT


def test_unknown_roles_and_organisations(world: World) -> None:
    before = world.fingerprint()
    unknown_role = world.client.delete(f"{ROLES}/gent/chief", headers=world.auth("admin"))
    assert unknown_role.status_code == 404
    unknown_org = world.client.post(
        ROLES, json={"organisation": "nowhere", "role": "owner"}, headers=world.auth("admin")
    )
    assert unknown_org.status_code == 404
    unknown_publisher = world.client.put(
        f"{URL}/publisher", json={"organisation": "nowhere"}, headers=world.auth("admin")
    )
    assert unknown_publisher.status_code == 404
    extra = world.client.put(
        f"{URL}/publisher",
        json={"organisation": "gent", "also": "antwerpen"},
        headers=world.auth("admin"),
    )
    assert extra.status_code == 422
    assert world.fingerprint() == before


# --- the matrix ----------------------------------------------------------------------------

Request = tuple[str, str, dict[str, Any] | None]


def request_for(action: str, own: str) -> Request:
    """(method, path, body) of an action by a caller of organisation ``own``."""
    own_role = {PUBLISHER: "publisher", "gent": "owner", "digitaal-vlaanderen": "supplier"}
    return {
        "edit metadata": ("PATCH", URL, {"title": {"en": "Population, edited"}}),
        "change access level": ("PATCH", URL, {"access_level": "restricted"}),
        "add owner": ("POST", ROLES, {"organisation": THIRD, "role": "owner"}),
        "add supplier inside own territory": (
            "POST",
            ROLES,
            {"organisation": THIRD, "role": "supplier", "territory": ["sector:44021A00-"]},
        ),
        "add supplier outside": (
            "POST",
            ROLES,
            {"organisation": THIRD, "role": "supplier", "territory": [OUTSIDE]},
        ),
        "widen own territory": (
            "POST",
            ROLES,
            {"organisation": own, "role": "supplier", "territory": [GENT, OUTSIDE]},
        ),
        "grant self a role": ("POST", ROLES, {"organisation": own, "role": "custodian"}),
        "remove self": ("DELETE", f"{ROLES}/{own}/{own_role.get(own, 'owner')}", None),
        "remove other": ("DELETE", f"{ROLES}/antwerpen/owner", None),
        "remove last owner": ("DELETE", f"{ROLES}/gent/owner", None),
        "change publisher": ("PUT", f"{URL}/publisher", {"organisation": "statbel"}),
    }[action]


# What an editor key may do, by the relation of its organisation to the dataset; an admin
# key may do everything (except what nobody may: the last owner, the publisher's role, a role
# that is not there). Reader and supplier keys may do none of it.
EDITOR: dict[str, dict[str, tuple[int, str | None]]] = {
    "edit metadata": {
        "publisher": (200, None),
        "co-owner": (200, None),
        "supplier-only": (403, OWNER_RIGHT),
        "unrelated": (403, OWNER_RIGHT),
    },
    # Who reads the values is the publisher's to decide (README, "Who may do what").
    "change access level": {
        "publisher": (200, None),
        "co-owner": (403, PUBLISHER_RIGHT),
        "supplier-only": (403, OWNER_RIGHT),
        "unrelated": (403, OWNER_RIGHT),
    },
    "add owner": {
        "publisher": (201, None),
        "co-owner": (403, PUBLISHER_RIGHT),
        "supplier-only": (403, PUBLISHER_RIGHT),
        "unrelated": (403, PUBLISHER_RIGHT),
    },
    "add supplier inside own territory": {
        "publisher": (201, None),
        "co-owner": (201, None),
        "supplier-only": (403, OWNER_RIGHT),
        "unrelated": (403, OWNER_RIGHT),
    },
    "add supplier outside": {
        "publisher": (201, None),
        "co-owner": (403, TERRITORY_RIGHT),
        "supplier-only": (403, OWNER_RIGHT),
        "unrelated": (403, OWNER_RIGHT),
    },
    "widen own territory": {
        "publisher": (403, SELF_RIGHT),
        "co-owner": (403, SELF_RIGHT),
        "supplier-only": (403, SELF_RIGHT),
        "unrelated": (403, SELF_RIGHT),
    },
    "grant self a role": {
        "publisher": (403, SELF_RIGHT),
        "co-owner": (403, SELF_RIGHT),
        "supplier-only": (403, SELF_RIGHT),
        "unrelated": (403, SELF_RIGHT),
    },
    "remove self": {
        "publisher": (409, None),  # the publisher is handed over, never removed
        "co-owner": (200, None),
        "supplier-only": (200, None),
        "unrelated": (404, None),  # holds no role to give up
    },
    "remove other": {
        "publisher": (200, None),
        "co-owner": (403, PUBLISHER_RIGHT),
        "supplier-only": (403, PUBLISHER_RIGHT),
        "unrelated": (403, PUBLISHER_RIGHT),
    },
    "remove last owner": {  # Gent is the only owner left
        "publisher": (409, None),
        "co-owner": (409, None),
        "supplier-only": (403, PUBLISHER_RIGHT),
        "unrelated": (403, PUBLISHER_RIGHT),
    },
    "change publisher": {
        "publisher": (200, None),
        "co-owner": (403, PUBLISHER_RIGHT),
        "supplier-only": (403, PUBLISHER_RIGHT),
        "unrelated": (403, PUBLISHER_RIGHT),
    },
}
ADMIN: dict[str, dict[str, tuple[int, str | None]]] = {
    action: dict.fromkeys(RELATIONS, (201, None))
    for action in (
        "add owner",
        "add supplier inside own territory",
        "add supplier outside",
        "widen own territory",
        "grant self a role",
    )
} | {
    "edit metadata": dict.fromkeys(RELATIONS, (200, None)),
    "change access level": dict.fromkeys(RELATIONS, (200, None)),
    "remove self": {
        "publisher": (409, None),
        "co-owner": (200, None),
        "supplier-only": (200, None),
        "unrelated": (404, None),
    },
    "remove other": dict.fromkeys(RELATIONS, (200, None)),
    "remove last owner": dict.fromkeys(RELATIONS, (409, None)),
    "change publisher": dict.fromkeys(RELATIONS, (200, None)),
}


def expectation(key_role: str, relation: str, action: str) -> tuple[int, str | None]:
    if key_role in ("reader", "supplier"):
        return 403, KEY_RIGHT
    return (EDITOR if key_role == "editor" else ADMIN)[action][relation]


Check = Callable[[World, str], None]


def _effect(action: str) -> Check:
    """What a successful action leaves behind, read back through GET /api/v1/datasets/{id}."""

    def check(world: World, own: str) -> None:
        body = dataset(world)
        held = roles(world)
        if action == "edit metadata":
            assert body["title"]["en"] == "Population, edited"
        elif action == "change access level":
            assert body["access_level"] == "restricted"
        elif action == "add owner":
            assert (THIRD, "owner") in held
        elif action == "add supplier inside own territory":
            assert held[(THIRD, "supplier")] == ["sector:44021A00-"]
        elif action == "add supplier outside":
            assert held[(THIRD, "supplier")] == [OUTSIDE]
        elif action == "widen own territory":
            assert held[(own, "supplier")] == [OUTSIDE, GENT]
        elif action == "grant self a role":
            assert (own, "custodian") in held
        elif action in ("remove self", "remove other"):
            organisation, role = request_for(action, own)[1].split("/")[-2:]
            assert (organisation, role) not in held
            # Only the role named: the organisation's other roles stay.
            others = {"gent": ("gent", "supplier"), "antwerpen": ("antwerpen", "supplier")}
            if organisation in others:
                assert others[organisation] in held
        elif action == "change publisher":
            assert body["publisher"]["id"] == "statbel"
            assert [o for o, r in held if r == "publisher"] == ["statbel"]
        else:  # pragma: no cover
            raise AssertionError(action)

    return check


def prepare(world: World, state: str) -> None:
    """The dataset's state before the action: Digitaal Vlaanderen supplies Gent's territory;
    in state "last owner" every owner but Gent is gone."""
    response = world.client.post(
        ROLES,
        json={"organisation": "digitaal-vlaanderen", "role": "supplier", "territory": [GENT]},
        headers=world.auth("admin"),
    )
    assert response.status_code == 201, response.text
    if state == "last owner":
        with transaction(world.factory) as session:
            session.execute(
                delete(DatasetRole).where(
                    DatasetRole.dataset_id == DATASET,
                    DatasetRole.role == "owner",
                    DatasetRole.organisation_id != "gent",
                )
            )
        assert [o for o, r in roles(world) if r == "owner"] == ["gent"]


class SharedWorlds:
    """One world per prepared state, shared by the refusals of this module: a refusal is
    proven to change nothing (row counts and the dataset as read), so refusals cannot see
    each other and pass in any order; every success gets a fresh world of its own."""

    def __init__(self, template: Template, tmp: pytest.TempPathFactory) -> None:
        self.template, self.tmp = template, tmp
        self.opened: dict[str, tuple[World, Iterator[World]]] = {}

    def __call__(self, state: str) -> World:
        if state not in self.opened:
            # Several stay open at once: each needs a database of its own.
            worlds = open_world(self.template, self.tmp.mktemp("rights"), real_database=True)
            world = next(worlds)
            prepare(world, state)
            self.opened[state] = (world, worlds)
        return self.opened[state][0]

    def close(self) -> None:
        for _, worlds in self.opened.values():
            with suppress(StopIteration):
                next(worlds)


@pytest.fixture(scope="module")
def shared_worlds(
    world_template: Template, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SharedWorlds]:
    shared = SharedWorlds(world_template, tmp_path_factory)
    yield shared
    shared.close()


MATRIX = [
    pytest.param(key_role, relation, action, id=f"{key_role}-{relation}-{action.replace(' ', '_')}")
    for key_role in KEY_ROLES
    for relation in RELATIONS
    for action in EDITOR
]


@pytest.mark.parametrize(("key_role", "relation", "action"), MATRIX)
def test_rights_matrix(
    request: pytest.FixtureRequest,
    shared_worlds: SharedWorlds,
    key_role: str,
    relation: str,
    action: str,
) -> None:
    own = RELATIONS[relation]
    method, path, body = request_for(action, own)
    status, right = expectation(key_role, relation, action)
    state = "last owner" if action == "remove last owner" else "seeded"
    if status >= 400:
        world = shared_worlds(state)
    else:
        world = request.getfixturevalue("world")
        prepare(world, state)
    headers = add_keys(world, (own, key_role))[f"{own}/{key_role}"]
    before, state_before = world.fingerprint(), dataset(world)

    response = world.client.request(method, path, json=body, headers=headers)

    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json().get("missing_right") == right
        assert world.fingerprint() == before
        assert dataset(world) == state_before
    else:
        _effect(action)(world, own)
        history = world.client.get(f"{URL}/history").json()["items"]
        assert history[0]["kind"] in ("metadata", "role")
        assert history[0]["organisation"] == own


def test_a_city_merged_since_invites_in_what_it_was_made_of(world: World) -> None:
    """Hasselt is 71072 since the 2025 merger with Kortessem; income is of the 2024 version,
    where 71072 does not exist: its territory there is 71022 and 73040, not nothing."""
    url = "/api/v1/datasets/income/roles"
    keys = add_keys(world, ("hasselt", "editor"))
    gave_up = world.client.delete(f"{url}/hasselt/supplier", headers=keys["hasselt/editor"])
    assert gave_up.status_code == 200, gave_up.text
    # A sector of old Hasselt, then one of old Kortessem added (nothing taken away).
    territory: list[str] = []
    for sector in ("71022A001", "73040A00-"):
        territory.append(f"sector:{sector}")
        inside = world.client.post(
            url,
            json={"organisation": THIRD, "role": "supplier", "territory": territory},
            headers=keys["hasselt/editor"],
        )
        assert inside.status_code == 201, (sector, inside.text)
    outside = world.client.post(
        url,
        json={"organisation": THIRD, "role": "supplier", "territory": ["sector:44021A00-"]},
        headers=keys["hasselt/editor"],
    )
    assert outside.status_code == 403
    assert outside.json()["missing_right"] == "territory:income"
