"""A worker thread for work that a request asks for but should not wait for (the stored files
a write made stale): requests only signal it, and it coalesces the signals. No domain here:
the lifespan gives it its work.

Coalescing: a signal marks one pass as wanted. The thread runs a pass whenever one is wanted,
so any number of signals that arrive during a pass cause exactly one more pass, which sees
everything committed before it began (the newest revision wins; no pass per write is queued).

Quiet first: with ``quiet`` seconds, a pass starts only once no signal has come for that long,
so a burst of writes (a script submitting file after file) is followed by one pass instead of
passes that compete with the burst for the cores.

Write requests come first. While one is in flight, the work waits at its next checkpoint
(it takes neither the CPU nor the interpreter from the request), and it replaces what it
wrote only when none is: on SQLite a commit by another connection while a request's
transaction reads would make that request's first write fail ("database is locked"). A
write request that arrives while the work replaces a file waits for that commit (one row).

Stopping: ``stop`` sets ``stopping``; the work's next checkpoint raises ``Interrupted`` and its
transaction is rolled back, so an interrupted pass leaves what it was writing as it was.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

logger = logging.getLogger("datapedia.background")


class Interrupted(Exception):
    """The work stopped before its end because its worker is stopping."""


class PassControl:
    """What a pass's work calls: ``checkpoint`` between two pieces of work, ``before_replace``
    right before it replaces stored data, ``release`` once that is committed or rolled back."""

    def __init__(self, worker: CoalescingWorker) -> None:
        self._worker = worker

    @property
    def stopping(self) -> threading.Event:
        return self._worker.stopping

    def checkpoint(self) -> None:
        """Raise ``Interrupted`` if the worker is stopping; wait while write requests are in
        flight."""
        self._worker._wait_for_no_requests(replacing=False)

    def before_replace(self) -> None:
        """A checkpoint, after which no write request starts until ``release``."""
        self._worker._wait_for_no_requests(replacing=True)

    def release(self) -> None:
        self._worker._end_replace()

    def again(self) -> None:
        """Ask for one more pass after this one (the work could not finish it now)."""
        self._worker.signal()


def checkpoint(control: PassControl | None) -> None:
    """``control.checkpoint()``; nothing for work done outside a worker (a request, the seed)."""
    if control is not None:
        control.checkpoint()


class CoalescingWorker:
    """One daemon thread that runs ``work(control)`` once for any number of signals."""

    def __init__(
        self, name: str, work: Callable[[PassControl], object], quiet: float = 0.0
    ) -> None:
        self.name = name
        self._work = work
        self._quiet = quiet
        self._last_signal = 0.0  # time.monotonic() of the latest signal
        self.stopping = threading.Event()
        # Guards the fields below; notified whenever one of them changes.
        self._changed = threading.Condition()
        self._wanted = False
        self._running = False
        self._pauses = 0
        self._requests = 0
        self._replacing = False
        self._thread: threading.Thread | None = None
        # Passes ended (done, failed or interrupted): for tests and logs.
        self.passes = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Whether the thread runs (started and not ended)."""
        return self._thread is not None and self._thread.is_alive()

    def signal(self) -> None:
        """Ask for a pass after the current one (if any); returns at once."""
        with self._changed:
            self._wanted = True
            self._last_signal = time.monotonic()
            self._changed.notify_all()

    def begin_request(self) -> bool:
        """A write request starts (returns at once): False while the work replaces a file,
        then call ``wait_to_begin_request`` (off the event loop) instead."""
        with self._changed:
            if self._replacing:
                return False
            self._requests += 1
            return True

    def wait_to_begin_request(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: not self._replacing)
            self._requests += 1

    def end_request(self) -> None:
        with self._changed:
            self._requests -= 1
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no pass is wanted or running; False if still busy after ``timeout``
        seconds (or the worker stopped with a pass still wanted)."""
        with self._changed:
            return self._changed.wait_for(
                lambda: not self._wanted and not self._running, timeout=timeout
            )

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No pass starts inside this block (a running one is waited for first); signals
        still count and are served after it. Lets a test hold the work at a known point."""
        with self._changed:
            self._pauses += 1
            self._changed.wait_for(lambda: not self._running)
        try:
            yield
        finally:
            with self._changed:
                self._pauses -= 1
                self._changed.notify_all()

    def stop(self, timeout: float) -> bool:
        """Ask the thread to end (a running pass is interrupted at its next checkpoint) and
        wait for it up to ``timeout`` seconds; False if it still runs then (a daemon: it ends
        with the process, and its open transaction is rolled back with the connection)."""
        self.stopping.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        stopped = not self._thread.is_alive()
        if not stopped:
            logger.warning("%s: a pass still runs after %s s; left behind", self.name, timeout)
        return stopped

    def _wait_for_no_requests(self, *, replacing: bool) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.stopping.is_set() or self._requests == 0)
            if self.stopping.is_set():
                raise Interrupted
            if replacing:
                self._replacing = True

    def _end_replace(self) -> None:
        with self._changed:
            self._replacing = False
            self._changed.notify_all()

    def _next_pass(self) -> bool:
        with self._changed:
            while True:
                self._changed.wait_for(
                    lambda: self.stopping.is_set() or (self._wanted and not self._pauses)
                )
                if self.stopping.is_set():
                    return False
                left = self._last_signal + self._quiet - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)  # a signal meanwhile starts the quiet again
            self._wanted = False
            self._running = True
            return True

    def _run(self) -> None:
        control = PassControl(self)
        while self._next_pass():
            try:
                self._work(control)
            except Interrupted:
                logger.info("%s: pass interrupted: the worker is stopping", self.name)
            except Exception:
                # The write that asked for the pass has succeeded already; the next signal
                # (or the first download of a file still stale) tries again.
                logger.exception("%s: pass failed", self.name)
            finally:
                with self._changed:
                    self._running = False
                    self._replacing = False
                    self.passes += 1
                    self._changed.notify_all()
