"""The ``datapedia`` command line."""

from __future__ import annotations

import atexit
import difflib
import os
import re
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

import app.models  # noqa: F401  (every table mapped before the first session)
from app.config import SEEDS_DIR, Settings, get_settings
from app.errors import DatapediaError, SourceDataError, first_line

if TYPE_CHECKING:
    from app.ingest.seed import SeedOutcome

cli = typer.Typer(help="Datapedia: open-data catalogue and statistics API.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_cli = typer.Typer(help="API keys.", no_args_is_help=True)
dcat_cli = typer.Typer(help="The DCAT catalogue.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(dcat_cli, name="dcat")
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
# Seconds a worker may take to answer the supervisor's ping: uvicorn's 5 s kill workers that
# are still importing the application on a busy machine, over and over.
WORKER_HEALTHCHECK_SECONDS = 60


_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*:)[^@]*@")


def _setting_error(exc: ValidationError) -> str:
    """One line per bad setting, naming its variable and the expected form."""
    lines = []
    for error in exc.errors():
        if not error["loc"]:  # a rule between settings: its message names them
            lines.append(f"error: {error['msg'].removeprefix('Value error, ')}")
            continue
        name = "DATAPEDIA_" + "_".join(str(part) for part in error["loc"][:1]).upper()
        given = error["input"]
        if isinstance(given, str):
            # A URL that cannot be parsed still shows no password.
            given = _PASSWORD_IN_URL.sub(r"\1***@", given)
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"error: {name}={given!r} is invalid: {message}")
    return "\n".join(lines)


@cli.callback()
def check_settings() -> None:
    """Every command reads the DATAPEDIA_* settings first: a bad one stops it before anything
    starts, with one line saying which and what is expected."""
    try:
        get_settings()
    except ValidationError as exc:
        err.print(_setting_error(exc), markup=False, highlight=False)
        raise typer.Exit(2) from exc
    for line in unknown_settings(os.environ):
        err.print(f"warning: {line}", markup=False, highlight=False)


# Read by docker-compose, the container's entrypoint and the tests, not by the settings.
OTHER_VARIABLES = frozenset(
    {"DATAPEDIA_DATA", "DATAPEDIA_SHACL", "DATAPEDIA_SEED_ON_START", "DATAPEDIA_SCREENSHOTS"}
)


