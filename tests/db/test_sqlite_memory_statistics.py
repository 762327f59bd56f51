"""SQLite counts every allocation under one mutex of the whole process unless told not to
(app.db.session.sqlite_memory_statistics_off): threads querying at once then wait on each
other. Each check runs in a process of its own, since the setting is the process's."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.db import session

# sqlite3_memory_used() of the library the sqlite3 module loaded: 0 when SQLite counts nothing.
_MEMORY_USED = """
import ctypes, sqlite3
from app.db.session import _sqlite_library
library = _sqlite_library()
library.sqlite3_memory_used.restype = ctypes.c_int64
if library.sqlite3_compileoption_used(b"DEFAULT_MEMSTATUS=0"):
    raise SystemExit(3)  # a library that never counts: nothing to check
def memory_used():
    return library.sqlite3_memory_used()
"""


def _run(script: str, tmp_path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_USED + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
        env={"PATH": "/usr/bin:/bin", "DATABASE": str(tmp_path / "db.sqlite3")},
        timeout=60,
    )
    if done.returncode == 3:
        pytest.skip("this SQLite library is built without memory statistics")
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-1]


def test_the_first_engine_of_a_process_turns_the_count_off(tmp_path: Path) -> None:
    used = _run(
        """
        import os
        from app.db.session import make_engine
        engine = make_engine("sqlite:///" + os.environ["DATABASE"])
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE t (a)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
            assert connection.exec_driver_sql("SELECT a FROM t").scalar() == 1
            print(memory_used())
        """,
        tmp_path,
    )
    assert used == "0"


def test_sqlite_already_in_use_is_left_counting_and_keeps_working(tmp_path: Path) -> None:
    """A connection opened before the first engine: SQLite is not shut down under it."""
    used = _run(
        """
        import os
        from app.db.session import make_engine, sqlite_memory_statistics_off
        earlier = sqlite3.connect(os.environ["DATABASE"])
        earlier.execute("CREATE TABLE t (a)")
        engine = make_engine("sqlite:///" + os.environ["DATABASE"])
        assert sqlite_memory_statistics_off() is False
        with engine.connect() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
            connection.commit()
        assert earlier.execute("SELECT a FROM t").fetchall() == [(1,)]
        print(memory_used())
        """,
        tmp_path,
    )
    assert int(used) > 0


def test_without_dlopen_flags_sqlite_is_left_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no RTLD_NOLOAD: the library is not reached, and nothing fails."""
    assert session._sqlite_library() is not None
    monkeypatch.delattr(session.os, "RTLD_NOLOAD")
    assert session._sqlite_library() is None
