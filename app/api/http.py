"""HTTP conventions every response follows, as ASGI middleware: ``HEAD`` wherever ``GET``
answers, CORS (reads from any origin, writes only from configured ones), security headers,
a bound on request bodies, and gzip for clients that accept it.
"""

from __future__ import annotations

import hashlib
import re
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate, parsedate_to_datetime
from typing import cast
from urllib.parse import parse_qsl, urlsplit

from isal import isal_zlib
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware, GZipResponder, IdentityResponder
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.text import control_character
from app.db.queries import as_utc
from app.errors import (
    PROBLEM_MEDIA_TYPE,
    DatapediaError,
    Forbidden,
    InvalidParameter,
    NotFound,
    PayloadTooLarge,
    RangeNotSatisfiable,
)

READ_METHODS = ("GET", "HEAD", "OPTIONS")
# Stored files of public values may be kept a minute by any cache. Restricted values are
# read with a key, each read logged: a shared cache must never keep them (it would hand them
# on, unlogged, to whoever asks next).
PUBLIC_CACHE_CONTROL = "public, max-age=60"
PRIVATE_CACHE_CONTROL = "private, no-store"


def request_line(request: Request) -> str:
    """What a request asked for (for the audit log): method, path and query as sent."""
    query = request.url.query
    return f"{request.method} {request.url.path}{'?' + query if query else ''}"


def cache_control(public: bool) -> str:
    return PUBLIC_CACHE_CONTROL if public else PRIVATE_CACHE_CONTROL


def weak(etag: str) -> str:
    """The ``ETag`` header of a representation sent plain or gzip-compressed, as the client
    asks: weak, since a strong tag names one sequence of bytes (RFC 9110 §8.8.1) and the
    compressed bytes are another; one tag for both, on a 200 and on a 304 alike."""
    return etag if etag.startswith("W/") else f"W/{etag}"


def not_modified(headers: Headers, etag: str, last_modified: datetime | None) -> bool:
    """Whether the client's copy still holds (RFC 9110 §13.1): ``If-None-Match`` when sent,
    compared weakly (a ``W/`` prefix is ignored, as a GET's 304 allows), else
    ``If-Modified-Since`` against ``last_modified`` to the second; an unreadable date is
    ignored."""
    match = headers.get("if-none-match")
    if match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in match.split(",")]
        return match.strip() == "*" or etag.removeprefix("W/") in tags
    since = headers.get("if-modified-since")
    if not since or last_modified is None:
        return False
    try:
        moment = as_utc(parsedate_to_datetime(since))  # "-0000" parses without a zone
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
    return as_utc(last_modified).replace(microsecond=0) <= moment


def digest_tag(body: bytes) -> str:
    """An entity tag naming ``body``'s bytes (as the stored files' name theirs)."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``first`` to ``last`` (both included) of a representation of ``size`` bytes."""

    first: int
    last: int
    size: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.first}-{self.last}/{self.size}"


# One range-spec: "a-b", "a-" or "-n" (RFC 9110 §14.1.1), optional whitespace around it.
_RANGE_SPEC = re.compile(r"[ \t]*([0-9]*)-([0-9]*)[ \t]*")
# No file has 10¹⁹ bytes: a position of more digits is as far beyond every end as that one.
# (Read whole, thousands of digits are more than int() takes: a ValueError, a 500.)
_POSITION_DIGITS = 19


def _position(digits: str) -> int:
    """A byte position as written, any number of digits long."""
    stripped = digits.lstrip("0") or "0"
    return int(stripped) if len(stripped) <= _POSITION_DIGITS else 10**_POSITION_DIGITS


