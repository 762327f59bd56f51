"""What an operator needs around every request, as ASGI middleware: a request id (``X-Request-ID``
in and out, on every log line), metrics and an access log; the schema gate (an unmigrated or
unreachable database answers 503 naming what to do); and the liveness fast path.
Also the logging set-up (text, or JSON with ``DATAPEDIA_LOG_FORMAT=json``)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import anyio.to_thread
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import metrics, repository
from app.api.deps import AppState
from app.api.http import EXPOSED_HEADERS
from app.db.migrate import UnknownRevision, known_revision
from app.db.session import (
    NOT_A_DATABASE_HINT,
    is_disconnect,
    is_not_a_database,
    is_refused_write,
)
from app.errors import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_TYPE_BASE,
    ServiceUnavailable,
    TooManyRequests,
    first_line,
)

# The status counted and logged for a request whose client went away before its answer began
# (nginx's "client closed request"): never sent, and no 5xx of the server's.
CLIENT_CLOSED_REQUEST = 499
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
ACCESS = logging.getLogger("datapedia.access")
logger = logging.getLogger("datapedia")

# Seconds a client should wait before trying again while the database is away.
RETRY_AFTER_SECONDS = 5
UPGRADE_COMMAND = "datapedia db upgrade"
# How long /ready and the schema gate wait for the database's answer: one that took the
# connection and went silent (a stalled network, a stopped server or proxy) is not noticed by
# the driver, which waits as long as the socket stays open.
READY_WAIT_SECONDS = 5.0
# Liveness and monitoring answer whatever state the database is in.
UNGATED_PATHS = frozenset({"/health", "/metrics"})
STOPPED = ServiceUnavailable(
    "the server stopped before this request finished; a write that was still arriving was "
    f"not stored (see the list of submissions). Try again in {RETRY_AFTER_SECONDS} s",
    retry_after=RETRY_AFTER_SECONDS,
)


# A token: no space or bracket that could make a forged access-log line out of it.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


def _valid_request_id(value: str) -> bool:
    return _REQUEST_ID.fullmatch(value) is not None


class RequestContext:
    """Takes the caller's ``X-Request-ID`` (letters, digits and ``._:/+=-``, at most 128
    characters) or makes one,
    returns it on the answer, sets it for every log line of the request, and counts the
    request (route template, status, duration) for ``/metrics`` and the access log; answers
    503 for a request the shutdown cancelled before its answer began."""

    def __init__(self, app: ASGIApp, send_idle_seconds: float = 60.0) -> None:
        self.app = app
        self.send_idle_seconds = send_idle_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        idle = self.send_idle_seconds
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
                break
        if not _valid_request_id(request_id):
            request_id = uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 0  # no answer started yet
        cut_off: str | None = None  # why an answer that began was stopped before its end
        client_left = False

        async def receive_noting_departure() -> Message:
            nonlocal client_left
            message = await receive()
            if message["type"] == "http.disconnect":
                client_left = True
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            # A send waits only while the connection's buffers are full: a client that
            # reads nothing. A streamed answer (a download, an export) holds a database
            # connection and its snapshot meanwhile; so many such sockets took every
            # connection of the pool, and every other request got 503. A large body goes in
            # pieces, each with the whole time: a send waits until the client has taken
            # nearly all of it, and a megabyte takes a slow but live client (a phone on a
            # weak signal) longer than the time allowed for no byte at all.
            for piece in _pieces(message):
                try:
                    async with asyncio.timeout(idle):
                        await send(piece)
                except TimeoutError:
                    raise ClientStalled from None

        try:
            await self.app(scope, receive_noting_departure, send_with_id)
        except ClientStalled as exc:
            cut_off = f"the client took no byte for {idle:g} s"
            logger.warning("answer cut off: %s", cut_off)
            raise AnswerCutOff from exc
        except asyncio.CancelledError:
            # The server cancels what still runs when the graceful shutdown time is out: an
            # answer not yet begun is a 503 problem, not uvicorn's plain-text 500 with two
            # tracebacks in the log.
            if status:
                cut_off = "the shutdown's graceful time was over before the answer's end"
                logger.warning("answer cut off: %s", cut_off)
                raise
            answer = readable_anywhere(unavailable_response(STOPPED, scope["path"]), scope)
            await answer(scope, receive, send_with_id)
        except Exception as exc:
            # Here, not in an exception handler of the app: those of Exception run outside
            # every middleware, after this one has forgotten the request's id — the log line
            # named another request's, and the answer carried none.
            cause = _unwrapped(exc)
            if status:
                # The answer has begun (a streamed export): the server can only cut it off.
                # Said here, once, with the request's id; past this the server closes the
                # connection without a word (see RequestIdFilter).
                if is_disconnect(cause):
                    cut_off = "the database went away before the answer's end"
                    logger.warning("answer cut off: %s (%s)", cut_off, first_line(cause))
                else:
                    cut_off = "an error before the answer's end"
                    logger.error("error on %s", loggable(scope["path"]), exc_info=exc)
                raise AnswerCutOff from exc
            if is_refused_write(cause):
                refused = write_refused(cause)
                answer = readable_anywhere(unavailable_response(refused, scope["path"]), scope)
                await answer(scope, receive, send_with_id)
                return
            if is_disconnect(cause):
                # A streamed answer whose first chunk found no database (gone, or no free
                # connection): nothing was sent yet (the JSON validator holds the start until
                # the first bytes), so the client gets the 503 any other request gets.
                away = database_away(cause)
                answer = readable_anywhere(unavailable_response(away, scope["path"]), scope)
                await answer(scope, receive, send_with_id)
                return
            logger.error("unhandled error on %s", loggable(scope["path"]), exc_info=exc)
            answer = readable_anywhere(internal_error_response(scope["path"]), scope)
            await answer(scope, receive, send_with_id)
        finally:
            if not status and client_left:
                # The client went away before the answer began (a streamed export stops
                # there, and returns without a word): nothing was sent, and no error of the
                # server's is to be counted. nginx's code for it.
                status = CLIENT_CLOSED_REQUEST
                cut_off = cut_off or "the client went away before the answer began"
            status = status or 500
            elapsed = time.perf_counter() - started
            template = route_template(scope)
            metrics.REQUESTS.labels(method_label(scope["method"]), template, str(status)).inc()
            metrics.LATENCY.labels(template).observe(elapsed)
            ACCESS.info(
                "%s %s %d %.1f ms%s",
                scope["method"],
                loggable(scope["path"]),
                status,
                elapsed * 1000,
                f" (cut off: {cut_off})" if cut_off else "",
                extra={
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "cut_off": cut_off is not None,
                },
            )
            REQUEST_ID.reset(token)


def _unwrapped(exc: Exception) -> Exception:
    """The error itself: Starlette re-raises an error of a streamed answer that has a handler
    (a database error) as a RuntimeError once the answer's start was sent, the error as its
    cause."""
    cause = exc.__cause__
    if type(exc) is RuntimeError and isinstance(cause, Exception) and "already started" in str(exc):
        return cause
    return exc


def readable_anywhere(response: JSONResponse, scope: Scope) -> JSONResponse:
    """An answer made here, around the CORS layer (a request the shutdown cancelled, an
    unexpected error), with the headers that layer would have given it: without them a
    browser app on another origin saw a CORS error, not the problem and its Retry-After.
    ``*`` for every origin: no answer of the service is sent with credentials."""
    if any(name == b"origin" for name, _ in scope["headers"]):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
    return response


def loggable(text: str) -> str:
    """``text`` with its control characters escaped (``\\n``, ``\\x00``): a path cannot
    write a line of its own into the log, or make it a binary file for grep."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def route_template(scope: Scope) -> str:
    """The matched route's path template with its router's prefix (``/api/v1/datasets/
    {dataset_id}``): a bounded label for metrics, whatever ids clients send."""
    route = scope.get("route")
    local = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(local, str):
        return "unmatched"
    try:
        concrete = local.format(**scope.get("path_params", {}))
    except (KeyError, IndexError, ValueError):
        return local
    path: str = scope["path"]
    prefix = path[: -len(concrete)] if concrete and path.endswith(concrete) else ""
    return prefix + local


