"""``wrk`` (a native HTTP load generator, Debian package ``wrk``) as the load generator of the
scaling benchmark: one thread on epoll costs a few microseconds of CPU per request, where
the Python generator (benchmarks/http_load.py) takes a large part of a core — on a two-core
machine that core is missing from the workers. Its own CPU time is measured (``wait4``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def available() -> bool:
    return shutil.which("wrk") is not None


@dataclass(frozen=True)
class WrkRun:
    requests: int
    seconds: float
    throughput: float
    p50: float
    p99: float
    non_2xx: int
    socket_errors: int
    cpu: float  # CPU seconds wrk itself spent (user + system)


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * UNITS[match[2]]


def parse(output: str, cpu: float) -> WrkRun:
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    if done is None:
        raise ValueError(f"unexpected wrk output:\n{output}")
    requests, seconds = int(done[1]), float(done[2]) * UNITS[done[3]]
    percentiles = dict(re.findall(r"^ +(50|99)(?:\.0+)?% +(\S+) *$", output, re.MULTILINE))
    if set(percentiles) != {"50", "99"}:
        raise ValueError(f"no latency distribution in wrk's output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkRun(
        requests=requests,
        seconds=seconds,
        throughput=requests / seconds if seconds else 0.0,
        p50=_seconds(percentiles["50"]),
        p99=_seconds(percentiles["99"]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        cpu=cpu,
    )


def run(url: str, *, seconds: float, connections: int, threads: int = 1) -> WrkRun:
    """``wrk`` against ``url``: ``connections`` keep-alive connections for ``seconds``."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--latency",
        url,
    ]
    with tempfile.TemporaryFile("w+") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        sink.seek(0)
        output = sink.read()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output}")
    return parse(output, usage.ru_utime + usage.ru_stime)