def requested_range(headers: Headers, size: int) -> ByteRange | None:
    """The one byte range a GET asks for (RFC 9110 §14.2) of a representation of ``size``
    bytes, or None for the whole of it: no ``Range``, one the server may ignore (another
    unit, malformed, several ranges — a 200 with everything is an allowed answer to any of
    them), or any ``If-Range``. Raises :class:`RangeNotSatisfiable` for a range that starts
    at or beyond the end (or a suffix of 0 bytes).

    ``If-Range`` needs a strong validator (§13.1.5): the ``ETag``s here are weak (one tag for
    the plain and the gzip bytes), and a ``Last-Modified`` date is strong only if the file
    cannot have been written twice within its second, which nothing here guarantees. So the
    condition never holds and the whole representation is sent, as the RFC asks of a
    condition that is false; a client resuming without ``If-Range`` (``curl -C -``,
    ``wget -c``) gets its range."""
    value = headers.get("range")
    if value is None or headers.get("if-range") is not None:
        return None
    unit, equals, ranges = value.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    specs = [spec for spec in ranges.split(",") if spec.strip()]  # empty list items are allowed
    if len(specs) != 1:
        return None
    parsed = _RANGE_SPEC.fullmatch(specs[0])
    if parsed is None or parsed.group(1) == parsed.group(2) == "":
        return None
    first_digits, last_digits = parsed.group(1), parsed.group(2)
    if not first_digits:  # the last n bytes
        suffix = _position(last_digits)
        if suffix == 0:
            raise RangeNotSatisfiable(f"a range of the last 0 bytes holds nothing: {value}", size)
        if size == 0:
            return None
        return ByteRange(max(0, size - suffix), size - 1, size)
    first = _position(first_digits)
    last = _position(last_digits) if last_digits else None
    if last is not None and last < first:
        return None  # invalid (last before first): ignored like any malformed range
    if first >= size:
        raise RangeNotSatisfiable(
            f"the range {value} starts beyond the last byte of the {size} bytes", size
        )
    return ByteRange(first, size - 1 if last is None else min(last, size - 1), size)


# What a browser app may read from a cross-origin answer besides the safelisted headers.
EXPOSED_HEADERS = [
    "Link",
    "ETag",
    "Last-Modified",
    "Retry-After",
    "Content-Disposition",
    "Accept-Ranges",
    "Content-Range",
    # Returned on every answer so that a user's report can be found in the logs.
    "X-Request-ID",
]

# The request headers a browser app may send. Reads carry no credentials (no cookie: a key is
# an Authorization header the app sets itself), so any header is let through the preflight —
# a list refused the app that sent ``Cache-Control: no-cache``, jQuery's ``X-Requested-With``
# or an ``X-Request-ID`` of its own, with nothing but a CORS error in its console. The write
# origins, trusted to write with a key, read with the same headers as any other origin.
ALLOWED_REQUEST_HEADERS = ["*"]

# HTML pages load only the app's own assets: no inline script or style, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


# How an error found before any route is answered (the app's error handlers' way).
Refusal = Callable[[Scope, DatapediaError], Response]


def problem_refusal(scope: Scope, error: DatapediaError) -> Response:
    problem = error.to_problem(scope["path"])
    return JSONResponse(problem, status_code=error.status, media_type=PROBLEM_MEDIA_TYPE)


