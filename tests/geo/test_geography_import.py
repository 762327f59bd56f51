"""The geography importer on small fixtures of our own: structure, idempotency, bad input."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.config import SEEDS_DIR
from app.db.session import transaction
from app.errors import SourceDataError
from app.geo import repository
from app.geo.importer import VERSIONS_FILE, VersionSource, import_geography, load_versions
from app.geo.models import GeoSuccessor, GeoUnit, GeoUnitAncestor
from app.geo.service import resolve_unit
from app.stats.repository import geography_stamp
from tests.conftest import session_factory_for
from tests.dbutil import backend

HEADER_2025 = [
    "statsec",
    "statsec_naam",
    "gemeente",
    "gemeente_naam",
    "provincie",
    "provincie_naam",
    "gewest",
    "arrondiss",
    "bestuurlijk_arrondissement_naam",
    "REFREG",
    "refreg_naam",
    "vervoerregio",
    "vervoerregio_naam",
]
HEADER_2024 = [
    "statsec2024",
    "statsec2024_naam",
    "gemeente2024",
    "gemeente2024_naam",
    "gemeente",
    "provincie2024",
    "provincie2024_naam",
    "gewest",
    "arrondiss2024",
    "bestuurlijk_arrondissement2024_naam",
    "REFREG",
    "refreg_naam",
    "vervoerregio",
    "vervoerregio_naam",
]
ANTWERP = [
    "10000",
    "Antwerpen (Prov.)",
    "2000",
    "11000",
    "Antwerpen (Arr.)",
    "REFREG01",
    "Regio Antwerpen",
    "2",
    "Antwerpen (Verv.)",
]
BRUSSELS = [
    "4000",
    "Brussels Hoofdstedelijk Gewest",
    "4000",
    "21000",
    "Brussel (Arr.)",
    "",
    "",
    "",
    "",
]
ROWS_2025 = [
    ["11002A00-", "Antwerpen-Centrum", "11002", "Antwerpen", *ANTWERP],
    ["11007A00-", "Borsbeek-Centrum", "11002", "Antwerpen", *ANTWERP],
    ["11002ZZZZ", "Antwerpen - niet te lokaliseren", "11002", "Antwerpen", *ANTWERP],
    ["21004A00-", "Grote Markt", "21004", "Brussel", *BRUSSELS],
    ["21004ZZZZ", "Brussel - niet te lokaliseren", "21004", "Brussel", *BRUSSELS],
    [
        "99991ZZZZ",
        "Niet te lokaliseren - Vlaanderen",
        "99991",
        "Niet te lokaliseren",
        "99991",
        "x",
        "2000",
        "99991",
        "x",
        "REFREG91",
        "x",
        "91",
        "x",
    ],
]
ROWS_2024 = [
    ["11002A00-", "Antwerpen-Centrum", "11002", "Antwerpen", "11002", *ANTWERP],
    ["11002ZZZZ", "Antwerpen - niet te lokaliseren", "11002", "Antwerpen", "11002", *ANTWERP],
    ["11007A00-", "Borsbeek-Centrum", "11007", "Borsbeek", "11002", *ANTWERP],
    ["11007ZZZZ", "Borsbeek - niet te lokaliseren", "11007", "Borsbeek", "11002", *ANTWERP],
    ["21004A00-", "Grote Markt", "21004", "Brussel", "21004", *BRUSSELS],
]
MERGERS = [
    ["nis_2024", "naam_2024", "nis_2025", "naam_2025", "gewest"],
    ["11002", "Antwerpen", "11002", "Antwerpen", "Vlaams Gewest"],
    ["11007", "Borsbeek", "11002", "Antwerpen", "Vlaams Gewest"],
    ["82003", "Bastogne", "82039", "Bastogne", "Waals Gewest"],
]


def write_sources(
    root: Path,
    rows_2025: list[list[str]] = ROWS_2025,
    rows_2024: list[list[str]] = ROWS_2024,
    mergers: list[list[str]] = MERGERS,
    header_2025: list[str] = HEADER_2025,
) -> Path:
    geo = root / "geo"
    geo.mkdir(parents=True, exist_ok=True)
    for name, header, rows in (
        ("pinc_statsec2025_alle_gebiedsniveaus.csv", header_2025, rows_2025),
        ("pinc_statsec2024_alle_gebiedsniveaus.csv", HEADER_2024, rows_2024),
        ("gemeentefusies_2025.csv", None, mergers),
    ):
        with (geo / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            if header:
                writer.writerow(header)
            writer.writerows(rows)
    return root


@pytest.fixture
def db_session(empty_db: str) -> Iterator[Session]:
    engine, factory = session_factory_for(empty_db)
    with factory() as session:
        yield session
    engine.dispose()


def counts(session: Session) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (GeoUnit, GeoUnitAncestor, GeoSuccessor)
    )


def test_fixture_geography_is_imported_with_its_structure(
    db_session: Session, tmp_path: Path
) -> None:
    report = import_geography(db_session, write_sources(tmp_path))
    assert report.counts["2025/municipality"] == 2
    assert report.counts["2024/municipality"] == 3
    assert report.counts["2025/sector"] == 5
    antwerpen = repository.get_unit(db_session, "municipality", "11002", "2025")
    assert antwerpen is not None
    # Borsbeek's sector keeps its 11007 prefix but lies in Antwerpen from 2025 on.
    borsbeek_sector = repository.get_unit(db_session, "sector", "11007A00-", "2025")
    assert borsbeek_sector is not None and borsbeek_sector.parent_id == antwerpen.id
    remainder = repository.get_unit(db_session, "sector", "11002ZZZZ", "2025")
    assert remainder is not None and remainder.not_localisable
    assert repository.member_counts(db_session, antwerpen.id) == {"sector": 3}
    borsbeek = repository.get_unit(db_session, "municipality", "11007", "2024")
    assert borsbeek is not None
    assert [u.id for u in repository.successors(db_session, borsbeek.id)] == [antwerpen.id]
    # Dummies and mergers outside Flanders and Brussels are reported, not silently dropped.
    assert any("99991ZZZZ" in s and ":7:" in s for s in report.skipped)
    assert any("82003" in s for s in report.skipped)


def test_second_import_changes_nothing(db_session: Session, tmp_path: Path) -> None:
    source = write_sources(tmp_path)
    import_geography(db_session, source)
    db_session.commit()
    before = counts(db_session), geography_stamp(db_session)
    report = import_geography(db_session, source)
    assert not report.changed
    # Not even the change counter moved: the workers keep their geography.
    assert (counts(db_session), geography_stamp(db_session)) == before


def test_a_renamed_unit_is_updated_in_place(db_session: Session, tmp_path: Path) -> None:
    import_geography(db_session, write_sources(tmp_path))
    renamed = [list(r) for r in ROWS_2025]
    renamed[0][1] = "Antwerpen-Centrum (nieuw)"
    report = import_geography(db_session, write_sources(tmp_path, rows_2025=renamed))
    assert (report.units_inserted, report.units_updated) == (0, 1)
    unit = repository.get_unit(db_session, "sector", "11002A00-", "2025")
    assert unit is not None and unit.name == "Antwerpen-Centrum (nieuw)"


def test_a_sector_moved_to_another_municipality_changes_its_links(
    db_session: Session, tmp_path: Path
) -> None:
    import_geography(db_session, write_sources(tmp_path / "before"))
    moved = [list(r) for r in ROWS_2025]
    moved[1] = ["11007A00-", "Borsbeek-Centrum", "21004", "Brussel", *BRUSSELS]
    report = import_geography(db_session, write_sources(tmp_path / "after", rows_2025=moved))
    # Antwerpen, its arrondissement, province, reference and transport regions and the
    # Flemish Region out; Brussel, its arrondissement and region in.
    assert (report.links_deleted, report.links_inserted) == (6, 3)
    sector = repository.get_unit(db_session, "sector", "11007A00-", "2025")
    assert sector is not None
    assert sorted((u.level, u.code) for u in repository.ancestors(db_session, sector.id)) == [
        ("arrondissement", "21000"),
        ("municipality", "21004"),
        ("region", "04000"),
    ]
    assert not import_geography(db_session, write_sources(tmp_path / "after", moved)).changed


def test_the_links_go_in_one_statement_per_table(db_session: Session, tmp_path: Path) -> None:
    """On PostgreSQL every statement on the link tables bumps the geography's change counter
    (migration 0014): one statement per link updated that row 170,000 times in a real load
    (549 s against 14 s). Counted here with a statement trigger of the test's own."""
    if backend() != "postgresql":
        pytest.skip("statement triggers are PostgreSQL's (SQLite's count rows)")
    db_session.execute(text("CREATE TABLE link_statement (link_table TEXT)"))
    db_session.execute(
        text(
            "CREATE FUNCTION log_link_statement() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO link_statement VALUES (TG_TABLE_NAME); RETURN NULL; END $$"
        )
    )
    for table in ("geo_unit_ancestor", "geo_successor"):
        db_session.execute(
            text(
                f"CREATE TRIGGER {table}_logged AFTER INSERT ON {table} FOR EACH STATEMENT "
                "EXECUTE FUNCTION log_link_statement()"
            )
        )
    import_geography(db_session, write_sources(tmp_path))
    links = db_session.scalar(select(func.count()).select_from(GeoUnitAncestor))
    statements = db_session.execute(
        text("SELECT link_table, count(*) FROM link_statement GROUP BY link_table")
    ).all()
    assert links is not None and links > 40
    assert dict(statements) == {"geo_unit_ancestor": 1, "geo_successor": 1}


