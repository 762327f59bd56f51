"""Revisions of a dataset's observations: storing one (from staged rows, in the database),
publishing what it changed, and keeping the derived datasets that read it up to date (see
:mod:`app.stats.derived`) in the same transaction. A derived dataset's copies are stored as a
revision of their own, so storing and following call each other: both live here. No
FastAPI here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from app.catalogue import repository as catalogue_repository
from app.db.session import analyze_after_commit, stamp_at_commit
from app.stats import derived, repository
from app.stats.models import Submission
from app.stats.publish import publish_changes

ObservationKey = tuple[str, int, str]  # (indicator, unit id, period)


@dataclass
class StoredRevision:
    revision: int
    submission_id: int
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    published: int = 0  # current published values (counted for a full import only)
    published_written: int = 0
    # Rows stored as missing (or not applicable) for units absent from a new period.
    not_supplied: int = 0
    # Nothing differed from the current revision: no new revision was made.
    no_change: bool = False
    # The published slices (indicator, period) the revision's publication recomputed.
    republished: set[tuple[str, str]] = field(default_factory=set)


# Above this many staged rows the comparison with the current revision uses hash joins.
BULK_ROWS = 10_000


def store_revision(
    session: Session,
    dataset_id: str,
    wanted: Mapping[ObservationKey, tuple[float | None, str]],
    submission: Submission,
    *,
    replace_all: bool,
    fill_new_periods: bool = False,
) -> StoredRevision:
    """Make ``wanted`` the dataset's current observations in a new revision (see
    :func:`store_staged_revision`)."""
    repository.start_staging(session)
    repository.stage(
        session,
        (
            (indicator, unit, period, value, status, 0)
            for (indicator, unit, period), (value, status) in wanted.items()
        ),
    )
    return store_staged_revision(
        session, dataset_id, submission, replace_all=replace_all, fill_new_periods=fill_new_periods
    )


def store_staged_revision(
    session: Session,
    dataset_id: str,
    submission: Submission,
    *,
    replace_all: bool,
    staged_periods_only: bool = False,
    fill_new_periods: bool = False,
) -> StoredRevision:
    """Make the staged rows (:func:`app.stats.repository.stage`) the dataset's current
    observations in a new revision.

    Nothing is overwritten: a changed value closes its old row (``revision_to``) and gets a
    new one. ``replace_all`` (a full import) also closes the rows that the staged ones no
    longer hold — with ``staged_periods_only`` (a source's import) in the periods they hold
    only, so that a year suppliers alone supplied stays; a supplier's submission only
    touches the rows it contains. The comparison with the current revision happens in the
    database, so memory does not grow with the file. The slices the changed rows touch are
    published again in the same transaction (see :func:`app.stats.publish.publish_changes`),
    so the revision becomes visible with its aggregates at once.

    ``fill_new_periods`` (a supplier's submission, which covers its own territory only): in a
    slice the dataset did not hold yet, the units that report the indicator in other periods
    but are not in the submission are stored without a value (see
    :func:`app.stats.repository.stage_not_supplied`), so that the period's totals say they
    are incomplete instead of adding up the first supplier's sectors as if they were all.

    A submission that changes nothing makes no revision: it is recorded (``revision`` None)
    and the dataset, its published values and its stored files stay as they are.
    """
    repository.lock_dataset(session, dataset_id)
    staged = repository.index_staging(session)
    # A large file is compared with hash joins; a small submission looks its rows up.
    with repository.hash_joins(session, staged > BULK_ROWS or replace_all):
        compared = repository.compare_staged(
            session, dataset_id, replace_all=replace_all, staged_periods_only=staged_periods_only
        )
    not_supplied = (
        repository.stage_not_supplied(session, dataset_id, compared.all_added)
        if fill_new_periods
        else 0
    )
    latest = repository.latest_revision(session, dataset_id)
    no_change = not (compared.added or compared.changed or compared.removed)
    counts = StoredRevision(
        revision=latest if no_change else latest + 1,
        submission_id=0,
        added=compared.added,
        changed=compared.changed,
        unchanged=compared.unchanged,
        removed=compared.removed,
        not_supplied=not_supplied,
        no_change=no_change,
    )
    submission.rows_added = counts.added
    submission.rows_changed = counts.changed
    submission.rows_unchanged = counts.unchanged
    submission.rows_not_supplied = not_supplied
    _record_accepted(session, submission, None if no_change else counts.revision)
    counts.submission_id = submission.id
    if no_change:
        repository.end_staging(session)
        return counts
    revision = counts.revision
    with repository.hash_joins(session, staged > BULK_ROWS or replace_all):
        repository.store_staged(
            session,
            dataset_id,
            submission.id,
            revision,
            compared,
            replace_all=replace_all,
            staged_periods_only=staged_periods_only,
        )
    repository.end_staging(session)
    if staged > BULK_ROWS:  # the planner's row counts of these tables are off now
        analyze_after_commit(session, ["observation", "published_value", "published_tally"])
    published = publish_changes(
        session, dataset_id, revision, compared.touched, compared.corrected_units
    )
    counts.published_written = published.inserted
    counts.republished = published.touched
    if replace_all:  # an import reports the total; a submission's cost must not grow with it
        counts.published = repository.count_published(session, dataset_id)
    # Derived indicators that read this dataset follow it in the same transaction.
    refresh_dependants(
        session, dataset_id, revision, compared.touched, compared.corrected_units, published.touched
    )
    return counts


def _record_accepted(session: Session, submission: Submission, revision: int | None) -> None:
    submission.created_at = datetime.now(UTC)
    # The revision is there for readers from the commit on: as_of asks for that moment.
    stamp_at_commit(session, submission, "created_at")
    submission.state = "accepted"
    submission.revision = revision
    submission.errors = []
    repository.add_submission(session, submission)


def _publish_hidden_moves(
    session: Session,
    dataset_id: str,
    submission: Submission,
    touched: set[tuple[str, str]],
    copied: StoredRevision | None,
) -> int | None:
    """Publish again the slices of a derived dataset whose ratios read a numerator part in
    ``touched`` (part, derived period) whose source may hide other cells now, its copies
    unchanged (see :func:`refresh_derived`): in the revision the ``copied`` parts
    made, if any (but for the slices it published already), else in a new one, made (with
    ``submission``) only when a published cell changed."""
    if copied is not None:
        publish_changes(session, dataset_id, copied.revision, touched, already=copied.republished)
        return copied.revision
    repository.lock_dataset(session, dataset_id)
    revision = repository.latest_revision(session, dataset_id) + 1
    outcome = publish_changes(session, dataset_id, revision, touched)
    if not (outcome.inserted or outcome.closed or outcome.corrected):
        return None
    _record_accepted(session, submission, revision)
    catalogue_repository.touch_dataset(session, dataset_id)
    return revision


def refresh_derived(
    session: Session,
    dataset_id: str,
    cause: str,
    changed: tuple[str, Collection[tuple[str, str]]] | None = None,
    corrected_units: Mapping[str, Collection[int]] | None = None,
    republished: Collection[tuple[str, str]] = (),
) -> int | None:
    """Bring the derived dataset's copies of its parts up to date, and its ratios after what
    their numerators' sources hide; a new revision (whose submission's source is ``cause``)
    only when something changed. Returns the revision.

    ``republished``: the source's slices its publication recomputed. A ratio is hidden
    wherever its numerator's source hides the numerator (:func:`hidden_in_sources`), and
    the source may hide other cells while the part's values, and so the copies, stay as
    they were: the connections decide where the consumption is hidden. Those ratios are
    published again."""
    copied = _refresh_copies(session, dataset_id, cause, changed, corrected_units)
    revision = copied.revision if copied is not None else None
    if changed is None or not republished:
        return revision
    source, _ = changed
    recomputed = set(republished)
    moved = {
        key
        for (read_from, indicator, period), keys in derived.numerator_reads(
            session, dataset_id
        ).items()
        if read_from == source and (indicator, period) in recomputed
        for key in keys
    }
    if not moved:
        return revision
    return _publish_hidden_moves(
        session, dataset_id, _derived_submission(session, dataset_id, cause, 0), moved, copied
    )


def _derived_submission(session: Session, dataset_id: str, cause: str, rows: int) -> Submission:
    """The record of a derived revision, made by the dataset's publisher."""
    publisher = next(
        (
            org.id
            for role, org in catalogue_repository.roles_of_dataset(session, dataset_id)
            if role.role == "publisher"
        ),
        "kenniscentrum-vlaamse-steden",
    )
    return Submission(
        dataset_id=dataset_id,
        organisation_id=publisher,
        source_name=cause,
        media_type=None,
        sha256="",
        rows_total=rows,
    )


def _refresh_copies(
    session: Session,
    dataset_id: str,
    cause: str,
    changed: tuple[str, Collection[tuple[str, str]]] | None,
    corrected_units: Mapping[str, Collection[int]] | None,
) -> StoredRevision | None:
    """The copies of the parts brought up to date (see :func:`refresh_derived`): the revision they
    made, if any.

    ``changed`` (source dataset, its touched (indicator, period) slices) limits the work to
    the parts those slices feed, so that a supplier's small submission does not cost a copy
    of every part; everything is compared when the derived periods themselves change or a
    row disappeared from a source. ``corrected_units`` (per source period, the units a
    correction of the source changed: it added and removed no row) limits the comparison
    of those parts to these units: the copies were equal to the source before it."""
    reads = derived.part_reads(session, dataset_id)
    expected = {(indicator, p) for (_, indicator, _), periods in reads.items() for p in periods}
    held = repository.observation_slices(session, dataset_id)
    # A slice expected but not held is only a change when its source has rows now (a part
    # whose dataset was never loaded leaves it empty: no reason to compare everything).
    incremental = (
        changed is not None
        and held <= expected
        and not derived.sources_hold(session, reads, expected - held)
    )
    wanted: dict[derived.Key, tuple[float | None, str]]
    current: dict[derived.Key, tuple[float | None, str]]
    if incremental and changed is not None:
        source, touched = changed
        reads = {key: periods for key, periods in reads.items() if key[0] == source}
        reads = {k: v for k, v in reads.items() if (k[1], k[2]) in set(touched)}
        if not reads:
            return None
        # Compared in the database, part by part: only the rows whose copy is missing or
        # differs come back (one for a one-row submission), not both sides of every slice.
        wanted = {}
        roots = derived.coverage_roots(session, dataset_id)
        for (_, indicator, source_period), periods in sorted(reads.items()):
            units = corrected_units.get(source_period) if corrected_units else None
            for period in sorted(periods):
                changes, left = repository.part_copy_changes(
                    session, dataset_id, source, indicator, source_period, period, units, roots
                )
                if left:
                    incremental = False  # a row left a source: compare everything
                    break
                for unit, value, status in changes:
                    wanted[(indicator, unit, period)] = (value, status)
            if not incremental:
                break
        if incremental and not wanted:
            return None
    if not incremental:
        wanted = derived.wanted_inputs(session, dataset_id)
        current = {
            (o.indicator_id, o.unit_id, o.period): (o.value, o.status)
            for o in repository.current_observations(session, dataset_id)
        }
        if current == wanted:
            return None
    stored = store_revision(
        session,
        dataset_id,
        wanted,
        _derived_submission(session, dataset_id, cause, len(wanted)),
        replace_all=not incremental,
    )
    if stored.no_change:
        return None
    # New values are a change of the derived dataset too (dct:modified, modified_since).
    catalogue_repository.touch_dataset(session, dataset_id)
    return stored


def refresh_dependants(
    session: Session,
    dataset_id: str,
    revision: int,
    touched: Collection[tuple[str, str]] | None = None,
    corrected_units: Mapping[str, Collection[int]] | None = None,
    republished: Collection[tuple[str, str]] = (),
) -> list[int]:
    """After a new revision of ``dataset_id`` (whose changed rows lie in ``touched``
    slices, when known; of a correction, at ``corrected_units``; its publication recomputed
    the ``republished`` slices): recompute every derived dataset that reads it. Returns the
    derived revisions made."""
    made: list[int] = []
    for derived_dataset in derived.dependants(session, dataset_id):
        result = refresh_derived(
            session,
            derived_dataset,
            derived.derived_source_name(dataset_id, revision),
            None if touched is None else (dataset_id, touched),
            None if touched is None else corrected_units,
            republished,
        )
        if result is not None:
            made.append(result)
    return made
