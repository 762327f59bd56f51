"""CPU accounting for the serving benchmarks (Linux ``/proc``): the CPU seconds a set of
processes spent, and the machine's busy time, over a run — so that a run can say which share
of the cores the server's workers had, and which went to the load generator, to PostgreSQL
and to everything else on the (shared) machine."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # After the command: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
    return (int(fields[11]) + int(fields[12])) / TICKS


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:
            continue
        for child in children:
            found += tree(int(child))
    return found


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, which is counted in user already
    return (total - idle) / TICKS, total / TICKS


@dataclass
class Snapshot:
    per_pid: dict[int, float]
    busy: float
    total: float


def snapshot(pids: list[int]) -> Snapshot:
    busy, total = machine_busy()
    return Snapshot({pid: process_cpu(pid) for pid in pids}, busy, total)


def spent(before: Snapshot, pids: list[int]) -> float:
    """CPU seconds ``pids`` spent since ``before`` (a pid not in it started since)."""
    return sum(max(0.0, process_cpu(p) - before.per_pid.get(p, 0.0)) for p in pids)