@pytest.mark.parametrize(
    ("row_index", "column", "bad_value", "expected"),
    [
        (1, 0, "11007A0", "malformed sector code '11007A0'"),
        (1, 2, "ABCDE", "malformed municipality code 'ABCDE'"),
        (1, 6, "3000", "unknown region code '3000'"),
        (1, 9, "REFREGXX", "malformed referentieregio code 'REFREGXX'"),
        (3, 0, "11002A00-", "duplicate sector 11002A00-"),
        (1, 7, "12000", "lies in arrondissement:12000 here but in arrondissement:11000"),
    ],
)
def test_malformed_rows_are_reported_and_nothing_is_stored(
    empty_db: str, tmp_path: Path, row_index: int, column: int, bad_value: str, expected: str
) -> None:
    engine, factory = session_factory_for(empty_db)
    with transaction(factory) as session:
        import_geography(session, write_sources(tmp_path / "good"))
    with factory() as session:
        before = counts(session)
    rows = [list(r) for r in ROWS_2025]
    rows[row_index][column] = bad_value
    with pytest.raises(SourceDataError) as caught, transaction(factory) as session:
        import_geography(session, write_sources(tmp_path / "bad", rows_2025=rows))
    line = row_index + 2  # header is line 1
    assert any(
        p.startswith(f"pinc_statsec2025_alle_gebiedsniveaus.csv:{line}:") and expected in p
        for p in caught.value.problems
    ), caught.value.problems
    with factory() as session:
        assert counts(session) == before
    engine.dispose()


