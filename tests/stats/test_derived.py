"""Derived indicators follow their parts: a submission to a source dataset changes the derived
values in the same transaction, and the derived dataset's history names the source revision
that caused it; the derived dataset itself accepts no submissions.

A world (real geography, seeded catalogue) gets Gent's rows of the census and Fluvius files
only (``one_municipality``): cheap, and enough for every level above Gent's sectors.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.db.session import transaction
from app.geo.models import GeoUnit
from app.stats import repository
from app.stats.derived import wanted_inputs
from app.stats.importer import import_values
from app.stats.models import Observation, Submission
from app.stats.parsers import VALUE_SOURCES
from app.stats.publish import publish_all
from tests.conftest import one_municipality
from tests.factories import Template, World, open_world

DATASET = "climate-energy-monitor"
ELECTRICITY = "electricity-residential-per-inhabitant"
HEADER = "sector,indicator,period,value,status\n"
SOURCES = ("age-census-2021", "energy-fluvius", "land-use-open-space", "sector-area-2021")


def _load_gent(world: World, tmp_path: Path) -> None:
    source = one_municipality(tmp_path)
    with transaction(world.factory) as session:
        for dataset in SOURCES:
            spec = next(s for s in VALUE_SOURCES if s.dataset == dataset)
            report = import_values(session, spec, source)
            assert report.revision == 1, report


def _value(world: World, dataset: str, indicator: str, unit: str) -> dict[str, Any]:
    response = world.client.get(
        f"/api/v1/datasets/{dataset}/observations",
        params={"indicator": indicator, "unit": unit, "period": "2021"},
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) == 1, items
    record: dict[str, Any] = items[0]
    return record


def _population(world: World, unit: str) -> float:
    return sum(
        float(_value(world, "age-census-2021", indicator, unit)["value"])
        for indicator in ("population-65plus", "population-under-65")
    )


def _sector_value(world: World, sector: str) -> float:
    return float(
        _value(world, "energy-fluvius", "electricity-consumption-residential", sector)["value"]
    )


def test_withdrawing_a_source_upload_brings_the_derived_values_back(
    world: World, tmp_path: Path
) -> None:
    _load_gent(world, tmp_path)
    unit = "municipality:44021"
    before = _value(world, DATASET, ELECTRICITY, unit)["value"]
    old = _sector_value(world, "sector:44021A00-")
    response = world.client.post(
        "/api/v1/datasets/energy-fluvius/submissions",
        content=(
            HEADER + f"44021A00-,electricity-consumption-residential,2021,{old * 3},\n"
        ).encode(),
        headers=world.headers("gent"),
    )
    assert response.status_code == 201, response.text
    assert _value(world, DATASET, ELECTRICITY, unit)["value"] > before
    withdrawn = world.client.delete(
        f"/api/v1/datasets/energy-fluvius/submissions/{response.json()['submission']}",
        headers=world.auth("gent"),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert _sector_value(world, "sector:44021A00-") == old
    assert _value(world, DATASET, ELECTRICITY, unit)["value"] == before
    history = world.client.get(f"/api/v1/datasets/{DATASET}/history").json()["items"]
    latest = next(e for e in history if e["kind"] == "submission")
    revision = withdrawn.json()["revision"]
    assert latest["changes"]["source"] == f"derived from energy-fluvius revision {revision}"


def test_a_submission_to_a_source_changes_the_derived_values_at_once(
    world: World, tmp_path: Path
) -> None:
    _load_gent(world, tmp_path)
    history = world.client.get(f"/api/v1/datasets/{DATASET}/history").json()["items"]
    causes = [e["changes"]["source"] for e in history if e["kind"] == "submission"]
    assert causes == [f"derived from {d} revision 1" for d in reversed(SOURCES)]

    units = ("municipality:44021", "region:02000", "province:40000")
    before = {unit: _value(world, DATASET, ELECTRICITY, unit) for unit in units}
    consumption = float(
        _value(world, "energy-fluvius", "electricity-consumption-residential", "region:02000")[
            "value"
        ]
    )
    population = _population(world, "region:02000")
    # Rounded to whole kWh per inhabitant: the parts' own published values give it back.
    assert before["region:02000"]["value"] == round(consumption / population)

    sector = "sector:44021A00-"
    old = _sector_value(world, sector)
    added = 5_000_000.0
    modified = world.client.get(f"/api/v1/datasets/{DATASET}").json()["modified"]
    response = world.client.post(
        "/api/v1/datasets/energy-fluvius/submissions",
        content=(
            HEADER + f"44021A00-,electricity-consumption-residential,2021,{old + added},\n"
        ).encode(),
        headers=world.headers("gent"),
    )
    assert response.status_code == 201, response.text
    source_revision = response.json()["revision"]
    assert source_revision == 2
    # The derived dataset changed too: its modification date says so to harvesters.
    assert world.client.get(f"/api/v1/datasets/{DATASET}").json()["modified"] > modified

    after = {unit: _value(world, DATASET, ELECTRICITY, unit) for unit in units}
    for unit in units:
        expected = (consumption + added) / _population(world, unit) if unit != units[0] else None
        if expected is not None:
            assert after[unit]["value"] == round(expected), (unit, after[unit])
        assert after[unit]["value"] > before[unit]["value"], unit
    gent_population = _population(world, "municipality:44021")
    gent_consumption = float(
        _value(
            world, "energy-fluvius", "electricity-consumption-residential", "municipality:44021"
        )["value"]
    )
    assert after["municipality:44021"]["value"] == round(gent_consumption / gent_population)
    assert (
        abs(
            after["municipality:44021"]["value"]
            - before["municipality:44021"]["value"]
            - added / gent_population
        )
        <= 1
    )

    history = world.client.get(f"/api/v1/datasets/{DATASET}/history").json()["items"]
    latest = next(e for e in history if e["kind"] == "submission")
    assert latest["changes"]["source"] == f"derived from energy-fluvius revision {source_revision}"
    assert latest["changes"]["revision"] == 5
    # Only the part that changed was copied again (one sector's consumption).
    assert latest["changes"]["rows_total"] == 1 and latest["changes"]["rows_changed"] == 1
    # The earlier revision still answers with the earlier value.
    earlier = world.client.get(
        f"/api/v1/datasets/{DATASET}/observations",
        params={"indicator": ELECTRICITY, "unit": "municipality:44021", "revision": 4},
    ).json()["items"]
    assert earlier[0]["value"] == before["municipality:44021"]["value"]
    # What incremental publication stored is what a full recomputation gives.
    with transaction(world.factory) as session:
        outcome = publish_all(session, DATASET)
    assert (outcome.inserted, outcome.closed, outcome.corrected) == (0, 0, 0)
    assert outcome.slices > 0


def test_a_part_whose_source_holds_no_rows_keeps_the_derived_refresh_incremental(
    world: World, tmp_path: Path
) -> None:
    """Only energy-fluvius is loaded: the census parts have no rows anywhere. A one-row
    submission still copies just the changed part (not every part again), and what the
    derived dataset holds and publishes equals a full comparison and recomputation."""
    source = one_municipality(tmp_path)
    with transaction(world.factory) as session:
        spec = next(s for s in VALUE_SOURCES if s.dataset == "energy-fluvius")
        assert import_values(session, spec, source).revision == 1
    old = _sector_value(world, "sector:44021A00-")
    response = world.client.post(
        "/api/v1/datasets/energy-fluvius/submissions",
        content=(
            HEADER + f"44021A00-,electricity-consumption-residential,2021,{old + 1000},\n"
        ).encode(),
        headers=world.headers("gent"),
    )
    assert response.status_code == 201, response.text
    history = world.client.get(f"/api/v1/datasets/{DATASET}/history").json()["items"]
    latest = next(e for e in history if e["kind"] == "submission")
    assert latest["changes"]["source"] == "derived from energy-fluvius revision 2"
    assert latest["changes"]["rows_total"] == 1 and latest["changes"]["rows_changed"] == 1
    with world.factory() as session:
        held = {
            (o.indicator_id, o.unit_id, o.period): (o.value, o.status)
            for o in repository.current_observations(session, DATASET)
        }
        assert held == wanted_inputs(session, DATASET)
    with transaction(world.factory) as session:
        outcome = publish_all(session, DATASET)
    assert (outcome.inserted, outcome.closed, outcome.corrected) == (0, 0, 0)


def test_a_submission_that_changes_no_part_makes_no_derived_revision(
    world: World, tmp_path: Path
) -> None:
    _load_gent(world, tmp_path)
    sector = "sector:44021A00-"
    old = _sector_value(world, sector)
    # Non-residential consumption is read by no derived indicator.
    response = world.client.post(
        "/api/v1/datasets/energy-fluvius/submissions",
        content=(
            HEADER + f"44021A00-,electricity-consumption-non-residential,2021,{old},\n"
        ).encode(),
        headers=world.headers("gent"),
    )
    assert response.status_code == 201, response.text
    history = world.client.get(f"/api/v1/datasets/{DATASET}/history").json()["items"]
    assert [e["changes"]["revision"] for e in history if e["kind"] == "submission"] == [4, 3, 2, 1]


def test_the_derived_dataset_accepts_no_submissions(world: World) -> None:
    before = world.fingerprint()
    response = world.client.post(
        f"/api/v1/datasets/{DATASET}/submissions",
        content=(HEADER + f"44021A00-,{ELECTRICITY},2021,1,\n").encode(),
        headers=world.headers("admin"),
    )
    # Even a site admin, who may submit to any dataset: 409, naming the sources.
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert "energy-fluvius" in problem["detail"] and "age-census-2021" in problem["sources"]
    # A city's supplier, who supplies the sources, is told the same (it was a 403 naming a
    # right nobody has), and a reader still lacks the right to submit anything.
    for who, status in (("gent", 409), ("gent-reader", 403)):
        answer = world.client.post(
            f"/api/v1/datasets/{DATASET}/submissions",
            content=(HEADER + f"44021A00-,{ELECTRICITY},2021,1,\n").encode(),
            headers=world.headers(who),
        )
        assert answer.status_code == status, answer.text
        if status == 409:
            assert answer.json()["sources"] == problem["sources"]
    assert world.fingerprint() == before
    # Its parts are not published in it: no ad-hoc areas, with the reason.
    area = world.client.get(
        f"/api/v1/datasets/{DATASET}/observations",
        params={"indicator": ELECTRICITY, "area": ["municipality:44021", "municipality:44019"]},
    )
    assert area.status_code == 422, area.text
    assert area.json()["parameter"] == "area" and "energy-fluvius" in area.json()["detail"]


def test_restricting_a_source_restricts_the_datasets_derived_from_it(
    world: World, tmp_path: Path
) -> None:
    _load_gent(world, tmp_path)
    unit = "sector:44021A01-"
    assert world.client.get(f"/api/v1/datasets/{DATASET}/observations").status_code == 200
    response = world.client.patch(
        "/api/v1/datasets/energy-fluvius",
        json={"access_level": "restricted"},
        headers=world.auth("admin"),
    )
    assert response.status_code == 200, response.text
    # Consumption per inhabitant is consumption over population: public, it would give the
    # restricted consumption back.
    derived = world.client.get(f"/api/v1/datasets/{DATASET}")
    assert derived.json()["access_level"] == "restricted"
    read = world.client.get(
        f"/api/v1/datasets/{DATASET}/observations",
        params={"indicator": ELECTRICITY, "unit": unit, "period": "2021"},
    )
    assert read.status_code == 401, read.text
    history = world.client.get(f"/api/v1/datasets/{DATASET}/history").json()["items"]
    assert history[0]["kind"] == "metadata"
    assert history[0]["changes"]["access_level"] == ["public", "restricted"]
    # The other sources stay as they were.
    assert world.client.get("/api/v1/datasets/age-census-2021").json()["access_level"] == "public"


def test_reading_a_derived_dataset_takes_the_right_to_read_its_restricted_sources(
    world: World, tmp_path: Path
) -> None:
    """Consumption per inhabitant times the public population gives the restricted
    consumption back: a grant on the derived dataset alone opens nothing, and the source's
    log records the read."""
    _load_gent(world, tmp_path)
    restricted = world.client.patch(
        "/api/v1/datasets/energy-fluvius",
        json={"access_level": "restricted"},
        headers=world.auth("admin"),
    )
    assert restricted.status_code == 200, restricted.text
    obs = f"/api/v1/datasets/{DATASET}/observations"
    params = {"indicator": ELECTRICITY, "unit": "municipality:44021", "period": "2021"}
    until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()

    def grant(dataset: str) -> None:
        made = world.client.post(
            f"/api/v1/datasets/{dataset}/grants",
            json={"organisation": "digitaal-vlaanderen", "purpose": "studie", "valid_until": until},
            headers=world.auth("admin"),
        )
        assert made.status_code == 201, made.text

    grant(DATASET)
    refused = world.client.get(obs, params=params, headers=world.auth("analyst"))
    assert refused.status_code == 403, refused.text
    assert refused.json()["missing_right"] == "grant:energy-fluvius"
    grant("energy-fluvius")
    read = world.client.get(obs, params=params, headers=world.auth("analyst"))
    assert read.status_code == 200, read.text
    assert read.json()["items"][0]["value"] > 0
    log = world.client.get("/api/v1/datasets/energy-fluvius/audit", headers=world.auth("admin"))
    reads = [e for e in log.json()["items"] if e["action"] == "read.restricted"]
    assert [(e["organisation"], e["purpose"]) for e in reads] == [("digitaal-vlaanderen", "studie")]
    assert reads[0]["details"]["read"].startswith(f"through {DATASET}: GET {obs}?indicator=")


def test_a_derived_dataset_opens_no_wider_than_its_sources(world: World) -> None:
    restricted = world.client.patch(
        "/api/v1/datasets/energy-fluvius",
        json={"access_level": "restricted"},
        headers=world.auth("admin"),
    )
    assert restricted.status_code == 200, restricted.text
    before = world.fingerprint()
    response = world.client.patch(
        f"/api/v1/datasets/{DATASET}", json={"access_level": "public"}, headers=world.auth("admin")
    )
    assert response.status_code == 409, response.text
    assert response.json()["sources"] == ["energy-fluvius"]
    assert world.fingerprint() == before
    # As strict as the source, or stricter: allowed.
    stricter = world.client.patch(
        f"/api/v1/datasets/{DATASET}",
        json={"access_level": "non_public"},
        headers=world.auth("admin"),
    )
    assert stricter.status_code == 200, stricter.text


def test_only_sectors_inside_the_derived_datasets_coverage_are_copied(
    world: World, tmp_path: Path
) -> None:
    """climate-energy-monitor covers the Flemish Region; the area file covers Brussels too,
    the land-use file does not. A Brussels sector's area copied would make open space per km²
    0 in Brussels (no open-space row counted as none)."""
    _load_gent(world, tmp_path)
    response = world.client.post(
        "/api/v1/datasets/sector-area-2021/submissions",
        content=(HEADER + "21017A01-,sector-area,2021,2.5,\n").encode(),
        headers=world.headers("admin"),
    )
    assert response.status_code == 201, response.text
    brussels = world.client.get(
        f"/api/v1/datasets/{DATASET}/observations",
        params={"indicator": "open-space-per-area", "unit": ["region:04000", "municipality:21017"]},
    )
    assert brussels.status_code == 200, brussels.text
    assert brussels.json()["items"] == []
    gent = _value(world, DATASET, "population-density-2021", "municipality:44021")
    assert gent["value"] > 0 and gent["status"] == "normal"
    with transaction(world.factory) as session:
        copied = {o.unit_id for o in repository.current_observations(session, DATASET)}
        brussels_sector = session.scalar(
            select(GeoUnit.id).where(
                GeoUnit.code == "21017A01-", GeoUnit.level == "sector", GeoUnit.version == "2024"
            )
        )
        assert brussels_sector is not None and brussels_sector not in copied
        # The whole comparison (what a seed does) wants the same copies: nothing to change.
        assert wanted_inputs(session, DATASET).keys() == {
            (o.indicator_id, o.unit_id, o.period)
            for o in repository.current_observations(session, DATASET)
        }


@pytest.fixture
def own_world(world_template: Template, tmp_path: Path) -> Iterator[World]:
    """A database of its own: the command line opens connections of its own."""
    yield from open_world(world_template, tmp_path, real_database=True)


def test_publish_all_compares_the_copies_again(own_world: World, tmp_path: Path) -> None:
    """A database whose derived dataset holds a copy made under earlier rules (a Brussels
    sector's area, before copies kept to the spatial coverage): `publish --all` compares every
    part with its source and takes it out in a new revision."""
    world = own_world
    _load_gent(world, tmp_path)
    with transaction(world.factory) as session:
        brussels = session.scalar(
            select(GeoUnit.id).where(
                GeoUnit.code == "21017A01-", GeoUnit.level == "sector", GeoUnit.version == "2024"
            )
        )
        assert brussels is not None
        latest = repository.latest_revision(session, DATASET)
        submission = session.scalar(
            select(Submission.id).where(
                Submission.dataset_id == DATASET, Submission.revision == latest
            )
        )
        session.add(
            Observation(
                dataset_id=DATASET,
                indicator_id="sector-area",
                unit_id=brussels,
                period="2021",
                value=2.5,
                status="normal",
                submission_id=submission,
                revision_from=latest,
            )
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAPEDIA_")}
    env["DATAPEDIA_DATABASE_URL"] = world.url
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "publish", "--dataset", DATASET, "--all"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert f"revision {latest + 1}" in done.stdout
    with world.factory() as session:
        current = {o.unit_id for o in repository.current_observations(session, DATASET)}
        assert brussels not in current
