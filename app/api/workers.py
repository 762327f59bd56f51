"""Several worker processes on one port, each with a listening socket of its own.

uvicorn's own supervisor hands every worker the same listening socket. All workers wake when
connections arrive, and the first one accepts everything in the queue: the keep-alive
connections a proxy or a load generator opens at once all land on one worker, and the others
idle (measured: 2 workers served 1.01x one worker's throughput). Here every worker binds the
port itself with ``SO_REUSEPORT``, and the kernel spreads new connections over the workers'
sockets.

The supervisor restarts a worker that dies, stops everything if a worker cannot start (a
broken application would fail the same way on every restart), and on SIGTERM or SIGINT asks
every worker to finish its running requests, then exits 0. ``SO_REUSEPORT`` would also let a
second server (or the workers of a killed one) share the port unseen, serving old and new
configuration at random: the supervisor first binds the port without it, which fails while
anyone listens there, and a worker stops when its supervisor dies.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as EventType
from types import FrameType
from typing import Any

from app.api import metrics

logger = logging.getLogger("datapedia.workers")

# uvicorn's exit status for a worker that failed before it served (bad app, bad socket).
STARTUP_FAILURE = 3
# Listen queue of each worker's socket (uvicorn's default).
BACKLOG = 2048
# Beyond the graceful shutdown time, a worker that has not stopped is killed.
STOP_MARGIN_SECONDS = 5.0
# Workers that keep dying (more restarts than this within the window) are not restarted
# for ever: the supervisor stops with status 1, as for a worker that cannot start.
RESTART_LIMIT = 10
RESTART_WINDOW_SECONDS = 60.0
# How long a renewed worker serves beside its replacement: the new one's start (the app, a
# first database connection) takes a second or two; none may be without a listener meanwhile.
RENEWAL_OVERLAP_SECONDS = 10.0


# Workers start with a fresh interpreter: nothing of the supervisor's state is shared.
_SPAWN = multiprocessing.get_context("spawn")


def supported() -> bool:
    """Whether this platform balances connections over sockets sharing a port (Linux does)."""
    return hasattr(socket, "SO_REUSEPORT")


def _check_port_free(host: str, port: int) -> None:
    """Raise ``OSError`` (address in use) while any socket listens on the port, ours too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
        # SO_REUSEADDR: connections of a previous run waiting out TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


# prctl(2): the signal a process gets when its parent dies (Linux).
PR_SET_PDEATHSIG = 1


def _stop_with_supervisor(supervisor: int) -> None:
    """SIGTERM (a graceful stop) for this worker when its supervisor dies, even by kill -9:
    left alone, it would serve on unsupervised beside the next server on the port."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: nothing to ask for
        return
    if os.getppid() != supervisor:  # it died before we asked
        raise SystemExit(0)


def _bound_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Named TCP, not left at 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # connections of sockets that say so, and with it on, every answer sent in two writes
    # waits for the client's delayed ACK, 40 ms a request (uvicorn's own multi-worker
    # socket has this flaw: 45 requests/s on two connections to /health).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _stop_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _serve_one(config: dict[str, Any], supervisor: int, serving: EventType) -> None:
    """A worker: its own socket on the shared port, one uvicorn server on it; ``serving`` is
    set once its app has started (until then the connections it takes wait in its queue)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                serving.set()

    _stop_with_supervisor(supervisor)
    sock = _bound_socket(config["host"], config["port"])
    sock.listen(BACKLOG)
    # uvicorn re-raises the SIGTERM it caught once its requests are done; this handler makes
    # that a clean exit (status 0) rather than death by signal.
    signal.signal(signal.SIGTERM, _stop_cleanly)
    Server(uvicorn.Config(**config)).run(sockets=[sock])


