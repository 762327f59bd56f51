"""Names compared as they look: the confusable skeleton of Unicode TR39 (Security Mechanisms),
so that "Ѕtad Gent" (a Cyrillic Ѕ), "Stad Gеnt" (a Cyrillic е) or "Ꮪtad Gent" (Cherokee)
read as the "Stad Gent" they show.

The look-alikes are Unicode's own table (confusables.txt), as the ``confusable-homoglyphs``
package ships it: each character with the characters it can be confused with. Characters
that may be confused form one class; a name's skeleton has each character replaced by its
class's representative (its lowest code point: ASCII where the class holds an ASCII
character, so a hyphen stays a hyphen), after compatibility decomposition without marks
and format characters (full-width letters, accents, zero-width spaces), and again once case
is folded. A character that looks like a sequence of others (``m`` like ``rn``, ``…`` like
``...``) is written as that sequence, as TR39's skeleton writes its prototype.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from confusable_homoglyphs import confusables

# The table writes right-to-left characters between left-to-right marks.
_LRM = "\u200e"
# Nonspacing marks (accents) and format characters (zero-width space, joiners) are not seen.
_UNSEEN = frozenset({"Mn", "Cf"})
# Nor are the Hangul fillers, letters by their category but default-ignorable (Unicode's
# DerivedCoreProperties; TR39's skeleton drops them): "Stad\u3164Gent" shows "Stad Gent".
# Every other default-ignorable code point is a mark, a format character or unassigned.
_UNSEEN_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


@cache
def _representatives() -> dict[str, str]:
    """Each character of a class of look-alikes → the class's representative (characters
    confused with nothing are left out)."""
    parent: dict[str, str] = {}

    def root(char: str) -> str:
        top = char
        while parent.get(top, top) != top:
            top = parent[top]
        while char != top:  # shorten the path for the next look-up
            parent[char], char = top, parent[char]
        return top

    table: dict[str, list[dict[str, str]]] = confusables.confusables_data
    for char, glyphs in table.items():
        char = char.replace(_LRM, "")
        if len(char) != 1:
            continue
        for glyph in glyphs:
            other = glyph["c"].replace(_LRM, "")
            # Sequences (m ↔ rn) are not one character: see _sequences.
            if len(other) != 1:
                continue
            one, two = sorted((root(char), root(other)))
            parent.setdefault(one, one)
            if one != two:
                parent[two] = one
    return {char: root(char) for char in list(parent) if root(char) != char}


@cache
def _sequences() -> dict[str, str]:
    """Each character that looks like a sequence of characters → that sequence (m → rn)."""
    sequences: dict[str, str] = {}
    table: dict[str, list[dict[str, str]]] = confusables.confusables_data
    for key, glyphs in table.items():
        key = key.replace(_LRM, "")
        for glyph in glyphs:
            other = glyph["c"].replace(_LRM, "")
            if len(key) == 1 and len(other) > 1:
                sequences.setdefault(key, other)
            elif len(other) == 1 and len(key) > 1:
                sequences.setdefault(other, key)
    return sequences


def _fold(text: str) -> str:
    representatives, sequences = _representatives(), _sequences()
    folded = (
        representatives.get(char, char)
        for char in unicodedata.normalize("NFKD", text)
        if unicodedata.category(char) not in _UNSEEN and char not in _UNSEEN_LETTERS
    )
    return "".join(sequences.get(char, char) for char in folded)


def skeleton(text: str) -> str:
    """``text`` as it looks, whatever the script its letters come from and their case: two
    texts that look alike have the same skeleton."""
    return _fold(_fold(text).casefold())
