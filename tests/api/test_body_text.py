"""Every text of a request body, ids included, refuses a control character with a 422 naming
the field, before anything is looked up: PostgreSQL cannot store or even compare text holding
a NUL (it answered 500 for an organisation id), and no id or name holds a control character.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.factories import World

DATASET = "/api/v1/datasets/population-2025"
GENT = "municipality:44021"
LATER = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
THREAD = {"kind": "question", "title": "t", "body": "b", "name": "Jan", "email": "j@example.com"}
X = "\u2063"  # where the bad text goes (an invisible separator: found, never meant)

# (key, method, path, body with X where the text goes, the field the 422 names)
FIELDS: list[tuple[str | None, str, str, dict[str, Any], str]] = [
    (
        "gent-editor",
        "POST",
        f"{DATASET}/roles",
        {"organisation": X, "role": "supplier", "territory": [GENT]},
        "organisation",
    ),
    ("admin", "POST", f"{DATASET}/roles", {"organisation": X, "role": "owner"}, "organisation"),
    (
        "admin",
        "POST",
        f"{DATASET}/roles",
        {"organisation": "gent", "role": "supplier", "territory": [X]},
        "territory.0",
    ),
    ("admin", "PUT", f"{DATASET}/publisher", {"organisation": X}, "organisation"),
    (
        "gent-editor",
        "POST",
        f"{DATASET}/grants",
        {"organisation": X, "purpose": "p", "valid_until": LATER},
        "organisation",
    ),
    (
        "gent-editor",
        "POST",
        f"{DATASET}/grants",
        {"organisation": "leuven", "purpose": X, "valid_until": LATER},
        "purpose",
    ),
    (
        "gent-editor",
        "POST",
        "/api/v1/organisations/gent/keys",
        {"role": "reader", "label": X},
        "label",
    ),
    (None, "POST", f"{DATASET}/feedback", {**THREAD, "title": X}, "title"),
    (None, "POST", f"{DATASET}/feedback", {**THREAD, "body": X}, "body"),
    (None, "POST", f"{DATASET}/feedback", {**THREAD, "name": X}, "name"),
    (None, "POST", f"{DATASET}/feedback", {**THREAD, "email": X}, "email"),
    (
        None,
        "POST",
        "/api/v1/feedback/1/replies",
        {"body": X, "name": "Jan", "email": "j@e.be"},
        "body",
    ),
    ("gent-editor", "POST", "/api/v1/feedback/1/answers", {"body": X}, "body"),
    ("admin", "PATCH", DATASET, {"title": {"nl": X}}, "title.nl"),
    ("admin", "PATCH", DATASET, {"description": {"en": X}}, "description.en"),
    ("admin", "PATCH", DATASET, {"keywords": {"nl": [X]}}, "keywords.nl.0"),
    ("admin", "PATCH", DATASET, {"contact_name": X}, "contact_name"),
    ("admin", "PATCH", DATASET, {"contact_email": X}, "contact_email"),
    ("admin", "PATCH", DATASET, {"version": X}, "version"),
]
# Messages and purposes may hold line breaks and tabs (no other control character).
MULTILINE = frozenset({"purpose", "body", "description.en"})


def _with(body: Any, text: str) -> Any:
    if body == X:
        return text
    if isinstance(body, dict):
        return {k: _with(v, text) for k, v in body.items()}
    if isinstance(body, list):
        return [_with(v, text) for v in body]
    return body


@pytest.mark.parametrize(
    ("key", "method", "path", "body", "field"),
    FIELDS,
    ids=[f"{method}-{path.rsplit('/', 1)[-1]}-{field}" for _, method, path, _, field in FIELDS],
)
def test_a_control_character_in_any_body_text_is_422_naming_the_field(
    world: World, key: str | None, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    headers = world.auth(key) if key else {}
    before = world.fingerprint()
    # A NUL (PostgreSQL refuses it in text) alone and inside, an escape, and a line break
    # where a message may not hold one.
    texts = ["a\u0000", "\u0000", "gent\u001b[2J"]
    if field not in MULTILINE:
        texts.append("ge\nnt")
    for text in texts:
        response = world.client.request(method, path, json=_with(body, text), headers=headers)
        assert response.status_code == 422, (text, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["parameter"] == field, problem
        assert [e["parameter"] for e in problem["errors"]] == [field], problem
    assert world.fingerprint() == before
