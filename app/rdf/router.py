"""HTTP routes of the DCAT catalogue and of the dereferenceable URIs.

URI scheme (Flemish URI standard): ``/id/{kind}/{key}`` names a thing and answers ``303 See
Other`` to ``/doc/{kind}/{key}``, the document about it, which answers HTML to browsers and
Turtle, RDF/XML, JSON-LD or N-Triples to whoever asks for them (``Accept``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from email.utils import format_datetime
from typing import Annotated, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from app.access.service import authorize_read
from app.api.deps import MAX_PAGE, SessionDep, SettingsDep, UnitOfWorkDep, app_state
from app.api.http import (
    PUBLIC_CACHE_CONTROL,
    cache_control,
    digest_tag,
    not_modified,
    request_line,
    weak,
)
from app.api.params import text_path, text_query
from app.api.problems import Responses, problems
from app.auth.deps import OptionalCallerDep
from app.config import Settings
from app.db.queries import as_utc
from app.db.session import again_after_conflict
from app.downloads.router import RANGE_PARAMETERS, range_responses, stored_response
from app.downloads.service import Download
from app.errors import DatapediaError, NotAcceptable, NotFound
from app.rdf import cube, cubefiles, dcat, service, things
from app.rdf.dcat import Uris
from app.rdf.schemas import Quality
from app.web import pages
from app.web.router import translator

router = APIRouter(tags=["dcat"])

PageQuery = Annotated[
    int, Query(ge=1, le=MAX_PAGE, description=f"Page number, from 1 to {MAX_PAGE:,}.")
]
PageSizeQuery = Annotated[
    int,
    Query(
        ge=1,
        le=service.MAX_PAGE_SIZE,
        description=f"Datasets per page, 1 to {service.MAX_PAGE_SIZE}.",
    ),
]
ModifiedSinceQuery = Annotated[
    str | None,
    text_query(
        "Only datasets modified at or after this ISO 8601 date or date-time (UTC when it has "
        "no offset).",
        examples=["2025-01-01T00:00:00Z"],
    ),
]
ExtensionPath = Annotated[
    str, text_path(f"One of {', '.join(sorted(service.BY_EXTENSION))}.", examples=["ttl"])
]
KindPath = Annotated[
    str,
    text_path(
        "dataset, record, distribution, service, conceptscheme, property, metric, "
        "organisation, indicator, or a geographic level (municipality, sector, …).",
        examples=["dataset"],
    ),
]
KeyPath = Annotated[str, text_path("The thing's id.", examples=["population-2025"])]

# What the OpenAPI document says each route answers (Schemathesis checks the media types).
_STRING = {"schema": {"type": "string"}}
_JSON_LD = {"schema": {"type": "object", "description": "A compacted JSON-LD document."}}
_RDF = {
    fmt.media_type: _JSON_LD if fmt.key == "json-ld" else _STRING
    for fmt in service.FORMATS.values()
}
_HTML = {service.HTML: _STRING}
_NOT_MODIFIED: Responses = {
    304: {"description": "Not modified since the `ETag` or date the client sent."}
}


def _ok(description: str, content: Mapping[str, object]) -> Responses:
    return {200: {"description": description, "content": content}}


def _see_other(description: str) -> Responses:
    return {303: {"description": description, "headers": {"Location": _STRING}}}


# A thing's key written in another case (see things.Respelled).
_RESPELLED: Responses = {
    301: {
        "description": "The key is written in another case: the same URL with the key as "
        "the thing has it (and the query as it came).",
        "headers": {"Location": _STRING},
    }
}


def _respond(
    request: Request, session: Session, document: service.Document, vary: bool = False
) -> Response:
    """ETag / Last-Modified, 304 on a match, Link headers. (HEAD is GET without the body,
    for every route: app.api.http.HeadAsGet.)"""
    headers = {"ETag": weak(document.etag), "Cache-Control": PUBLIC_CACHE_CONTROL}
    if vary:
        headers["Vary"] = "Accept"
    # Never earlier than what the document states it was made of (the datasets' changes, the
    # stored files' writes); and never earlier than it was first sent as it is: that covers
    # what changes it without a date of its own (an organisation renamed, a dataset removed,
    # a release's way of writing it).
    first_seen = _since(request, session, _variant(request, document.media_type), document.etag)
    last_modified = max(filter(None, (document.last_modified, first_seen)))
    headers["Last-Modified"] = format_datetime(as_utc(last_modified), usegmt=True)
    if document.links:
        headers["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in document.links.items())
    if not_modified(request.headers, document.etag, last_modified):
        return Response(status_code=304, headers=headers)
    return Response(content=document.body, media_type=document.media_type, headers=headers)


def _page(request: Request, session: Session, body: str, lang: str) -> Response:
    """An HTML page with an ``ETag`` (its bytes' digest) and a ``Last-Modified`` (when it
    was first sent as it is, app.api.lastmodified: a page shows a dataset, the names of
    organisations and places, questions and answers, this release's templates… — no one
    date covers them all), 304 on a match. It is always revalidated (``no-cache``): it
    changes with any of those, and a cache must not keep it by a guess from its age."""
    content = body.encode()
    etag = digest_tag(content)
    variant = _variant(request, f"{service.HTML}; {lang}")
    last_modified = _since(request, session, variant, etag)
    headers = {
        **_HTML_VARY,
        "ETag": weak(etag),
        "Last-Modified": format_datetime(last_modified, usegmt=True),
    }
    if "authorization" not in request.headers:  # else private, no-store (SecurityHeaders)
        headers["Cache-Control"] = "no-cache"
    if not_modified(request.headers, etag, last_modified):
        return Response(status_code=304, headers=headers)
    return HTMLResponse(content, headers=headers)


def _variant(request: Request, media_type: str) -> str:
    """One document: its URL (the query names the page, the version, the language) and the
    form it is sent in."""
    return f"{request.url.path}?{request.url.query} {media_type}"


def _since(request: Request, session: Session, variant: str, etag: str) -> datetime:
    return app_state(request).document_dates.since(session, variant, etag)


def _page_url(request: Request, settings_base: str) -> Callable[[int], str]:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]

    def url(page: int) -> str:
        return f"{settings_base}{request.url.path}?{urlencode([*query, ('page', str(page))])}"

    return url


def _catalog(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    fmt: service.RdfFormat | None,
    page: int,
    page_size: int,
    modified_since: str | None,
) -> Response:
    if fmt is None:  # a browser
        t = translator(request)
        body = pages.catalog_page(session, t, request.query_params.multi_items())
        return _page(request, session, body, t.lang)
    document = service.catalog_page(
        session,
        Uris(settings.base_url),
        fmt,
        page=page,
        page_size=page_size,
        modified_since=service.parse_modified_since(modified_since),
        page_url=_page_url(request, settings.base_url),
        cache=_documents(request),
    )
    return _respond(request, session, document, vary=True)


@router.get(
    "/catalog",
    summary="The DCAT catalogue, by content negotiation, paged with Hydra",
    response_class=Response,
    responses={
        **_ok("A page of the catalogue in RDF, or HTML for a browser.", _RDF | _HTML),
        **_NOT_MODIFIED,
        **problems(406),
        422: {**problems(422)[422], "content": _HTML},  # problem+json, or HTML for a browser
    },
)
def catalog(
    request: Request,
    session: UnitOfWorkDep,
    settings: SettingsDep,
    page: PageQuery = 1,
    page_size: PageSizeQuery = service.DEFAULT_PAGE_SIZE,
    modified_since: ModifiedSinceQuery = None,
) -> Response:
    fmt = service.negotiate(request.headers.get("accept"), html=True)
    return _catalog(request, session, settings, fmt, page, page_size, modified_since)


@router.get(
    "/catalog.{extension}",
    summary="The DCAT catalogue in one format (ttl, rdf, jsonld, nt), paged with Hydra",
    response_class=Response,
    responses={
        **_ok("A page of the catalogue in the format the extension names.", _RDF),
        **_NOT_MODIFIED,
        **problems(404, 422),
    },
)
def catalog_in_format(
    request: Request,
    session: UnitOfWorkDep,
    settings: SettingsDep,
    extension: ExtensionPath,
    page: PageQuery = 1,
    page_size: PageSizeQuery = service.DEFAULT_PAGE_SIZE,
    modified_since: ModifiedSinceQuery = None,
) -> Response:
    fmt = _format_of(extension)
    return _catalog(request, session, settings, fmt, page, page_size, modified_since)


@router.get(
    "/catalog/dump.{extension}",
    summary="The whole catalogue in one document, for harvesters that do not page",
    response_class=Response,
    responses={
        **_ok("The whole catalogue in the format the extension names.", _RDF),
        **_NOT_MODIFIED,
        **problems(404),
    },
)
def catalog_dump(
    request: Request, session: UnitOfWorkDep, settings: SettingsDep, extension: ExtensionPath
) -> Response:
    document = service.catalog_dump(
        session, Uris(settings.base_url), _format_of(extension), _documents(request)
    )
    return _respond(request, session, document)


DatasetPath = Annotated[str, text_path("A dataset id.", examples=["population-2025"])]


@router.get(
    "/api/v1/datasets/{dataset_id}/quality",
    tags=["catalogue"],
    summary="The dataset's metadata quality: its MQA score (405 points) and where points are lost",
    description=(
        "The score of data.europa.eu's Metadata Quality Assessment "
        "(https://data.europa.eu/mqa/methodology), computed from the dataset's DCAT graph "
        "as a harvester reads it: per dimension (findability, accessibility, "
        "interoperability, reusability, contextuality) and per indicator the points earned, "
        "the maximum and, where points are lost, why. The catalogue states the same figures "
        "as DQV quality measurements (`dqv:hasQualityMeasurement`)."
    ),
    response_model=Quality,
    responses=problems(404, 422),
)
def dataset_quality(
    session: UnitOfWorkDep, settings: SettingsDep, dataset_id: DatasetPath
) -> Quality:
    # A unit of work: the stored downloads whose sizes the graph states may be written first.
    return dcat.dataset_quality(session, Uris(settings.base_url), dataset_id)


def _format_of(extension: str) -> service.RdfFormat:
    fmt = service.BY_EXTENSION.get(extension)
    if fmt is None:
        raise NotFound(
            f"no catalogue in format {extension!r}; available: "
            + ", ".join(sorted(service.BY_EXTENSION)),
        )
    return fmt


@router.get(
    "/id/{kind}/{key:path}",
    summary="A Datapedia URI: 303 to its document",
    response_class=RedirectResponse,
    status_code=303,
    responses={
        **_see_other("The document about the thing: `/doc/{kind}/{key}`."),
        **_RESPELLED,
        404: {**problems(404)[404], "content": _HTML},  # problem+json, or HTML for a browser
    },
)
def identifier(
    request: Request, session: SessionDep, settings: SettingsDep, kind: KindPath, key: KeyPath
) -> Response:
    # Unknown ids answer 404 here, not after the redirect.
    try:
        things.resolve(session, Uris(settings.base_url), kind, key)
    except things.Respelled as respelled:
        return _respelled(request, settings, "id", kind, respelled.key)
    except NotFound as exc:
        return _not_found(_error_format(request), request, exc.detail)
    # Quoted: the path segments go into a Location header as they came.
    target = f"{settings.base_url}/doc/{quote(kind, safe='')}/{quote(key, safe='/')}"
    return RedirectResponse(target, status_code=303, headers={"Vary": "Accept"})


@router.get(
    "/id/catalog",
    summary="The catalogue's URI: 303 to the catalogue",
    response_class=RedirectResponse,
    status_code=303,
    responses=_see_other("The catalogue: `/catalog`."),
)
def catalog_identifier(settings: SettingsDep) -> RedirectResponse:
    return RedirectResponse(f"{settings.base_url}/catalog", status_code=303)


@router.get(
    "/doc/{kind}/{key:path}",
    summary="About a Datapedia URI",
    response_class=Response,
    responses={
        **_ok("The thing described in RDF, or an HTML page for a browser.", _RDF | _HTML),
        **_RESPELLED,
        **_NOT_MODIFIED,
        **problems(406),
        # problem+json, or HTML for a browser
        **{status: {**problems(status)[status], "content": _HTML} for status in (404, 422)},
    },
)
def document(
    request: Request, session: UnitOfWorkDep, settings: SettingsDep, kind: KindPath, key: KeyPath
) -> Response:
    uris = Uris(settings.base_url)
    fmt = service.negotiate(request.headers.get("accept"), html=True)
    try:
        thing = _html_or_problem(fmt, request, lambda: things.resolve(session, uris, kind, key))
    except things.Respelled as respelled:
        return _respelled(request, settings, "doc", kind, respelled.key)
    if isinstance(thing, Response):
        return thing
    if fmt is None:
        here = f"{settings.base_url}/doc/{quote(kind, safe='')}/{quote(key, safe='/')}"
        alternates = {f.media_type: here for f in service.FORMATS.values()}
        reader = pages.Reader(
            translator(request), request.query_params.multi_items(), settings.base_url
        )
        # A page's own parameters (?version=1999) are refused as a page too.
        return _html_or_problem(
            fmt,
            request,
            lambda: _page(request, session, thing.html(alternates, reader), reader.t.lang),
        )
    document = service.graph_document(thing.graph(), fmt)
    return _respond(request, session, document, vary=True)


def _respelled(
    request: Request, settings: Settings, prefix: str, kind: str, key: str
) -> RedirectResponse:
    """301 to the URL of the thing as its key is written (a sector code typed in lower case),
    with the query as it came: the same thing, and links should name it one way."""
    target = f"{settings.base_url}/{prefix}/{quote(kind, safe='')}/{quote(key, safe='/')}"
    if request.url.query:
        target += f"?{request.url.query}"
    return RedirectResponse(target, status_code=301)


def _error_format(request: Request) -> service.RdfFormat | None:
    """How to word a 404 for whoever asked: HTML for a browser, else problem+json (an
    Accept we cannot serve still gets the problem)."""
    try:
        return service.negotiate(request.headers.get("accept"), html=True)
    except NotAcceptable:
        return service.FORMATS["turtle"]


T = TypeVar("T")


_HTML_VARY = {"Vary": "Accept, Accept-Language"}


def _html_or_problem(
    fmt: service.RdfFormat | None, request: Request, load: Callable[[], T]
) -> T | Response:
    try:
        return load()
    except DatapediaError as exc:
        if fmt is not None or not 400 <= exc.status < 500:
            raise
        return _error_page(request, exc)


def _documents(request: Request) -> service.DocumentCache:
    """The rendered catalogue pages and dumps of this app (one cache per worker)."""
    return app_state(request).cache("documents", service.DocumentCache)


def _not_found(fmt: service.RdfFormat | None, request: Request, detail: str) -> Response:
    """Browsers get a page in their language; API clients problem+json."""
    if fmt is None:
        return _error_page(request, NotFound(detail))
    raise NotFound(detail)


def _error_page(request: Request, error: DatapediaError) -> HTMLResponse:
    body = pages.problem_page(
        translator(request), error.to_problem(request.url.path), request.url.path
    )
    return HTMLResponse(body, status_code=error.status, headers=_HTML_VARY)


# --- the statistics as RDF Data Cube ---------------------------------------------------------

CubeExtensionPath = Annotated[
    str, text_path(f"One of {', '.join(sorted(cube.FORMATS))}.", examples=["ttl"])
]
_CUBE = {fmt.media_type: _STRING for fmt in cube.FORMATS.values()}


def _cube(
    request: Request,
    session: UnitOfWorkDep,
    caller: OptionalCallerDep,
    settings: SettingsDep,
    dataset_id: str,
    fmt: cube.CubeFormat,
    vary: bool,
) -> Response:
    dataset = cube.dataset_of(session, dataset_id)

    # The values follow the statistics API's access rules (a read of restricted data is
    # logged in this request's unit of work). The stored dump (written first if this
    # revision has none yet): the bytes whose size and checksum the distribution states.
    def read() -> tuple[bool, Download]:
        public = authorize_read(session, caller, dataset_id, request_line(request))
        return public, cubefiles.get_file(session, Uris(settings.base_url), dataset, fmt)

    public, stored = again_after_conflict(session, read)
    headers = {"Cache-Control": cache_control(public)}
    if vary:
        headers["Vary"] = "Accept"
    return stored_response(request, stored, headers)


@router.get(
    "/catalog/datasets/{dataset_id}/observations",
    summary="A dataset's published values as an RDF Data Cube, by content negotiation",
    description=(
        "The `qb:DataSet` with its `qb:DataStructureDefinition`, the code lists it uses and one "
        "`qb:Observation` per published value of the dataset's geography version. "
        "Turtle or N-Triples by `Accept`; `.ttl` and `.nt` name one format. Written once per "
        "revision and served as a stored file (the size and checksum the distribution states): "
        "gzip-compressed when the client accepts it, with an `ETag`, and by byte ranges "
        "(`Range`)."
    ),
    response_class=Response,
    responses={
        **_ok("The Data Cube in Turtle or N-Triples.", _CUBE),
        **_NOT_MODIFIED,
        **range_responses(_CUBE),
        **problems(401, 403, 404, 406),
    },
    openapi_extra=RANGE_PARAMETERS,
)
def observations_cube(
    request: Request,
    session: UnitOfWorkDep,
    caller: OptionalCallerDep,
    settings: SettingsDep,
    dataset_id: DatasetPath,
) -> Response:
    cube.dataset_of(session, dataset_id)  # an unknown dataset is 404 whatever the Accept
    fmt = cube.negotiate(request.headers.get("accept"))
    return _cube(request, session, caller, settings, dataset_id, fmt, vary=True)


@router.get(
    "/catalog/datasets/{dataset_id}/observations.{extension}",
    summary="A dataset's published values as an RDF Data Cube (ttl or nt)",
    response_class=Response,
    responses={
        **_ok("The Data Cube in the format the extension names.", _CUBE),
        **_NOT_MODIFIED,
        **range_responses(_CUBE),
        **problems(401, 403, 404),
    },
    openapi_extra=RANGE_PARAMETERS,
)
def observations_cube_in_format(
    request: Request,
    session: UnitOfWorkDep,
    caller: OptionalCallerDep,
    settings: SettingsDep,
    dataset_id: DatasetPath,
    extension: CubeExtensionPath,
) -> Response:
    fmt = cube.format_of(extension)
    return _cube(request, session, caller, settings, dataset_id, fmt, vary=False)
