"""Keys of an organisation: who may list, create and revoke them; typed bodies and answers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.auth.keys import create_key
from app.auth.models import ApiKey
from app.db.session import transaction
from tests.factories import KEYS, World

BIG = 9223372036854775808  # one beyond int64


def key_rows(world: World) -> list[tuple[int, str, str | None, object]]:
    """Every key as (id, role, label, revoked_at): the fingerprint leaves keys out."""
    with world.factory() as session:
        return [
            (k.id, k.role, k.label, k.revoked_at)
            for k in session.scalars(select(ApiKey).order_by(ApiKey.id))
        ]


def spare_key(world: World, organisation: str, role: str = "reader") -> int:
    """A key of the organisation that no test request uses, to be revoked."""
    with transaction(world.factory) as session:
        create_key(session, organisation, role, "spare")
        key_id = session.scalar(select(func.max(ApiKey.id)))
    assert key_id is not None
    return key_id


def test_me_says_who_the_key_is(world: World) -> None:
    response = world.client.get("/api/v1/me", headers=world.auth("gent-editor"))
    assert response.status_code == 200
    me = response.json()
    assert me["organisation"]["id"] == "gent"
    assert me["organisation"]["name"]["nl"]
    assert me["role"] == "editor"
    with world.factory() as session:
        assert session.get(ApiKey, me["key_id"]) is not None


def test_a_key_is_created_shown_once_listed_and_revoked(world: World) -> None:
    client = world.client
    created = client.post(
        "/api/v1/organisations/gent/keys",
        json={"role": "supplier", "label": "upload script"},
        headers=world.auth("gent-editor"),
    )
    assert created.status_code == 201, created.text
    new = created.json()
    assert new["organisation"] == "gent"
    assert new["role"] == "supplier"
    assert new["label"] == "upload script"
    assert new["key"].startswith(new["prefix"])
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {new['key']}"}).json()
    assert (me["key_id"], me["role"]) == (new["id"], "supplier")

    listed = client.get(
        "/api/v1/organisations/gent/keys",
        params={"page_size": 2},
        headers=world.auth("gent-editor"),
    )
    assert listed.status_code == 200
    page = listed.json()
    assert set(page) == {"items", "total", "page", "page_size"}
    assert page["total"] == 4  # supplier, editor, reader of the world, and the new one
    assert len(page["items"]) == 2
    assert 'rel="next"' in listed.headers["link"]
    last = client.get(
        "/api/v1/organisations/gent/keys",
        params={"page_size": 2, "page": 2},
        headers=world.auth("gent-editor"),
    ).json()["items"][-1]
    assert last["id"] == new["id"]
    assert last["label"] == "upload script"
    assert last["created_at"].endswith("Z")
    assert last["revoked_at"] is None
    assert "key" not in last and new["key"] not in listed.text

    revoked = client.delete(f"/api/v1/keys/{new['id']}", headers=world.auth("gent-editor"))
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"].endswith("Z")
    refused = client.get("/api/v1/me", headers={"Authorization": f"Bearer {new['key']}"})
    assert refused.status_code == 401
    # Revoking again changes nothing.
    again = client.delete(f"/api/v1/keys/{new['id']}", headers=world.auth("gent-editor"))
    assert again.status_code == 200
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]

    log = client.get("/api/v1/audit", params={"page_size": 1000}, headers=world.auth("admin"))
    actions = [(e["action"], e["organisation"]) for e in log.json()["items"]]
    assert actions.count(("key.create", "gent")) == 1
    assert actions.count(("key.revoke", "gent")) == 1


# Keys of Gent: its editors and site admins manage them; nobody else.
MANAGERS = {"gent-editor", "admin"}
CALLERS = ["gent-reader", "gent", "gent-editor", "antwerpen", "antwerpen-editor", "admin"]


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_list_keys(world: World, who: str) -> None:
    response = world.client.get("/api/v1/organisations/gent/keys", headers=world.auth(who))
    if who in MANAGERS:
        assert response.status_code == 200
        assert {k["organisation"] for k in response.json()["items"]} == {"gent"}
    else:
        assert response.status_code == 403
        assert response.json()["missing_right"] == "keys:gent"


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_create_keys(world: World, who: str) -> None:
    before, keys = world.fingerprint(), key_rows(world)
    response = world.client.post(
        "/api/v1/organisations/gent/keys", json={"role": "reader"}, headers=world.auth(who)
    )
    if who in MANAGERS:
        assert response.status_code == 201
        assert len(key_rows(world)) == len(keys) + 1
    else:
        assert response.status_code == 403
        assert response.json()["missing_right"] == "keys:gent"
        assert world.fingerprint() == before
        assert key_rows(world) == keys


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_revoke_keys(world: World, who: str) -> None:
    target = spare_key(world, "gent")
    before = world.fingerprint()
    response = world.client.delete(f"/api/v1/keys/{target}", headers=world.auth(who))
    with world.factory() as session:
        key = session.get(ApiKey, target)
        assert key is not None
        revoked_at = key.revoked_at
    if who in MANAGERS:
        assert response.status_code == 200
        assert revoked_at is not None
        return
    assert revoked_at is None
    assert world.fingerprint() == before
    if KEYS[who][0] == "gent":
        assert response.status_code == 403
        assert response.json()["missing_right"] == "keys:gent"
    else:
        # Another organisation's key is answered as a key that does not exist: the answer
        # does not tell who holds a key id.
        missing = world.client.delete("/api/v1/keys/999999", headers=world.auth(who))
        assert response.status_code == missing.status_code == 404
        assert response.json()["detail"] == missing.json()["detail"].replace("999999", str(target))
        assert "gent" not in response.text


def test_only_site_admins_create_admin_keys(world: World) -> None:
    keys = key_rows(world)
    refused = world.client.post(
        "/api/v1/organisations/gent/keys", json={"role": "admin"}, headers=world.auth("gent-editor")
    )
    assert refused.status_code == 403
    assert refused.json()["missing_right"] == "role:admin"
    assert key_rows(world) == keys
    allowed = world.client.post(
        "/api/v1/organisations/gent/keys", json={"role": "admin"}, headers=world.auth("admin")
    )
    assert allowed.status_code == 201
    assert allowed.json()["role"] == "admin"


def test_only_site_admins_revoke_admin_keys(world: World) -> None:
    target = spare_key(world, "gent", "admin")
    before = world.fingerprint()
    refused = world.client.delete(f"/api/v1/keys/{target}", headers=world.auth("gent-editor"))
    assert refused.status_code == 403
    assert refused.json()["missing_right"] == "role:admin"
    assert world.fingerprint() == before
    allowed = world.client.delete(f"/api/v1/keys/{target}", headers=world.auth("admin"))
    assert allowed.status_code == 200
    assert allowed.json()["revoked_at"] is not None


def test_keys_of_an_unknown_organisation(world: World) -> None:
    for method in ("GET", "POST"):
        response = world.client.request(
            method,
            "/api/v1/organisations/nobody/keys",
            json={"role": "reader"} if method == "POST" else None,
            headers=world.auth("admin"),
        )
        assert response.status_code == 404, method
        assert response.json()["organisation"] == "nobody"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "role"),
        ({"role": 1}, "role"),
        ({"role": "root"}, "role"),
        ({"role": ["reader"]}, "role"),
        ({"role": "reader", "label": 5}, "label"),
        ({"role": "reader", "label": ""}, "label"),
        ({"role": "reader", "label": "   "}, "label"),
        ({"role": "reader", "label": "x" * 201}, "label"),
        ({"role": "reader", "label": "a\x00b"}, "label"),
        ({"role": "reader", "organisation": "antwerpen"}, "organisation"),
    ],
)
def test_bad_new_keys_are_refused(world: World, body: dict[str, Any], field: str) -> None:
    before, keys = world.fingerprint(), key_rows(world)
    response = world.client.post(
        "/api/v1/organisations/gent/keys", json=body, headers=world.auth("gent-editor")
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {e["parameter"] for e in response.json()["errors"]}
    assert world.fingerprint() == before
    assert key_rows(world) == keys


@pytest.mark.parametrize("key_id", [BIG, 2**63 - 1, 2**31, 0, -1, "abc"])
def test_revoking_a_key_that_cannot_exist_is_404(world: World, key_id: object) -> None:
    response = world.client.delete(f"/api/v1/keys/{key_id}", headers=world.auth("admin"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("organisation", ["a%00b", "a%0Ab", "x" * 101])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_organisation_id_that_cannot_exist_is_404(
    world: World, organisation: str, method: str
) -> None:
    keys = key_rows(world)
    response = world.client.request(
        method,
        f"/api/v1/organisations/{organisation}/keys",
        json={"role": "reader"} if method == "POST" else None,
        headers=world.auth("admin"),
    )
    assert response.status_code == 404
    assert key_rows(world) == keys
