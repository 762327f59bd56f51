"""The FastAPI application: lifespan (engine, sessions), error rendering, routers, docs."""

from __future__ import annotations

import base64
import functools
import gc
import hashlib
import importlib.resources
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import app.models  # noqa: F401  (every table mapped before the first session)
from app.access.router import router as access_router
from app.api import metrics
from app.api.background import CoalescingWorker, PassControl
from app.api.deps import AppState, app_state
from app.api.http import (
    CONTENT_SECURITY_POLICY,
    NOT_MODIFIED_JSON,
    Cors,
    DateHeader,
    FastGZip,
    HeadAsGet,
    JsonValidator,
    LimitBody,
    RefuseControlCharacters,
    RefuseDeepJson,
    SecurityHeaders,
    origin_of,
)
from app.api.lastmodified import SharedFirstSeen
from app.api.negotiation import by_preference
from app.api.observe import (
    FastHealth,
    RequestContext,
    SchemaGate,
    database_away,
    internal_error_response,
    readiness,
    unavailable_response,
    write_refused,
)
from app.api.problems import Problem, document_problems
from app.api.ratelimit import DatabaseRateLimiter
from app.auth.router import router as auth_router
from app.catalogue.router import router as catalogue_router
from app.config import Settings, get_settings
from app.db.migrate import head_revision
from app.db.session import (
    is_disconnect,
    is_refused_write,
    is_write_conflict,
    make_engine,
    make_session_factory,
    transaction,
)
from app.downloads.router import current_file_response
from app.downloads.router import router as downloads_router
from app.errors import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_TYPE_BASE,
    DatapediaError,
    NotFound,
    TooManyRequests,
    Unauthorized,
    first_line,
)
from app.feedback.router import router as feedback_router
from app.geo.router import router as geo_router
from app.ingest.router import router as ingest_router
from app.monitors.router import router as monitors_router
from app.monitors.service import definitions as monitor_definitions
from app.rdf import cubefiles
from app.rdf.dcat import Uris
from app.rdf.router import router as rdf_router
from app.search.router import router as search_router
from app.stats.router import router as stats_router
from app.stewardship.router import router as stewardship_router
from app.unitsets.router import router as unitsets_router
from app.web.pages import STATIC_DIR, STATIC_URL, problem_page
from app.web.router import router as web_router
from app.web.router import translator

logger = logging.getLogger("datapedia")

# Answers smaller than this are sent as they are: compressing them saves less than it costs.
GZIP_MINIMUM_BYTES = 1024
# ISA-L's default level (of 0-3): 11x less CPU than zlib's level 6 on a CSV export, for 7 %
# more bytes (level 3 makes 2 % fewer bytes for 2.7x the CPU).
GZIP_LEVEL = 2
# How long shutdown waits for the stored-files writer to end: it stops at its next checkpoint
# (between two chunks of a file, every 2,000 records of a JSON-stat document), within a second
# unless one statement takes longer; then its thread ends with the process, its transaction
# rolled back (the file it was writing keeps its previous version).
WRITER_STOP_SECONDS = 10
# The stored-files writer starts a pass once writes have paused this long: a burst of
# submissions is not slowed by passes rewriting the files of a large dataset meanwhile
# (energy-fluvius: seconds of CPU each), and makes one pass at its end.
WRITER_QUIET_SECONDS = 1.0
# After a pass the database's going away cut short, the stored-files writer tries again this
# much later (as clients are told to with Retry-After), not at once and again and again.
WRITER_RETRY_SECONDS = 5.0
# Static assets change only with a release; their ETag lets a browser revalidate after that.
STATIC_CACHE_CONTROL = "public, max-age=86400"

DESCRIPTION = """
Open data about the Flemish centre cities, from the statistical sector up to the
city-region. Every dataset says who owns it and who supplied it (DCAT roles).

* **Geography**: every statistical sector, municipality, arrondissement, province, region,
  referentieregio, vervoerregio and city-region, in the 2024 and 2025 versions, with parents
  and successors across the 1 January 2025 mergers. A unit is named `level:code`.
* **Catalogue**: datasets with DCAT metadata, the organisations and their roles.
* **Datapedia**: indicator definitions with unit, formula, source and aggregation rule.

Lists are paged (`page`, `page_size` ≤ 1000) and carry RFC 8288 `Link` headers. Errors are
RFC 9457 `application/problem+json`.
"""

