"""Dependencies shared by the routers: application state, the request's unit of work,
paging and the list envelope."""

from __future__ import annotations

import difflib
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, cast, get_args, get_origin
from urllib.parse import urlencode

from fastapi import Depends, Path, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.api.background import CoalescingWorker
from app.api.lastmodified import DocumentDates, FirstSeen
from app.api.params import text_path
from app.api.ratelimit import CLIENT_ADDRESS_PREFIX, MemoryRateLimiter, RateLimiter
from app.api.schemas import ItemT, Page
from app.config import Settings
from app.db.session import is_disconnect, is_write_conflict
from app.errors import Conflict, InvalidParameter, first_line

# Integers in queries are refused beyond 64 bits (422) before they reach the database.
INT64_MAX = 2**63 - 1
# Numeric ids are INTEGER columns (32-bit on PostgreSQL, which refuses to compare them with a
# larger number): a larger id in a path names nothing (404 by the validation handler).
DB_ID_MAX = 2**31 - 1
DbId = Annotated[int, Path(ge=1, le=DB_ID_MAX, description="A numeric id.")]
# A text id in a path (dataset, organisation): short and printable, else it names nothing.
TextId = Annotated[str, text_path("An id.")]

# The deepest page a client may ask for: beyond it OFFSET paging is no longer a sensible way
# to read a list (use filters, or the CSV download for bulk).
MAX_PAGE = 100_000

logger = logging.getLogger("datapedia")

CacheT = TypeVar("CacheT")


@dataclass
class AppState:
    """What the application holds between requests, typed (``app.state.datapedia``)."""

    settings: Settings
    session_factory: sessionmaker[Session] | None = None
    # In memory by default; the lifespan shares them through PostgreSQL when it is the database.
    submission_limiter: RateLimiter = field(
        default_factory=lambda: MemoryRateLimiter("submissions")
    )
    feedback_limiter: RateLimiter = field(
        default_factory=lambda: MemoryRateLimiter("feedback posts")
    )
    # Since when each document without a date of its own has been answered as it is now.
    document_dates: DocumentDates = field(default_factory=FirstSeen)
    # Set once the database answered at the code's schema revision (app.api.observe).
    schema_ready: bool = False
    # Stored files being sent (app.downloads.router.StoredFileResponse): each holds a
    # database connection until its last byte is taken.
    files_sent: int = 0
    # ... by client address: one address takes at most a third of the places.
    files_sent_to: Counter[str] = field(default_factory=Counter)
    # Caches of rendered answers, by name. They live as long as this state, so as the database
    # it was started on: one per worker in production, one per world in the tests (which start
    # one app on many databases whose change counters can hold the same value).
    caches: dict[str, object] = field(default_factory=dict)
    # The response that sends a stored whole-dataset file (by dataset and export format: the
    # CSV or the JSON-stat cube) of a dataset's current revision, or None when none is stored for
    # it yet; given by the downloads layer, which sits above the statistics routes that serve
    # it: the lifespan sets it. None: every export streams.
    stored_file: Callable[[Request, Session, str, str], Response | None] | None = None
    # Writes the stored files a successful write made stale, in the background (the lifespan
    # starts it unless DATAPEDIA_WRITE_STORED_FILES is off). None: no thread; files are
    # written at their first download.
    stored_files_writer: CoalescingWorker | None = None

    def cache(self, name: str, make: Callable[[], CacheT]) -> CacheT:
        found = self.caches.get(name)
        if found is None:
            found = self.caches[name] = make()
        return cast(CacheT, found)


# Parameters a browser or a library adds to any URL (jQuery's cache buster "_=…"): ignored.
_IGNORED_PREFIX = "_"
# The route's query parameter names, kept on the route itself (routes are unhashable, and an
# id could be reused by another app's route once the first is gone).
_KNOWN_ATTRIBUTE = "datapedia_query_names"


def refuse_unknown_parameters(request: Request) -> None:
    """A query parameter the route does not take is a 422 naming it (with the closest one it
    does take): ``year=2025`` or ``indicators=…`` silently ignored would answer with every
    year or every indicator, and the reader would take it for the answer. So is a parameter
    that takes one value given twice: ``level=sector&level=municipality`` would otherwise
    answer for the last one only."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    names: tuple[frozenset[str], frozenset[str]] | None = getattr(route, _KNOWN_ATTRIBUTE, None)
    if names is None:
        params = _query_params(route.dependant)
        names = (
            frozenset(alias for alias, _ in params),
            frozenset(alias for alias, annotation in params if not _takes_many(annotation)),
        )
        setattr(route, _KNOWN_ATTRIBUTE, names)
    known, single = names
    for name in request.query_params:
        if name in known or name.startswith(_IGNORED_PREFIX):
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"it takes {', '.join(sorted(known))}"
        raise InvalidParameter(name, f"unknown parameter {name!r}: {hint}")
    for name in single:
        given = request.query_params.getlist(name)
        if len(given) > 1:
            raise InvalidParameter(
                name, f"{name!r} takes one value; it was given {len(given)}: {', '.join(given)}"
            )


def _query_params(dependant: Dependant) -> list[tuple[str, Any]]:
    """(name, type) of every query parameter of the route and its dependencies."""
    params = [(p.alias, p.field_info.annotation) for p in dependant.query_params]
    for sub in dependant.dependencies:
        params.extend(_query_params(sub))
    return params


def _takes_many(annotation: Any) -> bool:
    """Whether a parameter's type is a list of values (``list[str] | None`` included)."""
    if get_origin(annotation) in (Union, UnionType):
        return any(_takes_many(arg) for arg in get_args(annotation) if arg is not type(None))
    if get_origin(annotation) is Annotated:
        return _takes_many(get_args(annotation)[0])
    return get_origin(annotation) in (list, tuple, set, frozenset, Sequence)


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.datapedia
    return state


