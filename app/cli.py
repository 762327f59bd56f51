"""The ``datapedia`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

import app.models  # noqa: F401  (every table mapped before the first session)
from app.config import SEEDS_DIR, get_settings
from app.errors import DatapediaError, SourceDataError

cli = typer.Typer(help="Datapedia: open-data catalogue and statistics API.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_cli = typer.Typer(help="API keys.", no_args_is_help=True)
dcat_cli = typer.Typer(help="The DCAT catalogue.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(dcat_cli, name="dcat")
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the API (uvicorn)."""
    import uvicorn

    uvicorn.run("app.main:app_factory", factory=True, host=host, port=port, log_level="info")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (alembic upgrade head)."""
    from app.db.migrate import upgrade

    upgrade(get_settings().database_url)
    out.print("database is at the latest schema revision")


@cli.command()
def seed(
    source_dir: Annotated[
        Path | None, typer.Option(help="Folder with geo/ and values/ (default: settings).")
    ] = None,
) -> None:
    """Load everything available: geography, organisations, catalogue, city-regions."""
    from app.db.session import make_engine, make_session_factory, transaction
    from app.ingest.seed import seed_all

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            outcome = seed_all(
                session,
                source_dir or settings.source_dir,
                SEEDS_DIR,
                boundaries=settings.load_boundaries,
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
    if outcome.geography is not None:
        geo = outcome.geography
        out.print(
            f"geography: {geo.units_inserted} units inserted, {geo.units_updated} updated, "
            f"{geo.units_unchanged} unchanged; {geo.links_inserted} links added, "
            f"{geo.links_deleted} removed; {len(geo.skipped)} source rows skipped:"
        )
        for line in geo.skipped:
            out.print(f"  skipped {line}")
    if outcome.boundaries is not None:
        shapes = outcome.boundaries
        drawn = ", ".join(f"{n} {k}" for k, n in shapes.counts.items())
        out.print(
            f"boundaries: {shapes.inserted} shapes inserted, {shapes.updated} updated, "
            f"{shapes.unchanged} unchanged ({drawn}); {len(shapes.skipped)} notes:"
        )
        for line in shapes.skipped:
            out.print(f"  {line}")
    changes = ", ".join(f"{n} {k}" for k, n in outcome.catalogue_changes.items()) or "no changes"
    out.print(f"catalogue: {changes}")
    for values in outcome.values:
        if values.missing_files:
            continue
        if values.unchanged:
            out.print(f"values {values.dataset}: source unchanged, nothing to do")
            continue
        out.print(
            f"values {values.dataset}: revision {values.revision}; {values.rows_added} added, "
            f"{values.rows_changed} changed, {values.rows_unchanged} unchanged, "
            f"{values.rows_removed} removed; {values.published} published values "
            f"({values.published_written} written in this revision); "
            f"{values.outside_geography} values of the Walloon Region left out; "
            f"{values.remapped} values of codes the geography does not list counted in their "
            "municipality's '…ZZZZ' remainder; "
            f"{len(values.unknown_codes)} values with a code unknown to the geography"
        )
        for line in values.unknown_codes[:100]:
            out.print(f"  skipped line {line}")
        if len(values.unknown_codes) > 100:
            out.print(f"  … and {len(values.unknown_codes) - 100} more")
    for warning in outcome.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}")


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
    """Recompute a dataset's published values from its current observations and store what
    differs, in its latest revision (e.g. after a new geography version was loaded).
    Submissions publish incrementally; after them this changes nothing."""
    from app.catalogue.repository import get_dataset
    from app.db.session import make_engine, make_session_factory, transaction
    from app.stats.publish import publish_all
    from app.stats.repository import count_published

    if not all_slices:
        err.print("[red]error:[/red] give --all (a full recomputation of the dataset)")
        raise typer.Exit(2)
    engine = make_engine(get_settings().database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            if get_dataset(session, dataset) is None:
                err.print(f"[red]error:[/red] dataset {dataset!r} not found")
                raise typer.Exit(1)
            outcome = publish_all(session, dataset)
            current = count_published(session, dataset)
    finally:
        engine.dispose()
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
    from app.audit.service import record
    from app.auth.keys import create_key
    from app.db.session import make_engine, make_session_factory, transaction

    engine = make_engine(get_settings().database_url)
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
        Path | None, typer.Option(help="Folder with the official shapes (default ../shared/shacl).")
    ] = None,
) -> None:
    """Validate the whole catalogue against DCAT-AP 3.0.1 and DCAT-AP-VL 3 (pyshacl).

    Exits with 1 when there is any Violation; Warnings are listed.
    """
    from app.db.session import make_engine, make_session_factory
    from app.rdf.dcat import Uris, catalog_graph
    from app.rdf.validate import default_shacl_dir, shacl_report

    settings = get_settings()
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
    cli()


if __name__ == "__main__":
    main()
