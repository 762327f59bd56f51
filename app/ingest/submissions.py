"""Supplier submissions: authenticated, validated, all-or-nothing.

A submission is read and checked completely, as a stream, before anything becomes visible:
its rows wait in a private staging table of the transaction. On any error the supplier gets
every problem (the first 1,000, with the total) and the database is untouched.
An accepted submission becomes a new revision of the dataset in one transaction, with its
aggregates recomputed, so readers see the old revision or the new one, never a mix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from sqlalchemy.orm import Session

from app.access.service import may_read_values
from app.api.metrics import SUBMISSIONS
from app.audit.service import record
from app.auth.service import (
    WRITE_ROLES,
    Caller,
    held_roles,
    require_dataset_role,
    require_owner,
    require_role,
)
from app.catalogue import repository as catalogue_repository
from app.catalogue.models import READING_ROLES, Dataset
from app.db import queries
from app.db.session import stamp_at_commit
from app.errors import (
    Conflict,
    DatapediaError,
    Forbidden,
    NotFound,
    Unprocessable,
    UnsupportedMediaType,
)
from app.geo import repository as geo_repository
from app.geo.levels import Level
from app.ingest import upload
from app.ingest.schemas import SubmissionOut, SubmissionResult, TableSchema, WithdrawalResult
from app.stats import derived as stats_derived
from app.stats import repository as stats_repository
from app.stats.models import Submission
from app.stats.publish import publish_changes
from app.stats.revisions import refresh_dependants, store_staged_revision

CSV_TYPES = ("text/csv", "application/csv", "text/plain")
JSON_TYPES = ("application/json",)


def supplied_indicators(
    session: Session, dataset_id: str
) -> tuple[dict[str, str], set[str], frozenset[str]]:
    """Indicators a supplier uploads (id → rule), those Datapedia derives itself, and the
    supplied ones that count things (whole numbers only)."""
    supplied: dict[str, str] = {}
    derived: set[str] = set()
    whole: set[str] = set()
    for indicator in catalogue_repository.indicators_of_dataset(session, dataset_id):
        if indicator.aggregation in ("ratio", "weighted_mean"):
            derived.add(indicator.id)
        else:
            supplied[indicator.id] = indicator.aggregation
            if indicator.whole_numbers:
                whole.add(indicator.id)
    return supplied, derived, frozenset(whole)


def dataset_table_schema(session: Session, dataset_id: str) -> TableSchema:
    """The Table Schema the API serves for the dataset, and the one its uploads are checked
    against."""
    dataset = _dataset(session, dataset_id)
    supplied, _, whole = supplied_indicators(session, dataset_id)
    return upload.table_schema(dataset.id, supplied, dataset.geo_version, whole)


def _dataset(session: Session, dataset_id: str) -> Dataset:
    dataset = catalogue_repository.get_dataset(session, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id!r} not found", dataset=dataset_id)
    return dataset


def submit(
    session: Session,
    caller: Caller,
    dataset_id: str,
    body: IO[bytes],
    media_type: str,
) -> SubmissionResult:
    """Check and store an upload (a seekable file: the request body spooled to disk)."""
    media_type = media_type.split(";")[0].strip().lower()
    if media_type not in (*CSV_TYPES, *JSON_TYPES):
        raise UnsupportedMediaType(
            f"cannot read {media_type or 'a body without Content-Type'}; send text/csv, "
            "application/json or multipart/form-data with a 'file' field",
            supported=["text/csv", "application/json", "multipart/form-data"],
        )
    # Two submissions to one dataset at the same moment on SQLite: the second one to commit
    # loses the race for the revision number, and the unit of work answers 409.
    try:
        # A submission never changes the geography: it is read once for the submission, its
        # publication and that of the derived datasets that follow.
        with stats_repository.geography_fixed(session):
            result = _submit(session, caller, dataset_id, body, media_type)
    except DatapediaError:
        SUBMISSIONS.labels("rejected").inc()
        raise
    SUBMISSIONS.labels("accepted").inc()
    return result


def check_may_submit(session: Session, caller: Caller, dataset_id: str) -> Dataset:
    """The dataset, when the caller may submit to it (else 403, 404 or 409): checked before
    the upload's body is read, and again with it."""
    dataset = _dataset(session, dataset_id)
    require_role(caller, WRITE_ROLES, "submitting data")
    # Before the dataset's roles: nobody supplies a derived dataset, and a supplier who sent
    # a file to one is told where it belongs (the sources are public).
    sources = stats_derived.source_datasets(session, dataset_id)
    if sources:
        raise Conflict(
            f"dataset {dataset_id!r} holds derived indicators, computed from "
            f"{', '.join(sources)}: submit to those datasets instead",
            dataset=dataset_id,
            sources=sources,
        )
    require_dataset_role(session, caller, dataset_id, "supplier", "submitting data")
    return dataset


