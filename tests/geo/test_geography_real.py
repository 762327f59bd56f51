"""The geography importer against the real shared files (DESIGN §3, issue 'Done when')."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.geo import repository
from app.geo.importer import import_geography
from app.geo.models import GeoSuccessor, GeoUnit, GeoUnitAncestor
from tests.conftest import real_source_dir


def _unit(session: Session, level: str, code: str, version: str) -> GeoUnit:
    unit = repository.get_unit(session, level, code, version)
    assert unit is not None, f"{level}:{code} missing in {version}"
    return unit


def _count_inside(session: Session, container: GeoUnit, level: str, *, localisable: bool) -> int:
    stmt = (
        select(func.count())
        .select_from(GeoUnit)
        .join(GeoUnitAncestor, GeoUnitAncestor.unit_id == GeoUnit.id)
        .where(
            GeoUnitAncestor.ancestor_id == container.id,
            GeoUnit.level == level,
            GeoUnit.not_localisable.is_(not localisable),
        )
    )
    return session.scalar(stmt) or 0


def test_flemish_municipalities_per_version(real_session: Session) -> None:
    flanders_2025 = _unit(real_session, "region", "02000", "2025")
    flanders_2024 = _unit(real_session, "region", "02000", "2024")
    assert _count_inside(real_session, flanders_2025, "municipality", localisable=True) == 285
    assert _count_inside(real_session, flanders_2024, "municipality", localisable=True) == 300


def test_real_sectors_in_2025(real_session: Session) -> None:
    flanders = _unit(real_session, "region", "02000", "2025")
    brussels = _unit(real_session, "region", "04000", "2025")
    assert _count_inside(real_session, flanders, "sector", localisable=True) == 9845
    assert _count_inside(real_session, brussels, "sector", localisable=True) == 749
    # One "not localisable" remainder per municipality.
    assert _count_inside(real_session, flanders, "sector", localisable=False) == 285
    assert _count_inside(real_session, brussels, "sector", localisable=False) == 19


def test_wijken_group_2025_sectors_inside_one_municipality(real_session: Session) -> None:
    flanders = _unit(real_session, "region", "02000", "2025")
    gent = _unit(real_session, "municipality", "44021", "2025")
    # 2,767 wijken have a boundary; the …WONB "unknown" ones hold the ZZZZ remainders.
    localisable = _count_inside(real_session, flanders, "wijk", localisable=True)
    assert _count_inside(real_session, gent, "wijk", localisable=False) == 1
    wijk = _unit(real_session, "wijk", "11001W01", "2025")
    assert wijk.name == "'t Heiken (Aartselaar)"
    assert wijk.parent_id == _unit(real_session, "municipality", "11001", "2025").id
    assert not wijk.not_localisable
    inside = {u.code for u in repository.members(real_session, wijk.id, "sector")}
    assert inside and all(code.startswith("11001") for code in inside)
    unknown = _unit(real_session, "wijk", "44021WONB", "2025")
    assert unknown.not_localisable
    assert [u.code for u in repository.members(real_session, unknown.id, "sector")] == ["44021ZZZZ"]
    assert localisable > 2500
    assert repository.versions_of_unit(real_session, "wijk", "11001W01") == ["2025"]


def test_fifteen_referentieregios(real_session: Session) -> None:
    for version in ("2024", "2025"):
        n = real_session.scalar(
            select(func.count())
            .select_from(GeoUnit)
            .where(GeoUnit.level == "referentieregio", GeoUnit.version == version)
        )
        assert n == 15


def test_gent_in_its_province_and_referentieregio(real_session: Session) -> None:
    gent = _unit(real_session, "municipality", "44021", "2025")
    parents = {a.level: a for a in repository.ancestors(real_session, gent.id)}
    assert parents["province"].code == "40000"
    assert parents["province"].name.startswith("Oost-Vlaanderen")
    assert parents["referentieregio"].code == "REFREG13"
    assert parents["referentieregio"].name == "Regio Gent"
    assert parents["region"].code == "02000"
    assert _count_inside(real_session, gent, "sector", localisable=True) == 254
    remainder = _unit(real_session, "sector", "44021ZZZZ", "2025")
    assert remainder.not_localisable
    assert remainder.parent_id == gent.id


def test_borsbeek_is_succeeded_by_antwerpen(real_session: Session) -> None:
    borsbeek = _unit(real_session, "municipality", "11007", "2024")
    successors = repository.successors(real_session, borsbeek.id)
    assert [(u.code, u.version) for u in successors] == [("11002", "2025")]
    antwerpen = _unit(real_session, "municipality", "11002", "2025")
    predecessors = {u.code for u in repository.predecessors(real_session, antwerpen.id)}
    assert predecessors == {"11002", "11007"}
    assert repository.get_unit(real_session, "municipality", "11007", "2025") is None


def test_hasselt_changes_code(real_session: Session) -> None:
    assert _unit(real_session, "municipality", "71022", "2024").name == "Hasselt"
    assert _unit(real_session, "municipality", "71072", "2025").name == "Hasselt"
    assert repository.get_unit(real_session, "municipality", "71022", "2025") is None
    old = _unit(real_session, "municipality", "71022", "2024")
    assert [u.code for u in repository.successors(real_session, old.id)] == ["71072"]


def test_every_2024_municipality_has_one_successor(real_session: Session) -> None:
    pred = aliased(GeoUnit)
    stmt = (
        select(pred.code, func.count(GeoSuccessor.successor_id))
        .select_from(pred)
        .outerjoin(GeoSuccessor, GeoSuccessor.predecessor_id == pred.id)
        .where(pred.level == "municipality", pred.version == "2024")
        .group_by(pred.code)
    )
    counts = dict(real_session.execute(stmt).all())
    assert len(counts) == 300 + 19
    assert set(counts.values()) == {1}


def test_zwijndrecht_changes_province(real_session: Session) -> None:
    # Zwijndrecht (11056) lay in the province of Antwerp until it joined
    # Beveren-Kruibeke-Zwijndrecht (46030, East Flanders) in 2025.
    old = _unit(real_session, "municipality", "11056", "2024")
    parents = {a.level: a.code for a in repository.ancestors(real_session, old.id)}
    assert parents["province"] == "10000"
    new = _unit(real_session, "municipality", "46030", "2025")
    parents = {a.level: a.code for a in repository.ancestors(real_session, new.id)}
    assert parents["province"] == "40000"


def test_brussels_has_no_province(real_session: Session) -> None:
    brussel = _unit(real_session, "municipality", "21004", "2025")
    parents = {a.level for a in repository.ancestors(real_session, brussel.id)}
    assert "province" not in parents
    assert {"arrondissement", "region"} <= parents
    assert (
        _unit(real_session, "arrondissement", "21000", "2025").parent_id
        == _unit(real_session, "region", "04000", "2025").id
    )


def test_reimport_changes_nothing(real_session: Session) -> None:
    before = _table_counts(real_session)
    report = import_geography(real_session, real_source_dir())
    assert not report.changed
    assert report.units_inserted == report.units_updated == 0
    assert report.links_inserted == report.links_deleted == 0
    assert _table_counts(real_session) == before
    # The dummy "not localisable" codes are reported, not silently dropped.
    assert any("99991ZZZZ" in line for line in report.skipped)


def _table_counts(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(GeoUnit)) or 0,
        session.scalar(select(func.count()).select_from(GeoUnitAncestor)) or 0,
        session.scalar(select(func.count()).select_from(GeoSuccessor)) or 0,
    )
