"""Stored metadata can never make a read fail: every editable field is sent with every wrong
type (and a few valid values) through PATCH, and after each accepted value the dataset, the
list, the HTML page and the RDF document still answer 200 (the whole catalogue after each
field)."""

from __future__ import annotations

from typing import Any

import pytest

from app.rdf import vocab
from app.stewardship import schemas
from tests.factories import World

DATASET = "population-2025"
URL = f"/api/v1/datasets/{DATASET}"
MARKUP = "<script>alert('x')</script> & <b>bold</b>"
HUGE = "x" * 20_000

VALUES: list[Any] = [
    42,
    -1,
    3.5,
    True,
    None,
    {"a": 1},
    [],
    [1],
    [None],
    ["a", 2],
    [{"a": 1}],
    "SOCI",
    "",
    " ",
    HUGE,
    "a\u0000b",
    "tab\there",
    "bell\u0007",
    "del\u007f",
    MARKUP,
    "me@example.org",
    "<script>@x",
    "public",
    "secret",
    "ANNUAL",
    ["SOCI"],
    ["SOCI", "SOCI", "TRAN"],
    ["SOCI", 5],
    ["NOPE"],
    ["SOCI"] * 15,
    {},
    {"nl": 42},
    {"nl": None},
    {"nl": ""},
    {"nl": ["a"]},
    {"nl": HUGE},
    {"nl": "line\nbreak"},
    {"nl": "nul\u0000"},
    {"nl": MARKUP},
    {"en": "Plain English"},
    {"nl": [1]},
    {"nl": ["<b>k</b>", "bevolking"]},
    {"nl": ["x" * 101]},
    {"nl": ["k"] * 51},
    {"fr": "x"},
    {"nl": "a", "en": "b", "x": "c"},
]

# The values each field accepts (everything else is a 422 naming the field).
VALID: dict[str, list[Any]] = {
    "title": [{}, {"nl": MARKUP}, {"en": "Plain English"}],
    "description": [{}, {"nl": "line\nbreak"}, {"nl": MARKUP}, {"en": "Plain English"}],
    "keywords": [{}, {"nl": ["a"]}, {"nl": ["<b>k</b>", "bevolking"]}],
    "themes": [["SOCI"], ["SOCI", "SOCI", "TRAN"]],
    "frequency": [None, "ANNUAL"],
    "contact_name": [
        None,
        "SOCI",
        MARKUP,
        "me@example.org",
        "<script>@x",
        "public",
        "secret",
        "ANNUAL",
    ],
    "contact_email": [None, "me@example.org"],
    "version": [None, "SOCI", MARKUP, "me@example.org", "<script>@x", "public", "secret", "ANNUAL"],
    "access_level": ["public"],
}


def _valid(field: str, value: Any) -> bool:
    # `True == 1` in Python: compare JSON types too.
    return any(type(v) is type(value) and v == value for v in VALID[field])


HTML = {"Accept": "text/html"}
TURTLE = {"Accept": "text/turtle"}


def reads_answer(world: World, *, catalogue: bool = True) -> None:
    """The reads of the dataset answer 200. The whole catalogue is the costly read: the
    loop over values renders the dataset's own RDF document (the same serialisation) after
    each value and leaves ``/catalog.ttl`` to the end of the field."""
    reads = [
        ("/api/v1/datasets", {}),
        (URL, {}),
        (f"/doc/dataset/{DATASET}", HTML),
        (f"/doc/dataset/{DATASET}", TURTLE),
    ]
    if catalogue:
        reads.append(("/catalog.ttl", {}))
    for path, headers in reads:
        response = world.client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text[:500])


