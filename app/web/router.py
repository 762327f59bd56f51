"""HTML routes of their own: the home page, the search page, the download builder and the
question and reply forms (the ``/doc/…`` pages are served with their RDF alternates by
``app.rdf.router``)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.deps import DbId, SessionDep, SettingsDep, UnitOfWorkDep, limit_feedback
from app.api.params import text_path, text_query
from app.config import Settings
from app.errors import BadRequest, Conflict, InvalidParameter, NotFound, TooManyRequests
from app.feedback import service as feedback_service
from app.web import pages, service
from app.web.i18n import LANGUAGES, Translator, choose_language

router = APIRouter(include_in_schema=False)

FILTERS = ("theme", "organisation", "licence", "access_level", "level", "period")
SearchText = Annotated[str, text_query("Words to look for.", examples=["energie"])]
# A form field as typed; a form is checked as a whole (service.read_question, read_reply).
FormText = Annotated[str, Form()]


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
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    dataset_id: Annotated[str, text_path()],
) -> Response:
    """The download builder's form, without JavaScript: to the observations API with the
    fields that were chosen, once they are checked; else the dataset page with the builder
    as it was sent and what to correct, in the reader's language (422, or 404 for a period
    or a place the dataset does not have)."""
    query = request.query_params.multi_items()
    try:
        chosen = service.download_query(session, dataset_id, query)
    except (BadRequest, InvalidParameter, NotFound) as exc:
        errors = service.download_errors(exc)
        if not errors:
            raise  # an unknown dataset: the page not found
        t = translator(request)
        values = {n: v for n, v in query if n in service.DOWNLOAD_FIELDS}
        threads, _ = feedback_service.list_threads(session, dataset_id, None, None, 0, 50)
        page = pages.dataset_page(
            session, t, dataset_id, [], threads, settings.base_url, query,
            builder=pages.DownloadForm(values=values, errors=errors),
            here=f"/download/{quote(dataset_id, safe='')}",
        )  # fmt: skip
        return html(page, exc.status)
    target = f"/api/v1/datasets/{quote(dataset_id, safe='')}/observations"
    return RedirectResponse(f"{target}?{urlencode(chosen)}" if chosen else target, 303)


@router.post("/datasets/{dataset_id}/feedback", response_class=HTMLResponse)
def ask(
    request: Request,
    session: UnitOfWorkDep,
    settings: SettingsDep,
    dataset_id: Annotated[str, text_path()],
    kind: FormText = "",
    title: FormText = "",
    body: FormText = "",
    name: FormText = "",
    email: FormText = "",
) -> Response:
    """The dataset page's question form, without a key and without JavaScript: the thread is
    opened as ``POST /api/v1/datasets/{id}/feedback`` would, and the reader sees it on the
    dataset page; what is wrong comes back in the form as it was typed, nothing stored."""
    t = translator(request)
    values = {"kind": kind, "title": title, "body": body, "name": name, "email": email}
    dataset, new, errors = service.read_question(session, dataset_id, values)
    kinds = pages.question_kinds(dataset.access_level)
    if new is not None:
        # Counted as the API counts posts without a key; a form to correct is not a post.
        waited = _too_many(request, settings)
        if waited is not None:
            form = pages.QuestionForm(values=values, kinds=kinds, retry_after=waited)
            page = pages.question_page(t, dataset, form, request.query_params.multi_items())
            return _wait(page, waited)
        try:
            thread = feedback_service.create_thread(session, None, dataset_id, new)
        except InvalidParameter:
            # A refusal left after the form's checks: the name of an organisation.
            errors = {"name": "ask.error.name_organisation"}
        except Conflict:
            # The other one: an access request where no grant is needed or none opens.
            errors = {
                "kind": "ask.error.public"
                if dataset.access_level == "public"
                else "ask.error.no_access"
            }
        else:
            return _to_thread(t, dataset_id, thread.id)
    form = pages.QuestionForm(values=values, errors=errors, kinds=kinds)
    return html(pages.question_page(t, dataset, form, request.query_params.multi_items()), 422)


@router.post("/feedback/{thread_id}/replies", response_class=HTMLResponse)
def reply(
    request: Request,
    session: UnitOfWorkDep,
    settings: SettingsDep,
    thread_id: DbId,
    body: FormText = "",
    name: FormText = "",
    email: FormText = "",
) -> Response:
    """A thread's reply form on the dataset page, as :func:`ask` is its question form
    (``POST /api/v1/feedback/{thread}/replies`` without a key)."""
    t = translator(request)
    values = {"body": body, "name": name, "email": email}
    dataset, thread, new, errors = service.read_reply(session, thread_id, values)
    if new is not None:
        waited = _too_many(request, settings)
        if waited is not None:
            form = pages.QuestionForm(values=values, retry_after=waited)
            query = request.query_params.multi_items()
            return _wait(pages.question_page(t, dataset, form, query, thread), waited)
        try:
            feedback_service.reply(session, None, thread_id, new)
        except InvalidParameter:
            errors = {"name": "ask.error.name_organisation"}
        else:
            return _to_thread(t, dataset.id, thread_id)
    form = pages.QuestionForm(values=values, errors=errors)
    page = pages.question_page(t, dataset, form, request.query_params.multi_items(), thread)
    return html(page, 422)


def _too_many(request: Request, settings: Settings) -> int | None:
    """Count a post of the forms as the API counts one without a key: None, or the seconds
    to wait (the form comes back as it was typed, not the API's problem)."""
    try:
        limit_feedback(request, None, settings)
    except TooManyRequests as exc:
        return exc.retry_after
    return None


def _wait(page: str, seconds: int) -> HTMLResponse:
    response = html(page, 429)
    response.headers["Retry-After"] = str(seconds)
    return response


def _to_thread(t: Translator, dataset_id: str, thread_id: int) -> RedirectResponse:
    page = f"/doc/dataset/{quote(dataset_id, safe='')}"
    if t.keeps_lang:
        page += f"?lang={t.lang}"
    return RedirectResponse(f"{page}#thread-{thread_id}", 303)
