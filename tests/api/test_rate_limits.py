"""The rate limits' windows are swept: a key or client address seen once (every anonymous
post from another address) does not keep its window for good, in memory (one process) or in
``rate_limit_event`` (PostgreSQL, every worker)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from app.api.models import RateLimitEvent
from app.api.ratelimit import SWEEP_EVERY, WINDOW_SECONDS, DatabaseRateLimiter, MemoryRateLimiter
from app.db.session import make_engine, make_session_factory
from app.errors import TooManyRequests
from tests.dbutil import backend


def test_the_memory_windows_of_addresses_that_left_are_forgotten() -> None:
    limiter = MemoryRateLimiter("feedback posts")
    for n in range(SWEEP_EVERY - 1):
        limiter.check(f"ip:10.0.{n // 256}.{n % 256}", 5, now=1000.0)
    assert len(limiter.events) == SWEEP_EVERY - 1
    limiter.check("ip:192.0.2.1", 5, now=1000.0 + WINDOW_SECONDS + 1)  # the sweep
    assert set(limiter.events) == {"ip:192.0.2.1"}


def test_a_sweep_keeps_what_the_windows_still_count() -> None:
    limiter = MemoryRateLimiter("feedback posts")
    for _ in range(5):
        limiter.check("ip:192.0.2.7", 5, now=1000.0)
    for n in range(SWEEP_EVERY - 5):  # the sweep falls within the window
        limiter.check(f"ip:10.1.{n // 256}.{n % 256}", 5, now=1010.0)
    with pytest.raises(TooManyRequests):
        limiter.check("ip:192.0.2.7", 5, now=1020.0)


@pytest.mark.skipif(backend() != "postgresql", reason="the shared windows are PostgreSQL's")
def test_the_table_forgets_the_windows_of_addresses_that_left(empty_db: str) -> None:
    engine = make_engine(empty_db)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            now = session.execute(text("SELECT extract(epoch FROM clock_timestamp())"))
            moment = float(now.scalar_one())
            # Posts of a thousand addresses that never came back, and one still counting.
            session.add_all(
                RateLimitEvent(
                    bucket=f"feedback posts:ip:10.2.{n // 256}.{n % 256}", at=moment - 120
                )
                for n in range(1000)
            )
            session.add(RateLimitEvent(bucket="feedback posts:ip:192.0.2.9", at=moment))
            session.commit()
        limiter = DatabaseRateLimiter("feedback posts", lambda: factory)
        for _ in range(SWEEP_EVERY):
            limiter.check("key:1", 10_000)
        with factory() as session:
            buckets = session.execute(
                select(RateLimitEvent.bucket, func.count()).group_by(RateLimitEvent.bucket)
            ).all()
        assert dict(buckets) == {
            "feedback posts:ip:192.0.2.9": 1,
            "feedback posts:key:1": SWEEP_EVERY,
        }
    finally:
        engine.dispose()
