"""Supplier submissions: authenticated, validated, all-or-nothing.

A submission is read and checked completely, as a stream, before anything becomes visible:
its rows wait in a private staging table of the transaction. On any error the supplier gets
every problem (the first 1,000, with the total) and the database is untouched.
An accepted submission becomes a new revision of the dataset in one transaction, with its
aggregates recomputed, so readers see the old revision or the new one, never a mix.
An upload refused for its content or form is recorded (state ``rejected``, with its first
errors) after the request's unit of work was rolled back: see :class:`RefusalNote`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
from app.ingest.schemas import (
    SubmissionError,
    SubmissionOut,
    SubmissionResult,
    SubmissionState,
    TableSchema,
    WithdrawalResult,
)
from app.stats import derived as stats_derived
from app.stats import repository as stats_repository
from app.stats.models import Submission
from app.stats.publish import publish_changes
from app.stats.revisions import refresh_dependants, store_staged_revision

CSV_TYPES = ("text/csv", "application/csv", "text/plain")
JSON_TYPES = ("application/json",)


@dataclass(frozen=True)
class SuppliedIndicators:
    """A dataset's indicators as its uploads see them: those a supplier uploads (id → rule),
    those Datapedia derives itself, the supplied ones that count things (whole numbers only)
    and the decimals each supplied one is published with."""

    rules: dict[str, str]
    derived: frozenset[str]
    whole: frozenset[str]
    decimals: dict[str, int]


def supplied_indicators(session: Session, dataset_id: str) -> SuppliedIndicators:
    rules: dict[str, str] = {}
    derived: set[str] = set()
    whole: set[str] = set()
    decimals: dict[str, int] = {}
    for indicator in catalogue_repository.indicators_of_dataset(session, dataset_id):
        if indicator.aggregation in ("ratio", "weighted_mean"):
            derived.add(indicator.id)
        else:
            rules[indicator.id] = indicator.aggregation
            decimals[indicator.id] = indicator.decimals
            if indicator.whole_numbers:
                whole.add(indicator.id)
    return SuppliedIndicators(rules, frozenset(derived), frozenset(whole), decimals)


def dataset_table_schema(
    session: Session, dataset_id: str, supplied: SuppliedIndicators | None = None
) -> TableSchema:
    """The Table Schema the API serves for the dataset, and the one its uploads are checked
    against (``supplied``: the dataset's, when already read)."""
    dataset = _dataset(session, dataset_id)
    supplied = supplied or supplied_indicators(session, dataset_id)
    return upload.table_schema(dataset.id, supplied.rules, dataset.geo_version, supplied.whole)


def _dataset(session: Session, dataset_id: str) -> Dataset:
    dataset = catalogue_repository.get_dataset(session, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id!r} not found", dataset=dataset_id)
    return dataset


# The errors a refused upload is recorded with: the first ones, enough to tell what was
# wrong (the refusal itself lists up to upload.MAX_REPORTED_ERRORS), with their total.
MAX_RECORDED_ERRORS = 100
UPLOAD_SOURCE = "upload"


@dataclass(frozen=True)
class Refusal:
    """What is recorded of an upload refused for its content or form: who sent it (as the
    audit log's actor), the file, what was read of it and why it was refused."""

    dataset_id: str
    organisation_id: str
    key_id: int
    status: int
    media_type: str | None
    sha256: str
    rows_read: int
    errors: tuple[upload.RowError, ...]
    error_count: int


@dataclass
class RefusalNote:
    """Where :func:`submit` leaves the refusal of an upload it refused for its content or
    form: invalid rows (422), rows outside the supplier's territory alone (403), a type it
    cannot read (415). Not a refusal of the caller or of the dataset (401, 403, 404, 409), nor
    of a body that did not arrive whole (400, 408, 413): those are no file to keep. The
    request's owner records the refusal (:func:`record_refusal`) once the unit of work has
    been rolled back."""

    refusal: Refusal | None = None

    def refuse(
        self,
        error: DatapediaError,
        caller: Caller,
        dataset_id: str,
        *,
        media_type: str | None,
        sha256: str,
        rows_read: int = 0,
        result: upload.UploadResult | None = None,
    ) -> DatapediaError:
        """Note the refusal; the error, to raise."""
        errors = (
            tuple(result.errors[:MAX_RECORDED_ERRORS])
            if result is not None
            else (upload.RowError(0, None, None, error.detail),)
        )
        self.refusal = Refusal(
            dataset_id=dataset_id,
            organisation_id=caller.organisation.id,
            key_id=caller.key_id,
            status=error.status,
            media_type=media_type or None,
            sha256=sha256,
            rows_read=rows_read,
            errors=errors,
            error_count=result.error_count if result is not None else len(errors),
        )
        return error


def submit(
    session: Session,
    caller: Caller,
    dataset_id: str,
    body: IO[bytes],
    media_type: str,
    note: RefusalNote | None = None,
) -> SubmissionResult:
    """Check and store an upload (a seekable file: the request body spooled to disk). A
    refusal of its content or form is left in ``note``."""
    declared = media_type.split(";")[0].strip().lower()

    def readable() -> str:
        if declared not in (*CSV_TYPES, *JSON_TYPES):
            raise UnsupportedMediaType(
                f"cannot read {declared or 'a body without Content-Type'}; send text/csv, "
                "application/json or multipart/form-data with a 'file' field",
                supported=["text/csv", "application/json", "multipart/form-data"],
            )
        return declared

    return _counted(session, caller, dataset_id, body, declared, readable, note)


# A form part's type as browsers and curl send it for a file they cannot type themselves
# (`curl -F file=@gent.csv`), or type by the program that opens it (a Windows browser sends a
# .csv as application/vnd.ms-excel where Excel is installed): the file's name tells then.
_BY_EXTENSION = {".csv": "text/csv", ".json": "application/json"}
READABLE_TYPES = (*CSV_TYPES, *JSON_TYPES)


def submit_file(
    session: Session,
    caller: Caller,
    dataset_id: str,
    body: IO[bytes],
    content_type: str | None,
    file_name: str | None,
    note: RefusalNote | None = None,
) -> SubmissionResult:
    """:func:`submit` for the file of a multipart upload, whose type is read from its name
    where the part's own type does not tell."""
    declared = (content_type or "").split(";")[0].strip().lower()

    def readable() -> str:
        if declared in READABLE_TYPES:
            return declared
        name = (file_name or "").lower()
        by_name = next((t for ext, t in _BY_EXTENSION.items() if name.endswith(ext)), None)
        if by_name is not None:
            return by_name
        if declared in ("", "application/octet-stream"):
            return "text/csv"
        raise UnsupportedMediaType(
            f"cannot read the file {file_name or '(without a name)'!r}, sent as {declared}; "
            "send a .csv file (UTF-8) or a .json file",
            supported=list(READABLE_TYPES),
        )

    return _counted(session, caller, dataset_id, body, declared, readable, note)


def _counted(
    session: Session,
    caller: Caller,
    dataset_id: str,
    body: IO[bytes],
    declared: str,
    readable: Callable[[], str],
    note: RefusalNote | None,
) -> SubmissionResult:
    """The submission, counted as accepted or rejected; ``readable()`` gives the type it is
    read as, or refuses it (415)."""
    note = note if note is not None else RefusalNote()
    try:
        try:
            media_type = readable()
        except UnsupportedMediaType as error:
            note.refuse(
                error, caller, dataset_id, media_type=declared, sha256=upload.sha256_of(body)
            )
            raise
        # Two submissions to one dataset at the same moment on SQLite: the second one to
        # commit loses the race for the revision number, and the unit of work answers 409.
        # A submission never changes the geography: it is read once for the submission, its
        # publication and that of the derived datasets that follow.
        with stats_repository.geography_fixed(session):
            result = _submit(session, caller, dataset_id, body, media_type, note)
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
    session: Session,
    caller: Caller,
    dataset_id: str,
    body: IO[bytes],
    media_type: str,
    note: RefusalNote,
) -> SubmissionResult:
    dataset = check_may_submit(session, caller, dataset_id)
    supplied = supplied_indicators(session, dataset_id)
    # The very schema GET …/schema serves: what the supplier reads is what is checked.
    schema = dataset_table_schema(session, dataset_id, supplied)
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

    rules = upload.Rules(
        indicators=supplied.rules,
        derived=supplied.derived,
        whole_numbers=supplied.whole,
        geo_version=dataset.geo_version,
        sector_exists=lambda code: sector_id(code) is not None,
        other_version_of=other_version,
        in_territory=in_territory,
        decimals=supplied.decimals,
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
    refusal: DatapediaError | None = None
    if result.outside_count and result.outside_count == result.error_count:
        refusal = Forbidden(
            f"territory:{dataset_id}",
            f"{caller.organisation.id!r} may submit data for its own territory only; "
            f"{result.outside_count} row(s) lie outside it. Nothing was stored.",
            errors=[e.as_dict() for e in result.errors],
            error_count=result.error_count,
            errors_shown=len(result.errors),
        )
    elif result.error_count:
        refusal = Unprocessable(
            f"the submission has {result.error_count} error(s); nothing was stored. Fix them "
            "and send the whole file again.",
            errors=[e.as_dict() for e in result.errors],
            error_count=result.error_count,
            errors_shown=len(result.errors),
        )
    if refusal is not None:
        # Refused for what the file holds, not for who sent it: it is recorded, so the
        # supplier's steward and the publisher see later that it came and what was wrong.
        raise note.refuse(
            refusal,
            caller,
            dataset_id,
            media_type=media_type,
            sha256=digest,
            # The last row read, as far as is known without counting every row: the last one
            # that passed, or a later one that did not.
            rows_read=max(
                stats_repository.last_staged_line(session),
                max((e.row for e in result.errors), default=0),
            ),
            result=result,
        )
    # The rights were read before the file was checked, which takes as long as the file is
    # large: once the dataset's writers wait for this one (role changes touch the dataset
    # too), the rights of now must still be those.
    stats_repository.lock_dataset(session, dataset_id)
    _require_same_territory(session, caller, dataset, territory)
    stored = store_staged_revision(
        session,
        dataset_id,
        Submission(
            dataset_id=dataset_id,
            organisation_id=caller.organisation.id,
            api_key_id=caller.key_id,
            source_name=UPLOAD_SOURCE,
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


def record_refusal(session: Session, refusal: Refusal) -> int:
    """Record a refused upload: a submission in state ``rejected``, without a revision (it
    changed nothing), with its first errors and their total, and its audit event. In a short
    transaction of its own, once the request's unit of work was rolled back. Returns its
    id."""
    submission = stats_repository.add_submission(
        session,
        Submission(
            dataset_id=refusal.dataset_id,
            organisation_id=refusal.organisation_id,
            api_key_id=refusal.key_id,
            created_at=datetime.now(UTC),
            source_name=UPLOAD_SOURCE,
            media_type=refusal.media_type,
            sha256=refusal.sha256,
            state="rejected",
            revision=None,
            rows_total=refusal.rows_read,
            errors=[e.as_dict() for e in refusal.errors[:MAX_RECORDED_ERRORS]],
            error_count=refusal.error_count,
        ),
    )
    # The dataset's audit log is its owners' to read: the errors, which quote the file's
    # cells, stay with the submission (see list_submissions for who reads them).
    record(
        session,
        "submission.refused",
        caller=refusal,
        dataset_id=refusal.dataset_id,
        target=f"submission:{submission.id}",
        details={
            "status": refusal.status,
            "rows": refusal.rows_read,
            "errors": refusal.error_count,
        },
    )
    return submission.id


WITHDRAWAL_PREFIX = "withdrawal of submission "


def withdraw(
    session: Session, caller: Caller, dataset_id: str, submission_id: int
) -> WithdrawalResult:
    """Undo an upload in a new revision: its rows that are still current are closed and the
    values they replaced are current again (a key it added disappears; a row someone has
    replaced since stays). Earlier revisions keep it. Its own organisation's supplier or
    editor may withdraw it, and so may the dataset's owners and site admins."""
    _dataset(session, dataset_id)
    # Waits for the dataset's other writers (a submission being stored, a role change) before
    # anything is read: the rights and the submission judged are those of when it runs, as a
    # role removed while it waited must stop it.
    stats_repository.lock_dataset(session, dataset_id)
    withdrawn = stats_repository.get_submission(session, dataset_id, submission_id)
    if withdrawn is None or (
        withdrawn.state == "rejected"
        and not _sees_refusals_of(session, caller, dataset_id, withdrawn.organisation_id)
    ):
        raise NotFound(
            f"dataset {dataset_id!r} has no submission {submission_id}", submission=submission_id
        )
    if withdrawn.state == "rejected":
        raise Conflict(
            f"submission {submission_id} was refused: nothing of it was stored, so there is "
            "nothing to withdraw"
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
    if withdrawn.source_name != UPLOAD_SOURCE or withdrawn.revision is None:
        raise Conflict(f"submission {submission_id} cannot be withdrawn: {_why_not(withdrawn)}")
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


def _require_same_territory(
    session: Session, caller: Caller, dataset: Dataset, territory: set[int] | None
) -> None:
    """409 when the caller's supplier territory on the dataset (its role, too) changed since
    ``territory`` was read: the file was checked against rights it no longer has — or has
    more of. Sent again, it meets the rights of now."""
    if territory is None or _territory(session, caller, dataset) == territory:
        return
    raise Conflict(
        f"{caller.organisation.id!r}'s supplier role or territory on {dataset.id!r} changed "
        "while the file was checked; nothing was stored. Send the file again: it is checked "
        "against the role and territory of now",
        dataset=dataset.id,
    )


def list_submissions(
    session: Session,
    caller: Caller | None,
    dataset_id: str,
    offset: int,
    limit: int,
    state: SubmissionState | None = None,
) -> tuple[list[SubmissionOut], int]:
    """A page of the dataset's submissions (of ``state``, when given), newest first, and their
    total. The files' digests only for the dataset's owners, publisher, suppliers and site
    admins: with the published Table Schema, the digest of a small correction gives its
    values back by trying them all — of a closed dataset, and of a public one too where they
    end up confidential. Rejected uploads only for those who see them
    (:func:`_refusals_shown`)."""
    _dataset(session, dataset_id)
    digests = caller is not None and (
        caller.is_admin or bool(held_roles(session, caller, dataset_id) & READING_ROLES)
    )
    # The rows a submission held count the values: of a closed dataset, only for whoever may
    # read them (README: no page shows a non-public dataset's values or counts them).
    counts = may_read_values(session, caller, dataset_id)
    every_refused, refused_of = _refusals_shown(session, caller, dataset_id)
    stmt = stats_repository.submissions_query(
        dataset_id, state, refused_of=refused_of, every_refused=every_refused
    )
    return [
        SubmissionOut(
            id=s.id,
            organisation=s.organisation_id,
            created_at=s.created_at,
            source=s.source_name,
            media_type=s.media_type,
            sha256=s.sha256 if digests and s.sha256 else None,  # a withdrawal has no file
            state="rejected" if s.state == "rejected" else "accepted",
            revision=s.revision,
            rows_total=s.rows_total if counts else None,
            rows_added=s.rows_added if counts else None,
            rows_changed=s.rows_changed if counts else None,
            rows_unchanged=s.rows_unchanged if counts else None,
            rows_not_supplied=s.rows_not_supplied if counts else None,
            withdrawn_by=s.withdrawn_by,
            errors=[SubmissionError.model_validate(e) for e in s.errors or []],
            error_count=s.error_count,
        )
        for s in queries.page(session, stmt, offset, limit)
    ], queries.count(session, stmt)


def _refusals_shown(
    session: Session, caller: Caller | None, dataset_id: str
) -> tuple[bool, str | None]:
    """Which rejected uploads of the dataset the caller sees: all of them (True), or those
    of its own organisation (the organisation's id). Their errors quote the cells of a file
    that was never published, which may hold values a disclosure rule would have hidden: so
    they are for the organisation that sent the file, the dataset's publisher (who helps its
    suppliers) and site admins — not for the other co-owners and suppliers, who read the
    data once it is accepted."""
    if caller is None:
        return False, None
    if caller.is_admin or "publisher" in held_roles(session, caller, dataset_id):
        return True, None
    return False, caller.organisation.id


def _sees_refusals_of(
    session: Session, caller: Caller, dataset_id: str, organisation_id: str
) -> bool:
    every_refused, refused_of = _refusals_shown(session, caller, dataset_id)
    return every_refused or refused_of == organisation_id