def _submit(
    session: Session, caller: Caller, dataset_id: str, body: IO[bytes], media_type: str
) -> SubmissionResult:
    dataset = check_may_submit(session, caller, dataset_id)
    supplied, derived, whole = supplied_indicators(session, dataset_id)
    # The very schema GET …/schema serves: what the supplier reads is what is checked.
    schema = dataset_table_schema(session, dataset_id)
    geo = stats_repository.load_geography(session, [dataset.geo_version])
    territory = _territory(session, caller, dataset)

    def sector_id(code: str) -> int | None:
        return geo.by_code.get((Level.SECTOR, code))

    def in_territory(code: str) -> bool:
        if territory is None:
            return True
        unit = sector_id(code)
        return unit is not None and (
            unit in territory or any(a in territory for a in geo.ancestors.get(unit, ()))
        )

    def other_version(code: str) -> str | None:
        versions = geo_repository.versions_of_unit(session, Level.SECTOR, code)
        return versions[-1] if versions else None

    decimals = {
        indicator.id: indicator.decimals
        for indicator in catalogue_repository.indicators_of_dataset(session, dataset_id)
        if indicator.id in supplied
    }
    rules = upload.Rules(
        indicators=supplied,
        derived=frozenset(derived),
        whole_numbers=whole,
        geo_version=dataset.geo_version,
        sector_exists=lambda code: sector_id(code) is not None,
        other_version_of=other_version,
        in_territory=in_territory,
        decimals=decimals,
    )
    result = upload.UploadResult()
    if media_type in JSON_TYPES:
        digest = upload.sha256_of(body)
        rows = upload.read_json(body, result)
    else:
        digest = upload.check_bytes(body, result)
        rows = upload.read_csv(body, result) if not result.error_count else iter(())
    # The rows that pass go to a private staging table as they are read, in chunks; nothing
    # is visible to anyone else until the transaction commits, and on any error it is
    # rolled back (a crash leaves the temporary table to die with its connection).
    stats_repository.start_staging(session)
    # Every row that passes names a sector of the version (validated): a plain lookup per
    # row, no function call.
    unit_of = {code: unit for (level, code), unit in geo.by_code.items() if level == Level.SECTOR}
    rows_total = stats_repository.stage(
        session,
        (
            (row.indicator, unit_of[row.sector], row.period, row.value, row.status, row.row)
            for row in upload.validate(rows, schema, rules, result)
        ),
    )
    duplicates, duplicate_count = stats_repository.staged_duplicates(
        session, upload.MAX_REPORTED_ERRORS
    )
    if duplicate_count:
        code = {unit: code for code, unit in unit_of.items()}
        for line, first, indicator, unit, period in duplicates:
            result.error(
                line, None, None, f"duplicate of row {first} ({code[unit]}, {indicator}, {period})"
            )
        result.error_count += duplicate_count - len(duplicates)
        result.sort()
    if not result.error_count:
        _check_rule_references(session, dataset_id, unit_of, result)
    # Rows outside the territory alone are a missing right (403), however many; with other
    # problems, the 422 lists them all, so the supplier fixes the file in one go.
    if result.outside_count and result.outside_count == result.error_count:
        raise Forbidden(
            f"territory:{dataset_id}",
            f"{caller.organisation.id!r} may submit data for its own territory only; "
            f"{result.outside_count} row(s) lie outside it. Nothing was stored.",
            errors=[e.as_dict() for e in result.errors],
            error_count=result.error_count,
            errors_shown=len(result.errors),
        )
    if result.error_count:
        raise Unprocessable(
            f"the submission has {result.error_count} error(s); nothing was stored. Fix them "
            "and send the whole file again.",
            errors=[e.as_dict() for e in result.errors],
            error_count=result.error_count,
            errors_shown=len(result.errors),
        )
    stored = store_staged_revision(
        session,
        dataset_id,
        Submission(
            dataset_id=dataset_id,
            organisation_id=caller.organisation.id,
            api_key_id=caller.key_id,
            source_name="upload",
            media_type=media_type,
            sha256=digest,
            rows_total=rows_total,
        ),
        replace_all=False,
        fill_new_periods=True,
    )
    if not stored.no_change:
        catalogue_repository.touch_dataset(session, dataset_id)
    record(
        session,
        "submission",
        caller=caller,
        dataset_id=dataset_id,
        target=f"submission:{stored.submission_id}",
        details={
            "revision": None if stored.no_change else stored.revision,
            "rows": rows_total,
        },
    )
    return SubmissionResult(
        submission=stored.submission_id,
        revision=stored.revision,
        new_revision=not stored.no_change,
        rows_total=rows_total,
        rows_added=stored.added,
        rows_changed=stored.changed,
        rows_unchanged=stored.unchanged,
        rows_not_supplied=stored.not_supplied,
        warnings=result.warnings,
    )


