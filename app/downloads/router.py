"""HTTP route of the stored whole-dataset downloads."""

from __future__ import annotations

from email.utils import format_datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from app.access.service import authorize_read
from app.api.deps import UnitOfWorkDep
from app.api.http import cache_control, is_head, not_modified, weak
from app.api.problems import problems
from app.auth.deps import OptionalCallerDep
from app.db.session import again_after_conflict
from app.downloads import service

router = APIRouter(tags=["observations"])

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


@router.get(
    "/datasets/{dataset_id}/downloads/{name}",
    summary="A whole-dataset download: CSV, JSON, Data Package or the CSV's Table Schema",
    description=(
        "The files the DCAT distributions' `downloadURL`s name: `observations.csv` and "
        "`observations.json` (every published value of the current revision), "
        "`datapackage.json` (a Frictionless Data Package of the CSV, with relative paths) and "
        "`schema.json` (the CSV's Table Schema). Written once per revision and served as "
        "stored files: gzip-compressed when the client accepts it, with an `ETag`. For a "
        "selection use `/datasets/{id}/observations`."
    ),
    response_class=Response,
    responses={
        200: {
            "description": "The file.",
            "content": {"text/csv": _BYTES, "application/json": _BYTES},
        },
        304: {"description": "Not modified since the `ETag` the client sent."},
        **problems(401, 403, 404, 422),
    },
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
        return authorize_read(session, caller, dataset_id), service.get_file(
            session, dataset_id, name
        )

    public, stored = again_after_conflict(session, read)
    return stored_response(
        request, stored, {"Cache-Control": cache_control(public), **_disposition(dataset_id, name)}
    )


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
    stored = service.current_file(session, dataset_id, name) if name is not None else None
    if stored is None:
        return None
    headers = _disposition(dataset_id, name) if name == service.CSV else {}
    return stored_response(request, stored, headers)


def stored_response(
    request: Request, stored: service.Download, headers: dict[str, str]
) -> Response:
    """A stored file as the answer: 304 when the client has it (``ETag`` or date), the stored gzip
    bytes when the client accepts gzip, else the bytes decompressed as they are sent; HEAD
    gets the headers alone, with the length a GET would send."""
    headers = {**headers, "ETag": weak(stored.etag)}
    if stored.written_at is not None:
        headers["Last-Modified"] = format_datetime(stored.written_at, usegmt=True)
    headers["Vary"] = ", ".join(filter(None, [headers.get("Vary"), "Accept-Encoding"]))
    if not_modified(request.headers, stored.etag, stored.written_at):
        return Response(status_code=304, headers=headers)
    gzipped = "gzip" in request.headers.get("accept-encoding", "").lower()
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    headers["Content-Length"] = str(stored.gzip_size if gzipped else stored.byte_size)
    if is_head(request.scope):
        return Response(media_type=stored.media_type, headers=headers)
    body = stored.pieces() if gzipped else stored.chunks()
    return StreamingResponse(body, media_type=stored.media_type, headers=headers)
