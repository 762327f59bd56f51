"""Dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.errors import InvalidParameter


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """A read session per request; writes commit in their service's transaction."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
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
    page: Annotated[int, Query(ge=1, description="Page number, from 1.")] = 1,
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


def set_link_header(request: Request, response: Response, params: PageParams, total: int) -> None:
    """RFC 8288 Link header with first, last, and where they exist prev and next."""
    last = max(1, -(-total // params.page_size))
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page",)]

    def url(page: int) -> str:
        return f"{request.url.path}?{urlencode([*query, ('page', str(page))])}"

    links = [f'<{url(1)}>; rel="first"', f'<{url(last)}>; rel="last"']
    if params.page > 1:
        links.append(f'<{url(min(params.page - 1, last))}>; rel="prev"')
    if params.page < last:
        links.append(f'<{url(params.page + 1)}>; rel="next"')
    response.headers["Link"] = ", ".join(links)


def get_session_factory(request: Request) -> sessionmaker[Session]:
    """For writes: services open their own transaction (``app.db.session.transaction``)."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


FactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]


def paged(
    request: Request, response: Response, params: PageParams, items: list[Any], total: int
) -> dict[str, Any]:
    """The list envelope of DESIGN §4, with its Link header set on ``response``."""
    set_link_header(request, response, params, total)
    return envelope(params, items, total)


def envelope(params: PageParams, items: list[Any], total: int) -> dict[str, Any]:
    return {"items": items, "total": total, "page": params.page, "page_size": params.page_size}