WITHDRAWAL_PREFIX = "withdrawal of submission "


def withdraw(
    session: Session, caller: Caller, dataset_id: str, submission_id: int
) -> WithdrawalResult:
    """Undo an upload in a new revision: its rows that are still current are closed and the
    values they replaced are current again (a key it added disappears; a row someone has
    replaced since stays). Earlier revisions keep it. Its own organisation's supplier or
    editor may withdraw it, and so may the dataset's owners and site admins."""
    _dataset(session, dataset_id)
    withdrawn = stats_repository.get_submission(session, dataset_id, submission_id)
    if withdrawn is None:
        raise NotFound(
            f"dataset {dataset_id!r} has no submission {submission_id}", submission=submission_id
        )
    action = f"withdrawing submission {submission_id}"
    if withdrawn.organisation_id == caller.organisation.id:
        require_role(caller, WRITE_ROLES, action)
        require_dataset_role(
            session, caller, dataset_id, ("supplier", "owner", "publisher"), action
        )
    else:
        require_owner(session, caller, dataset_id, action)
    if withdrawn.withdrawn_by is not None:
        raise Conflict(
            f"submission {submission_id} was withdrawn already (by submission "
            f"{withdrawn.withdrawn_by})"
        )
    if withdrawn.source_name != "upload" or withdrawn.revision is None:
        raise Conflict(f"submission {submission_id} cannot be withdrawn: {_why_not(withdrawn)}")
    stats_repository.lock_dataset(session, dataset_id)
    touched = stats_repository.current_slices_of_submission(session, dataset_id, submission_id)
    if not touched:
        raise Conflict(
            f"no row of submission {submission_id} is current any more (withdrawn or replaced "
            "since): nothing to withdraw"
        )
    with stats_repository.geography_fixed(session):  # read once for the publications below
        return _withdraw(session, caller, dataset_id, withdrawn, touched)