TAGS = [
    {"name": "geography", "description": "Versioned geography of Flanders and Brussels."},
    {"name": "catalogue", "description": "Datasets and licences."},
    {"name": "organisations", "description": "Owners, publishers, suppliers and sources."},
    {"name": "indicators", "description": "The Datapedia: what each number means."},
    {"name": "observations", "description": "Values at every level, in JSON, CSV, JSON-stat."},
    {"name": "submissions", "description": "Cities supply data for their territory."},
    {"name": "keys", "description": "API keys: who am I, create, revoke."},
    {"name": "feedback", "description": "Questions and answers between users and owners."},
    {"name": "access", "description": "Grants to restricted data and the audit log."},
    {"name": "dcat", "description": "DCAT-AP 3 / DCAT-AP-VL 3 catalogue for harvesters."},
    {"name": "service", "description": "Health and readiness."},
]


def problem_response(status: int, problem: dict[str, Any]) -> JSONResponse:
    return JSONResponse(problem, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def _documented(request: Request, status: int) -> bool:
    """Whether the OpenAPI document describes the request's path with answers of ``status``
    other than pages (then its answers are the ones documented, also when a middleware
    refuses the request before any route); a path whose ``status`` answer is documented as a
    page too (``/doc/…``) answers a browser with the page, as its route would."""
    path = request.url.path
    return any(
        pattern.fullmatch(path) and str(status) not in pages
        for pattern, pages in _documented_paths(request.app)
    )


def _documented_paths(app: FastAPI) -> list[tuple[re.Pattern[str], set[str]]]:
    """Per documented path, the statuses of its GET documented as HTML pages."""
    paths: list[tuple[re.Pattern[str], set[str]]] | None = getattr(
        app.state, "documented_paths", None
    )
    if paths is None:
        paths = [
            (
                re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))),
                {
                    status
                    for status, answer in item.get("get", {}).get("responses", {}).items()
                    if "text/html" in answer.get("content", {})
                },
            )
            for template, item in app.openapi()["paths"].items()
        ]
        app.state.documented_paths = paths
    return paths


_PAGE_VARY = "Accept, Accept-Language"


def _for_reader(request: Request, status: int, problem: dict[str, Any]) -> Response:
    """The problem document, or for a browser on a page outside the API (a mistyped address,
    a search too long) the HTML page that says the same in the reader's language. Paths the
    OpenAPI document describes keep the answers it documents."""
    preferred = next((t for t, q in by_preference(request.headers.get("accept")) if q > 0), "")
    browser = preferred in ("text/html", "application/xhtml+xml")
    api = request.url.path.startswith("/api/") or _documented(request, status)
    negotiated = not api and status < 500
    if not browser or not negotiated:
        response = problem_response(status, problem)
        if negotiated:  # a browser gets a page at the same address: caches must tell them apart
            response.headers["Vary"] = _PAGE_VARY
        return response
    body = problem_page(translator(request), problem, request.url.path)
    return HTMLResponse(body, status_code=status, headers={"Vary": _PAGE_VARY})


class SignalStoredFilesWriter:
    """After a write that succeeded (a submission, a metadata change), signals the stored-files
    writer and returns: the answer and the connection never wait for the files. The writer
    writes the stored downloads and Data Cube dumps the write made stale (a dump of a large
    dataset takes tens of seconds) in its own thread, so the catalogue, which only reads
    stored files, states every file's size again soon after. While a write request runs, the
    writer waits (app.api.background); a write request that arrives while the writer
    replaces a file waits for that one commit."""

    READS = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        writer = self.state.stored_files_writer
        if scope["type"] != "http" or scope["method"] in self.READS or writer is None:
            await self.app(scope, receive, send)
            return
        status = 0

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        # The writer yields to the request while it runs (and replaces no file meanwhile).
        if not writer.begin_request():
            await run_in_threadpool(writer.wait_to_begin_request)
        try:
            await self.app(scope, receive, noting_status)
        finally:
            writer.end_request()
        if 200 <= status < 300:
            writer.signal()


def write_stale_files(state: AppState, control: PassControl) -> None:
    """One pass of the stored-files writer: every stale file written, each in a transaction
    of its own, so the database's write lock (SQLite) and the stored files' lock (PostgreSQL)
    are held while one row is replaced, not while the next file is formatted; a file's old
    row stays until its new one commits.

    A database that goes away meanwhile (a restart, a terminated backend) is a fault of the
    moment, not of the work: one warning without a traceback, and another pass once
    ``WRITER_RETRY_SECONDS`` have passed, which writes what is still stale when the database
    is back (while it is away, each such pass ends at its first statement)."""
    try:
        _write_stale_files(state, control)
    except SQLAlchemyError as exc:
        if not is_disconnect(exc):
            raise
        logger.warning(
            "stored files: the database went away during a pass (%s); another pass in %g s",
            first_line(exc),
            WRITER_RETRY_SECONDS,
        )
        if not control.stopping.wait(WRITER_RETRY_SECONDS):
            control.again()


