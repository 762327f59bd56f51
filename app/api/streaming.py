"""Streamed answers made by a synchronous generator (a database export) with the next chunk
made while the current one is compressed and sent."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator, Generator

import anyio
import anyio.to_thread


async def read_ahead(chunks: Generator[bytes, None, None]) -> AsyncIterator[bytes]:
    """The non-empty chunks of ``chunks``, each next one made in a worker thread as soon as
    the one before is handed on. Starlette asks a synchronous generator for its next chunk
    only after the last one was compressed and written, so the database and the network took
    turns; here they work side by side on the two cores. The generator runs in one thread at
    a time and is closed (its cleanup may use the database) before this ends, also when the
    client goes away."""
    loop = asyncio.get_running_loop()
    # The request's context (request id for the logs, SQL metrics) in the worker threads.
    context = contextvars.copy_context()

    def take() -> bytes | None:
        return next(chunks, None)

    def make_next() -> asyncio.Future[bytes | None]:
        return loop.run_in_executor(None, context.run, take)

    upcoming = make_next()
    try:
        # Shielded: when the client goes away Starlette cancels this task, and a cancelled
        # wait would cancel the future of the chunk in the making while its thread goes on
        # in the generator (with the request's session, which is closed once this ends).
        while (chunk := await asyncio.shield(upcoming)) is not None:
            upcoming = make_next()
            if chunk:
                yield chunk
    finally:
        with anyio.CancelScope(shield=True):
            # The generator may be running in a thread: closing it meanwhile would raise.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await upcoming
            await anyio.to_thread.run_sync(context.run, chunks.close)