@dataclass
class Supervisor:
    """Runs ``count`` workers serving uvicorn ``config`` (keyword arguments of
    ``uvicorn.Config``) until it is told to stop."""

    config: dict[str, Any]
    count: int
    stop_seconds: float
    workers: list[multiprocessing.process.BaseProcess] = field(default_factory=list)
    stopping: bool = False
    failed: bool = False
    restarts: list[float] = field(default_factory=list)
    # Workers replaced by a renewal, with when they may be asked to stop and the index of
    # their replacement in ``workers``.
    retiring: list[tuple[multiprocessing.process.BaseProcess, float, int]] = field(
        default_factory=list
    )
    # Each worker's flag, set once it serves.
    serving: dict[multiprocessing.process.BaseProcess, EventType] = field(default_factory=dict)

    def _start_worker(self) -> multiprocessing.process.BaseProcess:
        flag = _SPAWN.Event()
        worker = _SPAWN.Process(
            target=_serve_one, args=(self.config, os.getpid(), flag), daemon=False
        )
        worker.start()
        self.serving[worker] = flag
        logger.info("started worker process %s", worker.pid)
        return worker

    def _serves(self, worker: multiprocessing.process.BaseProcess) -> bool:
        flag = self.serving.get(worker)
        return flag is not None and flag.is_set()

    def _ask_to_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT; the exit status: 0 after a clean stop, 1 when a
        worker could not start."""
        # Held (bound, not listening) for the whole run: the port is taken for this service
        # from the start, and a port already in use is reported here, once.
        _check_port_free(self.config["host"], self.config["port"])
        reservation = _bound_socket(self.config["host"], self.config["port"])
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._ask_to_stop)
        try:
            self.workers = [self._start_worker() for _ in range(self.count)]
            while not self.stopping:
                time.sleep(0.2)
                # Under the temporary folder, which cleaners (or an operator) may empty.
                if metrics.ensure_folder():
                    logger.warning(
                        "the workers' metrics folder was removed; made again, and the workers "
                        "replaced one by one to count into it"
                    )
                    self._renew_workers()
                self._retire()
                self._replace_dead_workers()
            self._stop_all()
        finally:
            reservation.close()
        return 1 if self.failed else 0

    def _renew_workers(self) -> None:
        """A new worker beside each one, which is asked to stop once the new one serves and
        had time to take its share (it then finishes its running requests): a worker keeps
        counting into the files it opened, which a removed folder took with it, so /metrics
        would stay empty for as long as it lived. Never stopped before its replacement serves:
        on a loaded machine a new worker took more than the overlap to start, and for a
        moment no worker listened (connections refused)."""
        due = time.monotonic() + RENEWAL_OVERLAP_SECONDS
        for index, old in enumerate(self.workers):
            self.workers[index] = self._start_worker()
            self.retiring.append((old, due, index))

    def _retire(self) -> None:
        """Ask the renewed workers whose overlap is over and whose replacement serves to
        stop; forget those that did."""
        now = time.monotonic()
        for worker, due, index in self.retiring:
            if (
                due <= now
                and self._serves(self.workers[index])
                and worker.is_alive()
                and worker.pid is not None
            ):
                worker.terminate()
        self.retiring = [entry for entry in self.retiring if entry[0].is_alive()]
        tracked = {entry[0] for entry in self.retiring} | set(self.workers)
        self.serving = {w: flag for w, flag in self.serving.items() if w in tracked}

    def _replace_dead_workers(self) -> None:
        for index, worker in enumerate(self.workers):
            if worker.is_alive() or self.stopping:
                continue
            now = time.monotonic()
            self.restarts = [t for t in self.restarts if now - t < RESTART_WINDOW_SECONDS]
            if worker.exitcode == STARTUP_FAILURE or len(self.restarts) >= RESTART_LIMIT:
                logger.error(
                    "worker process %s %s; stopping",
                    worker.pid,
                    "could not start"
                    if worker.exitcode == STARTUP_FAILURE
                    else f"ended (exit status {worker.exitcode}) after {RESTART_LIMIT} "
                    f"restarts within {RESTART_WINDOW_SECONDS:.0f} s",
                )
                self.failed = self.stopping = True
                return
            self.restarts.append(now)
            logger.warning(
                "worker process %s ended (exit status %s); starting another",
                worker.pid,
                worker.exitcode,
            )
            self.workers[index] = self._start_worker()

    def _stop_all(self) -> None:
        everyone = [*self.workers, *(entry[0] for entry in self.retiring)]
        for worker in everyone:
            if worker.is_alive() and worker.pid is not None:
                worker.terminate()  # SIGTERM: the worker finishes its running requests
        deadline = time.monotonic() + self.stop_seconds + STOP_MARGIN_SECONDS
        for worker in everyone:
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.is_alive():
                logger.error("worker process %s did not stop in time; killed", worker.pid)
                worker.kill()
                worker.join()