class ReadinessCheck:
    """:func:`schema_problem`, asked in one thread at a time and waited for at most
    READY_WAIT_SECONDS: a silent database holds that thread, not the probe, which gets 503
    in bounded time; the requests meanwhile wait for the same question instead of each
    leaving a thread of the pool behind. Its answer, when it comes, serves the next ones."""

    def __init__(self, state: AppState, head: str | None) -> None:
        self.state = state
        self.head = head
        self._asked: asyncio.Future[ServiceUnavailable | None] | None = None

    async def problem(self) -> ServiceUnavailable | None:
        if self._asked is None or self._asked.done():
            self._asked = asyncio.ensure_future(
                anyio.to_thread.run_sync(schema_problem, self.state, self.head)
            )
        try:
            # Shielded: a request that gives up (or times out) leaves the question asked.
            return await asyncio.wait_for(asyncio.shield(self._asked), READY_WAIT_SECONDS)
        except TimeoutError:
            logger.warning("database silent: no answer within %s s", READY_WAIT_SECONDS)
            return ServiceUnavailable(
                f"the database took the connection but has not answered within "
                f"{READY_WAIT_SECONDS:g} s; nothing was done. Try again in "
                f"{RETRY_AFTER_SECONDS} s",
                retry_after=RETRY_AFTER_SECONDS,
            )


