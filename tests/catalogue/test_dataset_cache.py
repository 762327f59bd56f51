"""The dataset description is built once per catalogue change: a second read costs one query
(the change counter) instead of five, and every change of the catalogue is served at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from tests.factories import World

DETAIL = "/api/v1/datasets/population-2025"


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements any engine of this process runs inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def queries_of(world: World, path: str) -> tuple[dict[str, Any], list[str]]:
    with statements() as seen:
        response = world.client.get(path)
    assert response.status_code == 200, response.text
    return response.json(), [s for s in seen if "change_counter" in s or "FROM" in s.upper()]


def test_a_description_is_built_once_per_catalogue_change(world: World) -> None:
    first, built = queries_of(world, DETAIL)
    again, cached = queries_of(world, DETAIL)
    assert again == first
    assert len(built) >= 4, built
    assert len(cached) == 1 and "change_counter" in cached[0], cached

    patch = {"title": {"nl": "Bevolking, herzien", "en": "Population, revised"}}
    changed = world.client.patch(DETAIL, json=patch, headers=world.auth("admin"))
    assert changed.status_code == 200, changed.text
    after, rebuilt = queries_of(world, DETAIL)
    assert after["title"] == patch["title"]
    assert len(rebuilt) >= 4
    assert {k: v for k, v in after.items() if k not in ("title", "modified")} == {
        k: v for k, v in first.items() if k not in ("title", "modified")
    }


def test_an_unknown_dataset_is_404_every_time(world: World) -> None:
    for _ in range(2):
        missing = world.client.get("/api/v1/datasets/no-such-dataset")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
