"""A small HTTP/1.1 load generator on asyncio streams (keep-alive connections, chunked or
sized bodies): cheap enough per request that, on a two-core machine, it measures the server
rather than itself (a client like httpx costs more per request than a trivial endpoint)."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    kind: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    weight: float = 1.0

    def encode(self, port: int) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class Figures:
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    errors: int = 0  # transport errors (connection reset, timeout)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def throughput(self) -> float:
        return self.total / self.seconds if self.seconds else 0.0

    def server_errors(self) -> int:
        return sum(n for kinds in self.statuses.values() for s, n in kinds.items() if s >= 500)

    def percentile(self, kind: str | None, q: float) -> float:
        values = (
            [v for vs in self.latencies.values() for v in vs]
            if kind is None
            else self.latencies[kind]
        )
        if not values:
            return float("nan")
        if len(values) == 1:
            return values[0]
        return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _worker(
    port: int, requests: Sequence[Request], weights: Sequence[float], until: float, figures: Figures
) -> None:
    encoded = {id(r): r.encode(port) for r in requests}
    chooser = random.Random()
    reader = writer = None
    while time.perf_counter() < until:
        request = chooser.choices(requests, weights)[0]
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert reader is not None
            started = time.perf_counter()
            writer.write(encoded[id(request)])
            status = await asyncio.wait_for(_read_response(reader), timeout=60)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            figures.errors += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        figures.latencies[request.kind].append(time.perf_counter() - started)
        figures.statuses[request.kind][status] += 1
    if writer is not None:
        writer.close()


def run_load(
    port: int, requests: Sequence[Request], *, seconds: float, concurrency: int
) -> Figures:
    """``concurrency`` keep-alive connections sending ``requests`` (chosen by weight) for
    ``seconds``."""
    figures = Figures()
    weights = [r.weight for r in requests]

    async def main() -> None:
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(
            *(_worker(port, requests, weights, until, figures) for _ in range(concurrency))
        )
        figures.seconds = time.perf_counter() - started

    asyncio.run(main())
    return figures
