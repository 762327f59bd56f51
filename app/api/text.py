"""Validators for free text in request bodies: stored as given, so refused when it could not
be stored everywhere (PostgreSQL rejects NUL) or would be empty to a reader."""

from __future__ import annotations

import unicodedata

# Line breaks and tabs belong in a message body; every other control character is noise at
# best and a way to forge log lines or break a CSV at worst.
_MULTILINE_ALLOWED = frozenset("\n\r\t")
# Control characters, and the Unicode line and paragraph separators that act as line breaks.
CONTROL_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
# Embeddings, overrides and isolates reorder how the text around them is shown ("Trojan
# Source"): a title could read as something else than it says. Marks (U+200E/F) stay.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Letters and symbols by category that show as nothing: the combining grapheme joiner, the
# Hangul fillers and the Braille blank. With the format characters (Cf: zero-width spaces and
# joiners, the word joiner, a BOM, a soft hyphen, direction marks) and the white space, a text
# of them alone is blank to a reader.
INVISIBLE = frozenset("\u034f\u115f\u1160\u3164\uffa0\u2800")


def blank(value: str) -> bool:
    """Whether ``value`` shows nothing: white space, format characters and fillers only."""
    return all(c.isspace() or c in INVISIBLE or unicodedata.category(c) == "Cf" for c in value)


def control_character(value: str, allowed: frozenset[str] = frozenset()) -> str | None:
    """The first control character of ``value`` that is not ``allowed``, or None."""
    if value.isprintable():  # False for every such character: the common case stops here
        return None
    return next(
        (c for c in value if c not in allowed and unicodedata.category(c) in CONTROL_CATEGORIES),
        None,
    )


def _check(value: str, allowed: frozenset[str]) -> str:
    if blank(value):
        raise ValueError("may not be blank (it shows nothing)")
    control = control_character(value, allowed)
    if control is not None:
        raise ValueError(
            f"control character U+{ord(control):04X} at position {value.index(control)}"
        )
    for position, char in enumerate(value):
        if unicodedata.category(char) == "Cs":
            # A lone surrogate is not Unicode: no UTF-8 encoder (nor XML) can carry it.
            raise ValueError(f"lone surrogate U+{ord(char):04X} at position {position}")
        if char in "\ufffe\uffff":
            raise ValueError(f"noncharacter U+{ord(char):04X} at position {position}")
        if char in BIDI_CONTROLS:
            raise ValueError(
                f"bidirectional control U+{ord(char):04X} at position {position}: it changes "
                "how the text around it is shown"
            )
    return value


def single_line(value: str) -> str:
    """A name, title or label: not blank, no control characters at all."""
    return _check(value, frozenset())


def multiline(value: str) -> str:
    """A message or purpose: not blank; line breaks and tabs allowed."""
    return _check(value, _MULTILINE_ALLOWED)
