"""HTTP route of the stored whole-dataset downloads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from email.utils import format_datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from app.access.service import authorize_read
from app.api.deps import AppState, UnitOfWorkDep
from app.api.http import (
    accepts_gzip,
    cache_control,
    is_head,
    not_modified,
    request_line,
    requested_range,
    weak,
)
from app.api.observe import RETRY_AFTER_SECONDS, database_away, unavailable_response
from app.api.problems import Responses, problems
from app.auth.deps import OptionalCallerDep
from app.db.session import again_after_conflict, is_disconnect
from app.downloads import service
from app.downloads.repository import Replaced
from app.errors import (
    PROBLEM_MEDIA_TYPE,
    RangeNotSatisfiable,
    ServiceUnavailable,
    TooManyRequests,
)

router = APIRouter(tags=["observations"])
T = TypeVar("T")

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
DatasetId = Annotated[
    str,
    Path(
        max_length=100, pattern=PRINTABLE, description="A dataset id.", examples=["population-2025"]
    ),
]
FileName = Annotated[
    str,
    Path(
        max_length=50,
        pattern=PRINTABLE,
        description=f"One of {', '.join(service.FILES)}.",
        examples=[service.CSV],
    ),
]
_BYTES = {"schema": {"type": "string", "format": "binary"}}
# Any JSON document: the observations (an array), a Data Package or a Table Schema (objects),
# each described where its name says; not a string of bytes, which a client would decode.
_JSON = {"schema": {"description": "The JSON file the name says (see the description)."}}
_FILE = {"text/csv": _BYTES, "application/json": _JSON}
_CONTENT_RANGE = {"schema": {"type": "string"}}
# A stored file's byte ranges (RFC 9110 §14), for a route that answers with stored_response.
RANGE_PARAMETERS: dict[str, Any] = {
    "parameters": [
        {
            "name": "Range",
            "in": "header",
            "required": False,
            "description": "One byte range of the file as it is sent: of the gzip bytes when "
            "`Accept-Encoding` takes gzip, else of the plain ones (`bytes=0-1023`, "
            "`bytes=1024-`, `bytes=-100`). Answered with 206 and `Content-Range`; a range "
            "that starts beyond the end with 416. Several ranges, or one that cannot be "
            "read, get the whole file (200).",
            # No machine-readable example: a client that accepts gzip and decodes it as it
            # reads (Python's requests, which Schemathesis uses) cannot inflate a part of a
            # gzip stream and reports an error, though the answer is right (RFC 9110 §14).
            "schema": {"type": "string"},
        },
        {
            "name": "If-Range",
            "in": "header",
            "required": False,
            "description": "Needs a strong validator; the `ETag`s here are weak (one for the "
            "plain and the gzip bytes) and a date is not known to be strong, so with "
            "`If-Range` the whole file is sent (200). Resume with `Range` alone.",
            "schema": {"type": "string"},
        },
    ]
}


def range_responses(content: dict[str, Any]) -> Responses:
    """The answers of a byte range of a stored file whose 200 has ``content``."""
    return {
        206: {
            "description": "The byte range asked for (`Content-Range` says which): a part of "
            "the file, in the media type of the whole (a part of a JSON file is not a JSON "
            "document, nor a part of gzip bytes a gzip stream).",
            "headers": {"Content-Range": {**_CONTENT_RANGE, "required": True}},
            # No schema: a part of a document has none.
            "content": {media_type: {} for media_type in content},
        },
        416: {
            **problems(416)[416],
            "headers": {
                "Content-Range": {
                    **_CONTENT_RANGE,
                    "required": True,
                    "description": "`bytes */size`: the size of the file as it would be sent.",
                }
            },
        },
    }


@router.get(
    "/datasets/{dataset_id}/downloads/{name}",
    summary="A whole-dataset download: CSV, JSON, Data Package or the CSV's Table Schema",
    description=(
        "The files the DCAT distributions' `downloadURL`s name: `observations.csv` and "
        "`observations.json` (every published value of the current revision), "
        "`datapackage.json` (a Frictionless Data Package of the CSV, with relative paths) and "
        "`schema.json` (the CSV's Table Schema; public on every dataset, as its description "
        "is). Written once per revision and served as "
        "stored files: gzip-compressed when the client accepts it, with an `ETag` and "
        "`Last-Modified`, and by byte ranges (`Range`: a download resumes where it stopped). "
        "For a selection use `/datasets/{id}/observations`."
    ),
    response_class=Response,
    responses={
        200: {
            "description": "The file.",
            "content": _FILE,
        },
        304: {"description": "Not modified since the `ETag` or the date the client sent."},
        **range_responses(_FILE),
        **problems(401, 403, 404, 422, 429),
    },
    openapi_extra=RANGE_PARAMETERS,
)
def download(
    request: Request,
    session: UnitOfWorkDep,
    caller: OptionalCallerDep,
    dataset_id: DatasetId,
    name: FileName,
) -> Response:
    # A read of restricted data is logged (and a first request writes the file) in this
    # request's unit of work.
    def read() -> tuple[bool, service.Download]:
        # The Table Schema holds column definitions, no values: as public as the dataset's
        # description (the DCAT distributions of a closed dataset conform to it, too).
        public = name == service.SCHEMA or authorize_read(
            session, caller, dataset_id, request_line(request)
        )
        return public, service.get_file(session, dataset_id, name)

    public, stored = again_after_conflict(session, read)
    return stored_response(
        request,
        stored,
        {"Cache-Control": cache_control(public), **_disposition(dataset_id, name)},
        lambda: _current_now(session, dataset_id, name),
    )


def _current_now(session: Session, dataset_id: str, name: str) -> service.Download | None:
    """The stored file as it is now, read again (not the row the session still holds): the
    one that replaced the file the request found — of a newer revision, though perhaps not
    of the newest if another was committed meanwhile (a whole file, old or new)."""
    session.expire_all()
    row = service.stored(session, dataset_id, name)
    return None if row is None else service.download(session, row)


def _disposition(dataset_id: str, name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{dataset_id}-{name}"'}


# The stored file that holds an unfiltered export of the observations API, by format.
_EXPORTED = {"csv": service.CSV, "jsonstat": service.JSONSTAT}


def current_file_response(
    request: Request, session: Session, dataset_id: str, export_format: str
) -> Response | None:
    """The observations API's unfiltered export (CSV or JSON-stat) as the stored file of the
    current revision (the same bytes the stream would give), or None while there is none."""
    name = _EXPORTED.get(export_format)
    if name is None:
        return None
    stored = service.current_file(session, dataset_id, name)
    if stored is None:
        return None
    headers = _disposition(dataset_id, name) if name == service.CSV else {}
    return stored_response(
        request, stored, headers, lambda: _current_now(session, dataset_id, name), ranges=False
    )


def stored_response(
    request: Request,
    stored: service.Download,
    given: dict[str, str],
    reopen: Callable[[], service.Download | None] | None = None,
    *,
    ranges: bool = True,
) -> Response:
    """A stored file as the answer: 304 when the client has it (``ETag`` or date), the stored gzip
    bytes when the client accepts gzip, else the bytes decompressed as they are sent; HEAD
    gets the headers alone, with the length a GET would send. With ``ranges``, a GET of one
    byte range gets those bytes (206) of the representation it would get whole: of the gzip
    bytes when it accepts gzip (RFC 9110 §14: a range of the encoded representation), else of
    the plain ones. ``reopen``: the file as it is now, for when it was written anew before
    its first piece was read."""
    headers = {**given, "ETag": weak(stored.etag)}
    if stored.written_at is not None:
        headers["Last-Modified"] = format_datetime(stored.written_at, usegmt=True)
    headers["Vary"] = ", ".join(filter(None, [headers.get("Vary"), "Accept-Encoding"]))
    # Only a file's own download takes ranges; the same file as an export of the
    # observations API says that it does not (the export usually streams).
    headers["Accept-Ranges"] = "bytes" if ranges else "none"
    if not_modified(request.headers, stored.etag, stored.written_at):
        return Response(status_code=304, headers=headers)
    gzipped = accepts_gzip(request.headers.get("accept-encoding"))
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    size = stored.gzip_size if gzipped else stored.byte_size
    headers["Content-Length"] = str(size)
    if is_head(request.scope):
        return Response(media_type=stored.media_type, headers=headers)
    try:
        wanted = requested_range(request.headers, size) if ranges else None
    except RangeNotSatisfiable as exc:
        kept = {k: v for k, v in headers.items() if k in ("Cache-Control", "Vary", "ETag")}
        return JSONResponse(
            exc.to_problem(request.url.path),
            status_code=exc.status,
            media_type=PROBLEM_MEDIA_TYPE,
            headers={**kept, "Content-Range": exc.content_range},
        )
    status = 200
    if wanted is None:
        body = stored.pieces() if gzipped else stored.chunks()
    else:
        status = 206
        headers["Content-Range"] = wanted.content_range
        headers["Content-Length"] = str(wanted.length)
        part = stored.gzip_part if gzipped else stored.plain_part
        body = part(wanted.first, wanted.length)

    def again() -> Response | None:
        fresh = reopen() if reopen is not None else None
        return None if fresh is None else stored_response(request, fresh, given, ranges=ranges)

    return StoredFileResponse(
        body, status=status, media_type=stored.media_type, headers=headers, reopen=again
    )


class StoredFileResponse(StreamingResponse):
    """A stored file sent as it is read: its pieces are read through a database connection
    held until the last byte has reached the client, which a slow one takes minutes to take.
    So a worker sends at most half its connection pool's worth of files at once, and answers
    the next 503 (Retry-After) rather than leave its other requests no connection — one
    client address at most a third of those, 429 beyond; and the
    first piece is read before the answer begins, so a database that does not answer (or a
    pool with no connection free) is a 503 too, not a 200 cut short. A file written anew
    between the request's read of it and its first piece (the background writer after a
    submission) is sent as it is now, with its own headers (``reopen``)."""

    def __init__(
        self,
        content: Iterator[bytes],
        *,
        status: int = 200,
        media_type: str,
        headers: dict[str, str],
        reopen: Callable[[], Response | None],
    ) -> None:
        super().__init__(content, status_code=status, media_type=media_type, headers=headers)
        self.reopen = reopen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: AppState = scope["app"].state.datapedia
        at_once = max(1, state.settings.db_pool_size // 2)
        client = (scope.get("client") or ("unknown", 0))[0]
        if state.files_sent_to[client] >= max(1, at_once // 3):
            # One address does not take every place: a handful of sockets that read nothing
            # held all of them, and every other reader got 503s.
            refused = TooManyRequests(
                f"{state.files_sent_to[client]} files are being sent to your address "
                f"already; let one finish. Try again in {RETRY_AFTER_SECONDS} s",
                retry_after=RETRY_AFTER_SECONDS,
            )
            await unavailable_response(refused, scope["path"])(scope, receive, send)
            return
        if state.files_sent >= at_once:
            busy = ServiceUnavailable(
                "too many files are being sent at the moment; nothing was done. Try again "
                f"in {RETRY_AFTER_SECONDS} s",
                retry_after=RETRY_AFTER_SECONDS,
            )
            await unavailable_response(busy, scope["path"])(scope, receive, send)
            return
        state.files_sent += 1
        state.files_sent_to[client] += 1
        replaced = False
        try:
            pieces = aiter(self.body_iterator)  # the file read in a worker thread
            try:
                first = await anext(pieces, b"")
            except Replaced:
                replaced = True
            except SQLAlchemyError as exc:
                if not is_disconnect(exc):
                    raise
                await unavailable_response(database_away(exc), scope["path"])(scope, receive, send)
                return
            if not replaced:
                self.body_iterator = _chained(first, pieces)
                await super().__call__(scope, receive, send)
        finally:
            state.files_sent -= 1
            state.files_sent_to[client] -= 1
            if not state.files_sent_to[client]:
                del state.files_sent_to[client]
        if replaced:
            # Read in the snapshot in which the old file is gone: the new one is whole there.
            now = await run_in_threadpool(self.reopen)
            if now is None:
                now = unavailable_response(
                    ServiceUnavailable(
                        "the file was being written anew; nothing was sent. Try again in "
                        f"{RETRY_AFTER_SECONDS} s",
                        retry_after=RETRY_AFTER_SECONDS,
                    ),
                    scope["path"],
                )
            await now(scope, receive, send)


async def _chained(first: T, rest: AsyncIterator[T]) -> AsyncIterator[T]:
    yield first
    async for piece in rest:
        yield piece
