"""A worker thread for work that a request asks for but should not wait for (the stored files
a write made stale): requests only signal it, and it coalesces the signals. No domain here:
the lifespan gives it its work.

Coalescing: a signal marks one pass as wanted. The thread runs a pass whenever one is wanted,
so any number of signals that arrive during a pass cause exactly one more pass, which sees
everything committed before it began (the newest revision wins; no pass per write is queued).

Stopping: ``stop`` sets the event the work receives; work that checks it (``check_stop``)
raises ``Interrupted`` and its transaction is rolled back, so an interrupted pass leaves what
it was writing as it was before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

logger = logging.getLogger("datapedia.background")


class Interrupted(Exception):
    """The work stopped before its end because its worker is stopping."""


def check_stop(stop: threading.Event | None) -> None:
    """Raise ``Interrupted`` once ``stop`` is set (work without a worker passes None)."""
    if stop is not None and stop.is_set():
        raise Interrupted


class CoalescingWorker:
    """One daemon thread that runs ``work(stop)`` once for any number of signals."""

    def __init__(self, name: str, work: Callable[[threading.Event], object]) -> None:
        self.name = name
        self._work = work
        self._stopping = threading.Event()
        # Guards the fields below; notified whenever one of them changes.
        self._changed = threading.Condition()
        self._wanted = False
        self._running = False
        self._pauses = 0
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
        """Ask the thread to end (a running pass is interrupted at its next check) and wait
        for it up to ``timeout`` seconds; False if it is still running then (a daemon: it
        ends with the process, and its open transaction is rolled back with the connection)."""
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        stopped = not self._thread.is_alive()
        if not stopped:
            logger.warning("%s: a pass still runs after %s s; left behind", self.name, timeout)
        return stopped

    def _next_pass(self) -> bool:
        with self._changed:
            self._changed.wait_for(
                lambda: self._stopping.is_set() or (self._wanted and not self._pauses)
            )
            if self._stopping.is_set():
                return False
            self._wanted = False
            self._running = True
            return True

    def _run(self) -> None:
        while self._next_pass():
            try:
                self._work(self._stopping)
            except Interrupted:
                logger.info("%s: pass interrupted: the worker is stopping", self.name)
            except Exception:
                # The write that asked for the pass has succeeded already; the next signal
                # (or the first download of a file still stale) tries again.
                logger.exception("%s: pass failed", self.name)
            finally:
                with self._changed:
                    self._running = False
                    self.passes += 1
                    self._changed.notify_all()
