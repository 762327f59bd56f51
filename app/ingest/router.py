"""HTTP routes for supplying data: the Table Schema, submissions, and their list."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from tempfile import SpooledTemporaryFile
from typing import IO, Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from app.api.deps import (
    DbId,
    PageDep,
    SessionDep,
    SettingsDep,
    UnitOfWorkDep,
    app_state,
    paged,
    refuse_unknown_parameters,
)
from app.api.problems import problems
from app.auth.deps import CallerDep, OptionalCallerDep
from app.errors import BadRequest, PayloadTooLarge, RequestTimeout, UnsupportedMediaType
from app.ingest import submissions, upload
from app.ingest.deps import DatasetId, RefusalNoteDep, SubmitterDep
from app.ingest.schemas import (
    SubmissionPage,
    SubmissionResult,
    SubmissionState,
    TableSchema,
    WithdrawalResult,
)
from app.stats.models import STATUSES

router = APIRouter(tags=["submissions"], dependencies=[Depends(refuse_unknown_parameters)])


@router.get(
    "/datasets/{dataset_id}/schema",
    summary="The Frictionless Table Schema of the dataset's uploads",
    description="Every cell of an upload is checked against this schema (its patterns, "
    "enumerations and bounds; no cell may hold a control character such as a line break).",
    response_model_exclude_unset=True,
    responses=problems(404),
)
def table_schema(dataset_id: DatasetId, session: SessionDep) -> TableSchema:
    return submissions.dataset_table_schema(session, dataset_id)


@router.get(
    "/datasets/{dataset_id}/submissions",
    summary="Submissions (revisions) of a dataset, newest first",
    description=(
        "Accepted submissions for everyone. Uploads refused for their content or form "
        "(`state` `rejected`, with their first 100 errors and `error_count`) for the "
        "organisation that sent them, the dataset's publisher and site admins only: their "
        "errors quote the cells of a file that was never published."
    ),
    responses=problems(404, 422),
)
def list_submissions(
    dataset_id: DatasetId,
    request: Request,
    response: Response,
    session: SessionDep,
    paging: PageDep,
    caller: OptionalCallerDep,
    state: Annotated[
        SubmissionState | None,
        Query(description="Only the submissions in this state: `accepted` or `rejected`."),
    ] = None,
) -> SubmissionPage:
    items, total = submissions.list_submissions(
        session, caller, dataset_id, paging.offset, paging.page_size, state
    )
    return SubmissionPage.model_validate(
        paged(request, response, paging, items, total), from_attributes=True
    )


def _anchored(pattern: str) -> str:
    # Frictionless patterns match the whole cell; JSON Schema patterns search in it.
    return f"^{pattern}$"


_CELL = {"type": "string", "maxLength": upload.MAX_CELL}
_ROW = {
    "type": "object",
    "description": "One row; the dataset's Table Schema says what each cell may hold.",
    "properties": {
        "sector": {**_CELL, "pattern": _anchored(upload.SECTOR_PATTERN)},
        "indicator": {**_CELL, "pattern": _anchored(upload.INDICATOR_PATTERN)},
        "period": {
            "anyOf": [
                {**_CELL, "pattern": _anchored(upload.PERIOD_PATTERN)},
                {"type": "integer", "minimum": upload.FIRST_YEAR, "maximum": upload.LAST_YEAR},
            ]
        },
        "value": {
            "anyOf": [
                {
                    "type": "number",
                    "minimum": -upload.VALUE_LIMIT,
                    "maximum": upload.VALUE_LIMIT,
                },
                _CELL,
                {"type": "null"},
            ]
        },
        "status": {"anyOf": [{"enum": list(STATUSES)}, {"type": "null"}]},
    },
    "required": ["sector", "indicator", "period"],
    "additionalProperties": False,
}
_ROWS = {"type": "array", "items": _ROW, "minItems": 1}
# The body is read by hand (CSV, JSON or a multipart file, each problem reported by row and
# column), so its shapes are written down here rather than derived from a model.
SUBMISSION_BODY = {
    "required": True,
    "content": {
        "text/csv": {
            "schema": {"type": "string"},
            "example": "sector,indicator,period,value,status\n44021A00-,population,2025,1234,\n",
        },
        "application/json": {
            "schema": {
                "anyOf": [
                    _ROWS,
                    {
                        "type": "object",
                        "properties": {"rows": _ROWS},
                        "required": ["rows"],
                        "additionalProperties": False,
                    },
                ]
            }
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
    },
}


# Up to this size a body stays in memory; beyond it, it is spooled to a temporary file.
SPOOL_IN_MEMORY = 1 << 20
# What a multipart form may add around its file (boundaries, part headers, a small field):
# the limit is the file's, so a file of the limit's size is taken in a form too.
MULTIPART_ALLOWANCE = 64 * 1024


@asynccontextmanager
async def _spooled(
    request: Request, limit: int, idle_seconds: float
) -> AsyncGenerator[IO[bytes], None]:
    """The request body in a temporary file, written as it arrives: memory does not grow
    with the upload (the file is removed when the block ends). A client that sends nothing
    for ``idle_seconds`` is refused (408). ``limit``: of the body (see MULTIPART_ALLOWANCE)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the upload is {declared} bytes; the limit is {limit} bytes")
    with SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spooled:
        size = 0
        chunks = aiter(request.stream())
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(anext(chunks), idle_seconds)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise RequestTimeout(
                        f"the upload sent nothing for {idle_seconds:g} seconds after {size} "
                        "bytes; nothing was stored"
                    ) from None
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the upload is larger than the limit of {limit} bytes")
                spooled.write(chunk)
        except ClientDisconnect:
            # The client's own doing (a network cut, a Content-Length larger than what was
            # sent): a refused request in the log, not a server error with its traceback.
            raise BadRequest(
                f"the connection closed after {size} bytes, before the upload was complete; "
                "nothing was stored"
            ) from None
        spooled.seek(0)
        yield spooled


