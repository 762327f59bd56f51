"""Error responses in the OpenAPI document: every operation lists the problems it can answer,
as ``application/problem+json`` with the :class:`Problem` schema (RFC 9457).

Routers name their own (``responses=problems(404, 409)``); :func:`document_problems` adds what
follows from the kit itself — 401/403 for operations that take a key (they carry the bearer
security scheme), 404 for operations with path parameters, 400 for operations with a body
that may not be readable, 409 for operations that write (the unit of work can lose a race) —
and moves every error body, FastAPI's 422 included, to the problem media type.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from app.errors import PROBLEM_MEDIA_TYPE

DESCRIPTIONS = {
    400: "Bad request: the request cannot be read.",
    401: "No API key, or an unknown or revoked one.",
    403: "The key lacks a right; `missing_right` names it.",
    404: "Nothing at this path (or a named resource does not exist).",
    406: "None of the accepted media types can be served.",
    408: "The upload sent nothing for too long; nothing was stored.",
    409: "Conflicts with the current state or with a change made at the same moment; "
    "nothing was stored.",
    413: "The body is larger than the limit.",
    415: "The body's media type cannot be read.",
    416: "The byte range starts beyond the end of the file; `Content-Range: bytes */size` "
    "states its size.",
    422: "A parameter, field or row is invalid; `errors` lists each with the reason.",
    429: "Too many requests; retry after `Retry-After` seconds.",
}


# A security scheme named ``<scheme>Optional`` marks operations that also answer without a
# key: the document lists "no key" and ``<scheme>`` as the alternatives.
OPTIONAL_SCHEME_SUFFIX = "Optional"


class ProblemItem(BaseModel):
    """One invalid parameter, field or row."""

    model_config = ConfigDict(extra="allow")

    parameter: str | None = None
    reason: str | None = None


class Problem(BaseModel):
    """An RFC 9457 problem document. Extension members depend on the problem."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["https://datapedia.be/problems/not-found"])
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemItem] | None = None


# What a route passes as FastAPI's ``responses=``: OpenAPI response objects by status.
Responses = dict[int | str, dict[str, Any]]


def problems(*statuses: int) -> Responses:
    """``responses=`` for a route: these statuses answer a :class:`Problem`."""
    return {status: {"model": Problem, "description": DESCRIPTIONS[status]} for status in statuses}


def document_problems(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so the document tells the truth about error responses."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        problem_ref = {"$ref": "#/components/schemas/Problem"}
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                _mark_optional_security(operation)
                responses = operation.setdefault("responses", {})
                implied = [401, 403] if operation.get("security") else []
                if any(p.get("in") == "path" for p in operation.get("parameters", [])):
                    implied.append(404)  # names nothing (or a path that parses to nothing)
                if "requestBody" in operation:
                    # A body that cannot be read (not UTF-8, cut off), or one too large.
                    implied.extend((400, 413))
                if method in ("post", "put", "patch", "delete"):
                    implied.append(409)  # the unit of work lost a race: nothing stored
                for status in implied:
                    responses.setdefault(str(status), {"description": DESCRIPTIONS[status]})
                for status, response in responses.items():
                    if not status.startswith(("4", "5")):
                        continue
                    # FastAPI's application/json becomes problem+json; a media type a route
                    # names itself (an HTML error page for browsers) stays.
                    kept = {
                        media_type: content
                        for media_type, content in response.get("content", {}).items()
                        if media_type not in ("application/json", PROBLEM_MEDIA_TYPE)
                    }
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": problem_ref}, **kept}
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        if "Problem" not in components:
            problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(problem_schema.pop("$defs", {}))
            components["Problem"] = problem_schema
        schemes = schema["components"].get("securitySchemes", {})
        for name in [n for n in schemes if n.endswith(OPTIONAL_SCHEME_SUFFIX)]:
            del schemes[name]
        for name in ("HTTPValidationError", "ValidationError"):
            if name in components and not _referenced(schema, name):
                del components[name]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _mark_optional_security(operation: dict[str, Any]) -> None:
    alternatives: list[dict[str, list[str]]] = []
    for requirement in operation.get("security", []):
        for name, scopes in requirement.items():
            if name.endswith(OPTIONAL_SCHEME_SUFFIX):
                alternatives += [{}, {name.removesuffix(OPTIONAL_SCHEME_SUFFIX): scopes}]
            else:
                alternatives.append({name: scopes})
    if alternatives:
        operation["security"] = alternatives


def _referenced(schema: dict[str, Any], name: str) -> bool:
    return f'"#/components/schemas/{name}"' in json.dumps(schema)
