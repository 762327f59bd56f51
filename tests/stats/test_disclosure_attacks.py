"""Attacks on disclosure control through the API, by an outsider who reads only what is
published: cells hidden as secondary whose parts are all shown, and a merged municipality
of the later version. The scenario is one small submission on the real geography; after the
explicit attack, an attacker's full check (tests/stats/sdc_attack.py) must find no hidden
cell determined."""

from __future__ import annotations

from collections import defaultdict

from app.stats import publish, repository
from tests.factories import World
from tests.stats.sdc_attack import determined

URL = "/api/v1/datasets/cars-households-2019"
Cells = dict[tuple[str, str, str], tuple[float | None, str]]  # (level, code, version)


def sectors(world: World, municipality: str) -> list[str]:
    listed = world.client.get(
        "/api/v1/geo/units",
        params={"level": "sector", "within": f"municipality:{municipality}",
                "version": "2024", "page_size": 1000},
    )  # fmt: skip
    assert listed.status_code == 200, listed.text
    return sorted(u["code"] for u in listed.json()["items"])


def submit(world: World, rows: dict[str, tuple[int, int]]) -> None:
    """Per sector (households, cars), for 2019."""
    body = "".join(
        f"{code},households,2019,{households},\n{code},cars,2019,{cars},\n"
        for code, (households, cars) in rows.items()
    )
    sent = world.client.post(
        f"{URL}/submissions",
        content="sector,indicator,period,value,status\n" + body,
        headers=world.headers("admin"),
    )
    assert sent.status_code == 201, sent.text


def published(world: World) -> Cells:
    found: Cells = {}
    for version in ("2024", "2025"):
        read = world.client.get(
            f"{URL}/observations",
            params={"indicator": "cars", "version": version, "page_size": 1000},
        )
        assert read.status_code == 200, read.text
        for item in read.json()["items"]:
            found[(item["level"], item["code"], item["version"])] = (item["value"], item["status"])
    return found


def value(cells: Cells, level: str, code: str, version: str = "2024") -> float | None:
    return cells[(level, code, version)][0]


def assert_nothing_determined(world: World) -> None:
    """The attacker's full check: every unit is the sum of its members with a value."""
    with world.factory() as session:
        context = publish.dataset_context(session, "cars-households-2019")
        observations = repository.current_observations(session, "cars-households-2019")
        targets = publish.build_targets(
            context.geo, context.successors, {o.unit_id for o in observations}
        )
        true = publish.compute_cells(
            context.indicators, publish._base_cells(observations), targets
        )[("cars", "2019")]
        shown = repository.current_published(session, "cars-households-2019", ["cars"], ["2019"])
        labels = repository.unit_labels(session, list(true))
    relations: dict[int, list[int]] = defaultdict(list)
    for member, contains in targets.of_member.items():
        for target in contains:
            relations[target].append(member)
    valued = {u for u, cell in true.items() if cell.value is not None}
    hidden = {u for (_, _, u), row in shown.items() if row.status == "confidential"}
    assert hidden
    found = determined(relations, valued, hidden)
    assert not found, sorted(labels[u][1] for u in found)


def test_a_merged_municipality_does_not_give_its_confidential_predecessor_away(
    world: World,
) -> None:
    """Kortessem (three sectors of one household each) is confidential. Before: Hasselt
    (2024) was hidden beside it in the arrondissement, with all its sectors shown, so
    Hasselt (2025) = Hasselt + Kortessem, published, minus those sectors was Kortessem's
    three cars; Tongeren-Borgloon (2025) showed the hidden Tongeren (2024) as it was; and
    Limburg minus every shown sector was Kortessem again (found by an outside tester)."""
    kortessem = sectors(world, "73040")[:3]
    others = sectors(world, "73083")[:3] + sectors(world, "71022")[:3]
    rows = dict.fromkeys(kortessem, (1, 1))
    rows |= {code: (40 + n, 30 + n) for n, code in enumerate(others)}
    submit(world, rows)
    cells = published(world)

    assert value(cells, "municipality", "73040") is None
    shown = [value(cells, "sector", code) for code in others]
    merged = value(cells, "municipality", "71072", "2025")
    hasselt_sectors = [value(cells, "sector", code) for code in sectors(world, "71022")[:3]]
    assert merged is None or None in hasselt_sectors, "Hasselt 2025 − Hasselt 2024 = Kortessem"
    assert (value(cells, "municipality", "73083") is None) == (
        value(cells, "municipality", "73111", "2025") is None
    ), "Tongeren-Borgloon 2025 is Tongeren 2024 here"
    limburg = value(cells, "province", "70000")
    assert limburg is None or None in shown, "Limburg − the shown sectors = Kortessem"
    assert_nothing_determined(world)
