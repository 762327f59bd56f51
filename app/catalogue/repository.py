"""All queries on the catalogue tables."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, Text, cast, delete, func, insert, literal, or_, select, text
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.orm import Session

from app.catalogue.models import (
    ChangeCounter,
    Dataset,
    DatasetChange,
    DatasetIndicator,
    DatasetRole,
    DerivedIndicator,
    Indicator,
    Licence,
    Organisation,
    RoleTerritory,
)
from app.db.base import Base
from app.db.queries import LIKE_ESCAPE, contains_pattern
from app.db.session import stamp_at_commit
from app.geo.models import GeoUnit

ModelT = TypeVar("ModelT", bound=Base)


def upsert(session: Session, model: type[ModelT], key: str, values: dict[str, Any]) -> str | None:
    """Insert or update one row by primary key; returns 'inserted', 'updated' or None."""
    row = session.get(model, key)
    if row is None:
        session.add(model(id=key, **values))
        return "inserted"
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return "updated" if changed else None


def sync_dataset_indicators(session: Session, dataset_id: str, indicator_ids: list[str]) -> bool:
    existing = [
        (link.indicator_id, link.position)
        for link in session.scalars(
            select(DatasetIndicator)
            .where(DatasetIndicator.dataset_id == dataset_id)
            .order_by(DatasetIndicator.position)
        )
    ]
    wanted = [(indicator, position) for position, indicator in enumerate(indicator_ids)]
    if existing == wanted:
        return False
    session.execute(delete(DatasetIndicator).where(DatasetIndicator.dataset_id == dataset_id))
    if wanted:
        session.execute(
            insert(DatasetIndicator),
            [{"dataset_id": dataset_id, "indicator_id": i, "position": p} for i, p in wanted],
        )
    return True


def sync_roles(
    session: Session,
    dataset_id: str,
    territories: dict[tuple[str, str], list[int]],
    removed: Collection[tuple[str, str]] | None = None,
) -> bool:
    """Give the dataset the roles (organisation, role) of ``territories`` with exactly those
    territories, and remove the ``removed`` ones; with ``removed`` None, every other role."""
    changed = False
    stored = {
        (r.organisation_id, r.role): r
        for r in session.scalars(select(DatasetRole).where(DatasetRole.dataset_id == dataset_id))
    }
    for key, obsolete in stored.items():
        if key not in territories if removed is None else key in removed:
            session.delete(obsolete)
            changed = True
    session.flush()
    for (organisation_id, role_name), unit_ids in territories.items():
        role = stored.get((organisation_id, role_name))
        if role is None:
            role = DatasetRole(
                dataset_id=dataset_id, organisation_id=organisation_id, role=role_name
            )
            session.add(role)
            session.flush()
            changed = True
        current = set(
            session.scalars(select(RoleTerritory.unit_id).where(RoleTerritory.role_id == role.id))
        )
        if current != set(unit_ids):
            session.execute(delete(RoleTerritory).where(RoleTerritory.role_id == role.id))
            if unit_ids:
                session.execute(
                    insert(RoleTerritory),
                    [{"role_id": role.id, "unit_id": u} for u in sorted(set(unit_ids))],
                )
            changed = True
    return changed


# --- reads -------------------------------------------------------------------------------


def organisations_query() -> Select[Organisation]:
    return select(Organisation).order_by(Organisation.id)


def list_organisations(session: Session) -> Sequence[Organisation]:
    return session.scalars(organisations_query()).all()


def get_organisation(session: Session, organisation_id: str) -> Organisation | None:
    return session.get(Organisation, organisation_id)


def roles_of_organisation(session: Session, organisation_id: str) -> list[tuple[str, str]]:
    stmt = (
        select(DatasetRole.dataset_id, DatasetRole.role)
        .where(DatasetRole.organisation_id == organisation_id)
        .order_by(DatasetRole.dataset_id, DatasetRole.role)
    )
    return [(d, r) for d, r in session.execute(stmt)]


def roles_of_dataset(session: Session, dataset_id: str) -> list[tuple[DatasetRole, Organisation]]:
    stmt = (
        select(DatasetRole, Organisation)
        .join(Organisation, Organisation.id == DatasetRole.organisation_id)
        .where(DatasetRole.dataset_id == dataset_id)
        .order_by(DatasetRole.role, Organisation.id)
    )
    return [(r, o) for r, o in session.execute(stmt)]


def organisations_by_dataset(session: Session, dataset_ids: Sequence[str]) -> dict[str, set[str]]:
    """The organisations holding any role on each dataset, in one query (for facets)."""
    stmt = select(DatasetRole.dataset_id, DatasetRole.organisation_id).where(
        DatasetRole.dataset_id.in_(list(dataset_ids))
    )
    result: dict[str, set[str]] = {}
    for dataset_id, organisation_id in session.execute(stmt):
        result.setdefault(dataset_id, set()).add(organisation_id)
    return result


def territories(session: Session, role_ids: Sequence[int]) -> dict[int, list[GeoUnit]]:
    stmt = (
        select(RoleTerritory.role_id, GeoUnit)
        .join(GeoUnit, GeoUnit.id == RoleTerritory.unit_id)
        .where(RoleTerritory.role_id.in_(list(role_ids)))
        .order_by(GeoUnit.level, GeoUnit.code)
    )
    result: dict[int, list[GeoUnit]] = {}
    for role_id, unit in session.execute(stmt):
        result.setdefault(role_id, []).append(unit)
    return result


def get_licence(session: Session, licence_id: str) -> Licence | None:
    return session.get(Licence, licence_id)


def licences_query() -> Select[Licence]:
    return select(Licence).order_by(Licence.id)


def list_licences(session: Session) -> Sequence[Licence]:
    return session.scalars(licences_query()).all()


# A word worth a full-text search: two letters or digits at least (one-character "words" would
# match almost everything by prefix; wildcard characters are searched literally instead).
SEARCH_WORD = re.compile(r"[^\W_]{2,}")
MAX_SEARCH_WORDS = 8


def search_words(q: str) -> list[str]:
    return SEARCH_WORD.findall(q.lower())[:MAX_SEARCH_WORDS]


def _pg_vector(config: str, *texts: Any) -> Any:
    joined = texts[0]
    for more in texts[1:]:
        joined = joined.op("||")(" ").op("||")(func.coalesce(more, ""))
    return func.to_tsvector(cast(literal(config), REGCONFIG), joined)


def _pg_match(vector_nl: Any, vector_en: Any, words: list[str]) -> Any:
    """Every word (as a prefix) in the Dutch-stemmed, English-stemmed or unstemmed text."""
    vector = vector_nl.op("||")(vector_en)
    query: Any = None
    for word in words:
        either: Any = None
        for config in ("dutch", "english", "simple"):
            one = func.to_tsquery(cast(literal(config), REGCONFIG), literal(f"{word}:*"))
            either = one if either is None else either.op("||")(one)
        query = either if query is None else query.op("&&")(either)
    return vector.op("@@", is_comparison=True)(query)


def _sqlite_matches(session: Session, table: str, words: list[str]) -> set[str]:
    expression = " ".join(f'"{word}"*' for word in words)
    return set(
        session.scalars(
            text(
                f"SELECT id FROM search_fts_{table} WHERE search_fts_{table} MATCH :expression"
            ).bindparams(expression=expression)
        )
    )


def full_text_indicator_ids(session: Session, words: list[str]) -> set[str]:
    """Indicators whose label, definition or caveats hold every word (stemmed where the
    database can: PostgreSQL's Dutch and English configurations; SQLite FTS5's Porter)."""
    if session.get_bind().dialect.name == "sqlite":
        return _sqlite_matches(session, "indicator", words)
    match = _pg_match(
        _pg_vector("dutch", Indicator.label_nl, Indicator.definition_nl, Indicator.caveats_nl),
        _pg_vector("english", Indicator.label_en, Indicator.definition_en, Indicator.caveats_en),
        words,
    )
    return set(session.scalars(select(Indicator.id).where(match)))


def full_text_dataset_ids(session: Session, words: list[str]) -> set[str]:
    """Datasets whose title, description or keywords hold every word, or that carry an
    indicator that does."""
    if session.get_bind().dialect.name == "sqlite":
        own = _sqlite_matches(session, "dataset", words)
    else:
        keywords = cast(Dataset.keywords, Text)
        match = _pg_match(
            _pg_vector("dutch", Dataset.title_nl, Dataset.description_nl, keywords),
            _pg_vector("english", Dataset.title_en, Dataset.description_en, keywords),
            words,
        )
        own = set(session.scalars(select(Dataset.id).where(match)))
    indicators = full_text_indicator_ids(session, words)
    if indicators:
        own |= set(
            session.scalars(
                select(DatasetIndicator.dataset_id).where(
                    DatasetIndicator.indicator_id.in_(sorted(indicators))
                )
            )
        )
    return own


def datasets_query(
    *,
    q: str | None = None,
    text_ids: set[str] | None = None,
    theme: str | None = None,
    organisation: str | None = None,
    role: str | None = None,
    licence: str | None = None,
) -> Select[Dataset]:
    stmt = select(Dataset)
    if q:
        pattern = contains_pattern(q)
        stmt = stmt.where(
            or_(
                *(
                    func.lower(column).like(pattern, escape=LIKE_ESCAPE)
                    for column in (
                        Dataset.title_nl,
                        Dataset.title_en,
                        Dataset.description_nl,
                        Dataset.description_en,
                        Dataset.id,
                    )
                ),
                Dataset.id.in_(sorted(text_ids or ())),
            )
        )
    if licence:
        stmt = stmt.where(Dataset.licence_id == licence)
    if organisation:
        roles = select(DatasetRole.dataset_id).where(DatasetRole.organisation_id == organisation)
        if role:
            roles = roles.where(DatasetRole.role == role)
        stmt = stmt.where(Dataset.id.in_(roles))
    elif role:
        stmt = stmt.where(
            Dataset.id.in_(select(DatasetRole.dataset_id).where(DatasetRole.role == role))
        )
    return stmt.order_by(Dataset.id)


def all_datasets(session: Session, stmt: Select[Dataset]) -> list[Dataset]:
    return list(session.scalars(stmt))


def get_dataset(session: Session, dataset_id: str) -> Dataset | None:
    return session.get(Dataset, dataset_id)


def id_in_other_case(
    session: Session, entity: type[Dataset] | type[Indicator], key: str
) -> str | None:
    """The id of the dataset or indicator written as ``key`` is in another case; None when
    there is none."""
    return session.scalar(select(entity.id).where(func.lower(entity.id) == key.lower()).limit(1))


def indicators_of_dataset(session: Session, dataset_id: str) -> list[Indicator]:
    stmt = (
        select(Indicator)
        .join(DatasetIndicator, DatasetIndicator.indicator_id == Indicator.id)
        .where(DatasetIndicator.dataset_id == dataset_id)
        .order_by(DatasetIndicator.position)
    )
    return list(session.scalars(stmt))


def indicator_ids_by_dataset(session: Session) -> dict[str, list[str]]:
    stmt = select(DatasetIndicator.dataset_id, DatasetIndicator.indicator_id).order_by(
        DatasetIndicator.dataset_id, DatasetIndicator.position
    )
    result: dict[str, list[str]] = {}
    for dataset_id, indicator_id in session.execute(stmt):
        result.setdefault(dataset_id, []).append(indicator_id)
    return result


def datasets_of_indicator(session: Session, indicator_id: str) -> list[str]:
    stmt = (
        select(DatasetIndicator.dataset_id)
        .where(DatasetIndicator.indicator_id == indicator_id)
        .order_by(DatasetIndicator.dataset_id)
    )
    return list(session.scalars(stmt))


def indicators_query(
    q: str | None = None, text_ids: set[str] | None = None, dataset: str | None = None
) -> Select[Indicator]:
    stmt = select(Indicator)
    if q:
        pattern = contains_pattern(q)
        stmt = stmt.where(
            or_(
                *(
                    func.lower(column).like(pattern, escape=LIKE_ESCAPE)
                    for column in (Indicator.label_nl, Indicator.label_en, Indicator.id)
                ),
                Indicator.id.in_(sorted(text_ids or ())),
            )
        )
    if dataset:
        stmt = stmt.where(
            Indicator.id.in_(
                select(DatasetIndicator.indicator_id).where(DatasetIndicator.dataset_id == dataset)
            )
        )
    return stmt.order_by(Indicator.id)


def get_indicator(session: Session, indicator_id: str) -> Indicator | None:
    return session.get(Indicator, indicator_id)


def change_count(session: Session) -> int:
    """How often the catalogue's tables changed (database triggers count): a cache key that
    every worker reads alike."""
    value = session.scalar(select(ChangeCounter.value).where(ChangeCounter.name == "catalogue"))
    return int(value or 0)


def dataset_stamps(session: Session) -> list[tuple[str, datetime]]:
    """(id, modified) of every dataset, by id: what a catalogue page depends on."""
    stmt = select(Dataset.id, Dataset.modified).order_by(Dataset.id)
    return [(dataset_id, modified) for dataset_id, modified in session.execute(stmt)]


def touch_dataset(session: Session, dataset_id: str) -> None:
    """New data is a change of the dataset (DCAT dct:modified, harvesters' modified_since)."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is not None:
        dataset.modified = datetime.now(UTC)
        stamp_at_commit(session, dataset, "modified")  # when readers can see the data


def set_periods_held(
    session: Session, dataset_id: str, first: str | None, last: str | None
) -> None:
    """What publication found the dataset holds (see ``Dataset.temporal_coverage``)."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is not None and (dataset.periods_first, dataset.periods_last) != (first, last):
        dataset.periods_first, dataset.periods_last = first, last


def changes_of(session: Session, dataset_id: str) -> list[DatasetChange]:
    return list(
        session.scalars(
            select(DatasetChange)
            .where(DatasetChange.dataset_id == dataset_id)
            .order_by(DatasetChange.created_at.desc(), DatasetChange.id.desc())
        )
    )


def all_indicators(session: Session, stmt: Select[Indicator]) -> list[Indicator]:
    return list(session.scalars(stmt))


def derived_indicators(session: Session, dataset_id: str | None = None) -> list[DerivedIndicator]:
    """Derived indicators (all, or those a dataset publishes), by id."""
    stmt = select(DerivedIndicator).order_by(DerivedIndicator.indicator_id)
    if dataset_id is not None:
        stmt = stmt.where(DerivedIndicator.dataset_id == dataset_id)
    return list(session.scalars(stmt))


def get_derived(session: Session, indicator_id: str) -> DerivedIndicator | None:
    return session.get(DerivedIndicator, indicator_id)


def derived_sources_by_dataset(session: Session) -> dict[str, list[str]]:
    """Per dataset that publishes derived indicators, the datasets their parts are read
    from (sorted)."""
    result: dict[str, set[str]] = {}
    for row in derived_indicators(session):
        result.setdefault(row.dataset_id, set()).update(p["dataset"] for p in row.parts)
    return {dataset: sorted(sources) for dataset, sources in result.items()}
