"""Fuzz the whole API with Schemathesis, once per key role and once without a key.

    python -m tests.fuzz.run [--seed N] [--max-examples N] [--role NAME ...] [--out DIR]

Builds a throwaway database (real geography, seeded catalogue, one small submission of
values, a feedback thread, an API key per role), serves the app on 127.0.0.1 with a free
port, and runs ``schemathesis run`` against its ``/openapi.json`` for every role, each on a
fresh copy of the database so one role's writes (a revoked key, a removed owner) cannot hide
another role's failures. Exits 1 on any failure, with a summary grouped by check and
operation; the reproducing requests are in Schemathesis' own output above the summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from app.config import PROJECT_ROOT, Settings
from app.db.session import make_engine
from app.main import create_app
from tests.conftest import geography_only
from tests.dbutil import drop_database
from tests.factories import Template, build_template, copy_database
from tests.fuzz.serve import SETTINGS

# Run name -> key in tests.factories.KEYS (None: no key at all).
ROLES: dict[str, str | None] = {
    "anonymous": None,
    "reader": "gent-reader",
    "supplier": "gent",
    "co-owner-editor": "gent-editor",
    "publisher-editor": "publisher-editor",
    "admin": "admin",
}

# Every response is checked against the OpenAPI document; never a 500. The first four are
# the ones issue 9 asks for, the others cost no extra request or one per operation.
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "ignored_auth",
]

# The harness' keys get ids far from 1, 2, 3…, which are what a fuzzer tries first for
# DELETE /api/v1/keys/{key_id}: a run that revoked its own key would test nothing but 401s.
KEY_ID_OFFSET = 7_300_000

SUBMISSION = (
    "sector,indicator,period,value,status\n"
    "44021A00-,population,2025,1000,\n"
    "44021A01-,population,2025,500,\n"
    "44021ZZZZ,population,2025,7,\n"
)


def build_world(tmp: Path) -> Template:
    template = build_template(tmp, geography_only(tmp))
    engine = make_engine(template.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE api_key SET id = id + :offset"), {"offset": KEY_ID_OFFSET})
    engine.dispose()
    app = create_app(Settings(database_url=template.url, **SETTINGS))
    with TestClient(app) as client:
        gent = {"Authorization": f"Bearer {template.keys['gent']}"}
        submitted = client.post(
            "/api/v1/datasets/population-2025/submissions",
            content=SUBMISSION.encode(),
            headers={**gent, "Content-Type": "text/csv"},
        )
        assert submitted.status_code == 201, submitted.text
        thread = client.post(
            "/api/v1/datasets/population-2025/feedback",
            json={"kind": "question", "title": "Waarom?", "body": "Een vraag."},
            headers=gent,
        )
        assert thread.status_code == 201, thread.text
    return template


class Server:
    """The app under uvicorn in a process of its own (tests/fuzz/serve.py) on a free port of
    127.0.0.1; a server thread in this process answered every request 40 ms late."""

    def __init__(self, database_url: str, error_log: Path) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.port: int = self.socket.getsockname()[1]
        self.command = [
            sys.executable,
            "-W",
            "ignore::DeprecationWarning",
            "-m",
            "tests.fuzz.serve",
            str(self.socket.fileno()),
            database_url,
            str(error_log),
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(
            self.command, pass_fds=[self.socket.fileno()], cwd=PROJECT_ROOT
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=5):
                    return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.__exit__()
                    raise RuntimeError("the app did not start") from None
                time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.socket.close()


@dataclass
class RoleResult:
    role: str
    exit_code: int
    seconds: float
    stopped: bool  # at its share of the time budget, before Schemathesis finished
    report: dict[str, Any]
    server_errors: Counter[str]


def schemathesis_command(
    port: int, report: Path, key: str | None, args: argparse.Namespace
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"http://127.0.0.1:{port}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--seed",
        str(args.seed),
        "--max-examples",
        str(args.max_examples),
        "--phases",
        args.phases,
        "--workers",
        "1",
        "--request-timeout",
        "20",
        # Every failing case of an operation, not only the first: the report is a to-do list.
        "--continue-on-failure",
        "--suppress-health-check",
        "all",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    if key is not None:
        command += ["--header", f"Authorization: Bearer {key}"]
    return command


def run_until(command: list[str], workdir: Path, deadline: float) -> tuple[int, bool]:
    """Runs Schemathesis; at the deadline it is interrupted (SIGINT), which still writes its
    report of what it tested so far."""
    # In a folder of its own: Schemathesis keeps a cache of crashes (.schemathesis/) in its
    # working directory, which must neither land in the repository nor leak into the next role.
    workdir.mkdir()
    process = subprocess.Popen(command, cwd=workdir, env={**os.environ, "NO_COLOR": "1"})
    try:
        return process.wait(timeout=max(deadline - time.monotonic(), 1)), False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            # It finishes the request in flight (up to --request-timeout, 20 s) and then
            # writes the report: 30 s was once too short on PostgreSQL.
            return process.wait(timeout=60), True
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(), True


def fuzz_role(
    role: str,
    key: str | None,
    template: Template,
    tmp: Path,
    deadline: float,
    args: argparse.Namespace,
) -> RoleResult:
    started = time.monotonic()
    url = copy_database(template.url, tmp)
    report_path = tmp / f"{role}.json"
    error_log = tmp / f"{role}-errors.log"
    error_log.touch()
    print(f"\n===== {role} ({key or 'no key'}) =====", flush=True)
    try:
        with Server(url, error_log) as server:
            secret = template.keys[key] if key is not None else None
            command = schemathesis_command(server.port, report_path, secret, args)
            exit_code, stopped = run_until(command, tmp / role, deadline)
    finally:
        drop_database(url)
    report = read_report(report_path)
    errors = Counter(error_log.read_text().splitlines())
    return RoleResult(role, exit_code, time.monotonic() - started, stopped, report, errors)


def read_report(path: Path) -> dict[str, Any]:
    """Schemathesis's JSON report; empty when it was not written (it was killed before its
    end), which the summary counts as a failure of that role."""
    try:
        report: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        print(f"fuzz: no report from Schemathesis in {path.name}", flush=True)
        return {}
    return report


def summarise(results: list[RoleResult]) -> bool:
    """Prints failures grouped by check and operation; True when there were none."""
    by_failure: dict[tuple[str, str], list[str]] = defaultdict(list)
    clean = True
    print("\n===== fuzz summary =====")
    for result in results:
        report = result.report
        print(
            f"{result.role:17} exit {result.exit_code:3}  {result.seconds:5.0f} s  "
            f"test cases {report.get('test_cases', {}).get('generated', '?'):>5}  "
            f"failure groups {len(report.get('failures', []))}"
            + ("  (stopped at its share of the time budget)" if result.stopped else "")
        )
        if (result.exit_code != 0 and not result.stopped) or not report:
            clean = False
        for group in report.get("failures", []):
            for operation in group["operations"]:
                by_failure[(group["title"], operation)].append(result.role)
        for error in report.get("errors", []):
            by_failure[(f"error: {error['title']}", "-")].append(result.role)
    if by_failure:
        clean = False
        print("\nfailures (check — operation — roles):")
        for (title, operation), roles in sorted(by_failure.items()):
            print(f"  {title} — {operation} — {', '.join(roles)}")
    causes = sum((result.server_errors for result in results), Counter[str]())
    if causes:
        clean = False
        print("\nexceptions the server logged (count — cause):")
        for cause, count in causes.most_common():
            print(f"  {count:5} — {cause}")
    print("\nfuzz:", "no failures" if clean else "FAILED")
    return clean


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=20250109, help="Hypothesis seed")
    parser.add_argument("--max-examples", type=int, default=10, help="test cases per operation")
    parser.add_argument(
        "--phases", default="examples,coverage,fuzzing,stateful", help="Schemathesis phases"
    )
    parser.add_argument(
        "--role", action="append", choices=list(ROLES), help="only this role (repeatable)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=230,
        help="seconds for the whole run; a role that outlives its share is interrupted",
    )
    parser.add_argument("--out", type=Path, help="keep the JSON reports in this folder")
    args = parser.parse_args(argv)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="datapedia-fuzz-"))
    template: Template | None = None
    try:
        template = build_world(tmp)
        roles = args.role or list(ROLES)
        results: list[RoleResult] = []
        for done, role in enumerate(roles):
            # Roles that finish early leave their time to the ones after them.
            left = started + args.budget - time.monotonic()
            deadline = time.monotonic() + left / (len(roles) - done)
            results.append(fuzz_role(role, ROLES[role], template, tmp, deadline, args))
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            for result in results:
                report = args.out / f"{result.role}.json"
                report.write_text(json.dumps(result.report, indent=2) + "\n")
        return 0 if summarise(results) else 1
    finally:
        if template is not None:
            drop_database(template.url)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
