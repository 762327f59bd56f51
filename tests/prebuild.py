"""Builds one of the run's shared test databases in a process of its own, started by the
suite at collection time (``tests.dbutil.start_background_build``):
``python -m tests.prebuild RUN_DIR NAME``. The file lock and the record are those of
``tests.dbutil.build_shared``: a worker that asks first builds it itself, and this process then
finds it built."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.dbutil import build_shared


def builders(root: Path) -> dict[str, Callable[[str], dict[str, str]]]:
    from tests.conftest import geography_only, seed_real
    from tests.factories import seed_world

    return {
        "real": seed_real,
        "world": lambda url: seed_world(url, geography_only(Path(tempfile.mkdtemp(dir=root)))),
    }


def main(root: Path, name: str) -> None:
    build_shared(root, name, builders(root)[name])


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
