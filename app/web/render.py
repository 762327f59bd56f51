"""The Jinja2 environment of the pages: autoescaping on for every template, undefined names
are errors, and the reader's language reaches every template as ``t``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from app.web.i18n import Translator

STATIC_URL = "/static/site"

ENVIRONMENT = Environment(
    loader=PackageLoader("app.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _href(t: Translator, path: str, **params: str | None) -> str:
    """A link inside the site that keeps the reader's language."""
    pairs = [(k, v) for k, v in params.items() if v]
    if t.keeps_lang:
        pairs.append(("lang", t.lang))
    return f"{path}?{urlencode(pairs)}" if pairs else path


def _value(value: float | None) -> str:
    """A number for a ``data-`` attribute: what the API gives, not rounded."""
    return "" if value is None else repr(float(value))


def _place(t: Translator, level: str, code: str, name: str) -> Markup:
    """A place's name for the page: in the reader's language where it has one ("Flemish
    Region"), else as named, marked Dutch on an English page where the name is Dutch words."""
    shown = t.place(level, code, name)
    lang = t.place_lang(level, code)
    return Markup('<span lang="{}">{}</span>').format(lang, shown) if lang else escape(shown)


def _dutch(t: Translator, text: str) -> Markup:
    """A text the catalogue holds in Dutch only (a source's title and how it asks to be cited,
    a contact's name), marked as Dutch on an English page (WCAG 3.1.2)."""
    return escape(text) if t.lang == "nl" else Markup('<span lang="nl">{}</span>').format(text)


ENVIRONMENT.globals["static"] = STATIC_URL
ENVIRONMENT.globals["dutch"] = _dutch
ENVIRONMENT.globals["place"] = _place
ENVIRONMENT.globals["href"] = _href
ENVIRONMENT.filters["raw_value"] = _value
ENVIRONMENT.filters["json"] = lambda value: json.dumps(value)


def render(template: str, t: Translator, **context: Any) -> str:
    return ENVIRONMENT.get_template(template).render(t=t, **context)
