"""``datapedia seed`` as a whole: idempotent, all-or-nothing, and useful without source files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import MetaData, func, select, text
from sqlalchemy.orm import Session

from app.catalogue import repository as catalogue_repository
from app.config import SEEDS_DIR, get_settings
from app.db.session import transaction
from app.downloads import service as downloads
from app.errors import SourceDataError
from app.ingest.seed import seed_all
from app.rdf import cubefiles
from app.rdf.dcat import Uris
from tests.conftest import geography_only, one_municipality, real_source_dir, session_factory_for
from tests.factories import World

BIG_TABLES = {"observation", "published_value", "geo_unit_ancestor"}


def table_fingerprint(session: Session) -> dict[str, tuple[object, ...]]:
    """Per table its row count and a checksum: every row for the small tables, SQL
    aggregates for the big ones (where seeding could only insert or delete rows)."""
    metadata = MetaData()
    metadata.reflect(bind=session.get_bind())
    result: dict[str, tuple[object, ...]] = {}
    for name, table in sorted(metadata.tables.items()):
        if name in BIG_TABLES:
            numeric = [
                c
                for c in table.columns
                if c.name in ("id", "value", "revision_to", "unit_id", "ancestor_id")
            ]
            aggregates = [func.count()] + [func.sum(c) for c in numeric]
            # Float sums are compared approximately: PostgreSQL may add in any order.
            result[name] = tuple(
                pytest.approx(v, rel=1e-12) if isinstance(v, float) else v
                for v in session.execute(select(*aggregates)).one()
            )
            continue
        rows = session.execute(select(table).order_by(*table.primary_key.columns)).all()
        result[name] = (len(rows), hash(tuple(tuple(str(v) for v in row) for row in rows)))
    return result


def test_the_seed_leaves_every_stored_file_current(real_session: Session) -> None:
    """The seed's files are written after its commit, which dates the datasets' modification:
    written before it, the files stating it (JSON-stat, Data Package, Data Cube dumps) were
    out of date at once, and written again at the first request."""
    datasets = catalogue_repository.all_datasets(
        real_session, catalogue_repository.datasets_query()
    )
    assert datasets
    assert downloads.stale_files(real_session, datasets) == []
    assert cubefiles.stale_files(real_session, Uris(get_settings().base_url)) == []


@pytest.mark.costly(7)
def test_seeding_twice_changes_nothing(real_session: Session) -> None:
    # The shared real database was seeded once already; seeding again must be a no-op.
    before = table_fingerprint(real_session)
    second = seed_all(real_session, real_source_dir(), SEEDS_DIR)
    assert not second.changed
    assert all(report.unchanged for report in second.values)
    assert second.geography is not None
    assert not second.geography.changed
    real_session.flush()
    assert table_fingerprint(real_session) == before


@pytest.mark.costly(10)
def test_without_source_files_the_catalogue_is_still_served(empty_db: str, tmp_path: Path) -> None:
    engine, factory = session_factory_for(empty_db)
    with transaction(factory) as session:
        outcome = seed_all(session, tmp_path / "nowhere", SEEDS_DIR)
    assert outcome.geography is None
    assert any(
        "No geography source files" in w and "DATAPEDIA_SOURCE_DIR" in w for w in outcome.warnings
    )
    with factory() as session:
        datasets = session.scalar(text("SELECT count(*) FROM dataset"))
        units = session.scalar(text("SELECT count(*) FROM geo_unit"))
    assert (datasets, units) == (8, 0)
    # Once the files arrive, the same command completes the picture (territories included).
    with transaction(factory) as session:
        seed_all(session, geography_only(tmp_path), SEEDS_DIR)
    with factory() as session:
        territories = session.scalar(text("SELECT count(*) FROM role_territory"))
        regions = session.scalar(text("SELECT count(*) FROM city_region"))
    assert territories and territories >= 6 * 13
    assert regions == 13
    engine.dispose()


def test_a_broken_seed_file_changes_nothing(world_db: World, tmp_path: Path) -> None:
    # A world is what seeding the geography and the catalogue gives (a copy: cheaper than
    # seeding the geography again).
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    source = geography_only(tmp_path)
    engine, factory = session_factory_for(world_db.url)
    with factory() as session:
        before = table_fingerprint(session)
    path = seeds / "datasets" / "income.yaml"
    dataset = yaml.safe_load(path.read_text(encoding="utf-8"))
    dataset["licence"] = "no-such-licence"
    dataset["title"]["nl"] = "Gewijzigd"
    path.write_text(yaml.safe_dump(dataset, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SourceDataError) as caught, transaction(factory) as session:
        seed_all(session, source, seeds)
    assert any("income.yaml" in p and "no-such-licence" in p for p in caught.value.problems)
    with factory() as session:
        assert table_fingerprint(session) == before
        title = session.scalar(text("SELECT title_nl FROM dataset WHERE id = 'income'"))
    assert title != "Gewijzigd"
    engine.dispose()


@pytest.mark.costly(20)  # mostly in the `datapedia seed` subprocess
def test_seed_cli_reports_and_keys_cli_prints_the_key_last(empty_db: str, tmp_path: Path) -> None:
    # The real files, cut down to one municipality: what is asserted is the report of the
    # command, not the full data (test_seeding_twice_changes_nothing covers those).
    env = {
        **os.environ,
        "DATAPEDIA_DATABASE_URL": empty_db,
        "DATAPEDIA_SOURCE_DIR": str(one_municipality(tmp_path)),
    }
    seeded = subprocess.run(
        [sys.executable, "-m", "app.cli", "seed", "--verbose"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    # Progress per step on stderr (rows and rows/s), a summary table and the details on stdout.
    assert re.search(r"geography: [\d,]+ rows in [\d.]+ s \([\d,]+ rows/s\)", seeded.stderr)
    assert "migrated to" not in seeded.stderr  # the fixture migrated it
    assert "geography units" in seeded.stdout
    assert "geography: skipped" in seeded.stdout
    # The published counts are what is published (the same on SQLite and PostgreSQL).
    reported = {
        m.group(1): int(m.group(2).replace(",", ""))
        for m in re.finditer(
            r"values ([a-z0-9-]+): revision \d+, ([\d,]+) published values", seeded.stdout
        )
    }
    # The seven value files' datasets and the derived climate-energy-monitor.
    assert len(reported) == 8, seeded.stdout
    engine, factory = session_factory_for(empty_db)
    with factory() as session:
        stored = dict(
            session.execute(
                text(
                    "SELECT dataset_id, count(*) FROM published_value WHERE revision_to IS NULL "
                    "GROUP BY dataset_id"
                )
            ).all()
        )
    engine.dispose()
    assert reported == stored
    republished = subprocess.run(
        [sys.executable, "-m", "app.cli", "publish", "--dataset", "population-2025", "--all"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert republished.returncode == 0, republished.stderr
    assert "0 rows written, 0 closed, 0 corrected" in republished.stdout
    assert f"{stored['population-2025']} published values" in republished.stdout
    created = subprocess.run(
        [sys.executable, "-m", "app.cli", "keys", "create", "--org", "gent", "--role", "supplier"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("dp_") and len(key) > 30
    engine, factory = session_factory_for(empty_db)
    with factory() as session:
        stored = session.execute(text("SELECT key_hash, organisation_id FROM api_key")).one()
    engine.dispose()
    assert stored.organisation_id == "gent"
    assert key not in stored.key_hash  # only the hash is stored
    refused = subprocess.run(
        [sys.executable, "-m", "app.cli", "keys", "create", "--org", "nobody"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 1
    assert "nobody" in refused.stderr


def test_seed_counts_match_the_sources(real_session: Session) -> None:
    from app.catalogue.models import Dataset, DatasetRole

    publishers = real_session.execute(
        select(DatasetRole.dataset_id, func.count())
        .where(DatasetRole.role == "publisher")
        .group_by(DatasetRole.dataset_id)
    ).all()
    assert {n for _, n in publishers} == {1}
    assert len(publishers) == real_session.scalar(select(func.count()).select_from(Dataset))


def test_a_seed_keeps_what_owners_changed_and_applies_what_its_entry_changed(
    world_db: World, tmp_path: Path
) -> None:
    """The seed runs at every start of a container (DATAPEDIA_SEED_ON_START): it must not
    undo the owners' changes through the API (a restricted dataset made public again, a role
    they granted removed), and a release's change to an entry still lands."""
    url = "/api/v1/datasets/income"
    patched = world_db.client.patch(
        url,
        json={"access_level": "restricted", "title": {"nl": "Inkomen (eigen titel)"}},
        headers=world_db.auth("publisher-editor"),
    )
    assert patched.status_code == 200, patched.text
    granted = world_db.client.post(
        f"{url}/roles",
        json={"organisation": "fluvius", "role": "owner"},
        headers=world_db.auth("publisher-editor"),
    )
    assert granted.status_code == 201, granted.text
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    source = geography_only(tmp_path)
    engine, factory = session_factory_for(world_db.url)

    def seeded_dataset() -> dict[str, Any]:
        with transaction(factory) as session:
            seed_all(session, source, seeds)
        body: dict[str, Any] = world_db.client.get(url, headers=world_db.auth("gent")).json()
        return body

    def held(body: dict[str, Any]) -> set[tuple[str, str]]:
        return {(r["organisation"]["id"], r["role"]) for r in body["roles"]}

    unchanged_entry = seeded_dataset()
    assert unchanged_entry["access_level"] == "restricted"
    assert unchanged_entry["title"]["nl"] == "Inkomen (eigen titel)"
    assert ("fluvius", "owner") in held(unchanged_entry)
    # A release changes the entry: its description and one role; the rest stays the owners'.
    path = seeds / "datasets" / "income.yaml"
    entry = yaml.safe_load(path.read_text(encoding="utf-8"))
    entry["description"]["en"] = "A corrected description."
    entry["roles"] = [r for r in entry["roles"] if r["organisation"] != "vgc"]
    path.write_text(yaml.safe_dump(entry, allow_unicode=True), encoding="utf-8")
    changed_entry = seeded_dataset()
    assert changed_entry["description"]["en"] == "A corrected description."
    assert ("vgc", "owner") not in held(changed_entry)
    assert changed_entry["access_level"] == "restricted"
    assert changed_entry["title"]["nl"] == "Inkomen (eigen titel)"
    assert ("fluvius", "owner") in held(changed_entry)
    engine.dispose()
