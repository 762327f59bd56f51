"""The ``Last-Modified`` of documents that no single date covers (a page shows a dataset, its
organisations' names, the geography, its questions, the templates of this release…): since
when each has been answered as it is now. A document first answered as it is at a time
changed at or before it; one that changes is dated anew when it is first answered again.

Several workers must share these dates. Were each to keep its own, a worker that never saw a
document's short-lived version B (A, then B, then A again) would still date A from before B,
and answer 304 to a client holding B that asks ``If-Modified-Since`` B's date. On PostgreSQL
the dates live in the database (``document_date``), on its one clock; SQLite is the
one-process setup, which keeps them in memory (and a GET there must not wait for a long
import's write lock to store a date).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.orm import Session

from app.api import repository

# The documents whose dates are kept: one forgotten is dated anew (later, never wrong), so
# the URLs a client can make up (any page, any filter) cannot grow the store without end.
MEMORY_DOCUMENTS = 4096
SHARED_DOCUMENTS = 100_000
# How many new dates one process stores between two looks at the table's size.
PRUNE_EVERY = 200


class DocumentDates(Protocol):
    def since(self, session: Session, key: str, fingerprint: str) -> datetime:
        """Since when the document ``key`` (its URL and form) has been answered with the
        content ``fingerprint`` names (its ETag), now included; through the request's
        ``session`` where the dates are stored in the database."""


def _name(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]  # a URL may be kilobytes long


class FirstSeen:
    """The dates in this process's memory, for the last ``size`` documents answered. After a
    restart every document is dated from then on."""

    def __init__(self, size: int = MEMORY_DOCUMENTS) -> None:
        self.size = size
        self.seen: OrderedDict[str, tuple[str, datetime]] = OrderedDict()
        self.lock = threading.Lock()

    def since(self, session: Session, key: str, fingerprint: str) -> datetime:
        name = _name(key)
        with self.lock:
            found = self.seen.get(name)
            if found is None or found[0] != fingerprint:
                found = self.seen[name] = (fingerprint, datetime.now(UTC))
            self.seen.move_to_end(name)
            while len(self.seen) > self.size:
                self.seen.popitem(last=False)
            return found[1]


class SharedFirstSeen:
    """The dates in the database, for every worker: read in the request's transaction, and
    stored in it when the document is new or changed (committed with the request's unit of
    work). A release that writes a document as before keeps its date across restarts."""

    def __init__(self, size: int = SHARED_DOCUMENTS, prune_every: int = PRUNE_EVERY) -> None:
        self.size = size
        self.prune_every = prune_every
        self._stored = 0
        self._lock = threading.Lock()

    def since(self, session: Session, key: str, fingerprint: str) -> datetime:
        since, stored = repository.document_since(session, _name(key), fingerprint)
        if stored and self._time_to_prune():
            repository.forget_oldest_document_dates(session, self.size)
        return since

    def _time_to_prune(self) -> bool:
        with self._lock:
            self._stored += 1
            return self._stored % self.prune_every == 0