def _write_stale_files(state: AppState, control: PassControl) -> None:
    factory = state.session_factory
    if factory is None:
        return
    uris = Uris(state.settings.base_url)
    with factory() as session:
        stale = cubefiles.stale_files(session, uris)
    for dataset_id, name in stale:
        control.checkpoint()
        try:
            with transaction(factory) as session:
                cubefiles.write_file(session, uris, dataset_id, name, control)
        except SQLAlchemyError as exc:
            if not is_write_conflict(exc):
                raise
            # Another connection committed while the file was read: on SQLite the pass's
            # read snapshot may then no longer write, and what it read may be out of date
            # anyway. Not a fault: the next pass reads the newest data.
            logger.info(
                "stored files: %s of %s met a concurrent write; written in the next pass",
                name,
                dataset_id,
            )
            control.again()
            return
        finally:
            control.release()  # committed or rolled back: write requests may start again


def _operation_id(route: APIRoute) -> str:
    return route.name


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    state = AppState(settings=settings)
    # The authored unit sets and monitors (seeds/) are read now: a malformed file stops the
    # start with its file, entry and reason instead of failing requests later.
    monitor_definitions()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Read from the state at start-up, not from the closure: the state is the one source
        # of what the app serves (the tests start one app on many databases this way).
        engine = make_engine(state.settings.database_url, pool_size=state.settings.db_pool_size)
        state.session_factory = make_session_factory(engine)
        # The observations API serves an unfiltered CSV or JSON-stat export from the stored
        # download (the same bytes, written once per revision) instead of formatting it again.
        state.stored_file = current_file_response
        if engine.dialect.name == "postgresql":
            # Several workers serve one database: they count the limits in it, together.
            state.submission_limiter = DatabaseRateLimiter(
                "submissions", lambda: state.session_factory
            )
            state.feedback_limiter = DatabaseRateLimiter(
                "feedback posts", lambda: state.session_factory
            )
            state.document_dates = SharedFirstSeen()
        if state.settings.write_stored_files:
            state.stored_files_writer = CoalescingWorker(
                "stored-files-writer",
                functools.partial(write_stale_files, state),
                quiet=WRITER_QUIET_SECONDS,
            )
            state.stored_files_writer.start()
        try:
            yield
        finally:
            # Before the engine goes: a pass still writing is interrupted and rolled back.
            if state.stored_files_writer is not None:
                await run_in_threadpool(state.stored_files_writer.stop, WRITER_STOP_SECONDS)
                state.stored_files_writer = None
            state.session_factory = None
            engine.dispose()

    app = FastAPI(
        title="Datapedia",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # The handler's name as its operationId ("list_units", not
        # "list_units_api_v1_geo_units_get"): the method names of generated clients.
        generate_unique_id_function=_operation_id,
    )
    app.state.datapedia = state
    # Outermost last: HEAD becomes GET before CORS and headers are added to every answer;
    # compression sits inside HEAD handling, so HEAD announces what GET would send.
    # Innermost: the JSON's own bytes are tagged, before compression.
    app.add_middleware(JsonValidator)
    app.add_middleware(FastGZip, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=GZIP_LEVEL)
    app.add_middleware(SignalStoredFilesWriter, state=state)
    app.add_middleware(
        RefuseControlCharacters,
        refusal=lambda scope, error: _for_reader(
            Request(scope), error.status, error.to_problem(scope["path"])
        ),
    )
    app.add_middleware(
        RefuseDeepJson,
        exempt=_is_submission,
        refusal=lambda scope, error: _for_reader(
            Request(scope), error.status, error.to_problem(scope["path"])
        ),
    )
    app.add_middleware(LimitBody, exempt=_is_submission)
    app.add_middleware(SchemaGate, state=state, head=head_revision())
    app.add_middleware(SecurityHeaders)
    # A browser sends Origin with a write from the service's own pages (/docs) too.
    app.add_middleware(Cors, write_origins=[*settings.cors_origins, origin_of(settings.base_url)])
    app.add_middleware(HeadAsGet)
    app.add_middleware(RequestContext, send_idle_seconds=settings.send_idle_seconds)
    app.add_middleware(FastHealth)
    app.add_middleware(DateHeader)  # outermost: every answer, /health too
    _install_error_handlers(app)
    _install_docs(app)
    _document_revalidation(app)
    app.include_router(unitsets_router, prefix="/api/v1")
    app.include_router(geo_router, prefix="/api/v1")
    app.include_router(monitors_router, prefix="/api/v1")
    app.include_router(search_router, prefix="/api/v1")
    app.include_router(catalogue_router, prefix="/api/v1")
    app.include_router(stewardship_router, prefix="/api/v1")
    app.include_router(stats_router, prefix="/api/v1")
    app.include_router(downloads_router, prefix="/api/v1")
    app.include_router(ingest_router, prefix="/api/v1")
    app.include_router(auth_router, prefix="/api/v1")
    app.include_router(feedback_router, prefix="/api/v1")
    app.include_router(access_router, prefix="/api/v1")
    app.include_router(rdf_router)
    app.include_router(web_router)
    _install_service_routes(app)
    document_problems(app)
    return app