@pytest.mark.parametrize("field", list(VALID))
def test_every_wrong_type_is_refused_and_reads_never_fail(world: World, field: str) -> None:
    admin = world.auth("admin")
    for value in VALUES:
        before = world.client.get(URL).json()
        response = world.client.patch(URL, json={field: value}, headers=admin)
        if _valid(field, value):
            assert response.status_code == 200, (value, response.text)
            reads_answer(world, catalogue=False)
        else:
            assert response.status_code == 422, (value, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            parameters = [e["parameter"] for e in response.json()["errors"]]
            assert all(p.split(".")[0] == field for p in parameters), (value, parameters)
            assert world.client.get(URL).json() == before
    reads_answer(world)


def test_what_is_accepted_is_what_is_read_back(world: World) -> None:
    patch = {
        "title": {"nl": MARKUP},
        "description": {"en": "Two\nlines"},
        "keywords": {"en": ["population", "<b>k</b>"]},
        "themes": ["SOCI", "SOCI", "TRAN"],
        "frequency": "QUARTERLY",
        "contact_name": "Team Data",
        "contact_email": "Data@Example.org",
        "version": "2025.1",
        "access_level": "public",
    }
    before = world.client.get(URL).json()
    response = world.client.patch(URL, json=patch, headers=world.auth("admin"))
    assert response.status_code == 200, response.text
    assert set(response.json()["changed"]) >= {"title_nl", "description_en", "keywords", "themes"}
    dataset = world.client.get(URL).json()
    assert dataset["title"] == {"nl": MARKUP, "en": before["title"]["en"]}
    assert dataset["description"]["en"] == "Two\nlines"
    assert dataset["description"]["nl"] == before["description"]["nl"]
    assert dataset["keywords"] == {**before["keywords"], "en": ["population", "<b>k</b>"]}
    assert dataset["themes"] == ["SOCI", "TRAN"]
    assert dataset["frequency"] == "QUARTERLY"
    assert dataset["contact"]["name"] == "Team Data"
    assert dataset["contact"]["email"].lower() == "data@example.org"
    assert dataset["version"] == "2025.1"
    cleared = world.client.patch(
        URL, json={"frequency": None, "version": None}, headers=world.auth("admin")
    )
    assert cleared.status_code == 200
    dataset = world.client.get(URL).json()
    assert dataset["frequency"] is None and dataset["version"] is None
    reads_answer(world)


def test_markup_in_a_title_is_escaped_in_the_html_page(world: World) -> None:
    response = world.client.patch(
        URL, json={"title": {"nl": MARKUP, "en": MARKUP}}, headers=world.auth("admin")
    )
    assert response.status_code == 200, response.text
    page = world.client.get(f"/doc/dataset/{DATASET}", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<script>" not in page.text
    # Jinja2's autoescape (markupsafe) writes the apostrophe as &#39;.
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold" in page.text
    turtle = world.client.get("/catalog.ttl")
    assert turtle.status_code == 200
    assert "alert('x')" in turtle.text  # a literal, stored as written


@pytest.mark.parametrize(
    "raw",
    [
        '{"title": {"nl": "a\\ud800b"}}',  # a lone surrogate: not Unicode
        '{"keywords": {"nl": ["\\udfff"]}}',
        '{"contact_name": "\\u0000"}',
        '{"title": {"nl": "\\ufffe"}}',
        '{"title": {"en": "\\u202eevil"}}',  # shown reversed: reads as "live"
        '{"contact_name": "A \\u2067B"}',
        '{"title": "x", "title": {"nl": 1}}',
        "[]",
        "null",
        '"title"',
        "{",
    ],
)
def test_bodies_that_cannot_be_stored_are_422(world: World, raw: str) -> None:
    before = world.fingerprint()
    response = world.client.patch(
        URL, content=raw.encode(), headers=world.headers("admin", "application/json")
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert world.fingerprint() == before
    reads_answer(world)


def test_the_codes_accepted_are_the_codes_the_catalogue_knows() -> None:
    assert set(schemas.THEME_CODES) == set(vocab.DATA_THEMES)
    assert set(schemas.FREQUENCY_CODES) == set(vocab.FREQUENCIES)


def test_the_openapi_document_says_null_only_where_it_clears() -> None:
    schema = schemas.DatasetPatch.model_json_schema()
    properties = schema["properties"]
    assert schema["additionalProperties"] is False
    for name in ("title", "description", "keywords", "themes", "access_level"):
        assert "null" not in str(properties[name]), name
    for name in ("frequency", "contact_name", "contact_email", "version"):
        assert {"type": "null"} in properties[name]["anyOf"], name


@pytest.mark.parametrize("raw", ['{"title":', "{", '{"title": x}'])
def test_a_body_that_is_not_json_is_named_as_the_body(world: World, raw: str) -> None:
    response = world.client.patch(
        URL, content=raw.encode(), headers=world.headers("admin", "application/json")
    )
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["parameter"] for e in errors] == ["body"]
    assert "not valid JSON at character" in errors[0]["reason"]
    assert "body" in response.json()["detail"]