async def _refuse(error: DatapediaError, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer from a middleware, before any route, as the error handlers would."""
    await problem_refusal(scope, error)(scope, receive, send)


class RefuseControlCharacters:
    """No path or query names anything with a control character in it (PostgreSQL cannot
    even compare text holding a NUL): a path is 404, a query parameter 422 naming it."""

    def __init__(self, app: ASGIApp, refusal: Refusal = problem_refusal) -> None:
        self.app = app
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        error = self._problem(scope)
        if error is None:
            await self.app(scope, receive, send)
        else:
            await self.refusal(scope, error)(scope, receive, send)

    @staticmethod
    def _problem(scope: Scope) -> DatapediaError | None:
        if control_character(scope["path"]) is not None:
            return NotFound("no resource has a control character in its path")
        query = scope.get("query_string", b"").decode("latin-1")
        for name, value in parse_qsl(query, keep_blank_values=True):
            if control_character(name) is not None or control_character(value) is not None:
                return InvalidParameter(name, f"invalid value for: {name!r} (a control character)")
        return None


# Every body but a submission's is a JSON document of a few kilobytes (a feedback message of
# 5,000 characters, a dataset's metadata, a unit set of a few hundred units).
MAX_BODY_BYTES = 1 << 20


class LimitBody:
    """A body larger than :data:`MAX_BODY_BYTES` is refused (413) before any route reads it,
    so that no request, with a key or without, makes a worker hold a body of any size.
    ``exempt`` requests (submissions: spooled to disk under a limit of their own) pass."""

    def __init__(self, app: ASGIApp, exempt: Callable[[Scope], bool]) -> None:
        self.app = app
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS or self.exempt(scope):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            # The server delivers no more than the declared length: checking it is enough.
            if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                await _refuse(_too_large(), scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        # A body of unknown length (chunked) is read here, up to the limit, and handed on.
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away: the route finds out as it would have
            size += len(message.get("body", b""))
            if size > MAX_BODY_BYTES:
                await _refuse(_too_large(), scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


# The nesting a JSON body may have. Python's parser, which FastAPI uses, gives up at about a
# thousand levels with a RecursionError answered as a body it cannot read (400): the limit
# lies well below, the same for every route (submissions are read by orjson: 1,024).
MAX_JSON_DEPTH = 512
# A string, escapes included; one left open runs to the end of the body.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENERS = frozenset(b"[{")


def too_deep(body: bytes) -> bool:
    """Whether ``body`` holds arrays or objects nested deeper than :data:`MAX_JSON_DEPTH`
    (brackets inside strings do not count). Whether it is JSON at all is the parser's to say."""
    # Counting is cheap; the brackets are followed only when enough could nest that deep.
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for byte in _STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        if byte in _OPENERS:
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        else:
            depth -= 1
    return False


def _is_json(scope: Scope) -> bool:
    media_type = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
    # FastAPI reads a body without a media type as JSON too.
    return media_type in ("", "application/json") or media_type.endswith("+json")


class RefuseDeepJson:
    """A JSON body nested deeper than :data:`MAX_JSON_DEPTH` is a 422 naming the body, before
    any route reads it. Bodies reach it bounded by :class:`LimitBody`; ``exempt`` requests
    (submissions: their parser says the same of their rows) pass."""

    def __init__(
        self, app: ASGIApp, exempt: Callable[[Scope], bool], refusal: Refusal = problem_refusal
    ) -> None:
        self.app = app
        self.exempt = exempt
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in READ_METHODS
            or self.exempt(scope)
            or not _is_json(scope)
        ):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away: the route finds out as it would have
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        if too_deep(b"".join(chunks)):
            reason = (
                f"not valid JSON: nested deeper than {MAX_JSON_DEPTH} levels (depth limit exceeded)"
            )
            error = InvalidParameter(
                "body",
                f"invalid value for: body ({reason})",
                errors=[{"parameter": "body", "in": "body", "reason": reason}],
            )
            await self.refusal(scope, error)(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the body is larger than the limit of {MAX_BODY_BYTES} bytes (submissions have a "
        "limit of their own)"
    )


HEAD_KEY = "datapedia.head"
"""Set in the scope of a ``HEAD`` request routed as ``GET``: a route whose body is costly to
produce (a streamed dump) may answer with the headers alone (:func:`is_head`)."""


def is_head(scope: Scope) -> bool:
    return bool(scope.get(HEAD_KEY))


class _BodyNotNeeded(Exception):
    """A ``HEAD`` answer has its headers: the rest of a streamed body is not made."""


class HeadAsGet:
    """Answers ``HEAD`` with the headers ``GET`` would send and no body (RFC 9110 §9.3.2)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] != "http.response.body":
                await send(message)
                return
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            if message.get("more_body", False):
                # The headers are sent: a streamed answer (an export of a million rows, a
                # stored file read piece by piece) is not formatted on to be thrown away.
                raise _BodyNotNeeded

        inner = {**scope, "method": "GET", HEAD_KEY: True}
        try:
            await self.app(inner, receive, send_without_body)
        except _BodyNotNeeded:
            pass
        finally:
            # The route the GET matched: the metrics and the access log name it for HEAD too.
            for key in ("route", "path_params"):
                if key in inner:
                    scope[key] = inner[key]


def origin_of(url: str) -> str:
    """The browser's ``Origin`` of pages under ``url``: scheme://host[:port], without a
    default port."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    port = "" if parts.port in (None, default) else f":{parts.port}"
    return f"{parts.scheme}://{parts.hostname}{port}"


class Cors:
    """Open data is readable from every origin (``GET``, ``HEAD``, ``OPTIONS``); browser apps
    may write only from the configured origins (the service's own pages, its API explorer
    among them, are always one). A write that carries any other ``Origin`` is
    refused with 403 before it reaches a handler (requests without ``Origin`` — servers,
    scripts — are not browsers' and pass)."""

    def __init__(self, app: ASGIApp, write_origins: Sequence[str]) -> None:
        self.app = app
        self.write_origins = frozenset(write_origins)
        self.read_cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=list(READ_METHODS),
            allow_headers=ALLOWED_REQUEST_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=3600,
        )
        self.write_cors = CORSMiddleware(
            app,
            allow_origins=sorted(self.write_origins),
            allow_methods=["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=ALLOWED_REQUEST_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=3600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = Headers(scope=scope).get("origin")
        if origin is not None and origin.rstrip("/") in self.write_origins:
            await self.write_cors(scope, receive, send)
            return
        if origin is not None and scope["method"] not in READ_METHODS:
            refusal = Forbidden(
                f"cors:{origin}",
                f"writes from the browser origin {origin} are not allowed; an operator can "
                "allow it with DATAPEDIA_CORS_ORIGINS",
            )
            await _refuse(refusal, scope, receive, send)
            return
        await self.read_cors(scope, receive, send)


class DateHeader:
    """The ``Date`` of every answer, written as its headers are sent, and no ``Last-Modified``
    later than it (RFC 9110 §8.8.2.1: the server must send the Date in its place). A document
    is dated when it is first sent, by the database's clock on PostgreSQL; the Date uvicorn
    writes is renewed once a second, and lagged such a date by a second or two, so a harvester
    read a document modified after the answer that sent it. ``datapedia serve`` turns
    uvicorn's own Date off (``date_header``): this one is the only one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.second = -1
        self.date = ""

    def _date(self, second: int) -> str:
        if second != self.second:  # formatted once a second
            self.second, self.date = second, formatdate(second, usegmt=True)
        return self.date

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                now = int(time.time())
                date = self._date(now)
                headers["Date"] = date
                modified = headers.get("last-modified")
                if modified is not None and _later_than(modified, now):
                    headers["Last-Modified"] = date
            await send(message)

        await self.app(scope, receive, send_with_date)


def _later_than(http_date: str, moment: int) -> bool:
    """Whether the HTTP date (whole seconds) lies after ``moment`` (seconds since the epoch);
    an unreadable one is left as it is."""
    try:
        return parsedate_to_datetime(http_date).timestamp() > moment
    except (TypeError, ValueError, IndexError, OverflowError):
        return False


class SecurityHeaders:
    """``nosniff`` and a referrer policy on every answer; a strict CSP on HTML that has none;
    ``private, no-store`` on an answer to a request with an API key that says nothing of
    caching (restricted values, a caller's keys or inbox: no cache may keep them after the
    grant or the key is revoked)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        keyed = any(name == b"authorization" for name, _ in scope["headers"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if keyed:
                    headers.setdefault("Cache-Control", PRIVATE_CACHE_CONTROL)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether the client takes gzip: named (or ``*``, when gzip is not named) with a weight
    above 0 — ``gzip;q=0`` refuses it (RFC 9110, 12.5.3)."""
    weights: dict[str, float] = {}
    for item in (accept_encoding or "").split(","):
        name, *params = (part.strip() for part in item.split(";"))
        weight = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if name:
            weights[name.lower()] = weight
    found = weights.get("gzip", weights.get("x-gzip", weights.get("*")))
    return found is not None and found > 0


class FastGZip(GZipMiddleware):
    """Starlette's gzip middleware with ISA-L's deflate (python-isal) in place of zlib's:
    same gzip format, any client inflates it. A million-row CSV export (89 MB) takes
    0.14 s of CPU at ISA-L's level 2 against 1.59 s at zlib's level 6, for 7 % more bytes
    (15.9 against 14.9 MB); the compressor shares two cores with the database and the
    formatting, so its CPU is export time (benchmarks/RESULTS.md, "Streamed CSV export")."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return

        async def send_once_each(message: Message) -> None:
            # Starlette's responders append Accept-Encoding to a Vary the response may
            # already carry (one that varies by encoding whether compressed or not).
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if message["status"] == 304:
                    # No body to compress, so the responders add nothing; but a 304 sends the
                    # Vary its 200 would (RFC 9110 §15.4.5), and a cache takes it from there.
                    headers.add_vary_header("Accept-Encoding")
                if "vary" in headers:
                    tokens = [t.strip() for t in headers["vary"].split(",") if t.strip()]
                    headers["vary"] = ", ".join({t.lower(): t for t in tokens}.values())
            await send(message)

        if not accepts_gzip(Headers(scope=scope).get("Accept-Encoding")):
            identity = IdentityResponder(
                self.app, self.minimum_size, exclude_content_types=self.exclude_content_types
            )
            await identity(scope, receive, send_once_each)
            return
        responder = _IsalGZipResponder(
            self.app,
            self.minimum_size,
            compresslevel=self.compresslevel,
            thread_minimum_size=self.thread_minimum_size,
            exclude_content_types=self.exclude_content_types,
        )
        await responder(scope, receive, send_once_each)


class _IsalGZipResponder(GZipResponder):
    @property
    def compressor(self) -> zlib._Compress:
        if self._compressor is None:
            # The same methods and flush modes as zlib's object (a duck, typed as zlib's).
            self._compressor = cast(
                "zlib._Compress",
                isal_zlib.compressobj(
                    self.compresslevel, isal_zlib.DEFLATED, 16 + isal_zlib.MAX_WBITS
                ),
            )
        return self._compressor


NOT_MODIFIED_JSON = {
    "description": "Not modified: the `ETag` sent in `If-None-Match` still names the answer."
}


class JsonValidator:
    """An ``ETag`` on every whole JSON answer of the API to ``GET`` (``HEAD``) that has none,
    naming its bytes, and ``304 Not Modified`` when the client's ``If-None-Match`` holds it:
    a harvester, a dashboard or a browser app polling a dataset, its observations or the
    monitors pays for an unchanged answer with a few headers. The answer is still made (its
    tag is the hash of its bytes; no key of the database's own follows all that a JSON answer
    shows); streamed answers (exports) pass as they are. Weak: gzip is applied outside."""

    def __init__(self, app: ASGIApp, prefix: str = "/api/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith(self.prefix)
        ):
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        held: Message | None = None

        async def send_with_tag(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                held = message
                return
            if held is None:  # after the first body message: the rest of a stream
                await send(message)
                return
            start, held = held, None
            headers = MutableHeaders(scope=start)
            if (
                message["type"] != "http.response.body"
                or message.get("more_body", False)
                or start["status"] != 200
                or "etag" in headers
                or headers.get("content-type", "").split(";")[0].strip() != "application/json"
            ):
                await send(start)
                await send(message)
                return
            tag = weak(digest_tag(message.get("body", b"")))
            headers["ETag"] = tag
            if not not_modified(request_headers, tag, None):
                await send(start)
                await send(message)
                return
            for name in ("content-length", "content-type"):
                del headers[name]
            await send({**start, "status": 304})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(scope, receive, send_with_tag)
