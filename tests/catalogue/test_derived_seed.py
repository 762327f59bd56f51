"""Bad derived indicators are refused at seed time with file, line and reason, and nothing of
the seed is loaded; a derived dataset takes the strictest access level of its sources.

Each case seeds the catalogue only (no source files): the checks need the datasets and
indicators, not their values.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from app.catalogue.models import DerivedIndicator, Indicator
from app.config import SEEDS_DIR
from app.db.session import transaction
from app.errors import SourceDataError
from app.ingest.seed import seed_all
from tests.conftest import session_factory_for

CASES = {
    "unknown indicator": (
        "      - {indicator: electricity-consumption-residential, dataset: energy-fluvius}",
        "      - {indicator: electricity-consumption-residentail, dataset: energy-fluvius}",
        "refers to unknown indicator 'electricity-consumption-residentail'",
    ),
    "dividing by a none-rule indicator": (
        "      - {indicator: sector-area, dataset: sector-area-2021}",
        "      - {indicator: income-average-declaration, dataset: income}",
        "would divide by indicator 'income-average-declaration', whose aggregation rule is 'none'",
    ),
    "mixing geography versions": (
        "      - {indicator: population-65plus, dataset: age-census-2021}\n"
        "      - {indicator: population-under-65, dataset: age-census-2021}\n"
        "    denominator:\n"
        "      - {indicator: sector-area, dataset: sector-area-2021}",
        "      - {indicator: population, dataset: population-2025}\n"
        "    denominator:\n"
        "      - {indicator: sector-area, dataset: sector-area-2021}",
        "mixes geography versions without a rule: part 'population' of population-2025 is in "
        "version 2025, the formula in 2024",
    ),
}


def _seeds(tmp_path: Path) -> Path:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    return seeds


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_formula_is_refused_with_file_line_and_reason(
    empty_db: str, tmp_path: Path, case: str
) -> None:
    old, new, reason = CASES[case]
    seeds = _seeds(tmp_path)
    path = seeds / "derived.yaml"
    original = path.read_text(encoding="utf-8")
    assert original.count(old) >= 1, case
    # The last occurrence: in the mixing case that is population density's numerator.
    head, _, tail = original.rpartition(old)
    changed = head + new + tail
    path.write_text(changed, encoding="utf-8")
    line = head.count("\n") + 1  # the first line replaced
    engine, factory = session_factory_for(empty_db)
    with pytest.raises(SourceDataError) as caught, transaction(factory) as session:
        seed_all(session, tmp_path / "no-source-files", seeds)
    problems = caught.value.problems
    assert any(p.startswith(f"derived.yaml:{line}: ") and reason in p for p in problems), (
        line,
        problems,
    )
    # Nothing was loaded: not the derived indicators, not the rest of the catalogue.
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Indicator)) == 0
        assert session.scalar(select(func.count()).select_from(DerivedIndicator)) == 0
        assert session.scalar(text("SELECT count(*) FROM dataset")) == 0
    engine.dispose()


def test_a_part_with_disclosure_control_needs_it_applied(empty_db: str, tmp_path: Path) -> None:
    seeds = _seeds(tmp_path)
    indicators = seeds / "indicators.yaml"
    text_before = indicators.read_text(encoding="utf-8")
    marker = "- id: population-under-65\n"
    start = text_before.index(marker)
    end = text_before.index("  disclosure: null", start)
    indicators.write_text(
        text_before[:end] + "  disclosure: {min_count: 5}" + text_before[end + 18 :],
        encoding="utf-8",
    )
    derived = (seeds / "derived.yaml").read_text(encoding="utf-8")
    engine, factory = session_factory_for(empty_db)
    with pytest.raises(SourceDataError) as caught, transaction(factory) as session:
        seed_all(session, tmp_path / "no-source-files", seeds)
    # Population density's denominator... its numerator part population-under-65, unprotected.
    head = derived[: derived.index("- id: population-density-2021")]
    line = (
        head.count("\n")
        + derived[len(head) :]
        .split("\n")
        .index("      - {indicator: population-under-65, dataset: age-census-2021}")
        + 1
    )
    assert any(
        p.startswith(
            f"derived.yaml:{line}: population-density-2021: part "
            "'population-under-65' has disclosure control"
        )
        for p in caught.value.problems
    ), (line, caught.value.problems)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Indicator)) == 0
    engine.dispose()


def test_the_derived_dataset_takes_the_strictest_access_level(
    empty_db: str, tmp_path: Path
) -> None:
    seeds = _seeds(tmp_path)
    census = seeds / "datasets" / "age-census-2021.yaml"
    census.write_text(
        census.read_text(encoding="utf-8").replace(
            "access_level: public", "access_level: restricted"
        ),
        encoding="utf-8",
    )
    engine, factory = session_factory_for(empty_db)
    with transaction(factory) as session:
        seed_all(session, tmp_path / "no-source-files", seeds)
    with factory() as session:
        levels = dict(session.execute(text("SELECT id, access_level FROM dataset")).all())
        parts = session.scalar(
            select(DerivedIndicator.parts).where(
                DerivedIndicator.indicator_id == "electricity-residential-per-inhabitant"
            )
        )
    assert levels["age-census-2021"] == "restricted"
    assert levels["climate-energy-monitor"] == "restricted"  # seeded public, raised
    assert levels["energy-fluvius"] == "public"
    assert parts == [
        {
            "indicator": "electricity-consumption-residential",
            "dataset": "energy-fluvius",
            "role": "numerator",
        },
        {"indicator": "population-65plus", "dataset": "age-census-2021", "role": "denominator"},
        {"indicator": "population-under-65", "dataset": "age-census-2021", "role": "denominator"},
        {
            "indicator": "electricity-connections-residential",
            "dataset": "energy-fluvius",
            "role": "reference",
        },
    ]
    engine.dispose()
