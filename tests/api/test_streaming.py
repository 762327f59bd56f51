"""read_ahead: the chunks of a synchronous generator, in order, each made while the one
before is sent, and the generator closed whatever way the stream ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator

import anyio
import pytest

from app.api.streaming import read_ahead


class Source:
    """A generator of numbered chunks that records what happened to it."""

    def __init__(self, count: int, *, fail_at: int | None = None) -> None:
        self.count = count
        self.fail_at = fail_at
        self.running = threading.Lock()
        self.made: list[int] = []
        self.closed = False
        self.overlapped = False

    def chunks(self) -> Generator[bytes, None, None]:
        try:
            for n in range(self.count):
                # Two threads inside the generator at once would find the lock taken.
                if not self.running.acquire(blocking=False):
                    self.overlapped = True
                try:
                    if n == self.fail_at:
                        raise RuntimeError("the database went away")
                    self.made.append(n)
                    chunk = b"" if n % 3 == 2 else f"{n};".encode()
                finally:
                    self.running.release()
                yield chunk
        finally:
            self.closed = True


def collect(source: Source, *, take: int | None = None) -> list[bytes]:
    async def main() -> list[bytes]:
        received: list[bytes] = []
        # Held here, so that only read_ahead can close it (not the garbage collector).
        generator = source.chunks()
        stream = read_ahead(generator)
        try:
            async for chunk in stream:
                received.append(chunk)
                await anyio.sleep(0.001)  # the send, meanwhile the next chunk is made
                if take is not None and len(received) == take:
                    break
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        assert source.closed, "closed before the stream ended"
        del generator
        return received

    return anyio.run(main)


def test_every_non_empty_chunk_arrives_in_order_and_the_generator_is_closed() -> None:
    source = Source(50)
    received = collect(source)
    assert received == [f"{n};".encode() for n in range(50) if n % 3 != 2]
    assert source.closed
    assert not source.overlapped


def test_a_stream_left_early_closes_the_generator_after_the_chunk_in_the_making() -> None:
    source = Source(1000)
    received = collect(source, take=4)
    assert received == [b"0;", b"1;", b"3;", b"4;"]
    assert source.closed
    # At most the one chunk made ahead, not the rest of the export.
    assert len(source.made) <= 7
    assert not source.overlapped


def test_an_error_in_the_generator_reaches_the_stream() -> None:
    source = Source(10, fail_at=5)
    with pytest.raises(RuntimeError, match="went away"):
        collect(source)
    assert source.made == [0, 1, 2, 3, 4]
    assert source.closed


def test_a_stream_cancelled_while_a_chunk_is_made_waits_for_it_then_closes_the_generator() -> None:
    """The client went away (Starlette cancels the streaming task) while a thread was making
    the next chunk: the stream ends only once that thread has left the generator, and closes
    it. Before, the chunk's future was cancelled with the task, the stream ended at once, and
    the request's session was closed while the thread still used it (a 500 in the log)."""
    entered = threading.Event()
    state = {"inside": False, "closed": False}

    def chunks() -> Generator[bytes, None, None]:
        try:
            yield b"first"
            state["inside"] = True
            entered.set()
            time.sleep(0.3)  # a slice being written by the database
            state["inside"] = False
            yield b"second"
        finally:
            state["closed"] = True

    async def main() -> None:
        generator = chunks()
        stream = read_ahead(generator)

        async def consume() -> None:
            async for _ in stream:
                pass

        async with anyio.create_task_group() as group:
            group.start_soon(consume)
            await anyio.to_thread.run_sync(entered.wait)
            group.cancel_scope.cancel()
        assert not state["inside"], "the stream ended while a thread was in the generator"
        assert state["closed"]
        del generator

    anyio.run(main)