def readiness(state: AppState, head: str | None) -> ReadinessCheck:
    """The app's one :class:`ReadinessCheck` (the gate's and ``/ready``'s)."""
    return state.cache("readiness", lambda: ReadinessCheck(state, head))


class SchemaGate:
    """Until the database answers at the code's schema revision, every route but liveness and
    metrics answers 503 problem+json: with the command to run when it is not migrated, with
    ``Retry-After`` when it does not answer. Once it did, the gate costs a flag test."""

    def __init__(self, app: ASGIApp, state: AppState, head: str | None) -> None:
        self.app = app
        self.state = state
        self.head = head

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.state.schema_ready or scope["type"] != "http" or scope["path"] in UNGATED_PATHS:
            await self.app(scope, receive, send)
            return
        problem = await readiness(self.state, self.head).problem()
        if problem is None:
            await self.app(scope, receive, send)
            return
        await unavailable_response(problem, scope["path"])(scope, receive, send)


def schema_problem(state: AppState, head: str | None) -> ServiceUnavailable | None:
    """Why the database is not ready for this code (it does not answer, it is not migrated,
    or a newer release migrated it), or None; the schema gate opens on None and closes
    again on a problem (``/ready`` asks every time: a rolling upgrade's newer release may
    migrate the database under a running server)."""
    factory = state.session_factory
    assert factory is not None, "the lifespan creates the session factory"
    rights: repository.WriteRights | None = None
    try:
        with factory() as session:
            revision = repository.schema_revision(session)
            if revision == head and session.get_bind().dialect.name == "postgresql":
                rights = repository.write_rights(session)
    except SQLAlchemyError as exc:
        if is_disconnect(exc):
            return database_away(exc)
        if is_not_a_database(exc):
            # Not "run db upgrade": no migration writes into such a file.
            return ServiceUnavailable(
                f"the database cannot be read: {first_line(exc)}. {NOT_A_DATABASE_HINT}"
            )
        revision = None  # no alembic_version table: never migrated
    refused = None if rights is None else writes_refused(rights)
    state.schema_ready = revision == head and refused is None
    if revision == head:
        return refused
    if revision is not None and not known_revision(revision):
        return ServiceUnavailable(str(UnknownRevision(revision)))
    found = f"is at revision {revision}" if revision else "has no schema yet"
    return ServiceUnavailable(
        f"the database {found}; this version needs revision {head}: run "
        f"'{UPGRADE_COMMAND}' (with the same DATAPEDIA_DATABASE_URL)",
        command=UPGRADE_COMMAND,
    )


GRANT_ADVICE = (
    "Datapedia writes as it serves (key use, document dates, submissions): give the user of "
    "DATAPEDIA_DATABASE_URL SELECT, INSERT, UPDATE and DELETE on every table and USAGE on "
    "every sequence of the schema, on the primary server"
)


def writes_refused(rights: repository.WriteRights) -> ServiceUnavailable | None:
    """The readiness problem of a database user that may not write, or None."""
    if rights.read_only:
        return ServiceUnavailable(
            "the database accepts no writes from this service (a standby server, or "
            f"read-only transactions for its user). {GRANT_ADVICE}"
        )
    if rights.unwritable is not None:
        return ServiceUnavailable(
            f"the database user may not write {rights.unwritable!r}. {GRANT_ADVICE}"
        )
    return None


def write_refused(exc: BaseException) -> ServiceUnavailable:
    """The answer to a request whose statement the database refused to this user (rights
    taken away while the server runs): one error line for the operator, no traceback."""
    logger.error("the database refused this service's statement: %s", first_line(exc))
    return ServiceUnavailable(
        f"the database refused this service's write; nothing was done. {GRANT_ADVICE}"
    )


def database_away(exc: BaseException) -> ServiceUnavailable:
    logger.warning("database unavailable: %s", first_line(exc))
    return ServiceUnavailable(
        f"the database does not answer at the moment; nothing was done. Try again in "
        f"{RETRY_AFTER_SECONDS} s",
        retry_after=RETRY_AFTER_SECONDS,
    )


