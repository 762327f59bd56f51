"""A JSON body nested too deep is a 422 naming the body and the depth limit, on every route
(README, "Limits on input"), not the 400 of a body that cannot be read: Python's parser gave
up with a RecursionError."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.api.http import MAX_JSON_DEPTH, too_deep
from tests.factories import World

DATASET = "/api/v1/datasets/population-2025"
DEEP = "[" * 200_000 + "]" * 200_000
JUST_TOO_DEEP = '{"title": {"nl": ' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + "}}"
THREAD = '{"kind": "question", "title": "t", "name": "Jan", "email": "j@example.com", "body": '


def _refused(response_status: int, problem: dict[str, object]) -> None:
    assert response_status == 422, problem
    assert problem["type"] == "https://datapedia.be/problems/invalid-parameter"
    assert problem["parameter"] == "body"
    reason = f"not valid JSON: nested deeper than {MAX_JSON_DEPTH} levels (depth limit exceeded)"
    assert problem["detail"] == f"invalid value for: body ({reason})"
    assert problem["errors"] == [{"parameter": "body", "in": "body", "reason": reason}]


@pytest.mark.parametrize("raw", [DEEP, JUST_TOO_DEEP])
@pytest.mark.parametrize("route", ["patch", "feedback", "roles"])
def test_a_json_body_nested_too_deep_is_422_naming_the_depth(
    world: World, route: str, raw: str
) -> None:
    method, path, who = {
        "patch": ("PATCH", DATASET, "gent-editor"),
        "feedback": ("POST", f"{DATASET}/feedback", None),
        "roles": ("POST", f"{DATASET}/roles", "publisher-editor"),
    }[route]
    headers = {**(world.auth(who) if who else {}), "Content-Type": "application/json"}
    before = world.fingerprint()
    response = world.client.request(method, path, content=raw.encode(), headers=headers)
    assert response.headers["content-type"] == "application/problem+json"
    _refused(response.status_code, response.json())

    def chunks() -> Iterator[bytes]:  # sent in chunks, without a declared length
        encoded = raw.encode()
        for start in range(0, len(encoded), 65_536):
            yield encoded[start : start + 65_536]

    chunked = world.client.request(method, path, content=chunks(), headers=headers)
    _refused(chunked.status_code, chunked.json())
    assert world.fingerprint() == before


def test_brackets_in_text_and_nesting_within_the_limit_are_read(world: World) -> None:
    text = "[" * 2000 + "{"
    response = world.client.post(
        f"{DATASET}/feedback",
        content=(THREAD + f'"{text}"' + "}").encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["messages"][0]["body"] == text
    # Within the limit the body is read, and its wrong type named as always.
    within = '{"title": {"nl": ' + "[" * 500 + "]" * 500 + "}}"
    typed = world.client.patch(
        DATASET,
        content=within.encode(),
        headers=world.headers("gent-editor", "application/json"),
    )
    assert typed.status_code == 422, typed.text
    assert typed.json()["parameter"] == "title.nl"


def test_the_depth_is_counted_outside_strings_only() -> None:
    assert not too_deep(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    assert too_deep(b"[" * (MAX_JSON_DEPTH + 1))
    assert too_deep(b'{"a":' * (MAX_JSON_DEPTH + 1))
    assert not too_deep(b'["' + b"[" * 5000 + b'"]')
    assert not too_deep(b'["\\"' + b"{" * 5000 + b'"]')  # an escaped quote ends nothing
    assert too_deep(b'["\\\\"' + b"{" * 5000)  # an escaped backslash does not hide the quote
