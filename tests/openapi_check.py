"""Checking a response body against what the OpenAPI document promises for it (the same
check Schemathesis' response_schema_conformance makes)."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
from fastapi.testclient import TestClient


def assert_conforms(
    client: TestClient, path: str, method: str, status: int, body: Any, media_type: str
) -> None:
    document = client.get("/openapi.json").json()
    response = document["paths"][path][method]["responses"][str(status)]
    schema = response["content"][media_type]["schema"]
    validator = jsonschema_rs.validator_for({**schema, "components": document["components"]})
    errors = [e.message for e in validator.iter_errors(body)]
    assert errors == [], errors
