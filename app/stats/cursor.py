"""The opaque ``cursor`` of the observations pages: where the last page ended (a keyset
position), with the page number, the total and the revision the walk reads, bound to its
query by a digest.

A cursor is validated, not secret: it names only a position in a result the client may read
anyway. The digest makes any change to it, and its use with another query, a 422 instead of
a silently different page; the total and the revision ride along so that a deep page needs
no count and every page of one walk reads the same revision.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

import orjson

from app.errors import InvalidParameter
from app.stats.repository import Position

# Bumped when the layout changes: older cursors are then refused as malformed (422).
LAYOUT = 1
DIGEST_SIZE = 16
_KEY = b"datapedia observations cursor"
# A cursor of any real query is far shorter (ids are at most 100 characters).
MAX_LENGTH = 1000
# The key below is in the public source, so anyone can sign a cursor: what it carries is
# checked as strictly as a query parameter would be. Revisions and unit ids are 32-bit
# columns; a page number or total beyond 64 bits is no count of rows.
_MAX_COLUMN_INT = 2**31 - 1
_MAX_COUNT = 2**63 - 1


@dataclass(frozen=True)
class Cursor:
    """The state of a walk through a query's pages."""

    page: int
    total: int
    revision: int  # the dataset's revision the walk reads
    position: Position


def query_digest(parts: tuple[object, ...]) -> bytes:
    """What binds a cursor to its query: the resolved parameters that shape the result."""
    return hashlib.blake2b(orjson.dumps(parts), digest_size=DIGEST_SIZE).digest()


def _sign(payload: bytes, query: bytes) -> bytes:
    return hashlib.blake2b(payload + query, key=_KEY, digest_size=DIGEST_SIZE).digest()


def encode(cursor: Cursor, query: bytes) -> str:
    position = cursor.position
    payload = orjson.dumps(
        [
            LAYOUT,
            cursor.page,
            cursor.total,
            cursor.revision,
            position.indicator,
            position.period,
            position.level,
            position.unit_id,
        ]
    )
    return base64.urlsafe_b64encode(payload + _sign(payload, query)).rstrip(b"=").decode()


def decode(text: str, query: bytes) -> Cursor:
    """The cursor, or a 422 naming the parameter when it is malformed, was changed, or
    belongs to another query."""
    if len(text) > MAX_LENGTH:
        raise _invalid("it is too long")
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise _invalid("it is not one this service wrote") from None
    payload, digest = raw[:-DIGEST_SIZE], raw[-DIGEST_SIZE:]
    if len(raw) <= DIGEST_SIZE or not hmac.compare_digest(digest, _sign(payload, query)):
        raise _invalid("it was changed, or it belongs to another query (other parameters)")
    try:
        fields = orjson.loads(payload)
        layout, page, total, revision, indicator, period, level, unit_id = fields
    except (orjson.JSONDecodeError, TypeError, ValueError):
        raise _invalid("it is not one this service wrote") from None
    typed = (
        layout == LAYOUT
        and all(type(n) is int and 1 <= n <= _MAX_COLUMN_INT for n in (revision, unit_id))
        and type(page) is int
        and 1 <= page <= _MAX_COUNT
        and type(total) is int
        and 0 <= total <= _MAX_COUNT
        and all(isinstance(t, str) and t.isprintable() for t in (indicator, period, level))
    )
    if not typed:
        raise _invalid("it is not one this service wrote")
    return Cursor(page, total, revision, Position(indicator, period, level, unit_id))


def _invalid(reason: str) -> InvalidParameter:
    return InvalidParameter(
        "cursor",
        f"invalid cursor: {reason}; follow the `next` link of the previous page, or start "
        "again without a cursor",
    )