def internal_error_response(instance: str) -> JSONResponse:
    """The 500 problem answer: an unexpected error, logged for operators; the client never
    sees its internals."""
    return JSONResponse(
        {
            "type": PROBLEM_TYPE_BASE + "internal-error",
            "title": "Internal error",
            "status": 500,
            "detail": "An unexpected error occurred; it has been logged.",
            "instance": instance,
        },
        status_code=500,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def unavailable_response(
    error: ServiceUnavailable | TooManyRequests, instance: str
) -> JSONResponse:
    """The problem answer of a refusal made outside a route (a middleware, a streamed body):
    503 (try again later) or 429 (too many of yours), with ``Retry-After``."""
    response = JSONResponse(
        error.to_problem(instance), status_code=error.status, media_type=PROBLEM_MEDIA_TYPE
    )
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


# The methods the service answers; any other is counted as one (a label taken as sent would
# let any client add series to every scrape without end).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


HEALTH_BODY = b'{"status":"ok"}'
HEALTH_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(HEALTH_BODY)).encode()),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    # What the other layers put on every answer (it skips them): the same policies.
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"access-control-allow-origin", b"*"),
]


class FastHealth:
    """``GET``/``HEAD /health`` answered before any other layer: a liveness probe polled every
    few seconds by every orchestrator should cost next to nothing (the route stays for the
    OpenAPI document)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/health"
            and scope["method"] in ("GET", "HEAD")
        ):
            await send({"type": "http.response.start", "status": 200, "headers": HEALTH_HEADERS})
            body = HEALTH_BODY if scope["method"] == "GET" else b""
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


class AnswerCutOff(asyncio.CancelledError):
    """An answer that began could not be finished: the request logged why already. Raised
    past the application (a cancellation, which Starlette's error middleware lets pass), so
    that the server only closes the connection."""


# The most of an answer's body given to the server in one send (see RequestContext).
SEND_PIECE_BYTES = 1 << 16


def _pieces(message: Message) -> Iterator[Message]:
    """``message``, or a body larger than SEND_PIECE_BYTES as body messages of that size
    (the last keeps the original's ``more_body``)."""
    body = message.get("body", b"")
    if message["type"] != "http.response.body" or len(body) <= SEND_PIECE_BYTES:
        yield message
        return
    view = memoryview(body)
    for start in range(0, len(body), SEND_PIECE_BYTES):
        end = start + SEND_PIECE_BYTES
        last = end >= len(body)
        yield {
            "type": "http.response.body",
            "body": bytes(view[start:end]),
            "more_body": message.get("more_body", False) if last else True,
        }


class ClientStalled(Exception):
    """The client took no byte of the answer for ``DATAPEDIA_SEND_IDLE_SECONDS``. An ordinary
    exception on its way out of the application (a cancellation would be taken for the
    streaming task group's own and swallowed there), so that the response and the request's
    session are left at once; past the application it is an :class:`AnswerCutOff`, and the
    server closes the connection."""


# uvicorn's line when it cancels the requests still running at the end of the grace period.
_GRACE_RAN_OUT = "Cancel %s running task(s)"


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        # uvicorn's copy of some messages with terminal colours: noise in a JSON line.
        record.__dict__.pop("color_message", None)
        error = record.exc_info[1] if record.exc_info is not None else None
        if record.name == "uvicorn.error" and isinstance(error, asyncio.CancelledError):
            # An answer cut off (the shutdown stopped a long download, the database went
            # away during an export): the request said so with its id, and its access line
            # too; this is no error of the application, and no traceback of its.
            return False
        if record.name == "uvicorn.error" and str(record.msg).startswith(_GRACE_RAN_OUT):
            # The shutdown's grace ran out with answers still being sent: what the setting
            # is for (DATAPEDIA_GRACEFUL_SHUTDOWN_SECONDS), and each cut-off answer is logged
            # on its own; a warning, not an error that pages an operator at every deploy.
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        if record.name.startswith("sqlalchemy.pool") and error is not None:
            # The pool closing or resetting a connection the database dropped (the driver's
            # own error, unwrapped): one line, not a traceback.
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = f"{record.getMessage()}: {first_line(error)}", ()
            record.exc_info, record.exc_text = None, None
        return True


def logging_config(fmt: str, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the server (uvicorn passes it to every worker):
    one handler on stderr, text or one JSON object per line, each with the request id."""
    formatters: dict[str, Any] = {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(process)d %(request_id)s] %(message)s",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(levelname)s %(name)s %(process)d %(request_id)s %(message)s",
            # ISO 8601 in UTC ("2026-12-06T04:23:11.404000+00:00"), as log collectors parse.
            "timestamp": "time",
            "rename_fields": {
                "levelname": "level",
                "name": "logger",
                "process": "pid",
            },
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": formatters,
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            # Our access log carries the request id and the duration; uvicorn's would not.
            "uvicorn.access": {"handlers": [], "propagate": False},
            "alembic": {"level": "WARNING"},
        },
    }