def limit_feedback(request: Request, key_id: int | None, settings: Settings) -> None:
    """Count one feedback post: per key, or without one per client address (429 above)."""
    limiter = app_state(request).feedback_limiter
    if key_id is not None:
        limiter.check(f"key:{key_id}", settings.feedback_per_minute)
    else:
        client = request.client.host if request.client else "unknown"
        limiter.check(f"{CLIENT_ADDRESS_PREFIX}{client}", settings.anonymous_feedback_per_minute)


def get_settings_dep(request: Request) -> Settings:
    return app_state(request).settings


def get_session(request: Request) -> Iterator[Session]:
    """The request's one session. It stays open until the response has been sent (a
    streamed download reads through it) and is rolled back unless the unit of work below
    committed it."""
    factory = app_state(request).session_factory
    assert factory is not None, "the lifespan creates the session factory"
    session = factory()
    try:
        yield session
    finally:
        try:
            session.rollback()
        except SQLAlchemyError as exc:
            # This runs after the answer was sent: when the database went away meanwhile (a
            # restart) there is nothing left to undo, and no one to answer but the log.
            if not is_disconnect(exc):
                raise
            logger.warning(
                "database gone before the request's session was closed: %s",
                first_line(exc),
            )
        finally:
            session.close()


def get_unit_of_work(session: Annotated[Session, Depends(get_session)]) -> Iterator[Session]:
    """The request's session as one transaction: committed once, right after the handler
    returned without error and before the response is sent; rolled back otherwise. Routers
    and services never commit."""
    try:
        yield session
        session.commit()
    except (IntegrityError, OperationalError) as exc:
        # Another request changed the same rows at the same moment (a unique key such as a
        # dataset's next revision number, SQLite's single writer, a PostgreSQL deadlock):
        # nothing was stored.
        session.rollback()
        if isinstance(exc, OperationalError) and not is_write_conflict(exc):
            raise
        raise Conflict(
            "another change to the same data was stored at the same moment; send the request "
            "again (nothing of it was stored)"
        ) from exc


SessionDep = Annotated[Session, Depends(get_session)]
UnitOfWorkDep = Annotated[Session, Depends(get_unit_of_work, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


@dataclass(frozen=True)
class PageParams:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def get_page_params(
    settings: SettingsDep,
    page: Annotated[
        int, Query(ge=1, le=MAX_PAGE, description=f"Page number, from 1 to {MAX_PAGE:,}.")
    ] = 1,
    page_size: Annotated[
        int | None,
        Query(
            ge=1,
            description="Items per page (default 50). Above the maximum (1000) is refused "
            "with 422.",
        ),
    ] = None,
) -> PageParams:
    size = page_size or settings.default_page_size
    if size > settings.max_page_size:
        raise InvalidParameter(
            "page_size", f"page_size may be at most {settings.max_page_size}, got {size}"
        )
    return PageParams(page=page, page_size=size)


PageDep = Annotated[PageParams, Depends(get_page_params)]


def set_link_header(
    request: Request,
    response: Response,
    params: PageParams,
    total: int,
    *,
    cursor: str | None = None,
) -> None:
    """RFC 8288 Link header with first, last, and where they exist prev and next; ``next``
    follows ``cursor`` when the list gives one (keyset paging), else the next page number.
    Absolute, on the public base URL like every link in the bodies: a client that follows
    them need not resolve them against the request it made."""
    last = max(1, -(-total // params.page_size))
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "cursor")]
    base = app_state(request).settings.base_url

    def url(extra: tuple[str, str]) -> str:
        return f"{base}{request.url.path}?{urlencode([*query, extra])}"

    def page(number: int) -> str:
        return url(("page", str(number)))

    links = [f'<{page(1)}>; rel="first"']
    if last <= MAX_PAGE:  # beyond, pages are reached by cursor (or a narrower query) only
        links.append(f'<{page(last)}>; rel="last"')
    if params.page > 1:
        links.append(f'<{page(min(params.page - 1, last))}>; rel="prev"')
    if cursor is not None:
        links.append(f'<{url(("cursor", cursor))}>; rel="next"')
    elif params.page < last:
        links.append(f'<{page(params.page + 1)}>; rel="next"')
    response.headers["Link"] = ", ".join(links)


def paged(
    request: Request, response: Response, params: PageParams, items: list[ItemT], total: int
) -> Page[ItemT]:
    """The list envelope of DESIGN §4, with its Link header set on ``response``."""
    set_link_header(request, response, params, total)
    return Page[ItemT](items=items, total=total, page=params.page, page_size=params.page_size)


def envelope(params: PageParams, items: list[Any], total: int) -> dict[str, Any]:
    return {"items": items, "total": total, "page": params.page, "page_size": params.page_size}
