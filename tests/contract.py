"""Checks that a response keeps the contract the OpenAPI document states (status, media type,
body schema), and a sweep of hostile values through every parameter of a route (what a fuzzer
would try first)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema_rs
from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"

# Numbers far beyond int64, signs, exponents, control characters, markup, LIKE wildcards,
# SQL, very long text, non-Latin text, half a `level:code`.
HOSTILE: tuple[str, ...] = (
    "9" * 30,
    "-9223372036854775809",
    "1e25",
    "-1",
    "0",
    "\x00",
    "a\nb",
    "a" * 5000,
    "ü€😀 ّ",
    "level:",
    ":",
    "municipality:",
    "%",
    "_",
    "\\",
    "'; DROP TABLE dataset; --",
    '<script>alert("x")</script>',
    " ",
    "",
)


def parameters_named(problem: dict[str, Any]) -> list[str]:
    """The parameters a 422 problem names (FastAPI's validation lists them in ``errors``,
    the services' InvalidParameter in ``parameter``)."""
    if "errors" in problem:
        return [e["parameter"] for e in problem["errors"]]
    return [problem["parameter"]]


@dataclass
class Route:
    template: str
    path: dict[str, str] = field(default_factory=dict)
    query: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)

    def url(self, path: dict[str, str]) -> str:
        url = self.template
        for name, value in path.items():
            url = re.sub(r"\{" + name + r"(:path)?\}", quote(value, safe=""), url)
        return url


@cache
def openapi(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip()


def contract_violations(
    client: TestClient, template: str, response: httpx.Response, method: str = "get"
) -> list[str]:
    """What in ``response`` the OpenAPI document does not promise: a server error, an
    undocumented status or media type, or a JSON body that does not match its schema."""
    document = openapi(client)
    where = f"{method.upper()} {response.request.url} → {response.status_code}"
    if response.status_code >= 500:
        return [f"{where}: server error {response.text[:200]}"]
    operation = document["paths"][template.replace(":path", "")][method]
    documented = operation["responses"].get(str(response.status_code))
    if documented is None:
        return [f"{where}: status not documented"]
    content = documented.get("content")
    if not content:
        return [] if not response.content else [f"{where}: a body where none is documented"]
    media = media_type(response)
    if media not in content:
        return [f"{where}: {media} not documented ({', '.join(content)})"]
    schema = content[media].get("schema")
    if media.endswith("json") and schema and response.request.method != "HEAD":
        errors = schema_errors(document, schema, response.json())[:3]
        if errors:
            return [f"{where}: body does not match its schema: {errors}"]
    return []


def schema_errors(document: dict[str, Any], schema: dict[str, Any], body: Any) -> list[str]:
    validator = jsonschema_rs.validator_for({**schema, "components": document["components"]})
    return [str(e) for e in validator.iter_errors(body)]


def assert_conforms(
    client: TestClient, path: str, method: str, status: int, body: Any, media_type: str
) -> None:
    """``body`` is what the OpenAPI document promises for this operation and status (the
    check Schemathesis' response_schema_conformance makes)."""
    document = openapi(client)
    response = document["paths"][path][method]["responses"][str(status)]
    errors = schema_errors(document, response["content"][media_type]["schema"], body)
    assert errors == [], errors


def sweep(client: TestClient, route: Route, values: tuple[str, ...] = HOSTILE) -> list[str]:
    """Every hostile value in every parameter of ``route``, one parameter at a time."""
    failures: list[str] = []
    for name in [*route.path, *route.query]:
        for value in values:
            if name in route.path:
                if not value:
                    continue  # an empty segment is another path, not this route
                url, params = route.url({**route.path, name: value}), {}
            else:
                url, params = route.url(route.path), {name: value}
            response = client.get(url, params=params, headers=route.headers, follow_redirects=False)
            failures += contract_violations(client, route.template, response)
            is_problem = media_type(response) == PROBLEM
            if is_problem and response.json()["status"] != response.status_code:
                failures.append(f"{response.request.url}: problem status differs")
    return failures