def _why_not(submission: Submission) -> str:
    if submission.revision is None:
        return "it changed nothing (no revision)"
    if (submission.source_name or "").startswith(WITHDRAWAL_PREFIX):
        return "it is a withdrawal; to bring the rows back, submit them again"
    return (
        f"it is not an upload ({submission.source_name}): import the source again, or "
        "correct the source dataset of derived values"
    )


def _withdraw(
    session: Session,
    caller: Caller,
    dataset_id: str,
    withdrawn: Submission,
    touched: set[tuple[str, str]],
) -> WithdrawalResult:
    submission_id = withdrawn.id
    revision = stats_repository.latest_revision(session, dataset_id) + 1
    withdrawal = stats_repository.add_submission(
        session,
        Submission(
            dataset_id=dataset_id,
            organisation_id=caller.organisation.id,
            api_key_id=caller.key_id,
            created_at=datetime.now(UTC),
            source_name=f"{WITHDRAWAL_PREFIX}{submission_id}",
            media_type=None,
            sha256="",
            state="accepted",
            revision=revision,
            errors=[],
        ),
    )
    stamp_at_commit(session, withdrawal, "created_at")  # see store_staged_revision
    # Marked first: the rows restored are the latest that no withdrawn submission supplied.
    withdrawn.withdrawn_by = withdrawal.id
    session.flush()
    rows_withdrawn, rows_restored = stats_repository.withdraw_rows(
        session, dataset_id, submission_id, revision
    )
    awaited = 0
    for slice_ in sorted(touched):
        # A slice left with waiting rows only is gone with the last supplied row; one that
        # others have supplied rows to keeps waiting for the rest of its sectors.
        if not stats_repository.close_awaited_slice(session, dataset_id, slice_, revision):
            awaited += stats_repository.await_missing(
                session, dataset_id, slice_, withdrawal.id, revision
            )
    # The values restored must leave every disclosure rule able to decide: withdrawing the
    # connections a later upload of the consumption relied on would publish it.
    gaps, total = _rule_gaps(
        session, dataset_id, 5, staged=False, periods=sorted({p for _, p in touched})
    )
    if total:
        labels = stats_repository.unit_labels(session, [gap.unit for gap in gaps])
        raise Conflict(
            f"withdrawing submission {submission_id} would leave {total} sector value(s) that "
            "a disclosure rule cannot protect; nothing was changed. "
            + "; ".join(f"sector {labels[g.unit][0]}, {g.period}: {g.reason}" for g in gaps),
        )
    withdrawal.rows_total = rows_withdrawn
    withdrawal.rows_changed = rows_restored
    withdrawal.rows_not_supplied = awaited
    published = publish_changes(session, dataset_id, revision, touched)
    refresh_dependants(session, dataset_id, revision, touched, republished=published.touched)
    catalogue_repository.touch_dataset(session, dataset_id)
    record(
        session,
        "withdrawal",
        caller=caller,
        dataset_id=dataset_id,
        target=f"submission:{submission_id}",
        details={"revision": revision, "rows": rows_withdrawn, "restored": rows_restored},
    )
    return WithdrawalResult(
        submission=withdrawal.id,
        withdrawn=submission_id,
        revision=revision,
        rows_withdrawn=rows_withdrawn,
        rows_restored=rows_restored,
    )


@dataclass(frozen=True)
class _RuleGap:
    """A (unit, period) where a disclosure rule cannot decide: the first staged line there
    (None: no staged row), and the reason."""

    line: int | None
    unit: int
    period: str
    reason: str