def unknown_settings(environment: Mapping[str, str]) -> list[str]:
    """A DATAPEDIA_* variable that is no setting is a typo whose setting silently keeps its
    default (DATAPEDIA_DATABASE_URI: the SQLite file instead of the server)."""
    known = {f"DATAPEDIA_{name.upper()}" for name in Settings.model_fields}
    lines = []
    for variable in sorted(environment):
        if not variable.startswith("DATAPEDIA_") or variable in known:
            continue
        if variable in OTHER_VARIABLES or variable.startswith("DATAPEDIA_TEST_"):
            continue
        close = difflib.get_close_matches(variable, sorted(known), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        lines.append(f"{variable} is not a setting and is ignored{hint}")
    return lines


def _derived_base_url(host: str, port: int) -> str:
    # Listening on every interface: links name this machine's loopback address, the one name
    # sure to reach it from here (set DATAPEDIA_BASE_URL for the public name).
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _stop_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes (default DATAPEDIA_WORKERS, else 1)."),
    ] = None,
) -> None:
    """Serve the API (uvicorn) with one or more worker processes.

    Links and URIs use DATAPEDIA_BASE_URL when it is set, else http://HOST:PORT."""
    import logging.config

    import uvicorn

    from app.api import workers as workers_module
    from app.api.observe import logging_config

    settings = get_settings()
    count = settings.workers if workers is None else workers
    if count < 1:
        err.print(f"error: --workers must be a whole number of 1 or more, got {count}")
        raise typer.Exit(2)
    if not 0 < port < 65536:
        err.print(f"error: --port must be between 1 and 65535, got {port}")
        raise typer.Exit(2)
    if count == 1 or not workers_module.supported():
        # uvicorn would say it in lines of its own and stop with status 3; the supervisor of
        # several workers binds first and says it in one line (below).
        _check_can_listen(host, port)
    # The server's own lines go through its logging, JSON included, like the workers'.
    log_config = logging_config(settings.log_format, settings.log_level)
    logging.config.dictConfig(log_config)
    logger = logging.getLogger("datapedia.serve")
    if "base_url" in settings.model_fields_set:
        logger.info("base URL %s (DATAPEDIA_BASE_URL)", settings.base_url)
    else:
        # Workers read their settings from the environment: the derived URL goes there.
        os.environ["DATAPEDIA_BASE_URL"] = _derived_base_url(host, port)
        get_settings.cache_clear()
        logger.info(
            "base URL %s (from --host and --port; set DATAPEDIA_BASE_URL for a public name)",
            os.environ["DATAPEDIA_BASE_URL"],
        )
    if count > 1:
        if settings.database_url.startswith("sqlite"):
            logger.warning(
                "on SQLite each worker counts rate limits on its own and writes wait for each "
                "other; use PostgreSQL for several workers"
            )
        # Every worker writes its metrics here; /metrics sums them.
        if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            own_metrics_dir = tempfile.mkdtemp(prefix="datapedia-metrics-")
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = own_metrics_dir
            atexit.register(shutil.rmtree, own_metrics_dir, ignore_errors=True)
    logger.info(
        "%s worker(s) on http://%s:%s; database %s",
        count,
        host,
        port,
        _shown_url(settings.database_url),
    )
    config: dict[str, Any] = {
        "app": "app.main:app_factory",
        "factory": True,
        "host": host,
        "port": port,
        "log_config": log_config,
        "access_log": False,
        "timeout_graceful_shutdown": settings.graceful_shutdown_seconds,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        # The app writes each answer's Date as it sends it (app.api.http.DateHeader);
        # uvicorn's, renewed once a second, could be earlier than a Last-Modified.
        "date_header": False,
    }
    if count > 1 and workers_module.supported():
        # Each worker listens on a socket of its own, so connections spread over them.
        supervisor = workers_module.Supervisor(
            config, count, stop_seconds=settings.graceful_shutdown_seconds
        )
        try:
            status = supervisor.run()
        except OSError as exc:
            err.print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}")
            raise typer.Exit(1) from exc
        raise typer.Exit(status)
    # SIGTERM is how an operator (systemd, Docker, Kubernetes) asks for a stop: uvicorn lets
    # the running requests finish, then re-raises the signal it caught. With this handler the
    # re-raised signal (or one that comes before uvicorn listens) ends the process with exit
    # status 0, a clean stop, instead of death by signal.
    signal.signal(signal.SIGTERM, _stop_cleanly)
    uvicorn.run(
        **config,
        workers=count,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


def _check_can_listen(host: str, port: int) -> None:
    """Stop in one line when the address cannot be listened on (taken, or a host that is
    not this machine's)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            # As uvicorn binds: a port whose last connections wait in TIME_WAIT is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        err.print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}")
        raise typer.Exit(1) from exc


def _shown_url(url: str) -> str:
    """The database URL an operator can check, without its password."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    # libpq also takes the password as a query parameter.
    hidden = {name: "***" for name in parsed.query if "password" in name.lower()}
    return parsed.update_query_dict(hidden).render_as_string(hide_password=True)


def _database_error(exc: Exception) -> None:
    err.print(f"[red]error:[/red] the database does not answer: {first_line(exc)}", markup=True)
    raise typer.Exit(1) from exc


def _require_current_schema(url: str) -> None:
    """The commands that work on the data need this version's schema: one line naming the
    command to run, instead of a traceback at the first table or column missing (a database
    never migrated, or one restored from an older backup)."""
    from app.db.migrate import current_revision, head_revision, pending_revisions

    revision = current_revision(url)
    if pending_revisions(revision):  # a newer release's revision raises UnknownRevision
        found = f"is at revision {revision}" if revision else "has no schema yet"
        err.print(
            f"[red]error:[/red] the database {found}; this version needs revision "
            f"{head_revision()}: run 'datapedia db upgrade' first (with the same "
            "DATAPEDIA_DATABASE_URL)",
            markup=True,
            highlight=False,
        )
        raise typer.Exit(1)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (alembic upgrade head) and say which."""
    from sqlalchemy.exc import OperationalError

    from app.db.migrate import head_revision, upgrade_to_head

    url = get_settings().database_url
    err.print(f"database {_shown_url(url)}", markup=False, highlight=False)
    try:
        # Under a PostgreSQL advisory lock: replicas starting at once migrate one at a time.
        done = upgrade_to_head(url)
    except OperationalError as exc:
        _database_error(exc)
        return
    before, pending = done.before, done.applied
    if not pending:
        out.print(f"database already at the latest revision {before}; nothing to do")
    elif before is None:
        out.print(
            f"new database: created the schema at revision {head_revision()} "
            f"({len(pending)} migrations: {', '.join(pending)})"
        )
    else:
        out.print(
            f"database upgraded from revision {before} to {head_revision()} "
            f"(applied {', '.join(pending)})"
        )


class _SeedProgress:
    """Rich progress: a spinner with the elapsed time on the running step, then one line per
    step with its rows and rows per second."""

    def __init__(self, console: Console) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.console = console
        self.started_at = 0.0
        self.task: object = None
        self.rows: list[tuple[str, int, float]] = []

    def started(self, label: str) -> None:
        self.started_at = time.perf_counter()
        self.task = self.progress.add_task(label, total=None)

    def finished(self, label: str, rows: int) -> None:
        seconds = time.perf_counter() - self.started_at
        if self.task is not None:
            self.progress.remove_task(self.task)  # type: ignore[arg-type]
        self.rows.append((label, rows, seconds))
        rate = f"{rows / seconds:,.0f} rows/s" if seconds > 0 and rows else "-"
        self.console.print(f"  {label}: {rows:,} rows in {seconds:.1f} s ({rate})")


def _ensure_migrated(url: str) -> None:
    """Seeding needs the schema: a database behind the code is migrated first (and said)."""
    from app.db.migrate import head_revision, upgrade_to_head

    done = upgrade_to_head(url)
    before, pending = done.before, done.applied
    if pending:
        state = f"was at revision {before}" if before else "had no schema yet"
        err.print(
            f"the database {state}: migrated to {head_revision()} first "
            f"(applied {', '.join(pending)})"
        )


@cli.command()
def seed(
    source_dir: Annotated[
        Path | None, typer.Option(help="Folder with geo/ and values/ (default: settings).")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also list every source row left out.")
    ] = False,
) -> None:
    """Load everything available: geography, organisations, catalogue, city-regions, values.

    Migrates the database first when it is behind. Idempotent: an unchanged source is skipped.
    """
    from sqlalchemy.exc import OperationalError

    from app.db.migrate import schema_lock
    from app.db.session import make_engine, make_session_factory, transaction
    from app.ingest.seed import seed_all, store_downloads
    from app.rdf import cubefiles
    from app.rdf.dcat import Uris

    settings = get_settings()
    if source_dir is not None and not source_dir.is_dir():
        # Named on purpose: a typo must not seed the catalogue alone and report success.
        err.print(f"error: --source-dir {source_dir} is not a folder", markup=False)
        raise typer.Exit(2)
    if (
        source_dir is None
        and "source_dir" in settings.model_fields_set
        and not settings.source_dir.is_dir()
    ):
        # Set, and mistyped: the same. Only the default may be missing (a machine without the
        # real data still gets the authored catalogue).
        err.print(
            f"error: DATAPEDIA_SOURCE_DIR {settings.source_dir} is not a folder", markup=False
        )
        raise typer.Exit(2)
    try:
        _ensure_migrated(settings.database_url)
    except OperationalError as exc:
        _database_error(exc)
    engine = make_engine(settings.database_url)
    progress = _SeedProgress(err)
    started = time.perf_counter()
    try:
        # Replicas starting at once (DATAPEDIA_SEED_ON_START=1) seed one after the other: the
        # second finds the sources unchanged and skips them.
        factory = make_session_factory(engine)
        with schema_lock(settings.database_url), progress.progress:
            with transaction(factory) as session:
                outcome = seed_all(
                    session,
                    source_dir or settings.source_dir,
                    SEEDS_DIR,
                    observer=progress,
                    boundaries=settings.load_boundaries,
                )
            # The stored files of what the seed published, once it is committed (see
            # store_downloads): the downloads, and the Data Cube dumps, so that the first
            # catalogue request does not write them (energy-fluvius: about a minute).
            with transaction(factory) as session:
                store_downloads(session, observer=progress)
                progress.started("data cube dumps")
                progress.finished(
                    "data cube dumps", cubefiles.write_all(session, Uris(settings.base_url))
                )
    except SourceDataError as exc:
        err.print(f"[red]Seeding failed; the database is unchanged.[/red] {exc}:")
        for problem in exc.problems[:200]:
            err.print(f"  {problem}")
        if len(exc.problems) > 200:
            err.print(f"  … and {len(exc.problems) - 200} more")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    _seed_summary(outcome, verbose, time.perf_counter() - started)


def _seed_summary(outcome: SeedOutcome, verbose: bool, seconds: float) -> None:
    table = Table(title=f"datapedia seed: done in {seconds:.1f} s", title_justify="left")
    for column in ("step", "added", "changed", "unchanged", "removed", "skipped"):
        table.add_column(column, justify="left" if column == "step" else "right")
    details: list[str] = []
    if outcome.geography is not None:
        geo = outcome.geography
        table.add_row(
            "geography units",
            f"{geo.units_inserted:,}",
            f"{geo.units_updated:,}",
            f"{geo.units_unchanged:,}",
            "-",
            f"{len(geo.skipped):,}",
        )
        details += [f"geography: skipped {line}" for line in geo.skipped]
    if outcome.boundaries is not None:
        shapes = outcome.boundaries
        table.add_row(
            "boundaries",
            f"{shapes.inserted:,}",
            f"{shapes.updated:,}",
            f"{shapes.unchanged:,}",
            "-",
            f"{len(shapes.skipped):,}",
        )
        drawn = ", ".join(f"{n} {k}" for k, n in shapes.counts.items())
        details.append(f"boundaries: {drawn}")
        details += [f"boundaries: {line}" for line in shapes.skipped]
    inserted = sum(n for k, n in outcome.catalogue_changes.items() if k.endswith("inserted"))
    updated = sum(n for k, n in outcome.catalogue_changes.items() if k.endswith("updated"))
    table.add_row("catalogue", f"{inserted:,}", f"{updated:,}", "-", "-", "-")
    for values in outcome.values:
        if values.missing_files:
            continue
        if values.unchanged:
            table.add_row(values.dataset, "-", "-", "same source", "-", "-")
            continue
        table.add_row(
            values.dataset,
            f"{values.rows_added:,}",
            f"{values.rows_changed:,}",
            f"{values.rows_unchanged:,}",
            f"{values.rows_removed:,}",
            f"{len(values.unknown_codes):,}",
        )
        details.append(
            f"values {values.dataset}: revision {values.revision}, "
            f"{values.published:,} published values "
            f"({values.published_written:,} written in this revision); "
            f"{values.outside_geography} values of the Walloon Region left out; "
            f"{values.remapped} values of codes the geography does not list counted in their "
            "municipality's '…ZZZZ' remainder"
        )
        details += [
            f"values {values.dataset}: skipped line {line}" for line in values.unknown_codes
        ]
    for dataset_id, revision, published in outcome.derived:
        table.add_row(f"{dataset_id} (derived)", "-", "-", "-", "-", "-")
        details.append(
            f"values {dataset_id}: revision {revision}, {published:,} published values "
            "(derived indicators, recomputed after each import of a source dataset)"
        )
    out.print(table)
    if verbose:
        for line in details:
            out.print(f"  {line}", markup=False, highlight=False)
    elif details:
        out.print(f"{len(details)} more lines (rows skipped and why): run with --verbose")
    for warning in outcome.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}")


COPIES_COMPARED = "copies of the parts compared with their sources (datapedia publish --all)"


@cli.command()
def publish(
    dataset: Annotated[str, typer.Option(help="Dataset id.")],
    all_slices: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Recompute every indicator and period (required: the only mode for now).",
        ),
    ] = False,
) -> None:
    """Recompute a dataset's published values and store what differs.

    From its current observations, in its latest revision
    (e.g. after a new geography version was loaded).
    A dataset of derived values first compares its copies of the parts
    with their sources (a new revision when they differ).
    Submissions publish incrementally; after them this changes nothing."""
    from app.catalogue.repository import get_dataset
    from app.db.session import make_engine, make_session_factory, transaction
    from app.stats.derived import source_datasets
    from app.stats.publish import publish_all
    from app.stats.repository import count_published
    from app.stats.revisions import refresh_derived

    if not all_slices:
        err.print("[red]error:[/red] give --all (a full recomputation of the dataset)")
        raise typer.Exit(2)
    url = get_settings().database_url
    _require_current_schema(url)
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            if get_dataset(session, dataset) is None:
                err.print(f"[red]error:[/red] dataset {dataset!r} not found")
                raise typer.Exit(1)
            # Copies made under other rules (before copies kept to the spatial coverage)
            # are compared only when a row leaves a source: here every part is.
            copied = (
                refresh_derived(session, dataset, COPIES_COMPARED)
                if source_datasets(session, dataset)
                else None
            )
            outcome = publish_all(session, dataset)
            current = count_published(session, dataset)
    finally:
        engine.dispose()
    if copied is not None:
        out.print(
            f"{dataset}: its copies of the parts differed from their sources: revision {copied}"
        )
    out.print(
        f"{dataset}: {outcome.slices} slices recomputed; {outcome.inserted} rows written, "
        f"{outcome.closed} closed, {outcome.corrected} corrected; {current} published values"
    )


@keys_cli.command("create")
def keys_create(
    org: Annotated[str, typer.Option(help="Organisation id the key belongs to.")],
    role: Annotated[str, typer.Option(help="reader, supplier, editor or admin.")] = "reader",
    label: Annotated[str | None, typer.Option(help="A note to recognise the key.")] = None,
) -> None:
    """Create an API key. It is printed once, alone on the last line."""
    from pydantic import TypeAdapter, ValidationError

    from app.audit.service import record
    from app.auth.keys import create_key
    from app.auth.schemas import Label
    from app.db.session import make_engine, make_session_factory, transaction

    if label is not None:
        try:
            TypeAdapter(Label).validate_python(label)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
            err.print(f"[red]error:[/red] --label: {reason}", markup=True, highlight=False)
            raise typer.Exit(2) from exc
    url = get_settings().database_url
    _require_current_schema(url)
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            key = create_key(session, org, role, label)
            record(
                session,
                "key.create",
                actor="datapedia keys create (command line)",
                target=f"organisation:{org}",
                details={"role": role, "prefix": key[:10]},
            )
    except DatapediaError as exc:
        err.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    err.print(f"API key for {org} ({role}); store it now, it is not shown again:")
    print(key)


@dcat_cli.command("validate")
def dcat_validate(
    shacl_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder with the official shapes (default DATAPEDIA_SHACL_DIR, else shacl/ "
            "beside DATAPEDIA_SOURCE_DIR: ../shared/shacl)."
        ),
    ] = None,
) -> None:
    """Validate the whole catalogue against DCAT-AP 3.0.1 and DCAT-AP-VL 3 (pyshacl).

    Exits with 1 when there is any Violation; Warnings are listed.
    """
    from app.db.session import make_engine, make_session_factory
    from app.rdf.dcat import Uris, catalog_graph
    from app.rdf.validate import default_shacl_dir, shacl_report

    settings = get_settings()
    _require_current_schema(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            graph = catalog_graph(session, Uris(settings.base_url))
    finally:
        engine.dispose()
    folder = shacl_dir or default_shacl_dir()
    if not folder.is_dir():
        err.print(f"[red]error:[/red] no shapes in {folder}; pass --shacl-dir")
        raise typer.Exit(2)
    outcome = shacl_report(graph, folder)
    for result in outcome.results:
        out.print(str(result))
    out.print(outcome.summary())
    if outcome.violations:
        raise typer.Exit(1)


def main() -> None:
    from sqlalchemy.exc import DBAPIError, OperationalError

    from app.db.migrate import UnknownRevision
    from app.db.session import NOT_A_DATABASE_HINT, is_not_a_database, is_refused_write

    try:
        cli()
    except OperationalError as exc:  # any command, the database away: one line, no traceback
        err.print(f"[red]error:[/red] the database does not answer: {first_line(exc)}")
        raise SystemExit(1) from None
    except DBAPIError as exc:  # a read-only user or a standby: one line, nothing changed
        if is_not_a_database(exc):
            err.print(
                f"[red]error:[/red] the database cannot be read: {first_line(exc)}. "
                f"{NOT_A_DATABASE_HINT}",
                highlight=False,
            )
            raise SystemExit(1) from None
        if not is_refused_write(exc):
            raise
        err.print(
            f"[red]error:[/red] the database refused the command's work: {first_line(exc)}. "
            "The user of DATAPEDIA_DATABASE_URL needs SELECT, INSERT, UPDATE and DELETE on "
            "every table and USAGE on every sequence of the schema (db upgrade: the schema's "
            "owner), on the primary server",
            highlight=False,
        )
        raise SystemExit(1) from None
    except UnknownRevision as exc:  # db upgrade, seed: a database of a newer release
        err.print(f"[red]error:[/red] {exc}")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