def test_a_missing_column_is_reported_once(db_session: Session, tmp_path: Path) -> None:
    header = [c for c in HEADER_2025 if c != "gewest"]
    rows = [[v for i, v in enumerate(r) if i != HEADER_2025.index("gewest")] for r in ROWS_2025]
    with pytest.raises(SourceDataError) as caught:
        import_geography(db_session, write_sources(tmp_path, rows_2025=rows, header_2025=header))
    assert caught.value.problems == [
        "pinc_statsec2025_alle_gebiedsniveaus.csv:1: header lacks the column(s) gewest"
    ]


def test_a_missing_file_is_reported(db_session: Session, tmp_path: Path) -> None:
    source = write_sources(tmp_path)
    (source / "geo" / "gemeentefusies_2025.csv").unlink()
    with pytest.raises(SourceDataError) as caught:
        import_geography(db_session, source)
    assert any("gemeentefusies_2025.csv: file not found" in p for p in caught.value.problems)


def test_a_merger_that_contradicts_the_sector_file_is_reported(
    db_session: Session, tmp_path: Path
) -> None:
    mergers = [list(r) for r in MERGERS]
    mergers[2][2] = "21004"
    with pytest.raises(SourceDataError) as caught:
        import_geography(db_session, write_sources(tmp_path, mergers=mergers))
    assert any(
        p.startswith("gemeentefusies_2025.csv:3:") and "disagrees" in p
        for p in caught.value.problems
    )


