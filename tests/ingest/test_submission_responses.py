"""Typed answers of the submissions API: the result of a submission, the paged list of
submissions and the Table Schema, each as the OpenAPI document describes it."""

from __future__ import annotations

import re

from tests.contract import assert_conforms
from tests.factories import World

DATASET = "population-2025"
SUBMIT = f"/api/v1/datasets/{DATASET}/submissions"
HEADER = "sector,indicator,period,value,status\n"


def submit(world: World, sector: str, value: int) -> dict[str, object]:
    response = world.client.post(
        SUBMIT,
        content=f"{HEADER}{sector},population,2025,{value},\n".encode(),
        headers=world.headers("gent"),
    )
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


def test_submission_result_and_list_are_typed_and_paged(world: World) -> None:
    results = [submit(world, sector, n) for n, sector in enumerate(["44021A00-", "44021A01-"] * 2)]
    assert [r["revision"] for r in results] == [1, 2, 3, 4]
    assert results[2] == {
        "submission": results[2]["submission"],
        "revision": 3,
        "new_revision": True,
        "rows_total": 1,
        "rows_added": 0,
        "rows_changed": 1,
        "rows_unchanged": 0,
        "rows_not_supplied": 0,
        "warnings": [],
    }
    path = "/api/v1/datasets/{dataset_id}/submissions"
    assert_conforms(world.client, path, "post", 201, results[0], "application/json")

    response = world.client.get(SUBMIT, params={"page_size": 3, "page": 1})
    assert response.status_code == 200
    first = response.json()
    assert_conforms(world.client, path, "get", 200, first, "application/json")
    assert (first["total"], first["page"], first["page_size"]) == (4, 1, 3)
    assert [s["revision"] for s in first["items"]] == [4, 3, 2]
    assert all(s["organisation"] == "gent" and s["state"] == "accepted" for s in first["items"])
    assert all(re.fullmatch(r"\S+T\S+Z", s["created_at"]) for s in first["items"])
    assert [s["id"] for s in first["items"]] == [r["submission"] for r in results[::-1][:3]]
    rels = {
        rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["link"])
    }
    assert set(rels) == {"first", "last", "next"}
    second = world.client.get(rels["next"]).json()
    assert [s["revision"] for s in second["items"]] == [1]


def test_submissions_of_an_unknown_dataset_are_404(world: World) -> None:
    response = world.client.get("/api/v1/datasets/no-such-dataset/submissions")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    too_long = world.client.get(f"/api/v1/datasets/{'x' * 101}/submissions")
    assert too_long.status_code == 404
    assert world.client.get(SUBMIT, params={"page": 10**20}).status_code == 422


def test_table_schema_is_a_documented_frictionless_document(world: World) -> None:
    response = world.client.get(f"/api/v1/datasets/{DATASET}/schema")
    assert response.status_code == 200
    schema = response.json()
    assert_conforms(
        world.client, "/api/v1/datasets/{dataset_id}/schema", "get", 200, schema, "application/json"
    )
    assert schema["$schema"] == "https://specs.frictionlessdata.io/schemas/table-schema.json"
    constraints = {f["name"]: f.get("constraints", {}) for f in schema["fields"]}
    assert constraints["sector"]["pattern"] == "[0-9]{5}[0-9A-Z]{3}[0-9A-Z-]"
    assert constraints["period"]["pattern"] == "(19|20)[0-9]{2}"
    assert constraints["indicator"]["enum"] == ["area", "population"]
    assert re.fullmatch(constraints["indicator"]["pattern"], "population")
    assert constraints["value"] == {"minimum": -(10**15), "maximum": 10**15}
    missing = world.client.get("/api/v1/datasets/no-such-dataset/schema")
    assert missing.status_code == 404


def test_submission_errors_are_documented(world: World) -> None:
    operation = world.client.get("/openapi.json").json()["paths"][
        "/api/v1/datasets/{dataset_id}/submissions"
    ]
    post = operation["post"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "415", "422", "429"} <= set(post)
    assert all(
        "application/problem+json" in post[status]["content"] for status in post if status >= "4"
    )
    assert {"404", "422"} <= set(operation["get"]["responses"])
    body = operation["post"]["requestBody"]["content"]
    assert set(body) == {"text/csv", "application/json", "multipart/form-data"}
