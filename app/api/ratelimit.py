"""A per-key sliding-window rate limit, in process memory.

One server process is what Datapedia runs today; several processes would each count on
their own (a shared store such as PostgreSQL or Redis is the next step then).
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque

from app.errors import TooManyRequests

WINDOW_SECONDS = 60.0


class RateLimiter:
    def __init__(self) -> None:
        self.events: dict[str, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()

    def check(self, key: str, limit: int, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        with self.lock:
            events = self.events[key]
            while events and events[0] <= moment - WINDOW_SECONDS:
                events.popleft()
            if len(events) >= limit:
                retry_after = max(1, math.ceil(events[0] + WINDOW_SECONDS - moment))
                raise TooManyRequests(
                    f"at most {limit} submissions per minute per API key; try again in "
                    f"{retry_after} s",
                    retry_after=retry_after,
                )
            events.append(moment)