async def _chunks(spooled: IO[bytes]) -> AsyncGenerator[bytes, None]:
    while chunk := spooled.read(upload.CHUNK_BYTES):
        yield chunk


async def _form_file(request: Request, spooled: IO[bytes]) -> UploadFile:
    """The ``file`` field of a multipart body read from its spooled copy (Starlette keeps a
    file part in a temporary file of its own, too)."""
    try:
        form = await MultiPartParser(request.headers, _chunks(spooled)).parse()
    except (MultipartParseError, MultiPartException, ValueError, KeyError) as exc:
        raise BadRequest(
            f"the multipart upload could not be read ({exc}); was it cut off?"
        ) from exc
    files = form.getlist("file")
    field = files[-1] if files else None
    for _, value in form.multi_items():
        if isinstance(value, UploadFile) and value is not field:
            await value.close()
    if not isinstance(field, UploadFile):
        if not _closed(request, spooled):
            # The parser keeps the parts it saw end: a file cut off is no field at all.
            raise BadRequest(
                "the multipart upload ends before its closing boundary: it was cut off; "
                "nothing was stored, send it again"
            )
        raise BadRequest("a multipart upload needs the file in a field named 'file'")
    if len(files) > 1:
        # Which of two files was meant? Storing one and ignoring the other would hide it.
        await field.close()
        raise BadRequest(f"the multipart upload has {len(files)} 'file' fields; send one file")
    return field


def _closed(request: Request, spooled: IO[bytes]) -> bool:
    """Whether the multipart body ends with its closing boundary (``--boundary--``)."""
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary", b"")
    tail_length = len(boundary) + 8  # "--", the boundary, "--", a line end, some slack
    spooled.seek(0, os.SEEK_END)
    spooled.seek(max(spooled.tell() - tail_length, 0))
    tail = spooled.read()
    spooled.seek(0)
    return bool(boundary) and b"--" + boundary + b"--" in tail


@router.post(
    "/datasets/{dataset_id}/submissions",
    status_code=201,
    summary="Submit sector data for your territory (CSV, JSON or a multipart file)",
    description=(
        "Columns (see `GET /api/v1/datasets/{id}/schema`): `sector`, `indicator`, `period`, "
        "`value`, `status`. UTF-8, `,`, `;` or a tab, a BOM and CRLF are fine. Every row is "
        "checked before anything is stored: on any error the answer is 422 with every problem "
        "(row, column, value, reason; the first 1,000 and the total) and nothing changes. "
        "Accepted: a new revision of the dataset, aggregates included. A dataset of derived "
        "indicators (computed from other datasets) accepts no submissions: 409; so is an upload "
        "whose sender's supplier role or territory changed while it was checked (send it "
        "again). A file "
        "refused for what it holds (422, 415, or 403 for rows outside your territory alone) "
        "is recorded as a `rejected` submission with its first 100 errors, listed with the "
        "dataset's submissions; the problem names it (`submission`)."
    ),
    responses=problems(400, 404, 408, 409, 413, 415, 422, 429),
    openapi_extra={"requestBody": SUBMISSION_BODY},
)
async def submit(
    dataset_id: DatasetId,
    request: Request,
    caller: SubmitterDep,
    session: UnitOfWorkDep,
    refusal: RefusalNoteDep,
    settings: SettingsDep,
) -> SubmissionResult:
    limiter = app_state(request).submission_limiter
    limiter.check(str(caller.key_id), settings.submissions_per_minute)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":
        # Read as it came, a gzip body is binary noise ("a NUL byte"): say what is wrong.
        raise UnsupportedMediaType(
            f"cannot read a body with Content-Encoding {encoding!r}; send the file "
            "uncompressed (the limit is on its uncompressed size)",
            supported=["identity"],
        )
    media_type = request.headers.get("content-type", "")
    limit = settings.max_upload_bytes
    multipart = media_type.lower().startswith("multipart/form-data")
    async with _spooled(
        request, limit + MULTIPART_ALLOWANCE if multipart else limit, settings.upload_idle_seconds
    ) as spooled:
        if not multipart:
            return await run_in_threadpool(
                submissions.submit, session, caller, dataset_id, spooled, media_type, refusal
            )
        part = await _form_file(request, spooled)
        try:
            if part.size is not None and part.size > limit:
                raise PayloadTooLarge(f"the file is {part.size} bytes; the limit is {limit} bytes")
            return await run_in_threadpool(
                submissions.submit_file,
                session,
                caller,
                dataset_id,
                part.file,
                part.content_type,
                part.filename,
                refusal,
            )
        finally:
            await part.close()


@router.delete(
    "/datasets/{dataset_id}/submissions/{submission_id}",
    summary="Withdraw an upload (a new revision without it)",
    description=(
        "The submission's rows that are still current are closed and the values they replaced "
        "are current again; a row it added disappears (a year opened by mistake is gone, with "
        "the rows it left waiting), and a row someone replaced since stays. All in a new "
        "revision: earlier revisions, `?revision=` and the history keep the submission. Its "
        "own organisation's supplier or editor may withdraw it, and so may the dataset's "
        "owners and site admins. 409: a submission that made no revision, a rejected one "
        "(nothing of it was stored), an import or a derived dataset's refresh, or one with "
        "no current row left."
    ),
    responses=problems(404, 409),
)
def withdraw(
    dataset_id: DatasetId, submission_id: DbId, caller: CallerDep, session: UnitOfWorkDep
) -> WithdrawalResult:
    return submissions.withdraw(session, caller, dataset_id, submission_id)