_SUBMISSION_PATH = re.compile(r"/api/v1/datasets/[^/]+/submissions")


def _is_submission(scope: Scope) -> bool:
    """A submission's body is spooled to disk under ``DATAPEDIA_MAX_UPLOAD_BYTES``."""
    return scope["method"] == "POST" and _SUBMISSION_PATH.fullmatch(scope["path"]) is not None


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DatapediaError)
    async def datapedia_error(request: Request, exc: DatapediaError) -> Response:
        response = _for_reader(request, exc.status, exc.to_problem(str(request.url.path)))
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, Unauthorized):
            response.headers["WWW-Authenticate"] = 'Bearer realm="datapedia"'
        return response

    @app.exception_handler(SQLAlchemyError)
    async def database_error(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        if is_disconnect(exc):
            return unavailable_response(database_away(exc), str(request.url.path))
        if is_refused_write(exc):
            return unavailable_response(write_refused(exc), str(request.url.path))
        return _internal_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [_invalid_input(err) for err in exc.errors()]
        names = ", ".join(e["parameter"] for e in errors)
        if all(e["in"] == "path" for e in errors):
            # A path that does not parse (a number out of range, a word for an id) names
            # nothing: the resource is not there.
            not_found = NotFound(f"no resource at {request.url.path} ({names} out of range)")
            return _for_reader(request, 404, not_found.to_problem(str(request.url.path)))
        return _for_reader(
            request,
            422,
            {
                "type": PROBLEM_TYPE_BASE + "invalid-parameter",
                "title": "Invalid parameter",
                "status": 422,
                "detail": f"invalid value for: {names}",
                "instance": str(request.url.path),
                # Named at the top as every other 422 names it; each one in errors.
                "parameter": errors[0]["parameter"],
                "errors": errors,
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no resource at {request.url.path}"
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "the request body cannot be read: send JSON in UTF-8"
        # The router's own headers: the methods a 405's path takes (Allow), say.
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Every route at the path: the router names only the first one's methods (GET
            # of a dataset, not the PATCH of the next route with the same path). HEAD goes
            # with GET (HeadAsGet answers it), and OPTIONS is answered here.
            allowed = _methods_at(request) | {"OPTIONS"}
            if "GET" in allowed:
                allowed.add("HEAD")
            headers["Allow"] = ", ".join(sorted(allowed, key=_METHOD_ORDER.index))
            if request.method == "OPTIONS":
                return Response(status_code=204, headers=headers)
        response = _for_reader(
            request,
            exc.status_code,
            {
                "type": "about:blank",
                "title": HTTPStatus(exc.status_code).phrase,
                "status": exc.status_code,
                "detail": detail,
                "instance": str(request.url.path),
            },
        )
        response.headers.update(headers)
        return response

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        return _internal_error(request, exc)


_METHOD_ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _methods_at(request: Request) -> set[str]:
    """The methods some route takes at the request's path (asked of the router per method:
    included routers keep their routes to themselves)."""
    routes = request.app.router.routes
    return {
        method
        for method in _METHOD_ORDER
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    }


def _invalid_input(err: Any) -> dict[str, str]:
    """One error of request validation as the problem lists it: the parameter or body field,
    where it was, and why."""
    where = str(err["loc"][0])
    if err.get("type") == "json_invalid":
        # Its location is a character offset, not a field: the body is not JSON at all.
        offset = err["loc"][1] if len(err["loc"]) > 1 else None
        at = f" at character {offset}" if offset is not None else ""
        return {"parameter": "body", "in": where, "reason": f"not valid JSON{at}: {err['msg']}"}
    parameter = ".".join(str(p) for p in err["loc"][1:]) or where
    return {"parameter": parameter, "in": where, "reason": err["msg"]}


def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    # Logged with its traceback for operators; the client never sees internals.
    logger.error("unhandled error on %s", request.url.path, exc_info=exc)
    return internal_error_response(str(request.url.path))


class CachedStaticFiles(StaticFiles):
    """Static assets with ``Cache-Control`` beside Starlette's ``ETag`` and ``Last-Modified``."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = STATIC_CACHE_CONTROL
        return response


def _document_revalidation(app: FastAPI) -> None:
    """The 304 of JsonValidator in the OpenAPI document, on each read of the API that answers
    JSON (the routes document their other answers themselves)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            for template, item in build()["paths"].items():
                read = item.get("get")
                if not template.startswith("/api/") or read is None:
                    continue
                if "application/json" in read["responses"].get("200", {}).get("content", {}):
                    read["responses"].setdefault("304", NOT_MODIFIED_JSON)
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def _install_docs(app: FastAPI) -> None:
    # Swagger UI 5 (OpenAPI 3.1) ships inside the fastapi-offline package: /docs needs no CDN.
    assets = importlib.resources.files("fastapi_offline") / "static"
    app.mount("/static/swagger-ui", CachedStaticFiles(directory=str(assets)), name="swagger-ui")
    # The HTML pages' stylesheet: the Content-Security-Policy allows no inline style.
    app.mount(STATIC_URL, CachedStaticFiles(directory=str(STATIC_DIR)), name="site")

    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Datapedia API",
        swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/static/swagger-ui/swagger-ui.css",
        swagger_favicon_url="/static/swagger-ui/favicon.png",
    )
    # The page starts Swagger UI with one inline script: the CSP allows exactly that script
    # (by its hash) and Swagger UI's own inline styles, nothing from elsewhere.
    inline = re.findall(rb"<script>(.*?)</script>", bytes(page.body), flags=re.S)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in inline
    )
    docs_policy = CONTENT_SECURITY_POLICY.replace(
        "script-src 'self'", f"script-src 'self' {hashes}"
    ).replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

    # The page's language for screen readers (the API's texts are in English); docs.css after
    # swagger-ui.css, for colours that meet WCAG 2.1 AA contrast.
    stylesheet = f'<link rel="stylesheet" href="{STATIC_URL}/docs.css">\n</head>'.encode()
    body = (
        bytes(page.body)
        .replace(b"<html>", b'<html lang="en">', 1)
        .replace(b"</head>", stylesheet, 1)
    )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(body, headers={"Content-Security-Policy": docs_policy})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        # Browsers ask for it beside anything that is not a page of ours (a JSON answer, a
        # download); the site's icon answers, not a 404 in the console.
        return RedirectResponse(f"{STATIC_URL}/favicon.svg", status_code=301)


class ApiIndex(BaseModel):
    """Where to start: the documents and the main collections."""

    title: str
    openapi: str
    docs: str
    catalog: str
    datasets: str
    indicators: str
    geography: str


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    database: Literal["ok"]
    schema_revision: str | None


def _install_service_routes(app: FastAPI) -> None:
    @app.get("/api/v1", tags=["service"], summary="The API's entry point")
    def api_index(request: Request) -> ApiIndex:
        base = app_state(request).settings.base_url
        return ApiIndex(
            title="Datapedia API",
            openapi=f"{base}/openapi.json",
            docs=f"{base}/docs",
            catalog=f"{base}/catalog",
            datasets=f"{base}/api/v1/datasets",
            indicators=f"{base}/api/v1/indicators",
            geography=f"{base}/api/v1/geo/levels",
        )

    # Answered by the FastHealth middleware in front of everything; the route documents it.
    @app.get("/health", tags=["service"], summary="Liveness: the process answers")
    async def health() -> Health:
        return Health(status="ok")

    @app.get(
        "/metrics",
        tags=["service"],
        summary="Prometheus metrics: requests, latency, submissions, publication time",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Exposition format."}},
    )
    def prometheus_metrics() -> Response:
        body, media_type = metrics.render()
        return Response(body, media_type=media_type)

    @app.get(
        "/ready",
        tags=["service"],
        summary="Readiness: the database answers and is migrated",
        response_model=Readiness,
        responses={503: {"model": Problem, "description": "The database is not ready."}},
    )
    async def ready(request: Request) -> Readiness | JSONResponse:
        problem = await readiness(app_state(request), head_revision()).problem()
        if problem is not None:
            return unavailable_response(problem, request.url.path)
        return Readiness(status="ready", database="ok", schema_revision=head_revision())


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory app.main:app_factory`` (each server process)."""
    application = create_app()
    # What the server loaded (rdflib, SQLAlchemy, pydantic models: a large heap) lives as
    # long as the process: out of the cyclic collector's sight, the collections that every
    # request's garbage triggers stay as cheap as a small app's.
    gc.freeze()
    return application