# A later sector version, described by a data file and loaded from files alone: no code knows
# its name. Its file looks back (a predecessor column), as newer code lists do.
VERSIONS_2026 = """
- id: "2026"
  label: Fictitious sector version 2026
  valid_from: 2026-01-01
  file: statsec2026.csv
  columns:
    sector: statsec
    sector_name: statsec_naam
    municipality: gemeente
    municipality_name: gemeente_naam
    arrondissement: arrondiss
    arrondissement_name: bestuurlijk_arrondissement_naam
    province: provincie
    province_name: provincie_naam
    wijk: ggw7
  predecessor: {version: "2025", column: gemeente2025}
  wijk_names: gebiedsnamen.csv
"""
HEADER_2026 = [*HEADER_2025, "gemeente2025", "ggw7"]
ROWS_2026 = [
    ["11002A00-", "Antwerpen-Centrum", "11002", "Antwerpen", *ANTWERP, "11002", "11002W01"],
    ["11002A01-", "Antwerpen-Zuid", "11002", "Antwerpen", *ANTWERP, "11002", "11002W01"],
    ["11007A00-", "Borsbeek-Centrum", "11002", "Antwerpen", *ANTWERP, "11002", "11002W02"],
    ["11002ZZZZ", "Antwerpen - onbekend", "11002", "Antwerpen", *ANTWERP, "11002", "11002WONB"],
    ["21004A00-", "Grote Markt", "21004", "Brussel", *BRUSSELS, "21004", "21004W1"],
    ["21004ZZZZ", "Brussel - onbekend", "21004", "Brussel", *BRUSSELS, "21004", "21004WONB"],
]
NAMES_2026 = [
    ["geoitem", "v9900_gebiedsnaam", "geolevel", "v9900_gebiedscode", "period"],
    ["11002W01", "Centrum (Antwerpen)", "ggw7", "11002W01", "1970"],
    ["11002W02", "Borsbeek (Antwerpen)", "ggw7", "11002W02", "1970"],
    ["11002WONB", "Onbekend (Antwerpen)", "ggw7", "11002WONB", "1970"],
    ["21004W1", "Vijfhoek (Brussel)", "ggw7", "21004W1", "1970"],
    ["21004WONB", "Onbekend (Brussel)", "ggw7", "21004WONB", "1970"],
    ["11002", "Antwerpen", "gemeente", "11002", "1970"],
]


def _with_2026(root: Path) -> tuple[Path, list[VersionSource]]:
    source = write_sources(root)
    for name, rows in (
        ("statsec2026.csv", [HEADER_2026, *ROWS_2026]),
        ("gebiedsnamen.csv", NAMES_2026),
    ):
        with (source / "geo" / name).open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
    versions_file = root / "geo_versions.yaml"
    versions_file.write_text(
        (SEEDS_DIR / VERSIONS_FILE).read_text(encoding="utf-8") + VERSIONS_2026, encoding="utf-8"
    )
    return source, load_versions(versions_file)


def test_a_2026_version_loaded_from_files_becomes_the_latest(
    db_session: Session, tmp_path: Path
) -> None:
    import_geography(db_session, write_sources(tmp_path / "before"))
    assert repository.latest_version(db_session) == "2025"
    source, versions = _with_2026(tmp_path / "after")
    report = import_geography(db_session, source, versions)
    assert repository.latest_version(db_session) == "2026"
    assert repository.version_chain(db_session, "2024") == ["2024", "2025", "2026"]
    assert report.counts["2026/sector"] == 6 and report.counts["2026/wijk"] == 5
    # A reference without a version now means the 2026 unit; 2025 Antwerpen continues in it.
    antwerpen = resolve_unit(db_session, "municipality:11002", None, "unit")
    assert antwerpen.version == "2026"
    old = repository.get_unit(db_session, "municipality", "11002", "2025")
    assert old is not None
    assert [u.id for u in repository.successors(db_session, old.id)] == [antwerpen.id]
    # Its wijken group its sectors; the unknown wijk holds only the remainder.
    centre = repository.get_unit(db_session, "wijk", "11002W01", "2026")
    assert centre is not None and centre.name == "Centrum (Antwerpen)"
    assert centre.parent_id == antwerpen.id and not centre.not_localisable
    assert [u.code for u in repository.members(db_session, centre.id, "sector")] == [
        "11002A00-",
        "11002A01-",
    ]
    unknown = repository.get_unit(db_session, "wijk", "11002WONB", "2026")
    assert unknown is not None and unknown.not_localisable
    # Loading it again changes nothing.
    assert not import_geography(db_session, source, versions).changed


def test_a_version_file_without_its_wijk_column_loads_without_wijken(
    db_session: Session, tmp_path: Path
) -> None:
    report = import_geography(db_session, write_sources(tmp_path))
    assert "2025/wijk" not in report.counts
    assert any("no ggw7 column" in line for line in report.skipped)


