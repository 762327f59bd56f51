"""A seeded dataset is dated when readers can see it: at the commit of the seed's unit of
work, not when its metadata was loaded inside it (the seed goes on for minutes with the
values). A harvester that asked ``modified_since`` meanwhile saw nothing of it yet, and must
be given it next time."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from app.catalogue.models import Dataset
from app.catalogue.seed import load_catalogue
from app.config import SEEDS_DIR
from app.db.queries import as_utc
from app.db.session import transaction
from app.geo.importer import ensure_versions
from tests.conftest import session_factory_for


def _dates(empty_db: str) -> dict[str, tuple[datetime, datetime]]:
    engine, factory = session_factory_for(empty_db)
    try:
        with factory() as session:
            return {
                d.id: (as_utc(d.issued), as_utc(d.modified))
                for d in session.scalars(select(Dataset))
            }
    finally:
        engine.dispose()


def test_a_new_dataset_is_dated_at_the_commit_of_the_seed(empty_db: str) -> None:
    engine, factory = session_factory_for(empty_db)
    try:
        with transaction(factory) as session:
            ensure_versions(session)
            load_catalogue(session, SEEDS_DIR)
            loaded = datetime.now(UTC)  # the seed goes on: values, city-regions…
    finally:
        engine.dispose()
    dates = _dates(empty_db)
    assert dates
    for dataset_id, (issued, modified) in dates.items():
        assert issued >= loaded, dataset_id
        assert modified >= loaded, dataset_id


def test_a_metadata_change_is_dated_at_the_commit_of_the_seed(
    empty_db: str, tmp_path: Path
) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    engine, factory = session_factory_for(empty_db)
    try:
        with transaction(factory) as session:
            ensure_versions(session)
            load_catalogue(session, seeds)
        before = _dates(empty_db)
        path = seeds / "datasets" / "income.yaml"
        text = path.read_text(encoding="utf-8")
        assert 'version: "2023"' in text
        path.write_text(text.replace('version: "2023"', 'version: "2024"'), encoding="utf-8")
        with transaction(factory) as session:
            load_catalogue(session, seeds)
            loaded = datetime.now(UTC)
    finally:
        engine.dispose()
    after = _dates(empty_db)
    assert after["income"][0] == before["income"][0]  # issued stays
    assert after["income"][1] >= loaded
    assert after["population-2025"] == before["population-2025"]  # unchanged, not touched
