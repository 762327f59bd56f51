"""Boundaries: the real files load onto the units of their version, and the API serves them as
cacheable GeoJSON with their credit lines. The shared test seed leaves geometry out (speed);
these tests load it themselves."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.config import SEEDS_DIR
from app.errors import NotFound, SourceDataError
from app.geo import service
from app.geo.boundaries import (
    BOUNDARIES_DIR,
    BOUNDARIES_FILE,
    BoundaryFile,
    import_boundaries,
    load_boundary_files,
)
from tests.conftest import real_source_dir
from tests.factories import World


def _files(*names: str) -> list[BoundaryFile]:
    files = load_boundary_files(SEEDS_DIR / BOUNDARIES_FILE)
    return [f for f in files if not names or f.file in names]


def test_real_boundaries_load_per_unit_and_version(real_session: Session) -> None:
    report = import_boundaries(real_session, real_source_dir() / BOUNDARIES_DIR, _files())
    assert report.counts == {
        "2024/sector": 9879 - 2,  # two 2021 Antwerp port codes the 2024 list replaced
        "2024/municipality": 319,
        "2025/municipality": 304,
        "2025/province": 6,  # five provinces and the Brussels-Capital Region
        "2025/referentieregio": 15,
        "2025/wijk": 2767,
    }
    # The 41 collapsed sectors are reported by code, and skipped.
    collapsed = next(line for line in report.skipped if "sector unit(s) of 2024" in line)
    assert collapsed.startswith("sectors_2021_flanders_brussels.geojson: 41 ")
    assert "11002F223" in collapsed and "72041D10-" in collapsed
    assert any("11002M0QA" in line and "skipped" in line for line in report.skipped)
    # A second load changes nothing.
    again = import_boundaries(real_session, real_source_dir() / BOUNDARIES_DIR, _files())
    assert (again.inserted, again.updated) == (0, 0)

    gent = json.loads(service.unit_geometry(real_session, "municipality", "44021", None).body)
    assert gent["type"] == "Feature" and gent["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    assert gent["properties"] == {
        "code": "44021",
        "name": "Gent",
        "level": "municipality",
        "version": "2025",
    }
    assert "Statbel" in gent["attribution"][0]["credit"]
    # A 2024 sector code without a version: the version that has its shape.
    sector = json.loads(service.unit_geometry(real_session, "sector", "44021A00-", None).body)
    assert sector["properties"]["version"] == "2024"
    with pytest.raises(NotFound):
        service.unit_geometry(real_session, "sector", "11002F223", "2024")

    wijken = json.loads(
        service.boundaries(
            real_session, level="wijk", version=None, within="municipality:44021"
        ).body
    )
    assert wijken["version"] == "2025" and len(wijken["features"]) == 25
    assert wijken["without_geometry"] == []  # the unknown wijk is not localisable
    assert "gemeentebesturen" in wijken["attribution"][0]["credit"]
    coordinates = json.dumps(wijken["features"][0]["geometry"]["coordinates"])
    assert all(
        len(n.split(".")[1]) <= 5
        for n in coordinates.replace("[", "").replace("]", "").split(",")
        if "." in n
    )
    sectors = json.loads(
        service.boundaries(real_session, level="sector", version=None, within=None).body
    )
    assert sectors["version"] == "2024"
    assert {s["code"] for s in sectors["without_geometry"]} >= {"11002F223", "72041D10-"}


def test_a_boundary_file_that_is_not_geojson_is_refused(
    real_session: Session, tmp_path: Path
) -> None:
    (tmp_path / "municipalities_2025.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(SourceDataError) as caught:
        import_boundaries(real_session, tmp_path, _files("municipalities_2025.geojson"))
    assert "not readable as GeoJSON" in caught.value.problems[0]


def test_geometry_over_http_is_geojson_cacheable_and_compressed(world: World) -> None:
    with world.factory() as session:
        import_boundaries(
            session, real_source_dir() / BOUNDARIES_DIR, _files("municipalities_2025.geojson")
        )
        session.commit()
    url = "/api/v1/geo/boundaries?level=municipality&within=province:40000"
    first = world.client.get(url, headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/geo+json"
    assert first.headers["content-encoding"] == "gzip"
    assert "max-age" in first.headers["cache-control"]
    body = first.json()  # the client undoes the gzip
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 55
    assert {"code", "name", "level", "version"} <= set(body["features"][0]["properties"])
    raw = world.client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert len(gzip.compress(raw.content)) < len(raw.content) / 2
    again = world.client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""

    one = world.client.get("/api/v1/geo/units/municipality/44021/geometry")
    assert one.status_code == 200 and one.json()["properties"]["name"] == "Gent"
    for bad, status in (
        ("/api/v1/geo/units/municipality/99999/geometry", 404),
        ("/api/v1/geo/units/planet/1/geometry", 404),
        ("/api/v1/geo/units/wijk/44021W01/geometry", 404),  # wijken not loaded here
        ("/api/v1/geo/boundaries?level=planet", 422),
        ("/api/v1/geo/boundaries?within=municipality:1", 404),
        ("/api/v1/geo/boundaries?version=1999", 422),
    ):
        answer = world.client.get(bad)
        assert answer.status_code == status, bad
        assert answer.headers["content-type"] == "application/problem+json"
