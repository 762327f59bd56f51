"""The app under uvicorn for the fuzz harness, in a process of its own (see run.py).

    python -m tests.fuzz.serve FD DATABASE_URL ERROR_LOG

Serves on the listening socket inherited as file descriptor FD, and appends one line per
exception the app logs (its 500s) to ERROR_LOG, so the harness can name their causes.
"""

from __future__ import annotations

import logging
import socket
import sys

import uvicorn

from app.config import Settings
from app.main import create_app
from tests.factories import TEST_SETTINGS

SETTINGS = {**TEST_SETTINGS, "anonymous_feedback_per_minute": 10_000}


class OneLinePerError(logging.Handler):
    def __init__(self, path: str) -> None:
        super().__init__(logging.ERROR)
        self.path = path

    def emit(self, record: logging.LogRecord) -> None:
        cause = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            detail = " ".join(str(exc).split())[:200]
            cause = f"{cause}: {type(exc).__name__}: {detail}"
        with open(self.path, "a", encoding="utf-8") as log:
            log.write(cause + "\n")


def main() -> None:
    fd, database_url, error_log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    logger = logging.getLogger("datapedia")
    logger.addHandler(OneLinePerError(error_log))
    logger.propagate = False
    app = create_app(Settings(database_url=database_url, **SETTINGS))
    config = uvicorn.Config(app, log_level="critical", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=fd)])


if __name__ == "__main__":
    main()
