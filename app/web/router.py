"""HTML routes of their own: the home page and the search page (the ``/doc/…`` pages are
served with their RDF alternates by ``app.rdf.router``)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.api.deps import SessionDep
from app.api.params import text_path, text_query
from app.web import pages, service
from app.web.i18n import LANGUAGES, Translator, choose_language

router = APIRouter(include_in_schema=False)

FILTERS = ("theme", "organisation", "licence", "access_level", "level", "period")
SearchText = Annotated[str, text_query("Words to look for.", examples=["energie"])]


def translator(request: Request) -> Translator:
    """The reader's language: ``?lang=`` first, then ``Accept-Language``, else Dutch."""
    requested = request.query_params.get("lang")
    return Translator(
        choose_language(requested, request.headers.get("accept-language")),
        chosen=requested in LANGUAGES,
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


@router.get("/download/{dataset_id}", response_class=RedirectResponse, status_code=303)
def download(
    request: Request, session: SessionDep, dataset_id: Annotated[str, text_path()]
) -> RedirectResponse:
    """The download builder's form, without JavaScript: to the observations API with the
    fields that were chosen, once they are checked."""
    chosen = service.download_query(session, dataset_id, request.query_params.multi_items())
    target = f"/api/v1/datasets/{quote(dataset_id, safe='')}/observations"
    return RedirectResponse(f"{target}?{urlencode(chosen)}" if chosen else target, 303)
