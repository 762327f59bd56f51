"""Per-key sliding-window rate limits.

Several workers (or replicas) must share one count, or a key gets N times its limit: on
PostgreSQL the windows live in the database itself (``rate_limit_event``; no new server to
run). SQLite is the one-process laptop setup, where process memory is shared by all.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from app.api import repository
from app.errors import TooManyRequests

WINDOW_SECONDS = 60.0
# Every this many checks, the windows of every key are swept of what left them: a key seen
# once (a client address) would otherwise keep its window, in memory or in the table.
SWEEP_EVERY = 200


class RateLimiter(Protocol):
    def check(self, key: str, limit: int) -> None:
        """Count one request for ``key``; raise TooManyRequests if it is over ``limit``."""


# A window keyed "ip:ADDRESS" counts a client without a key (anonymous feedback).
CLIENT_ADDRESS_PREFIX = "ip:"


def _refusal(what: str, key: str, limit: int, retry_after: float) -> TooManyRequests:
    seconds = max(1, math.ceil(retry_after))
    per = (
        "client address without an API key" if key.startswith(CLIENT_ADDRESS_PREFIX) else "API key"
    )
    return TooManyRequests(
        f"at most {limit} {what} per minute per {per}; try again in {seconds} s",
        retry_after=seconds,
    )


class MemoryRateLimiter:
    """The windows in this process's memory (one worker)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.events: dict[str, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()
        self.checks = 0

    def check(self, key: str, limit: int, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        with self.lock:
            self.checks += 1
            if self.checks % SWEEP_EVERY == 0:
                self.events = defaultdict(
                    deque,
                    {k: v for k, v in self.events.items() if v and v[-1] > moment - WINDOW_SECONDS},
                )
            events = self.events[key]
            while events and events[0] <= moment - WINDOW_SECONDS:
                events.popleft()
            if len(events) >= limit:
                raise _refusal(self.what, key, limit, events[0] + WINDOW_SECONDS - moment)
            events.append(moment)


class DatabaseRateLimiter:
    """The windows in the database, counted on its clock, so every worker sees one count.

    The check runs in a short transaction of its own: a request refused later (a bad upload)
    still counted, as it does in memory."""

    def __init__(self, what: str, factory: Callable[[], sessionmaker[Session] | None]) -> None:
        self.what = what
        self.factory = factory
        self.checks = 0
        self.lock = threading.Lock()

    def check(self, key: str, limit: int) -> None:
        factory = self.factory()
        assert factory is not None, "the lifespan creates the session factory"
        bucket = f"{self.what}:{key}"
        with self.lock:
            self.checks += 1
            sweep = self.checks % SWEEP_EVERY == 0
        with factory() as session:
            retry_after = repository.count_event(session, bucket, limit, WINDOW_SECONDS)
            if sweep:
                repository.forget_expired_events(session, WINDOW_SECONDS)
            session.commit()
        if retry_after is not None:
            raise _refusal(self.what, key, limit, retry_after)