def _rule_gaps(
    session: Session, dataset_id: str, limit: int, *, staged: bool, periods: Sequence[str] = ()
) -> tuple[list[_RuleGap], int]:
    """Where a disclosure rule on a reference (fewer than 10 connections: the consumption
    per connection is confidential, and the consumption with it) cannot decide: where a
    protected indicator (the ruled one, and the numerator it protects) has a value and the
    reference none, or the reference is 0 beside a value other than 0 (the ratio is
    undefined). The consumption would be published as it is — a supplier who marked the
    connections confidential or missing published the very value the rule protects. With
    ``staged``: once the staged rows are stored; else in the current rows of ``periods``.
    The first ``limit`` gaps and their total."""
    gaps: list[_RuleGap] = []
    count = 0
    for indicator in catalogue_repository.indicators_of_dataset(session, dataset_id):
        reference = indicator.disclosure_reference_id
        if reference is None or indicator.disclosure_min is None:
            continue
        protected = [indicator.id, *indicator.numerator]
        shown = " and ".join(protected[1:] or protected)
        reason = (
            f"{shown} has a value where {reference} has none (or 0), so the rule of "
            f"{indicator.id} (confidential below {indicator.disclosure_min:g} {reference}) "
            f"cannot decide whether it may be published; give {reference} its value, or mark "
            f"{shown} confidential too"
        )
        found, total = stats_repository.without_reference(
            session, dataset_id, protected, reference, limit, staged=staged, periods=periods
        )
        gaps.extend(_RuleGap(line, unit, period, reason) for line, unit, period in found)
        count += total
    return gaps[:limit], count


def _check_rule_references(
    session: Session, dataset_id: str, unit_of: dict[str, int], result: upload.UploadResult
) -> None:
    """Each place the staged file leaves a disclosure rule unable to decide (see
    :func:`_rule_gaps`) is an error of the row there."""
    code = {unit: code for code, unit in unit_of.items()}
    gaps, total = _rule_gaps(session, dataset_id, upload.MAX_REPORTED_ERRORS, staged=True)
    for gap in gaps:
        result.error(
            gap.line or 0, None, None, f"sector {code[gap.unit]}, {gap.period}: {gap.reason}"
        )
    result.error_count += total - len(gaps)
    result.sort()


def _territory(session: Session, caller: Caller, dataset: Dataset) -> set[int] | None:
    """Unit ids the caller may submit for (None: everywhere, for site admins)."""
    if caller.is_admin:
        return None
    roles = [
        role
        for role, org in catalogue_repository.roles_of_dataset(session, dataset.id)
        if org.id == caller.organisation.id and role.role == "supplier"
    ]
    units = catalogue_repository.territories(session, [r.id for r in roles])
    return {unit.id for unit_list in units.values() for unit in unit_list}


def list_submissions(
    session: Session, caller: Caller | None, dataset_id: str, offset: int, limit: int
) -> tuple[list[SubmissionOut], int]:
    """A page of the dataset's submissions, newest first, and their total. The files'
    digests only for the dataset's owners, publisher, suppliers and site admins: with the
    published Table Schema, the digest of a small correction gives its values back by trying
    them all — of a closed dataset, and of a public one too where they end up confidential."""
    _dataset(session, dataset_id)
    digests = caller is not None and (
        caller.is_admin or bool(held_roles(session, caller, dataset_id) & READING_ROLES)
    )
    # The rows a submission held count the values: of a closed dataset, only for whoever may
    # read them (README: no page shows a non-public dataset's values or counts them).
    counts = may_read_values(session, caller, dataset_id)
    stmt = stats_repository.submissions_query(dataset_id)
    return [
        SubmissionOut(
            id=s.id,
            organisation=s.organisation_id,
            created_at=s.created_at,
            source=s.source_name,
            media_type=s.media_type,
            sha256=s.sha256 if digests and s.sha256 else None,  # a withdrawal has no file
            state=s.state,
            revision=s.revision,
            rows_total=s.rows_total if counts else None,
            rows_added=s.rows_added if counts else None,
            rows_changed=s.rows_changed if counts else None,
            rows_unchanged=s.rows_unchanged if counts else None,
            rows_not_supplied=s.rows_not_supplied if counts else None,
            withdrawn_by=s.withdrawn_by,
        )
        for s in queries.page(session, stmt, offset, limit)
    ], queries.count(session, stmt)
