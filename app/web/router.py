"""HTML routes of their own: the home page and the search page (the ``/doc/…`` pages are
served with their RDF alternates by ``app.rdf.router``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.api.deps import SessionDep
from app.api.params import text_query
from app.web import pages
from app.web.i18n import Translator, choose_language

router = APIRouter(include_in_schema=False)

FILTERS = ("theme", "organisation", "licence", "access_level", "level", "period")
SearchText = Annotated[str, text_query("Words to look for.", examples=["energie"])]


def translator(request: Request) -> Translator:
    """The reader's language: ``?lang=`` first, then ``Accept-Language``, else Dutch."""
    return Translator(
        choose_language(request.query_params.get("lang"), request.headers.get("accept-language"))
    )


def html(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code, headers={"Vary": "Accept-Language"})


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> HTMLResponse:
    t = translator(request)
    return html(pages.home_page(session, t, request.query_params.multi_items()))


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, session: SessionDep, q: SearchText = "") -> HTMLResponse:
    t = translator(request)
    filters = {
        name: value for name in FILTERS if (value := request.query_params.get(name, "").strip())
    }
    return html(pages.search_page(session, t, q, filters, request.query_params.multi_items()))
