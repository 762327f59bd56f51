"""Every API operation names a query parameter it does not take (422) instead of ignoring it:
a write with ``?dry_run=1`` that stored the upload for real, or a list of feedback with
``?status=open`` that answered every thread, would be taken for what was asked."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.api.deps import refuse_unknown_parameters
from tests.factories import World

PROBLEM = "application/problem+json"
# A stored file, served as it was written: cache busters of any name are harmless there.
TAKES_ANY_PARAMETER = frozenset({"/api/v1/datasets/{dataset_id}/downloads/{name}"})


def _api_routes(client: TestClient) -> list[APIRoute]:
    return [
        route
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, APIRoute)
        and route.path.startswith("/api/v1/")
        and route.path not in TAKES_ANY_PARAMETER
    ]


def test_every_api_operation_refuses_unknown_parameters_and_documents_it(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    unguarded = [
        f"{sorted(route.methods)} {route.path}"
        for route in _api_routes(client)
        if refuse_unknown_parameters not in [d.call for d in route.dependant.dependencies]
    ]
    assert unguarded == []
    undocumented = [
        f"{method} {path}"
        for path, operations in document["paths"].items()
        if path.startswith("/api/v1/") and path not in TAKES_ANY_PARAMETER
        for method, operation in operations.items()
        if "422" not in operation["responses"]
    ]
    assert undocumented == []


@pytest.mark.parametrize(
    ("method", "path", "who", "name", "hint"),
    [
        ("get", "/api/v1/datasets/population-2025/feedback?status=open", None, "status", "'state'"),
        (
            "get",
            "/api/v1/organisations/gent/keys?pagesize=5",
            "gent-editor",
            "pagesize",
            "'page_size'",
        ),
        ("get", "/api/v1/me?verbose=1", "gent", "verbose", "it takes"),
        ("get", "/api/v1/audit?dataset=population-2025", "admin", "dataset", "it takes"),
        ("get", "/api/v1/datasets/population-2025/history?pag=2", "admin", "pag", "'page'"),
        ("get", "/api/v1/datasets/population-2025/submissions?stat=x", "admin", "stat", ""),
        ("delete", "/api/v1/keys/1?force=1", "admin", "force", "it takes"),
    ],
)
def test_an_unknown_parameter_is_named(
    world: World, method: str, path: str, who: str | None, name: str, hint: str
) -> None:
    before = world.fingerprint()
    response = world.client.request(method, path, headers=world.auth(who) if who else {})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["parameter"] == name
    assert hint in response.json()["detail"]
    assert world.fingerprint() == before


def test_a_submission_with_a_parameter_it_does_not_take_stores_nothing(world: World) -> None:
    """There is no dry run: an upload sent as one must not become a revision."""
    before = world.fingerprint()
    body = b"sector,indicator,period,value,status\n44021A00-,population,2025,1000,\n"
    response = world.client.post(
        "/api/v1/datasets/population-2025/submissions?dry_run=true",
        content=body,
        headers=world.headers("gent"),
    )
    assert response.status_code == 422, response.text
    assert response.json()["parameter"] == "dry_run"
    assert world.fingerprint() == before
    # Cache busters stay harmless; the same upload without the parameter is taken.
    assert world.client.get("/api/v1/me?_=1", headers=world.auth("gent")).status_code == 200
    accepted = world.client.post(
        "/api/v1/datasets/population-2025/submissions", content=body, headers=world.headers("gent")
    )
    assert accepted.status_code == 201, accepted.text