def test_a_malformed_wijk_code_is_reported(db_session: Session, tmp_path: Path) -> None:
    source, versions = _with_2026(tmp_path)
    rows = [HEADER_2026, *(list(row) for row in ROWS_2026)]  # copies: ROWS_2026 is shared
    rows[1][-1] = "W01"
    with (source / "geo" / "statsec2026.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    with pytest.raises(SourceDataError) as caught:
        import_geography(db_session, source, versions)
    assert any("statsec2026.csv:2: malformed wijk code 'W01'" in p for p in caught.value.problems)


def test_a_versions_file_linking_an_unknown_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "versions.yaml"
    path.write_text(VERSIONS_2026.replace('version: "2025"', 'version: "2019"'), encoding="utf-8")
    with pytest.raises(SourceDataError) as caught:
        load_versions(path)
    assert "links to unknown version 2019" in caught.value.problems[0]


def _write_2026(source: Path, rows: list[list[str]], encoding: str = "utf-8") -> None:
    with (source / "geo" / "statsec2026.csv").open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle).writerows([HEADER_2026, *rows])


def _refused(db_session: Session, source: Path, versions: list[VersionSource]) -> list[str]:
    before = counts(db_session)
    with pytest.raises(SourceDataError) as caught:
        import_geography(db_session, source, versions)
    db_session.rollback()
    assert counts(db_session) == before
    return caught.value.problems


def test_a_predecessor_that_does_not_exist_is_named(db_session: Session, tmp_path: Path) -> None:
    """It was a KeyError with a traceback, naming neither file nor unit."""
    source, versions = _with_2026(tmp_path)
    rows = [list(row) for row in ROWS_2026]
    rows[0][-2] = "44999"
    _write_2026(source, rows)
    problems = _refused(db_session, source, versions)
    assert any(
        "predecessor municipality:44999 of municipality:11002 is not a 2025 municipality" in p
        for p in problems
    ), problems


def test_a_municipality_split_over_two_successors_is_refused(
    db_session: Session, tmp_path: Path
) -> None:
    """Publication carries a municipality's values to one successor: Destelbergen split over
    Gent and a new municipality was counted whole in the new one (19,088 for 1,014)."""
    source, versions = _with_2026(tmp_path)
    rows = [list(row) for row in ROWS_2026]
    # Borsbeek-Centrum (2025: Antwerpen) goes to a new municipality 11099 in 2026.
    rows[2][2:4] = ["11099", "Nieuwegem"]
    rows.append(
        ["11099ZZZZ", "Nieuwegem - onbekend", "11099", "Nieuwegem", *ANTWERP, "11002", "11099WONB"]
    )
    _write_2026(source, rows)
    problems = _refused(db_session, source, versions)
    assert any(
        "municipality:11002 of version 2025 has sectors in 2 municipalities of version 2026" in p
        for p in problems
    ), problems


def test_a_file_not_in_utf8_is_named_with_its_line(db_session: Session, tmp_path: Path) -> None:
    source, versions = _with_2026(tmp_path)
    rows = [list(row) for row in ROWS_2026]
    rows[3][1] = "Antwerpen - ëlders"
    _write_2026(source, rows, encoding="cp1252")
    problems = _refused(db_session, source, versions)
    assert len(problems) == 1 and problems[0].startswith("statsec2026.csv:5: not UTF-8"), problems


def test_versions_that_succeed_each_other_in_a_circle_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "versions.yaml"
    circle = VERSIONS_2026.replace(
        "  predecessor:", '  successor: {version: "2025", column: gemeente2025}\n  predecessor:'
    )
    path.write_text(
        (SEEDS_DIR / VERSIONS_FILE).read_text(encoding="utf-8") + circle, encoding="utf-8"
    )
    with pytest.raises(SourceDataError) as caught:
        load_versions(path)
    assert any("circle" in p or "successors" in p for p in caught.value.problems)


def test_a_version_file_cut_short_is_refused(db_session: Session, tmp_path: Path) -> None:
    """A 2026 file cut at a line end loaded without a word: the units it no longer held stayed,
    their links went, and the region's total lost a third of Flanders with a normal status."""
    source, versions = _with_2026(tmp_path)
    import_geography(db_session, source, versions)
    db_session.commit()
    _write_2026(source, [list(row) for row in ROWS_2026[:3]])
    problems = _refused(db_session, source, versions)
    assert problems == [
        "statsec2026.csv: 9 units of version 2026 stored before are not in the file (first: "
        "arrondissement:21000, municipality:21004, region:04000); units are never removed: is "
        "the file cut short?"
    ]
